package release

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/internal/testenv"
)

// tap is a TCP relay in front of a real server that counts what passes:
// the connections (reproof makes one per request) and the bytes the
// server sends back.
type tap struct {
	URL      string
	conns    atomic.Int64
	received atomic.Int64
	active   atomic.Int64 // connections still being relayed
}

func newTap(t *testing.T, upstream string) *tap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{URL: "http://" + l.Addr().String()}
	target := strings.TrimPrefix(upstream, "http://")
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tp.conns.Add(1)
			tp.active.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer tp.active.Add(-1)
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				// A relay: either side may hang up at any time.
				go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }() //nolint:errcheck // a relay
				n, _ := io.Copy(c, u)                                        //nolint:errcheck // a relay
				tp.received.Add(n)
			}()
		}
	}()
	return tp
}

// counts returns the requests and bytes since the last call, once every
// connection has been relayed to its end.
func (tp *tap) counts(t *testing.T) (requests, received int64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); tp.active.Load() > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a connection through the tap is still open after 30s")
		}
	}
	return tp.conns.Swap(0), tp.received.Swap(0)
}

// replaceFile puts data at path the way a publisher (or an attacker)
// replaces a file on a server: a new file renamed over the old one; mtime
// set when not zero.
func replaceFile(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestCacheRevalidatesWithRealServers: behind nginx (ETag and
// Last-Modified) and Python's http.server (Last-Modified only), a cached
// file is reused only when the server answers 304 to the conditional GET;
// a file replaced on the server is fetched again and its new bytes are
// what Fetch returns; a file the server changed within the last minute
// (its Last-Modified cannot tell it from a second change in the same
// second) is fetched again on every run until it is older. Each fetch is
// counted in requests and bytes at the socket.
func TestCacheRevalidatesWithRealServers(t *testing.T) {
	good := bytes.Repeat([]byte("the published release v1.0\n"), 4000) // 108 kB
	tampered := bytes.Clone(good)
	copy(tampered[50000:], "backdoor")
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, kind := range []string{testenv.Nginx, testenv.PythonHTTP} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Chmod(root, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(root, "app-1.0.tar.gz")
			replaceFile(t, file, good, past)
			tp := newTap(t, testenv.ServeDir(t, kind, root))
			src, err := NewHTTPSource(tp.URL+"/", testOptions())
			if err != nil {
				t.Fatal(err)
			}
			cacheDir := t.TempDir()
			a := src.Asset("app-1.0.tar.gz")
			fetch := func(step string, want []byte, wantCached bool) {
				t.Helper()
				d, err := NewFetcher(src, cacheDir, testOptions()).Fetch(context.Background(), a)
				if err != nil {
					t.Fatalf("%s: Fetch = %v", step, err)
				}
				got := mustReadFile(t, d.Path)
				if d.SHA256 != digest(want) || !bytes.Equal(got, want) {
					t.Errorf("%s: Fetch gave sha256 %s, want %s", step, d.SHA256, digest(want))
				}
				if d.Cached != wantCached || d.Revalidated != wantCached {
					t.Errorf("%s: Fetch Cached=%v Revalidated=%v, want %v", step, d.Cached, d.Revalidated, wantCached)
				}
				requests, received := tp.counts(t)
				if requests != 1 {
					t.Errorf("%s: %d requests, want 1", step, requests)
				}
				if wantCached && received > 1000 {
					t.Errorf("%s: %d bytes received for a 304, want the headers only", step, received)
				}
				if !wantCached && received < int64(len(want)) {
					t.Errorf("%s: %d bytes received, want the %d of the file", step, received, len(want))
				}
				t.Logf("%s: 1 request, %d bytes received", step, received)
			}
			fetch("first", good, false)
			fetch("unchanged", good, true)
			fetch("unchanged again", good, true)

			// Tampered behind the cached URL, at an mtime of its own.
			replaceFile(t, file, tampered, past.Add(time.Minute))
			fetch("tampered", tampered, false)
			fetch("tampered, unchanged", tampered, true)

			// Replaced just now: fetched until a minute has passed.
			replaceFile(t, file, good, time.Time{})
			fetch("fresh", good, false)
			fetch("fresh, again", good, false)
			if err := os.Chtimes(file, past, past); err != nil {
				t.Fatal(err)
			}
			fetch("settled", good, false)
			fetch("settled, unchanged", good, true)
		})
	}
}

