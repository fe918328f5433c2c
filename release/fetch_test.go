package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// Fault handlers: what hostile or broken release servers do.

func statusHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, http.StatusText(code), code)
	}
}

// failing answers code to the first n requests, then body.
func failing(n, code int, body []byte) http.HandlerFunc {
	var count atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= int32(n) {
			http.Error(w, http.StatusText(code), code)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}

// raw answers with a Content-Length of announced, sends body, and closes
// the connection: fewer bytes is a truncated body, more is a server
// sending past what it announced.
func raw(announced int, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		testenv.Send(buf, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", announced), body)
	}
}

// reset sends part of the body and resets the connection.
func reset(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		testenv.Send(buf, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body)), body[:len(body)/2])
		testenv.ResetConn(conn)
	}
}

// stalling sends the headers and the first bytes of body (none, and no
// headers, when before is -1), then sends nothing until the client gives
// up, the test ends, or 5s pass.
func stalling(ts *testServer, body []byte, before int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if before >= 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:before])
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-ts.stop:
		case <-time.After(5 * time.Second):
		}
	}
}

// chunked sends body without a Content-Length.
func chunked(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 1000)
			w.Write(rest[:n])
			w.(http.Flusher).Flush()
			rest = rest[n:]
		}
	}
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}
}

// assertCacheEmpty fails unless the cache holds no blob, no entry and no
// temp file.
func assertCacheEmpty(t *testing.T, dir string) {
	t.Helper()
	for _, sub := range []string{"tmp", "urls", "blobs/sha256"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Error(err)
		}
		for _, e := range entries {
			t.Errorf("%s/%s left in the cache", sub, e.Name())
		}
	}
}

