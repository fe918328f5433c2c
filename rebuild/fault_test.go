package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/reproof/reproof/internal/testenv"
)

// registryFaults are what hostile or broken registries do to a request the
// hook picks. Each handler gets the registry's own answer from next when it
// needs it.
var registryFaults = map[string]testenv.Fault{
	"404": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"gone"}]}`, http.StatusNotFound)
	},
	"500": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Error(w, "oops", http.StatusInternalServerError)
	},
	// A 500 whose body is 100 KB of text laced with terminal escapes.
	"500 with a hostile body": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Error(w, strings.Repeat("\x1b[2J\x1b]0;pwned\x07 boom\r\n", 5000), http.StatusInternalServerError)
	},
	"reset before the headers": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			testenv.ResetConn(conn)
		}
	},
	"reset in the body": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := testenv.Recorded(next, r)
		body := rec.Body.Bytes()
		conn, _ := testenv.RawAnswer(w, rec, len(body), body[:len(body)/2])
		testenv.ResetConn(conn)
	},
	"truncated body": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := testenv.Recorded(next, r)
		body := rec.Body.Bytes()
		conn, _ := testenv.RawAnswer(w, rec, len(body), body[:len(body)/2])
		conn.Close()
	},
	"stall before the headers": testenv.StallBeforeHeaders,
	"stall in the body":        testenv.StallInBody,
	// The right bytes under the right Content-Length, then more, on a
	// connection the server keeps open: the extra bytes must not be read
	// as the next answer.
	"more bytes than announced": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := testenv.Recorded(next, r)
		body := rec.Body.Bytes()
		conn, buf := testenv.RawAnswer(w, rec, len(body), append(append([]byte(nil), body...), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!"...))
		defer conn.Close()
		// Serve whatever else comes on this connection.
		for {
			req, err := http.ReadRequest(buf.Reader)
			if err != nil {
				return
			}
			rec := testenv.Recorded(next, req)
			resp := rec.Result()
			resp.ContentLength = int64(rec.Body.Len())
			if resp.Write(buf) != nil || buf.Flush() != nil {
				return
			}
		}
	},
	// More bytes than the manifest declares, all announced.
	"longer than declared": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := testenv.Recorded(next, r)
		body := append(append([]byte(nil), rec.Body.Bytes()...), make([]byte, 4096)...)
		conn, _ := testenv.RawAnswer(w, rec, len(body), body)
		conn.Close()
	},
	"redirect to itself": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	},
	"redirect loop": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, "/elsewhere/a?back="+r.URL.Path, http.StatusFound)
	},
	"endless redirects": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, "/elsewhere/0", http.StatusFound)
	},
	"wrong bytes": func(_ <-chan struct{}, w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := testenv.Recorded(next, r)
		body := append([]byte(nil), rec.Body.Bytes()...)
		body[len(body)/2] ^= 0x20
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	},
}

// elsewhere serves the targets of the redirect faults: /elsewhere/a
// redirects back to where it came from, /elsewhere/N to /elsewhere/N+1.
func elsewhere(w http.ResponseWriter, r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, "/elsewhere/")
	if !ok {
		return false
	}
	if rest == "a" {
		http.Redirect(w, r, r.URL.Query().Get("back"), http.StatusFound)
		return true
	}
	var n int
	fmt.Sscan(rest, &n)
	http.Redirect(w, r, fmt.Sprintf("/elsewhere/%d", n+1), http.StatusFound)
	return true
}

// checkNothingUnverified fails unless every blob in the layout is named by
// its own digest, no temporary file is left, and index.json lists nothing:
// a failed pull may leave verified blobs for the next one, never an image.
func checkNothingUnverified(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("temporary file left in the image cache: %s", path)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256")); err == nil {
		checkCacheBlobs(t, dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var index v1.IndexManifest
	if err != nil || json.Unmarshal(raw, &index) != nil {
		t.Fatalf("index.json: %v\n%s", err, raw)
	}
	if len(index.Manifests) != 0 {
		t.Errorf("index.json lists %d images after a failed pull", len(index.Manifests))
	}
}

// TestPullImageRegistryFaults points PullImage at a registry that
// misbehaves on the image's manifest, config or a layer, and checks the
// answer: a one-line error naming the image, the number of requests the
// registry saw (retries bounded: Retries for transient faults, one for
// final ones), nothing unverified in the cache; then the registry heals and
// the same cache gives the right image.
func TestPullImageRegistryFaults(t *testing.T) {
	const retries = 3
	type outcome struct {
		err  string // in the error; "" means the pull succeeds
		is   error
		hits int // GETs of the target
	}
	tests := []struct {
		fault  string
		target string // manifest, config or layer
		want   outcome
	}{
		{"404", "manifest", outcome{"BLOB_UNKNOWN: gone", nil, 1}},
		{"404", "layer", outcome{"BLOB_UNKNOWN: gone", nil, 1}},
		{"500", "manifest", outcome{"500 Internal Server Error: oops", nil, retries}},
		{"500", "layer", outcome{"500 Internal Server Error: oops", nil, retries}},
		// ggcr reads at most 64 KiB of an error body, and does not retry
		// one that is longer.
		{"500 with a hostile body", "layer", outcome{"500 Internal Server Error", nil, 1}},
		{"reset before the headers", "manifest", outcome{"connection reset", nil, retries}},
		{"reset in the body", "manifest", outcome{"connection reset by peer (gave up after 3 attempts)", nil, retries}},
		{"reset in the body", "layer", outcome{"connection reset by peer (gave up after 3 attempts)", nil, retries}},
		{"truncated body", "layer", outcome{"truncated: the connection closed after", nil, retries}},
		{"stall before the headers", "manifest", outcome{"registry stalled: no response within 300ms", nil, retries}},
		{"stall before the headers", "layer", outcome{"registry stalled: no response within 300ms", nil, retries}},
		{"stall in the body", "manifest", outcome{"registry stalled: no data for 300ms after", nil, retries}},
		{"stall in the body", "config", outcome{"registry stalled: no data for 300ms after", nil, retries}},
		{"stall in the body", "layer", outcome{"registry stalled: no data for 300ms after", nil, retries}},
		{"more bytes than announced", "manifest", outcome{"", nil, 1}},
		{"more bytes than announced", "layer", outcome{"", nil, 1}},
		{"longer than declared", "layer", outcome{"does not match expected size", nil, 1}},
		{"redirect to itself", "manifest", outcome{"redirect loop: ", nil, 1}},
		{"redirect loop", "layer", outcome{"redirect loop: ", nil, 1}},
		{"endless redirects", "layer", outcome{"redirect loop: stopped after 10 redirects", nil, 1}},
		{"wrong bytes", "manifest", outcome{"", ErrDigestMismatch, 1}},
		{"wrong bytes", "config", outcome{"", ErrDigestMismatch, 1}},
		{"wrong bytes", "layer", outcome{"", ErrDigestMismatch, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.fault+"/"+tt.target, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			stop := make(chan struct{})
			t.Cleanup(func() { close(stop) }) // before the server closes
			img := testImage(t, "linux", "amd64")
			d := reg.push(t, "base", "v1", img)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			target := map[string]string{
				"manifest": "/v2/base/manifests/" + d.String(),
				"config":   "/v2/base/blobs/" + m.Config.Digest.String(),
				"layer":    "/v2/base/blobs/" + m.Layers[1].Digest.String(),
			}[tt.target]
			var mu sync.Mutex
			hits, healed := 0, false
			fault := registryFaults[tt.fault]
			reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				mu.Lock()
				h := healed
				if r.Method == http.MethodGet && r.URL.Path == target && !h {
					hits++
				}
				mu.Unlock()
				switch {
				case h:
					return false
				case elsewhere(w, r):
					return true
				case r.Method != http.MethodGet || r.URL.Path != target:
					return false
				}
				fault(stop, w, r, next)
				return true
			})
			opts := testOptions(t)
			opts.Timeout, opts.Retries, opts.RetryBackoff = 300*time.Millisecond, retries, 10*time.Millisecond
			ref := fmt.Sprintf("%s/base@%s", reg.host, d)

			// Generous: every fault ends in a few timeouts; a hang is what
			// this guards against.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			got, err := PullImage(ctx, ref, opts)
			mu.Lock()
			n := hits
			mu.Unlock()
			if n != tt.want.hits {
				t.Errorf("the registry was asked for the %s %d times, want %d", tt.target, n, tt.want.hits)
			}
			if tt.want.err == "" && tt.want.is == nil {
				if err != nil {
					t.Fatalf("PullImage(%q) = %v, want the verified image", ref, err)
				}
				readLayers(t, got.Image)
				checkCacheBlobs(t, opts.CacheDir)
				return
			}
			if err == nil {
				t.Fatalf("PullImage(%q) = %+v, want an error", ref, got)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("PullImage(%q) hung: %v", ref, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want.err) || !strings.Contains(msg, ref) {
				t.Errorf("PullImage(%q) = %q\nwant the ref and %q", ref, msg, tt.want.err)
			}
			if strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) || len(msg) > 1000 {
				t.Errorf("PullImage(%q) error is not one short line: %d bytes: %q", ref, len(msg), msg)
			}
			if tt.want.is != nil && !errors.Is(err, tt.want.is) {
				t.Errorf("PullImage(%q) = %v, want errors.Is %v", ref, err, tt.want.is)
			}
			checkNothingUnverified(t, opts.CacheDir)

			// The registry heals: the same cache gives the right image,
			// pulled (nothing bad was kept to be served from the cache).
			mu.Lock()
			healed = true
			mu.Unlock()
			got, err = PullImage(ctx, ref, opts)
			if err != nil {
				t.Fatalf("PullImage(%q) from a healed registry = %v", ref, err)
			}
			if got.FromCache || got.Digest != d.String() {
				t.Errorf("PullImage(%q) from a healed registry = %+v, want a pull of %s", ref, got, d)
			}
			readLayers(t, got.Image)
			checkCacheBlobs(t, opts.CacheDir)
		})
	}
}

// TestPullImageSlowButMoving: the timeout is for silence, not for the
// whole pull: a layer that trickles in for longer than the timeout, but
// never pauses that long, arrives.
func TestPullImageSlowButMoving(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	d := reg.push(t, "base", "v1", img)
	m, _ := img.Manifest()
	layer := "/v2/base/blobs/" + m.Layers[0].Digest.String()
	reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || r.URL.Path != layer {
			return false
		}
		rec := testenv.Recorded(next, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		// 20 pieces, 100 ms apart: 2 s in all, never 1 s of silence.
		step := (len(body) + 19) / 20
		for len(body) > 0 {
			n := min(step, len(body))
			w.Write(body[:n])
			w.(http.Flusher).Flush()
			body = body[n:]
			time.Sleep(100 * time.Millisecond)
		}
		return true
	})
	opts := testOptions(t)
	opts.Timeout, opts.Retries = time.Second, 1
	start := time.Now()
	got, err := PullImage(context.Background(), fmt.Sprintf("%s/base@%s", reg.host, d), opts)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < opts.Timeout {
		t.Errorf("the pull took %v, less than the timeout: the test proves nothing", took)
	}
	readLayers(t, got.Image)
}

func TestRemoteText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain", "plain"},
		{"two\nlines\r\n", "two lines"},
		{"\x1b[31mred\x1b[0m  and\ttabs", "[31mred [0m and tabs"},
		{"bad \xff utf-8", "bad utf-8"},
		{strings.Repeat("é", 300), strings.Repeat("é", maxRemoteMessage/2) + "…"},
	} {
		if got := remoteText(tt.in); got != tt.want {
			t.Errorf("remoteText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestImageOptionsTimeoutFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == TimeoutEnv {
				return v
			}
			return ""
		}
	}
	for _, tt := range []struct {
		opts ImageOptions
		want time.Duration
	}{
		{ImageOptions{Getenv: env("")}, DefaultRegistryTimeout},
		{ImageOptions{Getenv: env("5s")}, 5 * time.Second},
		{ImageOptions{Getenv: env("-5s")}, DefaultRegistryTimeout},
		{ImageOptions{Getenv: env("soon")}, DefaultRegistryTimeout},
		{ImageOptions{Getenv: env("5s"), Timeout: time.Minute}, time.Minute},
	} {
		if got := tt.opts.withDefaults().Timeout; got != tt.want {
			t.Errorf("Timeout with %s=%q and %v = %v, want %v", TimeoutEnv, tt.opts.Getenv(TimeoutEnv), tt.opts.Timeout, got, tt.want)
		}
	}
}
