package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is ggcr's registry served over real HTTP on 127.0.0.1, with an
// optional hook in front of it to tamper with or watch requests.
type testRegistry struct {
	srv  *httptest.Server
	host string

	mu   sync.Mutex
	hook func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.mu.Lock()
		hook := reg.hook
		reg.mu.Unlock()
		if hook != nil && hook(w, r, inner) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.srv.Close)
	reg.host = strings.TrimPrefix(reg.srv.URL, "http://")
	return reg
}

func (reg *testRegistry) setHook(hook func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	reg.mu.Lock()
	reg.hook = hook
	reg.mu.Unlock()
}

// push writes img or an index to host/repo:tag and returns its digest.
func (reg *testRegistry) push(t *testing.T, repo, tag string, obj remote.Taggable) v1.Hash {
	t.Helper()
	ref, err := name.NewTag(reg.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	var d v1.Hash
	switch o := obj.(type) {
	case v1.Image:
		err = remote.Write(ref, o)
		if err == nil {
			d, err = o.Digest()
		}
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, o)
		if err == nil {
			d, err = o.Digest()
		}
	default:
		t.Fatalf("push: %T", obj)
	}
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return d
}

func testImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func testIndex(t *testing.T, imgs map[string]v1.Image) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for _, plat := range []string{"linux/amd64", "linux/arm64"} {
		img, ok := imgs[plat]
		if !ok {
			continue
		}
		p, err := v1.ParsePlatform(plat)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return idx
}

func testOptions(t *testing.T) ImageOptions {
	return ImageOptions{CacheDir: t.TempDir(), Keychain: authn.NewMultiKeychain()}
}

func digestOfImage(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkCacheBlobs hashes every blob in the layout: each must be named by its
// own digest, and no temporary file may be left behind.
func checkCacheBlobs(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != e.Name() {
			t.Errorf("cache blob %s hashes to %s", e.Name(), got)
		}
	}
}

// readLayers reads every layer of img, compressed and uncompressed.
func readLayers(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Fatalf("image has %d layers, want 3", len(layers))
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("reading layer: %v", err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// layerBlob returns the path of the image's first layer in the cache.
func layerBlob(t *testing.T, dir string, img v1.Image) string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "blobs", "sha256", m.Layers[0].Digest.Hex)
}

func TestPullImageByDigest(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	d := reg.push(t, "base", "v1", img)
	opts := testOptions(t)
	ref := fmt.Sprintf("%s/base@%s", reg.host, d)

	got, err := PullImage(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("PullImage(%q) = %v", ref, err)
	}
	if got.Digest != d.String() || got.IndexDigest != "" || got.FromCache || got.Unpinned || got.Ref != ref || got.Platform != "linux/amd64" {
		t.Errorf("PullImage(%q) = %+v, want digest %s, platform linux/amd64, from the registry", ref, got, d)
	}
	if cd := digestOfImage(t, got.Image); cd != d {
		t.Errorf("cached image digest = %s, want %s", cd, d)
	}
	readLayers(t, got.Image)
	checkCacheBlobs(t, opts.CacheDir)

	// The same image again, with the registry gone: served from the cache.
	reg.srv.Close()
	again, err := PullImage(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("PullImage(%q) with the registry closed = %v, want the cached image", ref, err)
	}
	if !again.FromCache || again.Digest != d.String() || again.Platform != "linux/amd64" {
		t.Errorf("second PullImage(%q) = %+v, want FromCache with digest %s", ref, again, d)
	}
	readLayers(t, again.Image)
}

