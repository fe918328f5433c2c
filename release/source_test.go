package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a release server on 127.0.0.1: files by path, special
// handlers by path, and a record of every request.
type testServer struct {
	*httptest.Server
	stop chan struct{} // closed before the server: stalled handlers return

	mu       sync.Mutex
	files    map[string][]byte
	handlers map[string]http.HandlerFunc
	hits     map[string]int
	requests []*http.Request // clones, for their headers
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{
		stop:     make(chan struct{}),
		files:    map[string][]byte{},
		handlers: map[string]http.HandlerFunc{},
		hits:     map[string]int{},
	}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close) // runs last
	t.Cleanup(func() { close(ts.stop) })
	return ts
}

func (ts *testServer) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	ts.mu.Lock()
	ts.hits[p]++
	ts.requests = append(ts.requests, r.Clone(context.Background()))
	h := ts.handlers[p]
	body, ok := ts.files[p]
	ts.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := `"` + digest(body)[:16] + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (ts *testServer) file(path string, body []byte) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.files[path] = body
	return ts.URL + path
}

func (ts *testServer) handle(path string, h http.HandlerFunc) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.handlers[path] = h
	return ts.URL + path
}

func (ts *testServer) hitsOf(path string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.hits[path]
}

func (ts *testServer) totalHits() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for _, h := range ts.hits {
		n += h
	}
	return n
}

// headerValues returns every value header had across the requests.
func (ts *testServer) headerValues(header string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []string
	for _, r := range ts.requests {
		out = append(out, r.Header.Values(header)...)
	}
	return out
}

// testOptions never reads the real environment (no GITHUB_TOKEN of the
// machine running the tests) and retries fast.
func testOptions() SourceOptions {
	return SourceOptions{
		Getenv:       func(string) string { return "" },
		Timeout:      10 * time.Second,
		Retries:      3,
		RetryBackoff: time.Millisecond,
	}
}

// mustHTTPSource is NewHTTPSource of a base URL the test made.
func mustHTTPSource(t testing.TB, base string, opts SourceOptions) *HTTPSource {
	t.Helper()
	s, err := NewHTTPSource(base, opts)
	if err != nil {
		t.Fatalf("NewHTTPSource(%q): %v", base, err)
	}
	return s
}

// mustDirSource is NewDirSource of a directory the test made.
func mustDirSource(t testing.TB, dir string) *DirSource {
	t.Helper()
	s, err := NewDirSource(dir)
	if err != nil {
		t.Fatalf("NewDirSource(%q): %v", dir, err)
	}
	return s
}

// mustSource is NewSource of a spec the test made.
func mustSource(t testing.TB, spec string, opts SourceOptions) Source {
	t.Helper()
	s, err := NewSource(spec, opts)
	if err != nil {
		t.Fatalf("NewSource(%q): %v", spec, err)
	}
	return s
}

