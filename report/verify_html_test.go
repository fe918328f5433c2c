package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// TestVerifyHTMLSelfContained checks the verify HTML of every fixture as
// text: the Content-Security-Policy, no script, no external reference, and
// the hostile names escaped.
func TestVerifyHTMLSelfContained(t *testing.T) {
	for _, f := range verifyFixtures {
		page := string(renderVerify(t, "html", f.v()))
		if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`) {
			t.Errorf("%s: no strict Content-Security-Policy", f.name)
		}
		for _, bad := range []string{"<script", "url(", "@import", "<link", "<img", "<iframe", "<object", "<embed", "\x1b", "\u202e"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the page holds %q", f.name, bad)
			}
		}
		// Text is escaped, so a "<" starting a tag is one of ours.
		if tag := regexp.MustCompile(`<[^>]*\s(src|srcset|action|formaction|data)=`).FindString(page); tag != "" {
			t.Errorf("%s: a tag refers to a resource: %q", f.name, tag)
		}
		for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			if !strings.HasPrefix(href[1], "#") {
				t.Errorf("%s: a link leaves the page: %q", f.name, href[1])
			}
		}
	}
	page := string(renderVerify(t, "html", notReproducibleVerification()))
	if !strings.Contains(page, `&#34;build/\x1b[31mevil\x1b[0m&lt;img src=x onerror=alert(1)&gt;\u202e|**bold**`+"```"+`.txt&#34;`) {
		t.Errorf("the hostile artifact name is not shown escaped")
	}
}

// netLogRequests returns the URLs the page itself requested, from a
// Chromium NetLog: URL requests whose network isolation key is the file://
// page's. Chromium's own background requests have other keys.
func netLogRequests(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL                 string `json:"url"`
				NetworkIsolationKey string `json:"network_isolation_key"`
			} `json:"params"`
		} `json:"events"`
	}
	// Chromium may be killed before it closes the array: accept a log cut
	// short by closing it.
	if err := json.Unmarshal(raw, &log); err != nil {
		fixed := append(bytes.TrimRight(bytes.TrimSpace(raw), ","), []byte("]}")...)
		if err2 := json.Unmarshal(fixed, &log); err2 != nil {
			return nil, fmt.Errorf("reading the net log %s: %v", path, err)
		}
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		return nil, fmt.Errorf("the net log %s names no URL_REQUEST_START_JOB events (has its format changed?)", path)
	}
	var urls []string
	for _, e := range log.Events {
		if e.Type == start && strings.HasPrefix(e.Params.NetworkIsolationKey, "file://") {
			urls = append(urls, e.Params.URL)
		}
	}
	return urls, nil
}

// verifyChromiumRun is one headless Chromium run on a page.
type verifyChromiumRun struct {
	dom, log, png string
	requests      []string
	err           error
}

func runVerifyChromium(ctx context.Context, bin, page, dir string) verifyChromiumRun {
	shot := page + ".png"
	netlog := page + ".netlog.json"
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+dir, "--enable-logging=stderr", "--v=0", "--log-net-log="+netlog,
		"--screenshot="+shot, "--window-size=1280,2000", "--dump-dom", "file://"+page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	run := verifyChromiumRun{png: shot, err: cmd.Run()}
	run.dom, run.log = stdout.String(), stderr.String()
	if run.err == nil {
		run.requests, run.err = netLogRequests(netlog)
	}
	return run
}