func TestPullImageTagAndDigestUsesDigest(t *testing.T) {
	// nimbus-eth2 pins its base image as repo:tag@sha256:...; the digest
	// decides, whatever the tag now points at.
	reg := newTestRegistry(t)
	old := testImage(t, "linux", "amd64")
	d := reg.push(t, "nim", "1.6", old)
	reg.push(t, "nim", "1.6", testImage(t, "linux", "amd64")) // the tag moved
	ref := fmt.Sprintf("%s/nim:1.6@%s", reg.host, d)

	got, err := PullImage(context.Background(), ref, testOptions(t))
	if err != nil {
		t.Fatalf("PullImage(%q) = %v", ref, err)
	}
	if got.Digest != d.String() || got.Unpinned {
		t.Errorf("PullImage(%q) = digest %s unpinned %v, want %s pinned", ref, got.Digest, got.Unpinned, d)
	}
}

func TestPullImageUnknownDigest(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "base", "v1", testImage(t, "linux", "amd64"))
	never := digestOfImage(t, testImage(t, "linux", "amd64")) // never pushed
	ref := fmt.Sprintf("%s/base@%s", reg.host, never)

	_, err := PullImage(context.Background(), ref, testOptions(t))
	if err == nil {
		t.Fatalf("PullImage(%q) = nil error, want not found", ref)
	}
	if msg := err.Error(); !strings.Contains(msg, ref) || !strings.Contains(msg, "MANIFEST_UNKNOWN") || strings.Contains(msg, "\n") {
		t.Errorf("PullImage(%q) = %q, want one line naming the ref and the unknown manifest", ref, msg)
	}
	if errors.Is(err, ErrDigestMismatch) {
		t.Errorf("PullImage(%q) = %v, an unknown manifest is not a digest mismatch", ref, err)
	}
}

func TestPullImageTampered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(path string, body []byte, d v1.Hash, layer v1.Hash) []byte
	}{
		{"manifest", func(path string, body []byte, d, _ v1.Hash) []byte {
			if strings.HasSuffix(path, "/manifests/"+d.String()) {
				return append(body, ' ')
			}
			return body
		}},
		{"layer", func(path string, body []byte, _, layer v1.Hash) []byte {
			if strings.HasSuffix(path, "/blobs/"+layer.String()) {
				body = append([]byte(nil), body...)
				body[len(body)/2] ^= 0xff
			}
			return body
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			img := testImage(t, "linux", "amd64")
			d := reg.push(t, "base", "v1", img)
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if r.Method != http.MethodGet {
					return false
				}
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				body := tt.tamper(r.URL.Path, rec.Body.Bytes(), d, m.Layers[1].Digest)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(rec.Code)
				w.Write(body)
				return true
			})
			opts := testOptions(t)
			ref := fmt.Sprintf("%s/base@%s", reg.host, d)
			_, err = PullImage(context.Background(), ref, opts)
			if !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("PullImage(%q) = %v, want ErrDigestMismatch", ref, err)
			}
			if msg := err.Error(); !strings.Contains(msg, ref) || strings.Contains(msg, "\n") {
				t.Errorf("PullImage(%q) = %q, want one line naming the ref", ref, msg)
			}
			// Nothing that looks complete was cached.
			reg.srv.Close()
			if _, err := PullImage(context.Background(), ref, opts); err == nil {
				t.Errorf("PullImage(%q) after a tampered pull, registry closed = nil error, want a cache miss", ref)
			}
			if _, err := os.Stat(filepath.Join(opts.CacheDir, "blobs")); err == nil {
				checkCacheBlobs(t, opts.CacheDir)
			}
		})
	}
}

