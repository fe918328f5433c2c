package main_test

// Caches that never lie, end to end through the binary: a file replaced
// behind a cached URL on a real web server is fetched again and judged; a
// bad answer (an HTML error page sent with 200, a short body) is never
// cached, so the run after the server is fixed passes; a run killed with
// SIGKILL in the middle of a download or a pull leaves temporary files
// that the next run removes.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/testenv"
)

// webRelease is the Garage fixture's faithful release, published in a
// directory that a real web server serves.
type webRelease struct {
	dir, spec string
	pub       *fx.Published
	binary    string // the published binary's path on the server's disk
}

// publishOnServer publishes the Garage fixture into root, which the server
// at base serves, and writes its spec. The files get an mtime an hour in
// the past, as a release that has been out for a while.
func publishOnServer(t *testing.T, env *fx.Env, root, base string) *webRelease {
	t.Helper()
	dir := t.TempDir()
	p, err := fx.WriteProject(filepath.Join(dir, "project"), fx.Garage)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := fx.Publish(p, env.Build(t, p), fx.Faithful, root, base)
	if err != nil {
		t.Fatal(err)
	}
	rel := &webRelease{dir: dir, spec: filepath.Join(dir, "reproof.toml"), pub: pub}
	if err := fx.WriteSpec(rel.spec, p, pub, env.Images.Toolchain.Ref); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil {
			os.Chmod(path, map[bool]os.FileMode{true: 0o755, false: 0o644}[d.IsDir()])
			os.Chtimes(path, past, past)
			if d.Name() == "garage" && !d.IsDir() {
				rel.binary = path
			}
		}
		return nil
	})
	if rel.binary == "" {
		t.Fatal("the garage fixture published no binary")
	}
	return rel
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestTamperedBehindCachedURL: the release's binary is replaced on the
// real server (nginx for verify, Python's http.server for sums) after a
// run cached it. The next run asks the server, gets the new bytes and
// judges them: verify says NOT REPRODUCIBLE (exit 1), sums prints the new
// digest; with the file restored, both pass again.
func TestTamperedBehindCachedURL(t *testing.T) {
	env := fx.NewEnv(t)
	for _, kind := range []string{testenv.Nginx, testenv.PythonHTTP} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			os.Chmod(root, 0o755)
			base := testenv.ServeDir(t, kind, root)
			rel := publishOnServer(t, env, root, base)
			good, err := os.ReadFile(rel.binary)
			if err != nil {
				t.Fatal(err)
			}
			tampered := bytes.Clone(good)
			tampered[len(tampered)/2] ^= 0x20
			home := t.TempDir()
			cache := filepath.Join(home, "reproof", "downloads")
			inv := invocation{dir: rel.dir, env: []string{"XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + t.TempDir()}}
			run := func(step string, content []byte, wantCode int) {
				t.Helper()
				var r result
				if kind == testenv.Nginx {
					r = reproof(t, inv, "verify", "--runtime", "runc", "--format", "text", "--out", "rebuilt-"+strings.ReplaceAll(step, " ", "-"), rel.spec)
					if want := map[int]string{0: "REPRODUCIBLE", 1: "NOT REPRODUCIBLE"}[wantCode]; r.code != wantCode || !strings.Contains(r.stdout, want) {
						t.Errorf("%s: verify: exit %d, want %d and %s\nstdout:\n%s\nstderr:\n%s", step, r.code, wantCode, want, r.stdout, r.stderr)
					}
				} else {
					r = reproof(t, inv, "sums", "--published", rel.pub.Source, "--cache", cache)
					if want := "garage: NO CHECKSUM published; sha256 " + sha256Of(content); r.code != 0 || !strings.Contains(r.stdout, want) {
						t.Errorf("%s: sums: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", step, r.code, want, r.stdout, r.stderr)
					}
				}
				checkDownloadCache(t, cache, good, tampered)
			}
			run("first", good, 0)
			run("cached", good, 0)
			os.WriteFile(rel.binary+".new", tampered, 0o644)
			os.Rename(rel.binary+".new", rel.binary)
			run("tampered", tampered, 1)
			os.WriteFile(rel.binary+".new", good, 0o644)
			os.Rename(rel.binary+".new", rel.binary)
			run("restored", good, 0)
		})
	}
}

