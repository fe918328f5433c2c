package main_test

// Hostile servers and interrupted runs, end to end through the binary:
// release servers and registries that fail in every way a network can
// (reproof must answer with one clear line, exit 2, after a bounded number
// of requests, caching nothing it did not verify, and work again once the
// server heals), and `reproof rebuild` and `reproof verify` stopped by
// SIGINT, SIGTERM or --timeout in the middle of a build (nothing may be
// left behind: no container, mount, temporary file or partial output).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/testenv"
)

var faults = map[string]testenv.Fault{
	"404": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Error(w, `{"errors":[{"code":"NOT_FOUND","message":"no such thing"}]}`, http.StatusNotFound)
	},
	"500": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Error(w, "oops", http.StatusInternalServerError)
	},
	"reset": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler) {
		rec := testenv.Recorded(good, r)
		body := rec.Body.Bytes()
		conn, _ := testenv.RawAnswer(w, rec, len(body), body[:len(body)/2])
		testenv.ResetConn(conn)
	},
	"stall before the headers": testenv.StallBeforeHeaders,
	"stall in the body":        testenv.StallInBody,
	// More bytes than the release lists, all of them announced.
	"more bytes than listed": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler) {
		rec := testenv.Recorded(good, r)
		body := append(append([]byte(nil), rec.Body.Bytes()...), bytes.Repeat([]byte("extra "), 200)...)
		conn, _ := testenv.RawAnswer(w, rec, len(body), body)
		conn.Close()
	},
	"redirect loop": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, "/loop?back="+url.QueryEscape(r.URL.Path), http.StatusFound)
	},
	// The right size, one byte changed.
	"wrong bytes": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler) {
		rec := testenv.Recorded(good, r)
		body := append([]byte(nil), rec.Body.Bytes()...)
		body[len(body)/2] ^= 0x20
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	},
}

// faultyServer serves good, except that requests to paths matching the
// current target get the current fault. It counts the GET requests to the
// target, and /loop redirects back to where the redirect loop came from.
type faultyServer struct {
	*httptest.Server
	good http.Handler
	stop chan struct{}

	mu     sync.Mutex
	fault  testenv.Fault
	target func(path string) bool
	hits   int
	seen   chan struct{} // closed at the first hit of the target
}

func newFaultyServer(t *testing.T, good http.Handler) *faultyServer {
	s := &faultyServer{good: good, stop: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.stop) }) // first: stalled handlers return
	return s
}

func (s *faultyServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/loop" {
		http.Redirect(w, r, r.URL.Query().Get("back"), http.StatusFound)
		return
	}
	s.mu.Lock()
	f, hit := s.fault, s.target != nil && r.Method == http.MethodGet && s.target(r.URL.Path)
	if hit {
		s.hits++
		if s.hits == 1 {
			close(s.seen)
		}
	}
	s.mu.Unlock()
	if f != nil && hit {
		f(s.stop, w, r, s.good)
		return
	}
	s.good.ServeHTTP(w, r)
}

// set makes requests to paths for which target is true get f (nil: the
// good answer) and resets the count.
func (s *faultyServer) set(f testenv.Fault, target func(string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.target, s.hits, s.seen = f, target, 0, make(chan struct{})
}

func (s *faultyServer) hitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *faultyServer) firstHit() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen
}

// servedRelease is the nimbus-shaped fixture's faithful release, served by
// a faultyServer, and its spec.
type servedRelease struct {
	dir, spec string
	pub       *fx.Published
	srv       *faultyServer
	asset     []byte // the tarball
	download  string // its URL path
	api       string // the release's API path
}