func TestFetchFaults(t *testing.T) {
	body := content("garage")[:100]
	big := bytes.Repeat([]byte("x"), 5000)
	tests := []struct {
		name    string
		handler func(ts *testServer) http.HandlerFunc
		asset   func(a Asset) Asset // the listing's claims, if any
		timeout time.Duration
		maxSize int64
		// The error after `fetching "garage" from URL: `; {URL} is the
		// server's. A trailing "*" matches any rest (a reset's text names
		// the client's port).
		wantErr      string
		wantIs       error
		wantAttempts int
		// good is what a healed server serves under the same claims
		// (default: body).
		good []byte
	}{
		{
			name:    "404",
			handler: func(*testServer) http.HandlerFunc { return statusHandler(404) },
			wantErr: "server answered 404 Not Found", wantIs: ErrNotFound, wantAttempts: 1,
		},
		{
			name:    "403 is final",
			handler: func(*testServer) http.HandlerFunc { return statusHandler(403) },
			wantErr: "server answered 403 Forbidden", wantAttempts: 1,
		},
		{
			name:    "500 forever",
			handler: func(*testServer) http.HandlerFunc { return statusHandler(500) },
			wantErr: "server answered 500 Internal Server Error (gave up after 3 attempts)", wantAttempts: 3,
		},
		{
			name:    "truncated body",
			handler: func(*testServer) http.HandlerFunc { return raw(100, body[:40]) },
			wantErr: "truncated: the connection closed after 40 of 100 announced bytes (gave up after 3 attempts)", wantAttempts: 3,
		},
		{
			name:    "truncated body without Content-Length",
			handler: func(*testServer) http.HandlerFunc { return chunked(body[:40]) },
			asset:   func(a Asset) Asset { a.Size = 100; return a },
			wantErr: "truncated: the body ended after 40 of the 100 bytes the release lists (gave up after 3 attempts)", wantAttempts: 3,
		},
		{
			name:    "connection reset",
			handler: func(*testServer) http.HandlerFunc { return reset(body) },
			wantErr: "read tcp *", wantAttempts: 3,
		},
		{
			name:    "stall in the body",
			handler: func(ts *testServer) http.HandlerFunc { return stalling(ts, body, 10) },
			timeout: 300 * time.Millisecond,
			wantErr: "server stalled: no data for 300ms after 10 bytes (gave up after 3 attempts)", wantAttempts: 3,
		},
		{
			name:    "stall before the headers",
			handler: func(ts *testServer) http.HandlerFunc { return stalling(ts, body, -1) },
			timeout: 300 * time.Millisecond,
			wantErr: "server stalled: no response within 300ms (gave up after 3 attempts)", wantAttempts: 3,
		},
		{
			name:    "announced larger than the cap",
			handler: func(*testServer) http.HandlerFunc { return raw(len(big), big) },
			maxSize: 1000,
			wantErr: "too large: the server announces 5000 bytes, more than the cap of 1000", wantIs: ErrTooLarge, wantAttempts: 1,
		},
		{
			name:    "larger than the cap, unannounced",
			handler: func(*testServer) http.HandlerFunc { return chunked(big) },
			maxSize: 1000,
			wantErr: "too large: the body is larger than the cap of 1000 bytes", wantIs: ErrTooLarge, wantAttempts: 1,
		},
		{
			name:    "larger than the release lists",
			handler: func(*testServer) http.HandlerFunc { return chunked(big) },
			asset:   func(a Asset) Asset { a.Size = 10; return a },
			wantErr: "too large: the server sent more than the 10 bytes the release lists", wantIs: ErrTooLarge, wantAttempts: 1,
			good: body[:10],
		},
		{
			name:    "more bytes than announced, size listed",
			handler: func(*testServer) http.HandlerFunc { return raw(5, big) },
			asset:   func(a Asset) Asset { a.Size = int64(len(big)); return a },
			wantErr: "the server announces 5 bytes, the release lists 5000", wantAttempts: 1,
			good: big,
		},
		{
			name:    "more bytes than announced, digest listed",
			handler: func(*testServer) http.HandlerFunc { return raw(5, big) },
			asset:   func(a Asset) Asset { a.SHA256 = digest(big); return a },
			wantErr: "digest mismatch: the download has sha256 " + digest(big[:5]) + ", the release publishes " + digest(big),
			wantIs:  ErrDigestMismatch, wantAttempts: 1, good: big,
		},
		{
			name:    "digest mismatch",
			handler: func(*testServer) http.HandlerFunc { return failing(0, 0, body) },
			asset:   func(a Asset) Asset { a.SHA256 = digest([]byte("the real thing")); return a },
			wantErr: "digest mismatch: the download has sha256 " + digest(body) + ", the release publishes " + digest([]byte("the real thing")),
			wantIs:  ErrDigestMismatch, wantAttempts: 1, good: []byte("the real thing"),
		},
		{
			name: "redirect loop",
			handler: func(ts *testServer) http.HandlerFunc {
				ts.handle("/loop", redirect("/x/garage"))
				return redirect("/loop")
			},
			wantErr: "redirect loop: {URL}/loop redirects back to {URL}/x/garage", wantAttempts: 1,
		},
		{
			name: "endless redirects",
			handler: func(ts *testServer) http.HandlerFunc {
				for i := range 20 {
					ts.handle(fmt.Sprintf("/chain/%d", i), redirect(fmt.Sprintf("/chain/%d", i+1)))
				}
				return redirect("/chain/0")
			},
			wantErr: "redirect loop: stopped after 10 redirects", wantAttempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			u := ts.handle("/x/garage", tt.handler(ts))
			opts := testOptions()
			if tt.timeout > 0 {
				opts.Timeout = tt.timeout
			}
			opts.MaxSize = tt.maxSize
			src, err := NewHTTPSource(ts.URL+"/x", opts)
			if err != nil {
				t.Fatal(err)
			}
			a := src.Asset("garage")
			if tt.asset != nil {
				a = tt.asset(a)
			}
			cacheDir := t.TempDir()
			// A stalled server would finish short after 5s; "stalled"
			// errors show the timeout struck first.
			d, err := NewFetcher(src, cacheDir, opts).Fetch(context.Background(), a)
			if err == nil {
				t.Fatalf("Fetch = %+v, want an error", d)
			}
			want := fmt.Sprintf("fetching %q from %s: %s", "garage", u, strings.ReplaceAll(tt.wantErr, "{URL}", ts.URL))
			if w, ok := strings.CutSuffix(want, "*"); ok {
				if !strings.HasPrefix(err.Error(), w) {
					t.Errorf("Fetch error = %v\nwant prefix      %s", err, w)
				}
			} else if err.Error() != want {
				t.Errorf("Fetch error = %v\nwant             %s", err, want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Fetch error is more than one line: %q", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Fetch error = %v, want errors.Is %v", err, tt.wantIs)
			}
			if got := ts.hitsOf("/x/garage"); got != tt.wantAttempts {
				t.Errorf("the server was asked %d times, want %d", got, tt.wantAttempts)
			}
			assertCacheEmpty(t, cacheDir)

			// The server heals: the same cache gets the right bytes,
			// downloaded, none of the bad ones reused.
			good := tt.good
			if good == nil {
				good = body
			}
			ts.handle("/x/garage", raw(len(good), good))
			d, err = NewFetcher(src, cacheDir, opts).Fetch(context.Background(), a)
			if err != nil {
				t.Fatalf("Fetch from the healed server = %v", err)
			}
			if got := mustReadFile(t, d.Path); d.Cached || d.SHA256 != digest(good) || !bytes.Equal(got, good) {
				t.Errorf("Fetch from the healed server = %+v, want the %d good bytes, downloaded", d, len(good))
			}
		})
	}
}