// TestBadAnswerThenFixed: a server in front of Python's http.server (whose
// listing gives no sizes, so that only the answer itself can tell) that
// once answers
// the binary's URL with an HTML error page (200, text/html) or a body cut
// short of its Content-Length. The bad run fails (NOT REPRODUCIBLE for
// the page, with a warning naming the URL and the content type; exit 2
// for the short body) and caches nothing of it; the run after the server
// is fixed, with the same cache, passes.
func TestBadAnswerThenFixed(t *testing.T) {
	env := fx.NewEnv(t)
	root := t.TempDir()
	os.Chmod(root, 0o755)
	upstream, _ := url.Parse(testenv.ServeDir(t, testenv.PythonHTTP, root))
	srv := newFaultyServer(t, httputil.NewSingleHostReverseProxy(upstream))
	srv.Start()
	rel := publishOnServer(t, env, root, srv.URL)
	good, _ := os.ReadFile(rel.binary)
	binaryPath := strings.TrimPrefix(rel.binary, root)
	isBinary := func(p string) bool { return p == binaryPath }
	faultsHere := map[string]testenv.Fault{
		"html error page": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body>try again</body></html>\n"))
		},
		"short body": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler) {
			rec := testenv.Recorded(good, r)
			body := rec.Body.Bytes()
			conn, _ := testenv.RawAnswer(w, rec, len(body), body[:len(body)/3])
			conn.Close()
		},
	}
	for _, tt := range []struct {
		fault string
		code  int
		want  string // in stdout (verify's text report) or in the last stderr line
	}{
		{"html error page", 1, "NOT REPRODUCIBLE"},
		{"short body", 2, "truncated: the connection closed after"},
	} {
		t.Run(tt.fault, func(t *testing.T) {
			home := t.TempDir()
			cache := filepath.Join(home, "reproof", "downloads")
			inv := invocation{dir: rel.dir, env: []string{"REPROOF_HTTP_TIMEOUT=5s", "XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + t.TempDir()}}
			verify := func(out string) result {
				return reproof(t, inv, "verify", "--runtime", "runc", "--format", "text", "--out", out, rel.spec)
			}
			srv.set(faultsHere[tt.fault], isBinary)
			r := verify("bad")
			if r.code != tt.code || !strings.Contains(r.stdout+lastLine(r.stderr), tt.want) {
				t.Errorf("verify against the faulty server: exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, tt.want, r.stdout, r.stderr)
			}
			if tt.fault == "html error page" {
				sums := reproof(t, inv, "sums", "--published", rel.pub.Source, "--cache", t.TempDir())
				want := "reproof: sums: warning: " + srv.URL + binaryPath + " answered with text/html for \"garage\""
				if !strings.Contains(sums.stderr, want) {
					t.Errorf("sums against the faulty server: stderr lacks %q:\n%s", want, sums.stderr)
				}
			}
			// Nothing of the bad answer is cached. (Its bytes may wait in
			// the run's own directory under tmp/ for the next run's sweep.)
			for _, sub := range []string{"urls", "blobs/sha256"} {
				if entries, _ := os.ReadDir(filepath.Join(cache, sub)); len(entries) > 0 {
					t.Errorf("the bad answer was cached: %s holds %s", sub, entries[0].Name())
				}
			}

			srv.set(nil, nil)
			if r := verify("fixed"); r.code != 0 || !strings.Contains(r.stdout, "REPRODUCIBLE") {
				t.Errorf("verify after the server was fixed: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			checkDownloadCache(t, cache, good)
		})
	}
}

// TestKilledMidTransfer: reproof killed with SIGKILL while a release
// server stalls in the middle of the download, or a registry in the
// middle of a layer, leaves its partial file (named after its dead
// process); the next run, with the server healed, removes it and works.
func TestKilledMidTransfer(t *testing.T) {
	env := fx.NewEnv(t)

	t.Run("download", func(t *testing.T) {
		rel := serveNimbus(t, env)
		home := t.TempDir()
		cache := filepath.Join(home, "reproof", "downloads")
		inv := invocation{dir: rel.dir, env: []string{"TMPDIR=" + t.TempDir(), "XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + t.TempDir()}}
		rel.srv.set(faults["stall in the body"], func(p string) bool { return p == rel.download })
		s := startReproof(t, inv, append(append([]string{"verify", "--runtime", "runc", "--format", "none"}, rel.pub.VerifyArgs()...), rel.spec)...)
		var partial []os.DirEntry
		s.waitFor(t, "a download in progress", func() bool {
			partial, _ = os.ReadDir(filepath.Join(cache, "tmp"))
			return len(partial) > 0
		})
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.wait(t)
		if left, _ := os.ReadDir(filepath.Join(cache, "tmp")); len(left) != 1 || !strings.HasPrefix(left[0].Name(), "download-") {
			t.Fatalf("after SIGKILL the cache's tmp holds %v, want the partial download", left)
		}
		rel.srv.set(nil, nil)
		r := reproof(t, inv, "sums", "--published", rel.pub.Source, "--github-api", rel.pub.GitHubAPI, "--cache", cache)
		if r.code != 0 {
			t.Errorf("sums after the killed run: exit %d\n%s", r.code, r.stderr)
		}
		checkDownloadCache(t, cache, rel.asset)
	})

	t.Run("pull", func(t *testing.T) {
		testenv.RequireTools(t, "git", "runc")
		upstream, _ := url.Parse("http://" + env.Registry)
		reg := newFaultyServer(t, httputil.NewSingleHostReverseProxy(upstream))
		reg.Start()
		host := strings.TrimPrefix(reg.URL, "http://")
		_, pinned, _ := strings.Cut(env.Images.Toolchain.Ref, "/")
		repo, _, _ := strings.Cut(pinned, "@")
		dir := t.TempDir()
		commit := rebuildProject(t, filepath.Join(dir, "project"))
		writeFile(t, filepath.Join(dir, "reproof.toml"), []byte(`
[source]
repo = "project"
tag = "v2.0"
commit = "`+commit+`"

[build]
image = "`+host+"/"+pinned+`"
command = "mkdir -p dist && cc -o dist/hello hello.c"
artifacts = ["dist/*"]
runtime = "runc"
`))
		cache := t.TempDir()
		inv := invocation{dir: dir, env: []string{"TMPDIR=" + t.TempDir(), "REPROOF_IMAGE_CACHE=" + cache}}
		reg.set(testenv.StallInBody, func(p string) bool { return strings.HasPrefix(p, "/v2/"+repo+"/blobs/") })
		s := startReproof(t, inv, "rebuild", "--out", "out-killed")
		tmpBlobs := func() []string {
			m, _ := filepath.Glob(filepath.Join(cache, "blobs", "sha256", ".tmp-*"))
			return m
		}
		s.waitFor(t, "a layer being written", func() bool { return len(tmpBlobs()) > 0 })
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.wait(t)
		if len(tmpBlobs()) == 0 {
			t.Fatalf("after SIGKILL the image cache holds no partial blob")
		}
		reg.set(nil, nil)
		if r := reproof(t, inv, "rebuild", "--out", "out"); r.code != 0 {
			t.Errorf("rebuild after the killed run: exit %d\n%s", r.code, r.stderr)
		}
		if left := tmpBlobs(); len(left) > 0 {
			t.Errorf("the image cache still holds %v", left)
		}
		checkCacheTemp(t, cache)
	})
}

// checkCacheTemp fails if any temporary file is left in the image cache.
func checkCacheTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("image cache: temporary file %s left", path)
		}
		return nil
	})
}