// serveNimbus publishes the nimbus fixture on a faultyServer. Its API
// answer gives each asset's SHA-256 in GitHub's "digest" field, so that
// the fetcher can check a download against it.
func serveNimbus(t *testing.T, env *fx.Env) *servedRelease {
	t.Helper()
	dir := t.TempDir()
	p, err := fx.WriteProject(filepath.Join(dir, "project"), fx.Nimbus)
	if err != nil {
		t.Fatal(err)
	}
	built := env.Build(t, p)
	s := &servedRelease{dir: dir, spec: filepath.Join(dir, "reproof.toml")}
	var files http.Handler
	s.srv = newFaultyServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == s.api {
			s.serveAPI(t, w)
			return
		}
		files.ServeHTTP(w, r)
	}))
	s.pub, err = fx.Publish(p, built, fx.Faithful, filepath.Join(dir, "published"), "http://"+s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	files = s.pub.Handler()
	s.srv.Start()
	if err := fx.WriteSpec(s.spec, p, s.pub, env.Images.Toolchain.Ref); err != nil {
		t.Fatal(err)
	}
	if len(s.pub.Files) != 1 {
		t.Fatalf("the nimbus fixture publishes %d files, want 1", len(s.pub.Files))
	}
	s.asset = s.pub.Files[0].Data
	u, _ := url.Parse(s.pub.URL)
	s.api = u.Path
	var rel struct {
		Assets []struct {
			URL string `json:"browser_download_url"`
		} `json:"assets"`
	}
	if err := json.Unmarshal(s.apiAnswer(t), &rel); err != nil || len(rel.Assets) != 1 {
		t.Fatalf("the fixture's API answer: %v", err)
	}
	u, _ = url.Parse(rel.Assets[0].URL)
	s.download = u.Path
	return s
}

func (s *servedRelease) apiAnswer(t *testing.T) []byte {
	data, err := os.ReadFile(filepath.Join(s.pub.Root, filepath.FromSlash(s.api)))
	if err != nil {
		t.Error(err)
	}
	return data
}

// serveAPI serves the release's API answer with the asset's digest added.
func (s *servedRelease) serveAPI(t *testing.T, w http.ResponseWriter) {
	var rel map[string]any
	if err := json.Unmarshal(s.apiAnswer(t), &rel); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(s.asset)
	rel["assets"].([]any)[0].(map[string]any)["digest"] = "sha256:" + hex.EncodeToString(sum[:])
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rel)
}