// TestFetchAnswersNotCached: answers that are not a complete, successful
// answer for the file are used for the run and not cached, and the fixed
// server's file is what the next fetch caches. The faults are Go servers
// in front of nginx: nginx cannot be made to send them.
func TestFetchAnswersNotCached(t *testing.T) {
	good := bytes.Repeat([]byte("the published release v1.0\n"), 100)
	page := []byte("<!DOCTYPE html><html><title>Service Unavailable</title><body>Come back later</body></html>\n")
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	for _, name := range []string{"app-1.0.tar.gz", "notes.html"} {
		replaceFile(t, filepath.Join(root, name), good, past)
	}
	upstream := testenv.ServeDir(t, testenv.Nginx, root)
	tests := []struct {
		name  string
		file  string
		fault http.HandlerFunc
		want  []byte // what the faulty answer gives
		warn  string // "" for none
	}{
		{
			name: "HTML error page with 200 and an ETag",
			file: "app-1.0.tar.gz",
			fault: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("ETag", `"error-page"`)
				w.Write(page)
			},
			want: page,
			warn: `{URL}/app-1.0.tar.gz answered with text/html; charset=utf-8 for "app-1.0.tar.gz", which is not an HTML file (an error page?): used as the published file in this run, not cached`,
		},
		{
			name: "body ended by closing the connection, no length",
			file: "app-1.0.tar.gz",
			fault: func(w http.ResponseWriter, r *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				testenv.Send(buf, []byte("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nETag: \"cut\"\r\nConnection: close\r\n\r\n"), good[:1000])
			},
			want: good[:1000],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var broken atomic.Bool
			broken.Store(true)
			proxy := &httpRelay{upstream: upstream}
			srv := newTestServer(t)
			srv.handle("/"+tt.file, func(w http.ResponseWriter, r *http.Request) {
				if broken.Load() {
					tt.fault(w, r)
					return
				}
				proxy.ServeHTTP(w, r)
			})
			src := mustHTTPSource(t, srv.URL+"/", testOptions())
			cacheDir := t.TempDir()
			a := src.Asset(tt.file)

			f := NewFetcher(src, cacheDir, testOptions())
			d, err := f.Fetch(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustReadFile(t, d.Path); !bytes.Equal(got, tt.want) || d.Cached {
				t.Errorf("Fetch from the faulty server = %+v (%d bytes), want the %d bytes it sent", d, len(got), len(tt.want))
			}
			var wantWarnings []string
			if tt.warn != "" {
				wantWarnings = []string{strings.ReplaceAll(tt.warn, "{URL}", srv.URL)}
			}
			if got := f.Warnings(); !equalStrings(got, wantWarnings) {
				t.Errorf("Warnings() = %q\nwant         %q", got, wantWarnings)
			}
			for _, sub := range []string{"urls", "blobs/sha256"} {
				if entries := leftIn(t, filepath.Join(cacheDir, sub)); len(entries) > 0 {
					t.Errorf("the faulty answer was cached: %s holds %s", sub, entries[0].Name())
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(d.Path); err == nil {
				t.Errorf("Close left %s", d.Path)
			}
			if entries := leftIn(t, filepath.Join(cacheDir, "tmp")); len(entries) > 0 {
				t.Errorf("tmp holds %s after Close", entries[0].Name())
			}

			// Fixed: the real file, cached; then a 304.
			broken.Store(false)
			for i, wantCached := range []bool{false, true} {
				f := NewFetcher(src, cacheDir, testOptions())
				d, err := f.Fetch(context.Background(), a)
				if err != nil {
					t.Fatal(err)
				}
				if d.SHA256 != digest(good) || d.Cached != wantCached || len(f.Warnings()) > 0 {
					t.Errorf("fetch %d from the fixed server = %+v, warnings %q; want the good file, cached %v", i+1, d, f.Warnings(), wantCached)
				}
			}
		})
	}

	// An HTML file is HTML: cached without a warning.
	src := mustHTTPSource(t, upstream+"/", testOptions())
	f := NewFetcher(src, t.TempDir(), testOptions())
	for i := range 2 {
		d, err := f.Fetch(context.Background(), src.Asset("notes.html"))
		if err != nil || d.Cached != (i == 1) || len(f.Warnings()) > 0 {
			t.Errorf("Fetch(notes.html) #%d = %+v, %v, warnings %q", i+1, d, err, f.Warnings())
		}
	}
}

// httpRelay passes requests on to a real server, headers and all.
type httpRelay struct{ upstream string }

func (p *httpRelay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.upstream+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close() //nolint:errcheck // read to its end below
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// deadOwner returns the owner ID of a process that has exited.
func deadOwner(t *testing.T) owner.ID {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	id := owner.Self()
	id.PID, id.Start = cmd.Process.Pid, 1
	if !id.Dead() {
		t.Fatalf("owner %s of an exited process is not dead", id)
	}
	return id
}

// TestFetchSweepsDeadRuns: the first Fetch removes what dead runs left in
// the cache's tmp directory (partial downloads, entries, uncached run
// files), and old temp files of an older reproof; a live run's files and
// a recent unowned one stay.
func TestFetchSweepsDeadRuns(t *testing.T) {
	ts := newTestServer(t)
	ts.file("/garage", content("garage"))
	src := mustHTTPSource(t, ts.URL, testOptions())
	cacheDir := t.TempDir()
	tmp := filepath.Join(cacheDir, "tmp")
	dead := deadOwner(t).String()
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]time.Time{
		"download-" + dead + "-1":                  {},
		"entry-" + dead + "-2":                     {},
		"run-" + dead + "-42/" + digest(nil):       {},
		"download-" + owner.Self().String() + "-3": {},
		"download-123456":                          old, // an older reproof's, two days old
		"entry-654321":                             {},  // an older reproof's, recent
	}
	for name, mtime := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o444); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(filepath.Join(tmp, "run-"+dead+"-42"), 0o500); err != nil {
		t.Fatal(err)
	}
	f := NewFetcher(src, cacheDir, testOptions())
	if _, err := f.Fetch(context.Background(), src.Asset("garage")); err != nil {
		t.Fatal(err)
	}
	entries := mustReadDir(t, tmp)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"download-" + owner.Self().String() + "-3", "entry-654321"}
	if !equalStrings(left, want) {
		t.Errorf("tmp after the sweep holds %q, want %q", left, want)
	}
	if w := f.Warnings(); len(w) > 0 {
		t.Errorf("Warnings() = %q", w)
	}
}