func TestPullImageUnpinned(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	d := reg.push(t, "base", "v1", img)
	ref := reg.host + "/base:v1"

	_, err := PullImage(context.Background(), ref, testOptions(t))
	var unpinned *UnpinnedError
	if !errors.As(err, &unpinned) || !errors.Is(err, ErrUnpinned) {
		t.Fatalf("PullImage(%q) = %v, want *UnpinnedError", ref, err)
	}
	want := fmt.Sprintf("image %q is not pinned by digest; it resolves to %s (pin it as %s@%s or pass --allow-unpinned)", ref, d, ref, d)
	if unpinned.Digest != d.String() || err.Error() != want {
		t.Errorf("PullImage(%q) = %q, want %q", ref, err, want)
	}

	opts := testOptions(t)
	opts.AllowUnpinned = true
	got, err := PullImage(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("PullImage(%q) with AllowUnpinned = %v", ref, err)
	}
	if !got.Unpinned || got.Digest != d.String() || got.FromCache {
		t.Errorf("PullImage(%q) with AllowUnpinned = %+v, want Unpinned with digest %s", ref, got, d)
	}
	readLayers(t, got.Image)

	// The digest it resolved to is now cached.
	reg.srv.Close()
	pinned := fmt.Sprintf("%s/base@%s", reg.host, d)
	if got, err := PullImage(context.Background(), pinned, opts); err != nil || !got.FromCache {
		t.Errorf("PullImage(%q) after an unpinned pull = %+v, %v, want FromCache", pinned, got, err)
	}
}

func TestPullImageIndex(t *testing.T) {
	reg := newTestRegistry(t)
	amd64, arm64 := testImage(t, "linux", "amd64"), testImage(t, "linux", "arm64")
	idx := testIndex(t, map[string]v1.Image{"linux/amd64": amd64, "linux/arm64": arm64})
	d := reg.push(t, "multi", "v1", idx)
	ref := fmt.Sprintf("%s/multi@%s", reg.host, d)
	opts := testOptions(t)

	tests := []struct {
		platform string
		want     v1.Image
		wantPlat string
	}{
		{"", amd64, "linux/amd64"},
		{"linux/arm64", arm64, "linux/arm64"},
	}
	for _, tt := range tests {
		o := opts
		o.Platform = tt.platform
		got, err := PullImage(context.Background(), ref, o)
		if err != nil {
			t.Fatalf("PullImage(%q, platform %q) = %v", ref, tt.platform, err)
		}
		want := digestOfImage(t, tt.want)
		if got.Digest != want.String() || got.IndexDigest != d.String() || got.Platform != tt.wantPlat {
			t.Errorf("PullImage(%q, platform %q) = %+v, want digest %s index %s platform %s", ref, tt.platform, got, want, d, tt.wantPlat)
		}
		readLayers(t, got.Image)
	}
	checkCacheBlobs(t, opts.CacheDir)

	// Both platforms now come from the cache, each its own image.
	reg.srv.Close()
	for _, tt := range tests {
		o := opts
		o.Platform = tt.platform
		got, err := PullImage(context.Background(), ref, o)
		want := digestOfImage(t, tt.want)
		if err != nil || !got.FromCache || got.Digest != want.String() || got.Platform != tt.wantPlat {
			t.Errorf("cached PullImage(%q, platform %q) = %+v, %v, want FromCache digest %s", ref, tt.platform, got, err, want)
		}
	}
	// A platform the cached index lacks is not served from the cache.
	o := opts
	o.Platform = "linux/s390x"
	if _, err := PullImage(context.Background(), ref, o); err == nil {
		t.Errorf("PullImage(%q, platform linux/s390x) from the cache = nil error", ref)
	}
}

func TestPullImagePlatformNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	idx := testIndex(t, map[string]v1.Image{"linux/amd64": testImage(t, "linux", "amd64"), "linux/arm64": testImage(t, "linux", "arm64")})
	d := reg.push(t, "multi", "v1", idx)
	ref := fmt.Sprintf("%s/multi@%s", reg.host, d)
	opts := testOptions(t)
	opts.Platform = "linux/riscv64"

	_, err := PullImage(context.Background(), ref, opts)
	if !errors.Is(err, ErrPlatformNotFound) {
		t.Fatalf("PullImage(%q, linux/riscv64) = %v, want ErrPlatformNotFound", ref, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "linux/amd64, linux/arm64") || !strings.Contains(msg, "linux/riscv64") || !strings.Contains(msg, ref) {
		t.Errorf("PullImage(%q, linux/riscv64) = %q, want the ref, the platform and the available ones", ref, msg)
	}
}