// checkDownloadCache fails unless the release download cache at dir holds
// only verified blobs of the given contents (named by their SHA-256), an
// entry per blob at most, and no temporary file.
func checkDownloadCache(t *testing.T, dir string, allowed ...[]byte) {
	t.Helper()
	ok := map[string]bool{}
	for _, b := range allowed {
		sum := sha256.Sum256(b)
		ok[hex.EncodeToString(sum[:])] = true
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) > 0 {
		t.Errorf("download cache: %d temporary files left, such as %s", len(tmp), tmp[0].Name())
	}
	blobs, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, b := range blobs {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", b.Name()))
		sum := sha256.Sum256(data)
		if err != nil || hex.EncodeToString(sum[:]) != b.Name() {
			t.Errorf("download cache: blob %s does not hash to its name (%v)", b.Name(), err)
		}
		if !ok[b.Name()] {
			t.Errorf("download cache: blob %s (%d bytes) is not the published file", b.Name(), len(data))
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "urls")); len(entries) > len(blobs) {
		t.Errorf("download cache: %d URL entries for %d blobs", len(entries), len(blobs))
	}
}

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestReleaseServerFaults runs `reproof sums --published` and `reproof
// verify` against a release server that misbehaves on the release's API
// answer or its download, and checks each: exit 2, a last stderr line
// saying what failed, the number of requests the server saw (transient
// faults are tried 3 times, final ones once), and a download cache holding
// nothing; then the server heals and the same cache gives the right bytes.
// Verify fails on the published side before it builds anything.
func TestReleaseServerFaults(t *testing.T) {
	env := fx.NewEnv(t)
	rel := serveNimbus(t, env)
	isDownload := func(p string) bool { return p == rel.download }
	isAPI := func(p string) bool { return p == rel.api }
	sum := sha256.Sum256(rel.asset)
	assetSHA := hex.EncodeToString(sum[:])
	name := rel.pub.Files[0].Name
	tests := []struct {
		fault    string
		target   func(string) bool
		what     string // the target, in the test's name
		want     string // in the error line
		requests int
	}{
		{"404", isAPI, "api", "server answered 404 Not Found", 1},
		{"500", isAPI, "api", "server answered 500 Internal Server Error (gave up after 3 attempts)", 3},
		{"stall in the body", isAPI, "api", "server stalled: no data for 1s after", 3},
		{"404", isDownload, "download", fmt.Sprintf("fetching %q from %s%s: server answered 404 Not Found", name, rel.srv.URL, rel.download), 1},
		{"500", isDownload, "download", "server answered 500 Internal Server Error (gave up after 3 attempts)", 3},
		{"reset", isDownload, "download", "connection reset by peer (gave up after 3 attempts)", 3},
		{"stall before the headers", isDownload, "download", "server stalled: no response within 1s (gave up after 3 attempts)", 3},
		{"stall in the body", isDownload, "download", "server stalled: no data for 1s after", 3},
		{"more bytes than listed", isDownload, "download", fmt.Sprintf("the server announces %d bytes, the release lists %d", len(rel.asset)+1200, len(rel.asset)), 1},
		{"redirect loop", isDownload, "download", "redirect loop: " + rel.srv.URL + "/loop", 1},
		{"wrong bytes", isDownload, "download", "digest mismatch: the download has sha256 ", 1},
	}
	home := t.TempDir() // verify's download cache: $XDG_CACHE_HOME/reproof/downloads
	verifyCache := filepath.Join(home, "reproof", "downloads")
	inv := invocation{dir: rel.dir, env: []string{"REPROOF_HTTP_TIMEOUT=1s", "XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + t.TempDir()}}
	for _, tt := range tests {
		t.Run(tt.fault+"/"+tt.what, func(t *testing.T) {
			sumsCache := t.TempDir()
			sums := []string{"sums", "--published", rel.pub.Source, "--github-api", rel.pub.GitHubAPI, "--cache", sumsCache}
			verify := append([]string{"verify", "--runtime", "runc", "--format", "none", "--json", "report.json"}, rel.pub.VerifyArgs()...)
			verify = append(verify, rel.spec)
			for _, args := range [][]string{sums, verify} {
				rel.srv.set(faults[tt.fault], tt.target)
				os.Remove(filepath.Join(rel.dir, "report.json"))
				r := reproof(t, inv, args...)
				line := lastLine(r.stderr)
				if r.code != 2 || !strings.Contains(line, tt.want) || !strings.HasPrefix(line, "reproof: ") {
					t.Errorf("reproof %s: exit %d, last line\n%s\nwant exit 2 and %q\nstderr:\n%s", args[0], r.code, line, tt.want, r.stderr)
				}
				if n := rel.srv.hitCount(); n != tt.requests {
					t.Errorf("reproof %s: the server saw %d requests for the %s, want %d", args[0], n, tt.what, tt.requests)
				}
				if args[0] == "verify" {
					var rep verifyJSON
					raw, _ := os.ReadFile(filepath.Join(rel.dir, "report.json"))
					if json.Unmarshal(raw, &rep) != nil || rep.Verdict != "error" || !strings.Contains(rep.Reason, tt.want) {
						t.Errorf("verify report: verdict %q reason %q, want error and %q", rep.Verdict, rep.Reason, tt.want)
					}
					if _, err := os.Stat(filepath.Join(rel.dir, "rebuilt")); err == nil {
						t.Errorf("verify built something for a release it could not fetch")
					}
				}
			}
			checkDownloadCache(t, sumsCache)
			checkDownloadCache(t, verifyCache)

			// Healed: the same cache gets the real file.
			rel.srv.set(nil, nil)
			r := reproof(t, inv, sums...)
			if r.code != 0 || !strings.Contains(r.stdout, name+": NO CHECKSUM published; sha256 "+assetSHA) {
				t.Errorf("reproof sums from the healed server: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			checkDownloadCache(t, sumsCache, rel.asset)
		})
	}

	// verify, once healed, with the cache every fault above went through.
	rel.srv.set(nil, nil)
	r := reproof(t, inv, "verify", "--runtime", "runc", "--format", "none", "--json", "report.json", "--github-api", rel.pub.GitHubAPI, rel.spec)
	if r.code != 0 {
		t.Errorf("reproof verify from the healed server: exit %d\n%s", r.code, r.stderr)
	}
	checkDownloadCache(t, verifyCache, rel.asset)
}

// checkImageCache fails unless every blob of the OCI layout at dir is named
// by its own digest, no temporary file is left, and index.json lists no
// image: what a failed pull may leave is verified blobs, never an image.
func checkImageCache(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("image cache: temporary file %s left", path)
		}
		if d.Type().IsRegular() && filepath.Base(filepath.Dir(path)) == "sha256" {
			data, _ := os.ReadFile(path)
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != d.Name() {
				t.Errorf("image cache: blob %s does not hash to its name", d.Name())
			}
		}
		return nil
	})
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var index struct{ Manifests []json.RawMessage }
	if err != nil || json.Unmarshal(raw, &index) != nil || len(index.Manifests) != 0 {
		t.Errorf("image cache: index.json after a failed pull: %v\n%s", err, raw)
	}
}

// TestRegistryFaults runs `reproof rebuild` (and once `reproof verify`)
// with an image behind a registry that misbehaves on the image's manifest
// or its blobs: exit 2, one line naming the image and what failed, the
// requests bounded, nothing unverified in the image cache; then the
// registry heals and the same cache pulls and builds.
func TestRegistryFaults(t *testing.T) {
	testenv.RequireTools(t, "git", "runc")
	env := fx.NewEnv(t)
	upstream, _ := url.Parse("http://" + env.Registry)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	proxy.ErrorLog = log.New(io.Discard, "", 0) // clients that give up on a stall
	reg := newFaultyServer(t, proxy)
	reg.Start()
	host := strings.TrimPrefix(reg.URL, "http://")
	_, pinned, _ := strings.Cut(env.Images.Toolchain.Ref, "/")
	image := host + "/" + pinned
	repo, digest, _ := strings.Cut(pinned, "@")
	isManifest := func(p string) bool { return p == "/v2/"+repo+"/manifests/"+digest }
	isBlob := func(p string) bool { return strings.HasPrefix(p, "/v2/"+repo+"/blobs/") }

	dir := t.TempDir()
	commit := rebuildProject(t, filepath.Join(dir, "project"))
	writeFile(t, filepath.Join(dir, "reproof.toml"), []byte(`
[source]
repo = "project"
tag = "v2.0"
commit = "`+commit+`"

[build]
image = "`+image+`"
command = "mkdir -p dist && cc -o dist/hello hello.c"
artifacts = ["dist/*"]
runtime = "runc"
`))
	tests := []struct {
		fault    string
		target   func(string) bool
		what     string
		want     string
		requests int
	}{
		{"404", isManifest, "manifest", "NOT_FOUND: no such thing", 1},
		{"500", isBlob, "blobs", "500 Internal Server Error: oops", 3},
		{"reset", isBlob, "blobs", "connection reset by peer (gave up after 3 attempts)", 3},
		{"stall in the body", isBlob, "blobs", "registry stalled: no data for 1s after", 3},
		{"more bytes than listed", isBlob, "blobs", "does not match expected size", 1},
		{"redirect loop", isManifest, "manifest", "redirect loop: http://" + host + "/loop", 1},
		{"wrong bytes", isBlob, "blobs", "digest mismatch", 1},
		{"wrong bytes", isManifest, "manifest", "digest mismatch", 1},
	}
	for i, tt := range tests {
		t.Run(tt.fault+"/"+tt.what, func(t *testing.T) {
			cache := t.TempDir()
			inv := invocation{dir: dir, env: []string{"REPROOF_HTTP_TIMEOUT=1s", "REPROOF_IMAGE_CACHE=" + cache}}
			out := fmt.Sprintf("out-%d", i)
			reg.set(faults[tt.fault], tt.target)
			r := reproof(t, inv, "rebuild", "--out", out)
			line := lastLine(r.stderr)
			if r.code != 2 || !strings.HasPrefix(line, fmt.Sprintf("reproof: pulling image %q", image)) || !strings.Contains(line, tt.want) {
				t.Errorf("exit %d, last line\n%s\nwant exit 2, the image and %q\nstderr:\n%s", r.code, line, tt.want, r.stderr)
			}
			if n := reg.hitCount(); n != tt.requests {
				t.Errorf("the registry saw %d requests for the %s, want %d", n, tt.what, tt.requests)
			}
			if _, err := os.Stat(filepath.Join(dir, out)); err == nil {
				t.Errorf("a failed pull left the output directory")
			}
			checkImageCache(t, cache)

			reg.set(nil, nil)
			r = reproof(t, inv, "rebuild", "--out", out)
			if r.code != 0 || !strings.Contains(r.stderr, "(linux/amd64, pulled and verified)") {
				t.Errorf("rebuild from the healed registry: exit %d\n%s", r.code, r.stderr)
			}
		})
	}

	// verify pulls the image after fetching the published side; a
	// registry fault there is exit 2 as well.
	rel := serveNimbus(t, env)
	spec, _ := os.ReadFile(rel.spec)
	spec = bytes.Replace(spec, []byte(env.Images.Toolchain.Ref), []byte(image), 1)
	writeFile(t, rel.spec, spec)
	reg.set(faults["500"], isBlob)
	inv := invocation{dir: rel.dir, env: []string{"REPROOF_IMAGE_CACHE=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir()}}
	r := reproof(t, inv, append(append([]string{"verify", "--runtime", "runc", "--format", "none"}, rel.pub.VerifyArgs()...), rel.spec)...)
	if line := lastLine(r.stderr); r.code != 2 || !strings.Contains(line, "pulling image") || !strings.Contains(line, "500 Internal Server Error") {
		t.Errorf("verify with a failing registry: exit %d, last line %q", r.code, line)
	}
	if n := reg.hitCount(); n != 3 {
		t.Errorf("verify: the registry saw %d requests for the blobs, want 3", n)
	}
}

// syncBuffer is a bytes.Buffer for a process's output read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a reproof process running in the background.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
}

// startReproof starts the binary as reproof() runs it, without waiting.
// inv.env must set TMPDIR.
func startReproof(t *testing.T, inv invocation, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(reproofBin, args...), done: make(chan struct{})}
	s.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, inv.env...)
	s.cmd.Dir = inv.dir
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		// A failed test stops it the way a user would, so that it can
		// still remove its containers; SIGKILL only if that fails.
		select {
		case <-s.done:
			return
		default:
		}
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(time.Minute):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// waitFor polls until cond holds; it fails t if the process exits first or
// the generous deadline passes.
func (s *started) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		select {
		case <-s.done:
			t.Fatalf("reproof exited (%d) before %s\nstderr:\n%s", s.cmd.ProcessState.ExitCode(), what, s.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 3 minutes\nstderr:\n%s", what, s.stderr.String())
		}
	}
}