// TestVerifyHTMLInChromium opens the verify HTML of a not-reproducible
// release in headless Chromium: it must load without a console message or
// a single network request, show the verdict in a red banner at the top of
// a real screenshot, and keep the hostile names as text. A control page
// that fetches an image and throws is loaded alongside, to prove the
// request and console checks see what they look for.
func TestVerifyHTMLInChromium(t *testing.T) {
	testenv.RequireTools(t, "chromium")
	bin, err := testenv.LookTool("chromium")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := notReproducibleVerification()
	var page bytes.Buffer
	if err := VerifyHTML(&page, v); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "verify.html")
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(report, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Port 9 (discard) on the loopback: the request is made and refused.
	controlPage := `<!DOCTYPE html><title>control</title><p>x</p><img src="http://127.0.0.1:9/pixel.png"><script>throw new Error("deliberate")</script>`
	if err := os.WriteFile(control, []byte(controlPage), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	runs := make([]verifyChromiumRun, 2)
	var wg sync.WaitGroup
	for i, p := range []string{report, control} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = runVerifyChromium(ctx, bin, p, filepath.Join(dir, fmt.Sprintf("profile-%d", i)))
		}()
	}
	wg.Wait()
	got, ctl := runs[0], runs[1]

	if ctl.err != nil {
		t.Fatalf("chromium on the control page: %v\n%s", ctl.err, ctl.log)
	}
	if len(ctl.requests) == 0 {
		t.Fatalf("the request check saw no request from a page that loads an image (has the net log changed?)")
	}
	if msgs := consoleMessages(ctl.log); len(msgs) == 0 {
		t.Fatalf("the console check saw no error on a page that throws; log:\n%s", ctl.log)
	}

	if got.err != nil {
		t.Fatalf("chromium on the report: %v\n%s", got.err, got.log)
	}
	if len(got.requests) > 0 {
		t.Errorf("the report made network requests: %q", got.requests)
	}
	if msgs := consoleMessages(got.log); len(msgs) > 0 {
		t.Errorf("the report logged to the console:\n%s", strings.Join(msgs, "\n"))
	}

	dom := got.dom
	label := regexp.MustCompile(`<header id="verdict" class="v-bad">\s*<div class="wrap">\s*<p class="kicker">reproof verify</p>\s*<h1 id="verdict-label">NOT REPRODUCIBLE</h1>`)
	if !label.MatchString(dom) {
		t.Errorf("the DOM does not open with the verdict banner")
	}
	order := []string{`id="verdict"`, `id="artifacts"`, `id="inputs"`, `id="published"`, `id="policy"`, `id="details"`}
	for i := 1; i < len(order); i++ {
		if a, b := strings.Index(dom, order[i-1]), strings.Index(dom, order[i]); a < 0 || b < 0 || a > b {
			t.Errorf("%s at %d, %s at %d: want that order", order[i-1], a, order[i], b)
		}
	}
	for _, want := range []string{
		"artifacts do not reproduce: 1 different, 1 missing, 1 checksum-mismatch", "exit status 1",
		v.Source.Commit, v.Source.Tree, v.Environment.ImageDigest, "1704873600 (2024-01-10T08:00:00Z)",
		"docker 20.10.24+dfsg1", "make dist-amd64 dist-arm64", "network off", v.Published.Files[2].SHA256,
		"the tarball is made by a plain tar czf; its binaries are what reproduce",
		"MISMATCH", v.Artifacts[2].Checksums[0].Expected, v.Artifacts[2].Checksums[0].Computed,
		"2 entries differ in content", "+00001a40: 726f 6f74 406c 6f63 616c 686f 7374 0000  root@localhost..",
		`"build/\x1b[31mevil\x1b[0m&lt;img src=x onerror=alert(1)&gt;\u202e|**bold**` + "```" + `.txt"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "\x1b", "\u202e"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the rendered page contains %q: a name was not escaped", bad)
		}
	}
	if n := strings.Count(dom, `<details class="artifact`); n != len(v.Artifacts) {
		t.Errorf("%d artifact blocks, want %d", n, len(v.Artifacts))
	}
	if n := strings.Count(dom, `<tr><td><a href="#artifact-`); n != len(v.Artifacts) {
		t.Errorf("%d artifact table rows, want %d", n, len(v.Artifacts))
	}

	checkVerdictScreenshot(t, got.png, [3]uint32{0xcf, 0x22, 0x2e})
}

// checkVerdictScreenshot checks the screenshot is a real page: the full
// window, many colours, and across its top a banner of the verdict's
// colour with light text on it (the verdict, readable).
func checkVerdictScreenshot(t *testing.T, path string, banner [3]uint32) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot is %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			colours[pixelRGB(img, x, y)] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours: a blank or broken page", len(colours))
	}
	// The banner: its colour across the full width of the first rows, and
	// light text (the verdict in 2.3rem bold) in its first 120 rows.
	var bannerPixels, light, total int
	for y := b.Min.Y; y < b.Min.Y+120; y++ {
		for x := b.Min.X; x < b.Max.X-20; x += 2 { // leave out a scrollbar
			total++
			c := pixelRGB(img, x, y)
			switch {
			case near(c[0], banner[0]) && near(c[1], banner[1]) && near(c[2], banner[2]):
				bannerPixels++
			case c[0] > 0xe0 && c[1] > 0xc0 && c[2] > 0xc0:
				light++
			}
		}
	}
	t.Logf("top 120 rows: %d of %d pixels the banner's colour, %d light", bannerPixels, total, light)
	if bannerPixels < total*6/10 {
		t.Errorf("only %d of %d pixels in the top 120 rows have the verdict's colour #%02x%02x%02x", bannerPixels, total, banner[0], banner[1], banner[2])
	}
	if light < 1000 {
		t.Errorf("only %d light pixels on the banner: the verdict is not readable there", light)
	}
}

func pixelRGB(img image.Image, x, y int) [3]uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}
