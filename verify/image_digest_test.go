package verify_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

// A registry that answers a pinned digest with another manifest's bytes
// is caught: the image is a checksum-mismatch, never identical or merely
// different.
func TestPublishedDigestMismatch(t *testing.T) {
	var lie atomic.Bool
	var good, bad []byte
	var goodDigest string
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lie.Load() && strings.HasSuffix(r.URL.Path, "/manifests/"+goodDigest) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", goodDigest)
			if r.Method != http.MethodHead {
				w.Write(bad)
			}
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	rebuilt, published := t.TempDir(), t.TempDir()
	for _, d := range []string{rebuilt, published} {
		if err := os.WriteFile(filepath.Join(d, "app"), []byte("#!/bin/sh\necho app\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := func(src string) (string, error) { return filepath.Join(rebuilt, filepath.Base(src)), nil }
	im := spec.Image{Name: "app-image", Base: "scratch", Add: []spec.ImageAdd{{Src: "dist/app", Dest: "/app"}},
		Entrypoint: []string{"/app"}, EntrypointSet: true}
	ctx := context.Background()
	for i, epoch := range []int64{1700000000, 1700000001} {
		a, err := verify.AssembleImage(ctx, im, file, verify.AssembleOptions{Epoch: epoch, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Push(ctx, host+"/app:"+[]string{"good", "bad"}[i], rebuild.ImageOptions{}); err != nil {
			t.Fatal(err)
		}
		raw, err := a.Image.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		d, err := a.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			good, goodDigest = raw, d.String()
		} else {
			bad = raw
		}
	}

	text := `[source]
repo = "https://example.org/app.git"
tag = "v1"
[build]
image = "example.org/build@sha256:0000000000000000000000000000000000000000000000000000000000000000"
command = "make"
artifacts = ["dist/*"]
[published]
source = "` + published + `"
[[image]]
name = "app-image"
published = "docker://` + host + `/app@` + goodDigest + `"
base = "scratch"
add = [{src = "dist/app", dest = "/app"}]
entrypoint = ["/app"]
`
	s, err := spec.Parse("reproof.toml", []byte(text), "")
	if err != nil {
		t.Fatal(err)
	}
	judge := func() report.Artifact {
		vr, err := verify.Judge(ctx, verify.Options{Spec: s, TempDir: t.TempDir(), CacheDir: t.TempDir(),
			Rebuild: rebuild.Options{ImageOptions: rebuild.ImageOptions{Retries: 1}}}, rebuilt, 1700000000)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range vr.Artifacts {
			if a.Name == "app-image" {
				return a
			}
		}
		t.Fatalf("no image artifact in %+v", vr.Artifacts)
		return report.Artifact{}
	}
	if a := judge(); a.Status != report.StatusIdentical {
		t.Fatalf("an honest registry: %s (%s), want identical", a.Status, a.Detail)
	}
	lie.Store(true)
	a := judge()
	if a.Status != report.StatusChecksumMismatch || len(a.Checksums) == 0 || a.Checksums[0].Match {
		t.Errorf("a lying registry: %s (%s), checksums %+v; want checksum-mismatch", a.Status, a.Detail, a.Checksums)
	}
	t.Logf("a lying registry: %s: %s", a.Status, a.Detail)
	if bytes.Equal(good, bad) {
		t.Fatal("the two images are the same")
	}
}