// wait waits for the process to exit, within a generous bound.
func (s *started) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("reproof did not exit within 3 minutes of the signal\nstderr:\n%s", s.stderr.String())
	}
	return result{code: s.cmd.ProcessState.ExitCode(), stdout: s.stdout.String(), stderr: s.stderr.String()}
}

// processesWithArgs lists the processes whose argv is exactly args.
func processesWithArgs(args ...string) []string {
	want := []byte(strings.Join(args, "\x00") + "\x00")
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && bytes.Equal(cmdline, want) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// checkNothingLeft fails unless no trace of an interrupted or timed-out
// build remains: no container with the docker engine or podman, no
// process running the build's command, no mount under dirs, and tmp (the
// TMPDIR given to reproof, where its work directories and runc's state
// live) empty.
func checkNothingLeft(t *testing.T, docker *testenv.DockerEngine, tmp string, buildArgs []string, dirs ...string) {
	t.Helper()
	out, err := docker.Output(t.Context(), "ps", "--all", "--format", "{{.Names}} {{.Command}}")
	if err != nil || strings.Contains(string(out), "reproof-") {
		t.Errorf("docker containers left: %q %v", out, err)
	}
	if testenv.CheckTools("podman") == nil {
		// Other test binaries may be running podman builds of their
		// own: look for this build's command only.
		out, err := exec.Command("podman", "ps", "--all", "--no-trunc", "--format", "{{.Names}} {{.Command}}").Output()
		if err != nil || strings.Contains(string(out), strings.Join(buildArgs, " ")) {
			t.Errorf("podman containers left: %q %v", out, err)
		}
	}
	// A killed container's processes are reaped by its engine's monitor
	// (podman's conmon) a moment after the removal returns: give them up
	// to 10 s to be gone, which a process left running would outlast.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		pids := processesWithArgs(buildArgs...)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the build's processes are still running: %v %q", pids, buildArgs)
			break
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, d := range append(dirs, tmp) {
		if strings.Contains(string(mounts), " "+d) {
			t.Errorf("mounts left under %s", d)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("TMPDIR is not empty: %v", left)
	}
}

// TestInterruptedRuns stops `reproof rebuild` and `reproof verify` with
// SIGINT or SIGTERM while the build runs (with docker and with runc), and
// checks that reproof exits 130 saying it was interrupted, leaves no
// container, process, mount, temporary file, output directory or report,
// and that the same command then works. SIGTERM is handled as SIGINT
// (exit 130, not 143): main's context is cancelled by either.
func TestInterruptedRuns(t *testing.T) {
	env := fx.NewEnv(t)
	docker := testenv.Docker(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	f := env.Fixture(t, fx.Nimbus, fx.Faithful)
	imageCache := t.TempDir()
	tests := []struct {
		command, runtime string
		sig              syscall.Signal
	}{
		{"rebuild", "docker", syscall.SIGINT},
		{"rebuild", "runc", syscall.SIGTERM},
		{"verify", "runc", syscall.SIGINT},
		{"verify", "docker", syscall.SIGTERM},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.command, tt.runtime, tt.sig), func(t *testing.T) {
			tmp := t.TempDir()
			inv := invocation{dir: f.Dir, env: append(docker.Env(),
				"PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"),
				"REPROOF_IMAGE_CACHE="+imageCache, "XDG_CACHE_HOME="+t.TempDir(), "TMPDIR="+tmp)}
			out, jsonReport, htmlReport := fmt.Sprintf("out-%d", i), fmt.Sprintf("report-%d.json", i), fmt.Sprintf("report-%d.html", i)
			args := []string{tt.command, "--runtime", tt.runtime, "--out", out}
			if tt.command == "verify" {
				args = append(append(args, "--json", jsonReport, "--html", htmlReport), f.Published.VerifyArgs()...)
			}
			args = append(args, f.Spec)
			// A build that says it started, then sleeps (for a time
			// unique to the case, to find its processes).
			sleep := []string{"sleep", strconv.Itoa(6000 + i)}
			s := startReproof(t, inv, append(args, "--command", "touch started; exec "+strings.Join(sleep, " "))...)
			s.waitFor(t, "build running", func() bool {
				m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started"))
				return len(m) > 0 && len(processesWithArgs(sleep...)) > 0
			})
			if err := s.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			r := s.wait(t)
			if r.code != 130 || lastLine(r.stderr) != "reproof: interrupted" {
				t.Errorf("exit %d, last line %q; want 130 and \"reproof: interrupted\"\nstderr:\n%s", r.code, lastLine(r.stderr), r.stderr)
			}
			checkNothingLeft(t, docker, tmp, sleep, f.Dir)
			for _, name := range []string{out, jsonReport, htmlReport} {
				if _, err := os.Stat(filepath.Join(f.Dir, name)); err == nil {
					t.Errorf("%s written by an interrupted run", name)
				}
			}

			// Again, uninterrupted: it works.
			r = reproof(t, inv, args...)
			if r.code != 0 {
				t.Errorf("the run after the interrupted one: exit %d\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(f.Dir, out, "provenance.intoto.json")); err != nil {
				t.Errorf("the run after the interrupted one: %v", err)
			}
			checkNothingLeft(t, docker, tmp, sleep, f.Dir)
		})
	}
}

// TestInterruptedDownload stops `reproof verify` with SIGINT while a
// release server stalls in the middle of the download: it exits 130 at
// once (not after the 60 s timeout), with no temporary file in the
// download cache and no report.
func TestInterruptedDownload(t *testing.T) {
	env := fx.NewEnv(t)
	rel := serveNimbus(t, env)
	tmp, home := t.TempDir(), t.TempDir()
	inv := invocation{dir: rel.dir, env: []string{"TMPDIR=" + tmp, "XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + t.TempDir()}}
	rel.srv.set(faults["stall in the body"], func(p string) bool { return p == rel.download })
	s := startReproof(t, inv, append(append([]string{"verify", "--runtime", "runc", "--json", "report.json"}, rel.pub.VerifyArgs()...), rel.spec)...)
	select {
	case <-rel.srv.firstHit():
	case <-s.done:
		t.Fatalf("reproof exited before the download\n%s", s.stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("no download after 3 minutes")
	}
	cacheTmp := filepath.Join(home, "reproof", "downloads", "tmp")
	s.waitFor(t, "a download in progress", func() bool {
		entries, _ := os.ReadDir(cacheTmp)
		return len(entries) > 0
	})
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGINT)
	r := s.wait(t)
	if r.code != 130 || lastLine(r.stderr) != "reproof: interrupted" {
		t.Errorf("exit %d, last line %q; want 130 and \"reproof: interrupted\"", r.code, lastLine(r.stderr))
	}
	if took := time.Since(start); took > 45*time.Second {
		t.Errorf("reproof took %v to stop: it waited for the server", took)
	}
	checkDownloadCache(t, filepath.Join(home, "reproof", "downloads"))
	if _, err := os.Stat(filepath.Join(rel.dir, "report.json")); err == nil {
		t.Errorf("an interrupted verify wrote its report")
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("TMPDIR is not empty: %v", left)
	}
}

// TestBuildTimeout: --timeout stops a build that runs too long: exit 2
// saying so, the container gone, no output directory; verify reports it
// as an error, never as a failed build or a verdict on the artifacts.
func TestBuildTimeout(t *testing.T) {
	env := fx.NewEnv(t)
	docker := testenv.Docker(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	f := env.Fixture(t, fx.Nimbus, fx.Faithful)
	for i, tt := range []struct{ command, runtime string }{{"rebuild", "docker"}, {"verify", "runc"}} {
		t.Run(tt.command+"/"+tt.runtime, func(t *testing.T) {
			tmp := t.TempDir()
			inv := invocation{dir: f.Dir, env: append(docker.Env(),
				"PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"),
				"REPROOF_IMAGE_CACHE="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir(), "TMPDIR="+tmp)}
			sleep := []string{"sleep", strconv.Itoa(6100 + i)}
			out := fmt.Sprintf("timeout-out-%d", i)
			args := []string{tt.command, "--runtime", tt.runtime, "--out", out, "--timeout", "3s",
				"--command", strings.Join(sleep, " ")}
			if tt.command == "verify" {
				args = append(append(args, "--format", "none", "--json", "report.json"), f.Published.VerifyArgs()...)
			}
			r := reproof(t, inv, append(args, f.Spec)...)
			if line := lastLine(r.stderr); r.code != 2 || !strings.Contains(line, "build timed out after 3s") {
				t.Errorf("exit %d, last line %q; want 2 and the timeout\nstderr:\n%s", r.code, line, r.stderr)
			}
			checkNothingLeft(t, docker, tmp, sleep, f.Dir)
			if _, err := os.Stat(filepath.Join(f.Dir, out)); err == nil {
				t.Errorf("a timed-out build left %s", out)
			}
			if tt.command == "verify" {
				var rep verifyJSON
				raw, _ := os.ReadFile(filepath.Join(f.Dir, "report.json"))
				if json.Unmarshal(raw, &rep) != nil || rep.Verdict != "error" || !strings.Contains(rep.Reason, "timed out") {
					t.Errorf("verify report: verdict %q reason %q, want error, timed out", rep.Verdict, rep.Reason)
				}
			}
		})
	}
}
