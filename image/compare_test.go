package image_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/image"
	"github.com/reproof/reproof/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// base is the fixture's rootfs: a directory tree in two layers.
var (
	baseLayer = rootfs(dir("bin/"), exe("bin/app", "#!/bin/sh\necho app\n"), dir("etc/"), reg("etc/secret", "s3cret\n"),
		reg("etc/app.conf", "level=1\n"))
	appLayer = rootfs(dir("app/"), reg("app/data.txt", "line one\nline two\nline three\n"), exe("bin/tool", "tool\n"))
)

func TestDiffImages(t *testing.T) {
	registry := testenv.Registry(t)
	orig := assemble(t, spec{layers: [][]file{baseLayer, appLayer}})
	a := push(t, registry, "app:orig", orig)
	later := epoch.Add(24 * time.Hour)

	tests := []struct {
		name    string
		b       func() string
		status  compare.Status
		verdict string
		want    map[string]compare.Kind // path → a kind found there
		check   func(t *testing.T, res *compare.Result)
	}{{
		name:    "retagged",
		b:       func() string { return push(t, registry, "app:retagged", orig) },
		status:  compare.StatusIdentical,
		verdict: compare.ImageIdentical,
	}, {
		name: "one byte in one file of one layer",
		b: func() string {
			l := rootfs(dir("app/"), reg("app/data.txt", "line one\nline twO\nline three\n"), exe("bin/tool", "tool\n"))
			return push(t, registry, "app:byte", assemble(t, spec{layers: [][]file{baseLayer, l}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/2!/app/data.txt": compare.KindContent},
		check: func(t *testing.T, res *compare.Result) {
			for _, d := range find(res, "layers/2!/app/data.txt") {
				if d.Kind == compare.KindContent && (d.Diff == nil || !strings.Contains(d.Diff.Unified, "+line twO")) {
					t.Errorf("content diff of app/data.txt = %+v, want a unified diff showing the changed line", d.Diff)
				}
			}
			if p := res.Image.Platforms[0]; p.Layers[0].Status != compare.LayerIdentical || p.Layers[1].Status != compare.LayerDifferent {
				t.Errorf("layer statuses = %+v, want identical, different", p.Layers)
			}
		},
	}, {
		name: "setuid bit added",
		b: func() string {
			l := rootfs(dir("app/"), reg("app/data.txt", "line one\nline two\nline three\n"), withMode(exe("bin/tool", "tool\n"), 0o4755))
			return push(t, registry, "app:setuid", assemble(t, spec{layers: [][]file{baseLayer, l}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/2!/bin/tool": compare.KindMode},
	}, {
		name: "owner changed",
		b: func() string {
			l := rootfs(dir("app/"), withOwner(reg("app/data.txt", "line one\nline two\nline three\n"), 1000), exe("bin/tool", "tool\n"))
			return push(t, registry, "app:owner", assemble(t, spec{layers: [][]file{baseLayer, l}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/2!/app/data.txt": compare.KindOwner},
	}, {
		name: "whiteout removes a file",
		b: func() string {
			return push(t, registry, "app:whiteout", assemble(t, spec{layers: [][]file{baseLayer, appLayer, {whiteout("etc", "secret")}}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/3": compare.KindExtra, "squashed!/etc/secret": compare.KindMissing},
		check: func(t *testing.T, res *compare.Result) {
			sv := res.Image.Platforms[0].Squashed
			if sv == nil || sv.Equal || sv.Differences != 1 {
				t.Errorf("squashed view = %+v, want one difference", sv)
			}
		},
	}, {
		name: "opaque directory",
		b: func() string {
			return push(t, registry, "app:opaque", assemble(t, spec{layers: [][]file{baseLayer, appLayer, {dir("etc/"), opaque("etc"), reg("etc/new", "n\n")}}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"squashed!/etc/secret": compare.KindMissing, "squashed!/etc/app.conf": compare.KindMissing, "squashed!/etc/new": compare.KindExtra},
		check: func(t *testing.T, res *compare.Result) {
			if len(find(res, "squashed!/bin/app")) != 0 || len(find(res, "squashed!/etc")) != 0 {
				t.Errorf("the opaque etc/ hid more than its lower contents: %v", res.Differences)
			}
		},
	}, {
		name: "entrypoint and env changed",
		b: func() string {
			return push(t, registry, "app:config", assemble(t, spec{layers: [][]file{baseLayer, appLayer},
				env: []string{"PATH=/usr/bin:/bin", "LD_PRELOAD=/app/evil.so"}, entrypoint: []string{"/bin/tool"}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"config/Entrypoint": compare.KindContent, "config/Env/LD_PRELOAD": compare.KindExtra},
	}, {
		name: "extra layer",
		b: func() string {
			return push(t, registry, "app:extra", assemble(t, spec{layers: [][]file{baseLayer, appLayer, {reg("app/extra", "x\n")}}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/3": compare.KindExtra, "squashed!/app/extra": compare.KindExtra},
	}, {
		name: "timestamps only",
		b: func() string {
			return push(t, registry, "app:later", assemble(t, spec{layers: [][]file{baseLayer, appLayer}, created: later}))
		},
		status: compare.StatusMetadataOnly, verdict: compare.ImageEquivalent,
		want: map[string]compare.Kind{"config/created": compare.KindMtime, "config/history/1/created": compare.KindMtime},
		check: func(t *testing.T, res *compare.Result) {
			n := res.Image.Platforms[0].Normalizations
			if len(n) != 1 || n[0].Name != image.NormConfigTimestamps {
				t.Errorf("normalizations = %+v, want config-timestamps only", n)
			}
		},
	}, {
		name: "layer mtimes and zstd",
		b: func() string {
			l := rootfs(dir("app/"), withTime(reg("app/data.txt", "line one\nline two\nline three\n"), later), exe("bin/tool", "tool\n"))
			return push(t, registry, "app:zstd", assemble(t, spec{layers: [][]file{baseLayer, l}, zstd: true}))
		},
		status: compare.StatusMetadataOnly, verdict: compare.ImageEquivalent,
		want: map[string]compare.Kind{"layers/1": compare.KindCompression, "layers/2": compare.KindCompression, "layers/2!/app/data.txt": compare.KindMtime},
		check: func(t *testing.T, res *compare.Result) {
			var names []string
			for _, n := range res.Image.Platforms[0].Normalizations {
				names = append(names, n.Name)
			}
			if got := strings.Join(names, ","); got != "layer-compression,layer-mtimes" {
				t.Errorf("normalizations = %s, want layer-compression,layer-mtimes", got)
			}
			if st := res.Image.Platforms[0].Layers[0].Status; st != compare.LayerRecompressed {
				t.Errorf("layer 1 = %s, want recompressed", st)
			}
		},
	}, {
		name: "same rootfs, other layer boundaries",
		b: func() string {
			return push(t, registry, "app:squashed", assemble(t, spec{layers: [][]file{join(baseLayer, appLayer)}}))
		},
		status: compare.StatusDiffers, verdict: compare.ImageDifferent,
		want: map[string]compare.Kind{"layers/1": compare.KindContent, "layers/2": compare.KindMissing},
		check: func(t *testing.T, res *compare.Result) {
			sv := res.Image.Platforms[0].Squashed
			if sv == nil || !sv.Equal {
				t.Errorf("squashed view = %+v, want equal", sv)
			}
			for _, d := range res.Differences {
				if strings.HasPrefix(d.Path, "squashed") {
					t.Errorf("squashed difference %+v, want none", d)
				}
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b()
			res := diffImages(t, a, b, image.Options{})
			if st := res.Status(); st != tt.status {
				t.Errorf("Status() = %v, want %v; differences:\n%s", st, tt.status, dump(res))
			}
			if got := res.Image.Platforms[0].Verdict; got != tt.verdict {
				t.Errorf("verdict = %s, want %s", got, tt.verdict)
			}
			for p, k := range tt.want {
				found := false
				for _, d := range find(res, p) {
					found = found || d.Kind == k
				}
				if !found {
					t.Errorf("no %s difference at %s; differences:\n%s", k, p, dump(res))
				}
			}
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

func dump(res *compare.Result) string {
	var b strings.Builder
	for _, d := range res.Differences {
		fmt.Fprintf(&b, "  %s %s: %s\n", d.Kind, d.Path, d.Detail)
	}
	for _, n := range res.Incomplete {
		fmt.Fprintf(&b, "  INCOMPLETE %s\n", n)
	}
	return b.String()
}

// TestTransports reads one image from a registry, an OCI layout, an
// oci-archive and a docker-archive: the same manifest (or, for the
// docker archive, the same config and tars) everywhere.
func TestTransports(t *testing.T) {
	registry := testenv.Registry(t)
	img := assemble(t, spec{layers: [][]file{baseLayer, appLayer}})
	refs := map[string]string{
		"docker":         push(t, registry, "app:v1", img),
		"oci":            writeLayout(t, img, "v1"),
		"oci-archive":    writeOCIArchive(t, img),
		"docker-archive": writeDockerArchive(t, img, "example.com/app:v1"),
	}
	for name, ref := range refs {
		t.Run(name, func(t *testing.T) {
			res := diffImages(t, refs["docker"], ref, image.Options{})
			want := compare.StatusIdentical // a docker archive has no manifest: its config and layers are the same
			if st := res.Status(); st != want {
				t.Errorf("diff docker %s: %v, want %v:\n%s", name, st, want, dump(res))
			}
		})
	}
}

// TestPlatforms resolves a multi-platform index to --platform, and
// compares every platform with --all-platforms.
func TestPlatforms(t *testing.T) {
	registry := testenv.Registry(t)
	amd := assemble(t, spec{layers: [][]file{baseLayer}, platform: "linux/amd64"})
	arm := assemble(t, spec{layers: [][]file{baseLayer}, platform: "linux/arm64"})
	arm2 := assemble(t, spec{layers: [][]file{baseLayer, {reg("bin/app", "arm changed\n")}}, platform: "linux/arm64"})
	index := func(imgs ...v1.Image) v1.ImageIndex {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, img := range imgs {
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}}})
		}
		return idx
	}
	a := pushIndex(t, registry, "multi:a", index(amd, arm))
	b := pushIndex(t, registry, "multi:b", index(amd, arm2))
	if res := diffImages(t, a, b, image.Options{}); res.Status() != compare.StatusIdentical || res.Image.Platforms[0].Platform != "linux/amd64" {
		t.Errorf("default platform: %v %+v, want identical linux/amd64", res.Status(), res.Image.Platforms)
	}
	res := diffImages(t, a, b, image.Options{Platform: "linux/arm64"})
	if res.Status() != compare.StatusDiffers {
		t.Errorf("linux/arm64: %v, want different", res.Status())
	}
	res = diffImages(t, a, b, image.Options{AllPlatforms: true})
	if len(res.Image.Platforms) != 2 || res.Image.Platforms[0].Verdict != compare.ImageIdentical || res.Image.Platforms[1].Verdict != compare.ImageDifferent {
		t.Errorf("all platforms: %+v", res.Image.Platforms)
	}
	if len(find(res, "linux/arm64/layers/2")) == 0 {
		t.Errorf("no difference under linux/arm64/layers/2:\n%s", dump(res))
	}
	c := pushIndex(t, registry, "multi:c", index(amd))
	res = diffImages(t, a, c, image.Options{AllPlatforms: true})
	if len(find(res, "index/linux/arm64")) != 1 || res.Status() != compare.StatusDiffers {
		t.Errorf("a platform in A only: %v\n%s", res.Status(), dump(res))
	}
}

// TestVerifiesBlobs: a reference pinned to another digest, and a layout
// whose blob was altered, are errors.
func TestVerifiesBlobs(t *testing.T) {
	registry := testenv.Registry(t)
	img := assemble(t, spec{layers: [][]file{baseLayer}})
	a := push(t, registry, "v:a", img)
	other := "sha256:" + strings.Repeat("0", 64)
	if _, err := diffImagesErr(a, strings.Replace(a, ":a", "@"+other, 1), image.Options{}); err == nil {
		t.Errorf("a reference pinned to %s was read", other)
	}
}

// TestTamperedLayoutBlob: a layer blob of a layout altered after it was
// written is an error naming the digest, never a comparison.
func TestTamperedLayoutBlob(t *testing.T) {
	a := assemble(t, spec{layers: [][]file{baseLayer, appLayer}})
	b := assemble(t, spec{layers: [][]file{baseLayer, {reg("app/other", "other\n")}}})
	refA, refB := writeLayout(t, a, "v1"), writeLayout(t, b, "v1")
	layers, err := b.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// Make B's layer 2 lie (a blob both sides share is read once, from
	// whichever side comes first: its digest names its bytes).
	d, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	dirB := strings.TrimSuffix(strings.TrimPrefix(refB, "oci:"), ":v1")
	blob := filepath.Join(dirB, "blobs", "sha256", d.Hex)
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(blob, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = diffImagesErr(refA, refB, image.Options{})
	if !errors.Is(err, image.ErrDigestMismatch) {
		t.Errorf("diff with a tampered blob: %v, want a digest mismatch", err)
	}
}
