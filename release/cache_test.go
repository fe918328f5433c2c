package release

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cacheFixture serves one asset and fetches it into a fresh cache.
type cacheFixture struct {
	ts       *testServer
	src      *HTTPSource
	cacheDir string
	asset    Asset
	body     []byte
}

func newCacheFixture(t *testing.T) *cacheFixture {
	f := &cacheFixture{ts: newTestServer(t), cacheDir: t.TempDir(), body: content("garage")}
	f.ts.file("/garage", f.body)
	f.src = mustHTTPSource(t, f.ts.URL, testOptions())
	f.asset = f.src.Asset("garage")
	return f
}

func (f *cacheFixture) fetch(t *testing.T) Downloaded {
	t.Helper()
	d, err := NewFetcher(f.src, f.cacheDir, testOptions()).Fetch(context.Background(), f.asset)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(d.Path); err != nil || string(got) != string(f.body) {
		t.Fatalf("Fetch().Path %q does not hold the asset (%v)", d.Path, err)
	}
	return d
}

// TestFetchCaches: the first fetch downloads into a read-only blob named
// by its digest and records the URL; the second, in this run or the
// next, makes no request.
func TestFetchCaches(t *testing.T) {
	f := newCacheFixture(t)
	first := f.fetch(t)
	wantPath := filepath.Join(f.cacheDir, "blobs", "sha256", digest(f.body))
	if first.Cached || first.Path != wantPath || first.Size != int64(len(f.body)) || first.SHA256 != digest(f.body) {
		t.Errorf("first Fetch = %+v, want a download into %s", first, wantPath)
	}
	if fi, err := os.Stat(first.Path); err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("blob mode = %v (%v), want read-only", fi.Mode(), err)
	}
	var e cacheEntry
	data, err := os.ReadFile(cache{f.cacheDir}.entryPath(f.asset.URL))
	if err != nil || json.Unmarshal(data, &e) != nil {
		t.Fatalf("no URL entry: %v", err)
	}
	if _, err := http.ParseTime(e.Date); err != nil {
		t.Errorf("URL entry's date %q: %v", e.Date, err)
	}
	e.Date = ""
	wantEntry := cacheEntry{URL: f.asset.URL, Size: first.Size, SHA256: first.SHA256, SHA512: first.SHA512, ETag: `"` + digest(f.body)[:16] + `"`}
	if e != wantEntry {
		t.Errorf("URL entry = %+v, want %+v", e, wantEntry)
	}

	// The second asks the server with the ETag and keeps the bytes on 304.
	second := f.fetch(t)
	if !second.Cached || !second.Revalidated || second.Path != first.Path || second.SHA256 != first.SHA256 || second.SHA512 != first.SHA512 || second.Size != first.Size {
		t.Errorf("second Fetch = %+v, want the cached %+v, revalidated", second, first)
	}
	if got := f.ts.totalHits(); got != 2 {
		t.Errorf("the server was asked %d times, want 2", got)
	}
	if got := f.ts.headerValues("If-None-Match"); !slices.Equal(got, []string{wantEntry.ETag}) {
		t.Errorf("If-None-Match sent: %q, want %q once", got, wantEntry.ETag)
	}

	// With the digest the release publishes, no request at all.
	f.asset.SHA256 = first.SHA256
	if third := f.fetch(t); !third.Cached || third.Revalidated {
		t.Errorf("Fetch with the published digest = %+v, want the cached copy without a request", third)
	}
	if got := f.ts.totalHits(); got != 2 {
		t.Errorf("the server was asked %d times, want 2", got)
	}
}

// TestFetchTamperedBlob: a blob that no longer hashes to its digest is
// dropped and downloaded again.
func TestFetchTamperedBlob(t *testing.T) {
	for _, tamper := range []struct {
		name string
		do   func(path string) error
	}{
		{"same size", func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte("X"), len(content("garage"))), 0o644) }},
		{"truncated", func(p string) error { return os.Truncate(p, 10) }},
		{"removed", os.Remove},
		{"replaced by a symlink", func(p string) error {
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Symlink("/etc/hostname", p)
		}},
	} {
		t.Run(tamper.name, func(t *testing.T) {
			f := newCacheFixture(t)
			d := f.fetch(t)
			if err := os.Chmod(d.Path, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tamper.do(d.Path); err != nil {
				t.Fatal(err)
			}
			again := f.fetch(t)
			if again.Cached || again.SHA256 != d.SHA256 {
				t.Errorf("Fetch after tampering = %+v, want a fresh download", again)
			}
			if got := f.ts.totalHits(); got != 2 {
				t.Errorf("the server was asked %d times, want 2", got)
			}
			if third := f.fetch(t); !third.Cached || !third.Revalidated {
				t.Errorf("the fresh download was not cached")
			}
		})
	}
}

// TestFetchHostileEntry: a URL entry that points outside the blobs, names
// another URL or is not JSON is a miss, never followed.
func TestFetchHostileEntry(t *testing.T) {
	for _, entry := range []string{
		`{"url":"{URL}","size":6,"sha256":"../../../../../../etc/hostname"}`,
		`{"url":"http://elsewhere.example/garage","size":2950,"sha256":"{SHA}"}`,
		`{"url":"{URL}","size":-1,"sha256":"{SHA}"}`,
		`not json`,
	} {
		f := newCacheFixture(t)
		f.fetch(t)
		entryPath := cache{f.cacheDir}.entryPath(f.asset.URL)
		entry = strings.NewReplacer("{URL}", f.asset.URL, "{SHA}", digest(f.body)).Replace(entry)
		if err := os.WriteFile(entryPath, []byte(entry), 0o600); err != nil {
			t.Fatal(err)
		}
		if d := f.fetch(t); d.Cached {
			t.Errorf("entry %s was used: %+v", entry, d)
		}
		if got := f.ts.totalHits(); got != 2 {
			t.Errorf("entry %s: the server was asked %d times, want 2", entry, got)
		}
	}
}

// TestFetchRepublished: when the release now publishes another digest or
// size for a cached URL, the cache entry is stale and the URL is fetched
// again.
func TestFetchRepublished(t *testing.T) {
	f := newCacheFixture(t)
	old := f.fetch(t)
	f.body = content("garage v2")
	f.ts.file("/garage", f.body)
	f.asset.SHA256 = digest(f.body)
	d := f.fetch(t)
	if d.Cached || d.SHA256 != digest(f.body) || d.SHA256 == old.SHA256 {
		t.Errorf("Fetch of the republished asset = %+v", d)
	}
	f.asset.SHA256 = ""
	f.asset.Size = int64(len(f.body))
	if d := f.fetch(t); !d.Cached || !d.Revalidated {
		t.Errorf("Fetch with a matching size missed the cache")
	}
}

// TestFetchSharedBlob: two URLs with the same bytes share one blob.
func TestFetchSharedBlob(t *testing.T) {
	f := newCacheFixture(t)
	f.ts.file("/mirror/garage", f.body)
	a := f.fetch(t)
	f.asset = f.src.Asset("mirror/garage")
	b := f.fetch(t)
	if a.Path != b.Path || b.Cached {
		t.Errorf("Fetch(mirror) = %+v, want a download into the same blob %s", b, a.Path)
	}
	blobs := mustReadDir(t, filepath.Join(f.cacheDir, "blobs", "sha256"))
	urls := mustReadDir(t, filepath.Join(f.cacheDir, "urls"))
	if len(blobs) != 1 || len(urls) != 2 {
		t.Errorf("cache holds %d blobs and %d URL entries, want 1 and 2", len(blobs), len(urls))
	}
}