// TestFetchTimeoutFromEnv: REPROOF_HTTP_TIMEOUT sets the default timeout;
// an explicit Timeout wins, and a value that is not a positive duration
// is ignored.
func TestFetchTimeoutFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == TimeoutEnv {
				return v
			}
			return ""
		}
	}
	for _, tt := range []struct {
		opts SourceOptions
		want time.Duration
	}{
		{SourceOptions{Getenv: env("")}, DefaultTimeout},
		{SourceOptions{Getenv: env("250ms")}, 250 * time.Millisecond},
		{SourceOptions{Getenv: env("0")}, DefaultTimeout},
		{SourceOptions{Getenv: env("a while")}, DefaultTimeout},
		{SourceOptions{Getenv: env("250ms"), Timeout: time.Minute}, time.Minute},
	} {
		if got := tt.opts.withDefaults().Timeout; got != tt.want {
			t.Errorf("Timeout with %s=%q and %v = %v, want %v", TimeoutEnv, tt.opts.Getenv(TimeoutEnv), tt.opts.Timeout, got, tt.want)
		}
	}

	// In force: a stalled server fails after the environment's timeout.
	ts := newTestServer(t)
	ts.handle("/garage", stalling(ts, content("garage"), -1))
	opts := testOptions()
	opts.Timeout, opts.Retries, opts.Getenv = 0, 1, env("200ms")
	src := mustHTTPSource(t, ts.URL, opts)
	_, err := NewFetcher(src, t.TempDir(), opts).Fetch(context.Background(), src.Asset("garage"))
	if err == nil || !strings.Contains(err.Error(), "server stalled: no response within 200ms") {
		t.Errorf("Fetch from a stalled server with %s=200ms = %v", TimeoutEnv, err)
	}
}

