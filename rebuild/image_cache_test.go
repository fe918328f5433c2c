package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/reproof/reproof/internal/owner"
)

// TestPullImageCorruptIndex: an index.json that does not parse is rebuilt
// from the cache's blobs, with a warning, and the cached images (one
// pinned by its own digest, two by an index) are served from the cache
// again with the registry gone; with the blobs gone too, the cache starts
// over and the image is pulled. Never an error that every later run hits.
func TestPullImageCorruptIndex(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	amd64, arm64 := testImage(t, "linux", "amd64"), testImage(t, "linux", "arm64")
	single := fmt.Sprintf("%s/base@%s", reg.host, reg.push(t, "base", "v1", img))
	multi := fmt.Sprintf("%s/multi@%s", reg.host, reg.push(t, "multi", "v1", testIndex(t, map[string]v1.Image{"linux/amd64": amd64, "linux/arm64": arm64})))
	pulls := []struct {
		ref, platform string
		want          v1.Image
	}{
		{single, "", img},
		{multi, "linux/amd64", amd64},
		{multi, "linux/arm64", arm64},
	}
	pull := func(t *testing.T, cacheDir, ref, platform string) (*PulledImage, error) {
		t.Helper()
		opts := testOptions(t)
		opts.CacheDir, opts.Platform = cacheDir, platform
		return PullImage(context.Background(), ref, opts)
	}
	fill := func(t *testing.T) string {
		t.Helper()
		dir := t.TempDir()
		for _, p := range pulls {
			if _, err := pull(t, dir, p.ref, p.platform); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	indexPath := func(dir string) string { return filepath.Join(dir, "index.json") }
	for _, corruption := range []struct{ name, content string }{
		{"garbage", "\x00\x01not json at all"},
		{"cut short", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"appl`},
		{"empty", ""},
		{"an array", "[1,2,3]"},
	} {
		t.Run(corruption.name, func(t *testing.T) {
			dir := fill(t)
			if err := os.WriteFile(indexPath(dir), []byte(corruption.content), 0o644); err != nil {
				t.Fatal(err)
			}
			reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				t.Errorf("the registry was asked for %s: the cache should serve it", r.URL.Path)
				http.Error(w, "no", http.StatusServiceUnavailable)
				return true
			})
			defer reg.setHook(nil)
			for i, p := range pulls {
				got, err := pull(t, dir, p.ref, p.platform)
				if err != nil {
					t.Fatalf("PullImage(%q, %q) over a corrupt index.json = %v", p.ref, p.platform, err)
				}
				want := digestOfImage(t, p.want)
				if !got.FromCache || got.Digest != want.String() {
					t.Errorf("PullImage(%q, %q) = %+v, want %s from the cache", p.ref, p.platform, got, want)
				}
				readLayers(t, got.Image)
				// The first pull repairs the index and says so; the
				// others find it whole.
				if i == 0 {
					if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "the image cache's index.json in "+dir+" was unusable (") ||
						!strings.HasSuffix(got.Warnings[0], "reproof rebuilt it from its blobs (3 images)") {
						t.Errorf("Warnings = %q, want one saying the index was rebuilt from 3 images", got.Warnings)
					}
				} else if len(got.Warnings) > 0 {
					t.Errorf("pull %d: Warnings = %q, want none", i+1, got.Warnings)
				}
			}
			// 5 entries: each platform image by the index's pin and by
			// its own digest, which it hashes to as well.
			var index v1.IndexManifest
			raw, _ := os.ReadFile(indexPath(dir))
			if err := json.Unmarshal(raw, &index); err != nil || len(index.Manifests) != 5 {
				t.Errorf("the repaired index.json: %v\n%s", err, raw)
			}
			checkCacheBlobs(t, dir)
		})
	}

	t.Run("blobs gone too", func(t *testing.T) {
		dir := fill(t)
		os.WriteFile(indexPath(dir), []byte("{"), 0o644)
		if err := os.RemoveAll(filepath.Join(dir, "blobs")); err != nil {
			t.Fatal(err)
		}
		got, err := pull(t, dir, single, "")
		if err != nil {
			t.Fatalf("PullImage over a corrupt, empty cache = %v", err)
		}
		if got.FromCache || len(got.Warnings) != 1 || !strings.HasSuffix(got.Warnings[0], "reproof rebuilt it from its blobs (0 images)") {
			t.Errorf("PullImage = FromCache %v, Warnings %q; want a pull and a warning", got.FromCache, got.Warnings)
		}
		if got, err := pull(t, dir, single, ""); err != nil || !got.FromCache || len(got.Warnings) > 0 {
			t.Errorf("the next PullImage = %+v, %v; want it from the cache, without warnings", got, err)
		}
	})
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

// TestPullImageSweepsDeadRuns: a pull removes the temporary files dead runs
// left beside index.json and among the blobs (and an older reproof's once
// a day old); a live run's stay.
func TestPullImageSweepsDeadRuns(t *testing.T) {
	reg := newTestRegistry(t)
	ref := fmt.Sprintf("%s/base@%s", reg.host, reg.push(t, "base", "v1", testImage(t, "linux", "amd64")))
	opts := testOptions(t)
	dead, self := deadOwner(t).String(), owner.Self().String()
	blobs := filepath.Join(opts.CacheDir, "blobs", "sha256")
	os.MkdirAll(blobs, 0o755)
	old := time.Now().Add(-48 * time.Hour)
	files := map[string]time.Time{
		".tmp-" + dead + "-1":              {},
		"blobs/sha256/.tmp-" + dead + "-2": {},
		"blobs/sha256/.tmp-" + self + "-3": {},
		"blobs/sha256/.tmp-0123abcd-4567":  old, // an older reproof's, two days old
		".tmp-index.json-8910":             {},  // an older reproof's, recent
	}
	for name, mtime := range files {
		p := filepath.Join(opts.CacheDir, filepath.FromSlash(name))
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			os.Chtimes(p, mtime, mtime)
		}
	}
	if _, err := PullImage(context.Background(), ref, opts); err != nil {
		t.Fatal(err)
	}
	var left []string
	filepath.WalkDir(opts.CacheDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			rel, _ := filepath.Rel(opts.CacheDir, p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{".tmp-index.json-8910", "blobs/sha256/.tmp-" + self + "-3"}
	if strings.Join(left, " ") != strings.Join(want, " ") {
		t.Errorf("temporary files after the pull: %q, want %q", left, want)
	}
	removed, err := SweepImageCache(opts.CacheDir)
	if err != nil || len(removed) != 0 {
		t.Errorf("SweepImageCache after the pull = %q, %v; want nothing to remove", removed, err)
	}
}