// mustReadFile is the content of a file the test expects to exist.
func mustReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustReadDir lists a directory the test expects to exist.
func mustReadDir(t testing.TB, dir string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// leftIn lists what dir holds, nothing when it does not exist: for
// checks that nothing was left behind.
func leftIn(t testing.TB, dir string) []os.DirEntry {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return entries
}

func envOf(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// content is what the fixtures' assets hold; their sizes and digests in
// testdata/sources were computed from it.
func content(name string) []byte {
	return bytes.Repeat([]byte("contents of "+name+"\n"), 50)
}

// fixture reads a JSON fixture and fills in the servers' URLs.
func fixture(t *testing.T, name string, vars ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sources", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(vars...).Replace(string(data)))
}

// testSourceConformance is what every Source must do: list sorted,
// unique names; open each asset to its bytes; say ErrNotFound for an
// asset that is not there; and let a Fetcher fetch and verify each.
func testSourceConformance(t *testing.T, src Source, assets []Asset, missing Asset, want map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	l, err := src.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if l.Assets == nil {
		t.Errorf("List().Assets = nil, want a non-nil slice")
	}
	if !slices.IsSortedFunc(l.Assets, func(a, b Asset) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("List().Assets not sorted by name: %v", l.Assets)
	}
	for i := 1; i < len(l.Assets); i++ {
		if l.Assets[i].Name == l.Assets[i-1].Name {
			t.Errorf("List() has %q twice", l.Assets[i].Name)
		}
	}
	for _, a := range assets {
		rc, err := src.Open(ctx, a)
		if err != nil {
			t.Errorf("Open(%q): %v", a.Name, err)
			continue
		}
		got, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil || !bytes.Equal(got, want[a.Name]) {
			t.Errorf("Open(%q) read %d bytes, %v; want %d bytes", a.Name, len(got), err, len(want[a.Name]))
		}
	}
	if rc, err := src.Open(ctx, missing); !errors.Is(err, ErrNotFound) {
		if rc != nil {
			rc.Close() //nolint:errcheck // the test fails already
		}
		t.Errorf("Open(%q) = %v, want ErrNotFound", missing.Name, err)
	}
	f := NewFetcher(src, t.TempDir(), testOptions())
	for _, a := range assets {
		d, err := f.Fetch(ctx, a)
		if err != nil {
			t.Errorf("Fetch(%q): %v", a.Name, err)
			continue
		}
		if d.SHA256 != digest(want[a.Name]) || d.Size != int64(len(want[a.Name])) {
			t.Errorf("Fetch(%q) = sha256 %s size %d, want %s %d", a.Name, d.SHA256, d.Size, digest(want[a.Name]), len(want[a.Name]))
		}
		if got, err := os.ReadFile(d.Path); err != nil || !bytes.Equal(got, want[a.Name]) {
			t.Errorf("Fetch(%q).Path %q does not hold the asset (%v)", a.Name, d.Path, err)
		}
	}
}

func TestNewSource(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		spec    string
		want    string // the source's type, "" for an error
		wantErr string
	}{
		{dir, "*release.DirSource", ""},
		{"file://" + dir, "*release.DirSource", ""},
		{"https://example.org/releases/v1", "*release.HTTPSource", ""},
		{"http://127.0.0.1:1/dist/", "*release.HTTPSource", ""},
		{"https://garagehq.deuxfleurs.fr/_releases.json", "*release.HTTPSource", ""},
		{"github:status-im/nimbus-eth2@v25.1.0", "*release.GitHubSource", ""},
		{"github:owner/repo@pkg@1.0", "*release.GitHubSource", ""},
		{"gitlab:archlinux/archlinux-docker@v20250105.0.299327", "*release.GitLabSource", ""},
		{"gitlab:group/sub/project@release/1.0", "*release.GitLabSource", ""},
		{"gitlab:10185@v1", "*release.GitLabSource", ""},
		{"github:owner@v1", "", "want github:OWNER/REPO@TAG"},
		{"github:owner/repo/extra@v1", "", "want github:OWNER/REPO@TAG"},
		{"github:owner/repo", "", "want github:PROJECT@TAG"},
		{"github:owner/repo@", "", "want github:PROJECT@TAG"},
		{"gitlab:group//project@v1", "", "want gitlab:GROUP/PROJECT@TAG"},
		{"gitlab:group/project@v1\n", "", "control characters"},
		{"ftp://user:hunter2@example.org/x", "", `"ftp://user:xxxxx@example.org/x": unsupported URL scheme`},
		{"https://example.org/x#frag", "", "no fragment"},
		{"https://example.org/x?a=b", "", "no query"},
		{filepath.Join(dir, "missing"), "", "no such file or directory"},
	}
	for _, tt := range tests {
		src, err := NewSource(tt.spec, testOptions())
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewSource(%q) = %v, want an error containing %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewSource(%q): %v", tt.spec, err)
			continue
		}
		if got := typeName(src); got != tt.want {
			t.Errorf("NewSource(%q) is a %s, want %s", tt.spec, got, tt.want)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *DirSource:
		return "*release.DirSource"
	case *HTTPSource:
		return "*release.HTTPSource"
	case *GitHubSource:
		return "*release.GitHubSource"
	case *GitLabSource:
		return "*release.GitLabSource"
	}
	return "?"
}

func TestCheckAssets(t *testing.T) {
	for _, tt := range []struct {
		names   []string
		wantErr string
	}{
		{[]string{"b", "a", "dir/c"}, ""},
		{[]string{"a", "a"}, `two assets named "a"`},
		{[]string{""}, "without a name"},
		{[]string{"."}, `named "."`},
		{[]string{"../etc/passwd"}, "climbs out"},
		{[]string{"a/../../b"}, "climbs out"},
		{[]string{"/etc/passwd"}, "not a relative"},
		{[]string{`..\x`}, "not a relative"},
		{[]string{"a\x1b[2Jb"}, "control characters"},
	} {
		var assets []Asset
		for _, n := range tt.names {
			assets = append(assets, Asset{Name: n})
		}
		got, err := checkAssets(assets)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("checkAssets(%q): %v", tt.names, err)
		case tt.wantErr == "" && (got[0].Name != "a" || got[1].Name != "b"):
			t.Errorf("checkAssets(%q) = %v, want sorted by name", tt.names, got)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("checkAssets(%q) = %v, want an error containing %q", tt.names, err, tt.wantErr)
		}
	}
}