// TestFetchSlowButMoving: the timeout is for silence, not for the whole
// download: a body that trickles in for longer than the timeout, but
// never pauses that long, arrives.
func TestFetchSlowButMoving(t *testing.T) {
	ts := newTestServer(t)
	// 60 bytes, one every 100 ms: 6 s in all, never 5 s without a byte
	// (a 50x margin, so a loaded machine does not make it fail).
	body := bytes.Repeat([]byte("slow but sure "), 5)[:60]
	ts.handle("/garage", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for i := range body {
			w.Write(body[i : i+1])
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := testOptions()
	opts.Timeout = 5 * time.Second
	opts.Retries = 1
	src := mustHTTPSource(t, ts.URL, opts)
	start := time.Now()
	d, err := NewFetcher(src, t.TempDir(), opts).Fetch(context.Background(), src.Asset("garage"))
	if err != nil {
		t.Fatal(err)
	}
	if d.SHA256 != digest(body) {
		t.Errorf("Fetch = %+v", d)
	}
	if elapsed := time.Since(start); elapsed < opts.Timeout {
		t.Errorf("the download took %v, less than the timeout: the test proves nothing", elapsed)
	}
}

// TestFetchMoreThanAnnounced: bytes past the Content-Length are never
// read: with nothing published to check against, the download is exactly
// what the server announced.
func TestFetchMoreThanAnnounced(t *testing.T) {
	ts := newTestServer(t)
	big := bytes.Repeat([]byte("0123456789"), 500)
	ts.handle("/x/garage", raw(5, big))
	src := mustHTTPSource(t, ts.URL+"/x", testOptions())
	d, err := NewFetcher(src, t.TempDir(), testOptions()).Fetch(context.Background(), src.Asset("garage"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustReadFile(t, d.Path); d.Size != 5 || string(got) != "01234" {
		t.Errorf("Fetch = %d bytes %q, want the 5 announced", d.Size, got)
	}
}

func TestFetchRecovers(t *testing.T) {
	body := content("garage")
	tests := []struct {
		name         string
		handler      http.HandlerFunc
		wantAttempts int
	}{
		{"503 twice", failing(2, 503, body), 3},
		{"429 once", failing(1, 429, body), 2},
		{"408 once", failing(1, 408, body), 2},
		{"no Content-Length", chunked(body), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.handle("/garage", tt.handler)
			src := mustHTTPSource(t, ts.URL, testOptions())
			cacheDir := t.TempDir()
			a := src.Asset("garage")
			a.Size, a.SHA256 = int64(len(body)), digest(body)
			d, err := NewFetcher(src, cacheDir, testOptions()).Fetch(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			if got := ts.hitsOf("/garage"); got != tt.wantAttempts {
				t.Errorf("the server was asked %d times, want %d", got, tt.wantAttempts)
			}
			if d.SHA256 != digest(body) || d.Cached {
				t.Errorf("Fetch = %+v", d)
			}
			if tmp := leftIn(t, filepath.Join(cacheDir, "tmp")); len(tmp) != 0 {
				t.Errorf("tmp/ holds %d files after the retries", len(tmp))
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 14, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"soon", 0},
		{"Tue, 14 Jan 2025 12:00:02 GMT", 2 * time.Second},
		{"Tue, 14 Jan 2025 11:00:00 GMT", 0},
	} {
		if got := parseRetryAfter(tt.v, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestRetryBackoff: waits double from the base up to the cap, a
// Retry-After lengthens one, and the attempts are bounded.
func TestRetryBackoff(t *testing.T) {
	calls := 0
	var starts []time.Time
	n, err := retry(context.Background(), 4, 20*time.Millisecond, func() error {
		calls++
		starts = append(starts, time.Now())
		return &transientError{err: errors.New("flaky")}
	})
	if n != 4 || calls != 4 || err == nil {
		t.Fatalf("retry = %d, %v after %d calls, want 4 attempts and the error", n, err, calls)
	}
	for i, min := range []time.Duration{20, 40, 80} {
		if gap := starts[i+1].Sub(starts[i]); gap < min*time.Millisecond {
			t.Errorf("wait %d was %v, want at least %v", i+1, gap, min*time.Millisecond)
		}
	}
	calls = 0
	n, err = retry(context.Background(), 4, time.Millisecond, func() error {
		calls++
		return errors.New("final")
	})
	if n != 1 || calls != 1 || err == nil || err.Error() != "final" {
		t.Errorf("a final error was tried %d times (%v)", calls, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err = retry(ctx, 10, time.Hour, func() error {
		cancel()
		return &transientError{err: errors.New("flaky")}
	})
	if n != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("retry after cancel = %d, %v, want 1 and context.Canceled", n, err)
	}
}

// TestFetchCancel: cancelling mid-download stops it and leaves no temp
// file and nothing cached.
func TestFetchCancel(t *testing.T) {
	ts := newTestServer(t)
	ts.handle("/garage", stalling(ts, content("garage"), 500))
	src := mustHTTPSource(t, ts.URL, testOptions())
	cacheDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := NewFetcher(src, cacheDir, testOptions()).Fetch(ctx, src.Asset("garage"))
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if tmp := leftIn(t, filepath.Join(cacheDir, "tmp")); len(tmp) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no temp file appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Fetch did not return after cancel")
	}
	assertCacheEmpty(t, cacheDir)
}

// TestFetchTLS: an untrusted certificate is final, and a redirect from
// https down to http is refused.
func TestFetchTLS(t *testing.T) {
	plain := newTestServer(t)
	plain.file("/garage", content("garage"))
	tlsServer := httptest.NewUnstartedServer(redirect(plain.URL + "/garage"))
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)

	src := mustHTTPSource(t, tlsServer.URL, testOptions())
	_, err := NewFetcher(src, t.TempDir(), testOptions()).Fetch(context.Background(), src.Asset("garage"))
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("Fetch(untrusted certificate) = %v, want one certificate error", err)
	}

	opts := testOptions()
	opts.HTTP = tlsServer.Client()
	src = mustHTTPSource(t, tlsServer.URL, opts)
	_, err = NewFetcher(src, t.TempDir(), opts).Fetch(context.Background(), src.Asset("garage"))
	want := fmt.Sprintf("fetching %q from %s/garage: refusing a redirect from https to http: %s/garage", "garage", tlsServer.URL, plain.URL)
	if err == nil || err.Error() != want {
		t.Errorf("Fetch(downgrade) = %v\nwant                  %s", err, want)
	}
	if plain.totalHits() != 0 {
		t.Errorf("the http server was asked after a downgrade")
	}
}

// TestFetchErrorHidesPassword: a password in the base URL becomes Basic
// credentials for that origin; it never reaches an asset URL, an error,
// the listing or the cache.
func TestFetchErrorHidesPassword(t *testing.T) {
	ts := newTestServer(t)
	ts.file("/x/garage", content("garage"))
	base := strings.Replace(ts.URL, "http://", "http://user:hunter2@", 1)
	src, err := NewHTTPSource(base+"/x", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	f := NewFetcher(src, cacheDir, testOptions())
	if _, err := f.Fetch(context.Background(), src.Asset("garage")); err != nil {
		t.Fatal(err)
	}
	if got := ts.headerValues("Authorization"); len(got) != 1 || got[0] != "Basic dXNlcjpodW50ZXIy" {
		t.Errorf("Authorization = %q, want Basic user:hunter2", got)
	}
	a := src.Asset("missing")
	_, err = f.Fetch(context.Background(), a)
	if a.URL != ts.URL+"/x/missing" || err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Fetch(%s) = %v, want an error without the password", a.URL, err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Source != strings.Replace(ts.URL, "http://", "http://user:xxxxx@", 1)+"/x" {
		t.Errorf("List().Source = %q, want the password hidden", l.Source)
	}
	assertNoSecret(t, cacheDir, "hunter2")
}

func ExampleFetcher() {
	// A release server publishing one file (on loopback, for the example).
	// It answers a conditional GET with 304 Not Modified when the file
	// still has the ETag the cache recorded.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1.0.1"`)
		http.ServeContent(w, r, "garage", time.Time{}, strings.NewReader("garage v1.0.1\n"))
	}))
	defer srv.Close()
	cacheDir, err := os.MkdirTemp("", "reproof-cache")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(cacheDir) //nolint:errcheck // an example's temporary directory, best effort

	src, err := NewSource(srv.URL+"/_releases/v1.0.1/x86_64-unknown-linux-musl", SourceOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	asset := src.(*HTTPSource).Asset("garage")
	fetcher := NewFetcher(src, cacheDir, SourceOptions{})
	for range 2 {
		d, err := fetcher.Fetch(context.Background(), asset)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %d bytes, sha256 %.12s…, from the cache: %v, revalidated: %v\n", d.Asset.Name, d.Size, d.SHA256, d.Cached, d.Revalidated)
	}
	// Output:
	// garage: 14 bytes, sha256 f7cb6bd9a282…, from the cache: false, revalidated: false
	// garage: 14 bytes, sha256 f7cb6bd9a282…, from the cache: true, revalidated: true
}
