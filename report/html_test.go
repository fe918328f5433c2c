package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/testenv"
)

// largeResult is the realistic result with 200 more text differences, the
// size of a report on a big release.
func largeResult() *compare.Result {
	r := realisticResult()
	for i := 0; i < 200; i++ {
		var u strings.Builder
		fmt.Fprintf(&u, "@@ -%d,7 +%d,7 @@\n", i+1, i+1)
		for j := 0; j < 3; j++ {
			fmt.Fprintf(&u, " static const char *line_%d = \"unchanged\";\n", j)
		}
		fmt.Fprintf(&u, "-#define BUILD_HOST \"ci-%d.internal\"\n+#define BUILD_HOST \"localhost\"\n", i)
		for j := 3; j < 6; j++ {
			fmt.Fprintf(&u, " static const char *line_%d = \"unchanged\";\n", j)
		}
		r.Differences = append(r.Differences, compare.Difference{
			Path: fmt.Sprintf("app-1.4.2/include/gen/config_%03d.h", i), Kind: compare.KindContent,
			Detail: "412 bytes, content differs", Diff: &compare.ContentDiff{Format: "text", Unified: u.String()},
		})
	}
	inReportOrder(r.Differences)
	return r
}

// chromiumRun is what one headless Chromium run gave.
type chromiumRun struct {
	dom, log string
	png      string
	err      error
}

// runChromium loads url in headless Chromium, writing a screenshot to png
// and returning the serialized DOM and Chromium's log.
func runChromium(ctx context.Context, bin, url, png, profile string) chromiumRun {
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--enable-logging=stderr", "--v=0",
		"--screenshot="+png, "--window-size=1280,2000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return chromiumRun{dom: stdout.String(), log: stderr.String(), png: png, err: err}
}

// consoleMessages returns Chromium's log lines for messages of the page's
// console ("...:INFO:CONSOLE:1] "Uncaught Error: x", source: ..."). The
// report runs no script, so any such line is an error: a script error, a
// console.error, or a Content-Security-Policy violation.
func consoleMessages(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":CONSOLE") {
			out = append(out, l)
		}
	}
	return out
}

// TestHTMLInChromium opens the HTML report of a large result in headless
// Chromium: it must load without a console message, show the summary at
// the top of a real screenshot, and keep the hostile names as text. A page
// that throws is loaded alongside to prove the console check sees errors.
func TestHTMLInChromium(t *testing.T) {
	testenv.RequireTools(t, "chromium")
	bin, err := testenv.LookTool("chromium")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := largeResult()
	var page bytes.Buffer
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.html")
	broken := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(report, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte(`<!DOCTYPE html><title>broken</title><p>x</p><script>throw new Error("deliberate")</script>`), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runs := make([]chromiumRun, 2)
	var wg sync.WaitGroup
	for i, p := range []string{report, broken} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = runChromium(ctx, bin, "file://"+p, p+".png", filepath.Join(dir, fmt.Sprintf("profile-%d", i)))
		}()
	}
	wg.Wait()
	got, control := runs[0], runs[1]

	// The control page: if the check cannot see this error, it sees nothing.
	if control.err != nil {
		t.Fatalf("chromium on the control page: %v\n%s", control.err, control.log)
	}
	if msgs := consoleMessages(control.log); len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), "Uncaught") {
		t.Fatalf("the console check saw no error on a page that throws (has chromium's log format changed?); log:\n%s", control.log)
	}

	if got.err != nil {
		t.Fatalf("chromium on the report: %v\n%s", got.err, got.log)
	}
	if msgs := consoleMessages(got.log); len(msgs) > 0 {
		t.Errorf("the report logged to the console:\n%s", strings.Join(msgs, "\n"))
	}

	dom := got.dom
	summary := strings.Index(dom, `id="summary"`)
	differences := strings.Index(dom, "<h2>Differences</h2>")
	if summary < 0 || differences < 0 || summary > differences {
		t.Errorf("summary at %d, differences at %d: want the summary first", summary, differences)
	}
	for _, want := range []string{
		"reproof diff", "incomplete", "exit status 2", r.A.Path, r.B.Path, r.A.SHA256,
		"Entries read: 12,806 in A, 12,805 in B.", "INCOMPLETE", "12,802 entries in a different order",
		"500 entries differ only in mtime", "206 entries differ in content",
		"META-INF/MANIFEST.MF", "+Created-By: 21.0.2 (Debian)",
		`"app-1.4.2/\x1b[31mred\x1b[0m&lt;script&gt;alert(1)&lt;/script&gt;\u202e.txt"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<img", "<b>evil", "\x1b", "\u202e"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the rendered page contains %q: a name or diff line was not escaped", bad)
		}
	}
	withDiff := 0
	for _, d := range r.Differences {
		if d.Diff != nil && d.Diff.Unified != "" {
			withDiff++
		}
	}
	if n := strings.Count(dom, `<details class="diff"`); n != withDiff {
		t.Errorf("%d collapsible diffs, want %d", n, withDiff)
	}

	checkScreenshot(t, got.png)
}

// checkScreenshot checks the screenshot is a real page: the full window,
// many colours, and the status badge (purple for incomplete) in its top.
func checkScreenshot(t *testing.T, path string) {
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
	badge := false
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if y < b.Min.Y+200 && near(r>>8, 0x6e) && near(g>>8, 0x40) && near(bl>>8, 0xc9) {
				badge = true
			}
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot has %d colours: a blank or broken page", len(colours))
	}
	if !badge {
		t.Errorf("no status badge in the top 200 pixels of the screenshot")
	}
}

func near(a, b uint32) bool { return a+8 >= b && a <= b+8 }