func TestPullImageCorruptCache(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	d := reg.push(t, "base", "v1", img)
	ref := fmt.Sprintf("%s/base@%s", reg.host, d)
	opts := testOptions(t)
	if _, err := PullImage(context.Background(), ref, opts); err != nil {
		t.Fatal(err)
	}
	corrupt := func() {
		t.Helper()
		path := layerBlob(t, opts.CacheDir, img)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0x01
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Registry up: detected and pulled again.
	corrupt()
	got, err := PullImage(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("PullImage(%q) over a corrupt cache = %v, want a fresh pull", ref, err)
	}
	if got.FromCache {
		t.Errorf("PullImage(%q) over a corrupt cache = FromCache, want a fresh pull", ref)
	}
	checkCacheBlobs(t, opts.CacheDir)
	readLayers(t, got.Image)

	// Registry gone: an error, never the corrupt image.
	corrupt()
	reg.srv.Close()
	_, err = PullImage(context.Background(), ref, opts)
	if err == nil {
		t.Fatalf("PullImage(%q) over a corrupt cache with the registry closed = nil error", ref)
	}
	if msg := err.Error(); !strings.Contains(msg, ref) || !strings.Contains(msg, "cached copy") || strings.Contains(msg, "\n") {
		t.Errorf("PullImage(%q) = %q, want one line naming the ref and the unusable cached copy", ref, msg)
	}
}

func TestPullImageCancelled(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	d := reg.push(t, "base", "v1", img)
	ref := fmt.Sprintf("%s/base@%s", reg.host, d)
	opts := testOptions(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PullImage(ctx, ref, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("PullImage(cancelled, %q) = %v, want context.Canceled", ref, err)
	}

	// Cancelled while blobs are being fetched: no cache entry.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if strings.Contains(r.URL.Path, "/blobs/") {
			cancel()
		}
		return false
	})
	if _, err := PullImage(ctx, ref, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("PullImage(%q) cancelled mid-pull = %v, want context.Canceled", ref, err)
	}
	reg.srv.Close()
	if _, err := PullImage(context.Background(), ref, opts); err == nil {
		t.Errorf("PullImage(%q) after a cancelled pull, registry closed = nil error, want a cache miss", ref)
	}
}

// A config is read into memory: one larger than a config may be is refused
// before it is fetched, and nothing of the image is recorded in the cache.
func TestPullImageConfigTooLarge(t *testing.T) {
	reg := newTestRegistry(t)
	img := testImage(t, "linux", "amd64")
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Env = append(cfg.Config.Env, "HUGE="+strings.Repeat("x", maxManifestSize))
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	var configFetches atomic.Int32
	reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			if m, _ := img.Manifest(); m != nil && strings.HasSuffix(r.URL.Path, m.Config.Digest.String()) {
				configFetches.Add(1)
			}
		}
		return false
	})
	d := reg.push(t, "base", "huge-config", img)
	configFetches.Store(0)
	opts := testOptions(t)
	ref := fmt.Sprintf("%s/base@%s", reg.host, d)
	_, err = PullImage(context.Background(), ref, opts)
	if err == nil || !strings.Contains(err.Error(), "more than the 8388608 a config may have") || strings.Contains(err.Error(), "\n") {
		t.Errorf("PullImage of an image with a %d-byte config = %v, want it refused", maxManifestSize+5, err)
	}
	if n := configFetches.Load(); n != 0 {
		t.Errorf("the config was fetched %d times before it was refused", n)
	}
	if idx, err := os.ReadFile(filepath.Join(opts.CacheDir, "index.json")); err == nil && strings.Contains(string(idx), d.String()) {
		t.Errorf("the refused image is in the cache's index: %s", idx)
	}
}
