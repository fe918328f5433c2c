package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/image"
)

// epoch is the fixed time of every fixture.
var epoch = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// file is one entry of a fixture layer.
type file struct {
	name string
	body string
	mode int64
	typ  byte // tar.TypeReg when 0
	link string
	uid  int
	mod  time.Time // epoch when zero
}

func dir(name string) file               { return file{name: name, typ: tar.TypeDir, mode: 0o755} }
func reg(name, body string) file         { return file{name: name, body: body, mode: 0o644} }
func exe(name, body string) file         { return file{name: name, body: body, mode: 0o755} }
func whiteout(dirName, base string) file { return reg(filepath.Join(dirName, ".wh."+base), "") }
func opaque(dirName string) file         { return reg(filepath.Join(dirName, ".wh..wh..opq"), "") }
func withMode(f file, mode int64) file   { f.mode = mode; return f }
func withTime(f file, t time.Time) file  { f.mod = t; return f }
func withOwner(f file, uid int) file     { f.uid = uid; return f }
func rootfs(files ...file) []file        { return files }
func join(groups ...[]file) (out []file) { // concatenation, for one-layer builds
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// layerTar writes files as a tar.
func layerTar(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Typeflag: f.typ, Linkname: f.link, Uid: f.uid, Gid: f.uid, ModTime: f.mod, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.ModTime.IsZero() {
			h.ModTime = epoch
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerOf makes a layer of files, compressed with comp (gzip or zstd).
func layerOf(t testing.TB, files []file, comp compression.Compression) v1.Layer {
	t.Helper()
	b := layerTar(t, files)
	opts := []tarball.LayerOption{tarball.WithCompression(comp)}
	if comp == compression.ZStd {
		opts = append(opts, tarball.WithMediaType(types.OCILayerZStd))
	} else {
		opts = append(opts, tarball.WithMediaType(types.OCILayer))
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// spec describes a fixture image: our own assembler, on
// go-containerregistry.
type spec struct {
	layers     [][]file
	zstd       bool
	env        []string
	entrypoint []string
	created    time.Time
	labels     map[string]string
	platform   string // linux/amd64 when empty
}

func assemble(t testing.TB, s spec) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	comp := compression.GZip
	if s.zstd {
		comp = compression.ZStd
	}
	created := s.created
	if created.IsZero() {
		created = epoch
	}
	for _, files := range s.layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: layerOf(t, files, comp),
			History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "reproof test assembler"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	p := s.platform
	if p == "" {
		p = "linux/amd64"
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: created}
	cf.Config.Env = s.env
	if cf.Config.Env == nil {
		cf.Config.Env = []string{"PATH=/usr/bin:/bin"}
	}
	cf.Config.Entrypoint = s.entrypoint
	if cf.Config.Entrypoint == nil {
		cf.Config.Entrypoint = []string{"/bin/app"}
	}
	cf.Config.Labels = s.labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img to the registry at reg as repo:tag and returns its
// docker:// reference.
func push(t testing.TB, reg, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(reg + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return "docker://" + ref.String()
}

func pushIndex(t testing.TB, reg, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.ParseReference(reg + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return "docker://" + ref.String()
}

// writeLayout writes img as an OCI layout tagged tag and returns its oci:
// reference.
func writeLayout(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir + ":" + tag
}

// writeOCIArchive tars an OCI layout (as buildah push oci-archive: does).
func writeOCIArchive(t testing.TB, img v1.Image) string {
	t.Helper()
	ref := writeLayout(t, img, "latest")
	dir := ref[len("oci:") : len(ref)-len(":latest")]
	out := filepath.Join(t.TempDir(), "image.tar")
	cmd := exec.Command("tar", "-C", dir, "-cf", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	return "oci-archive:" + out
}

// writeDockerArchive writes img as go-containerregistry's docker-archive
// tarball.
func writeDockerArchive(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "docker.tar")
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		t.Fatal(err)
	}
	return "docker-archive:" + out
}

// diffImages compares two references as reproof diff does.
func diffImages(t testing.TB, a, b string, opts image.Options) *compare.Result {
	t.Helper()
	res, err := diffImagesErr(a, b, opts)
	if err != nil {
		t.Fatalf("diff %s %s: %v", a, b, err)
	}
	return res
}

func diffImagesErr(a, b string, opts image.Options) (_ *compare.Result, err error) {
	ctx := context.Background()
	sa, err := image.Open(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := sa.Close(); err == nil {
			err = cerr
		}
	}()
	sb, err := image.Open(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := sb.Close(); err == nil {
			err = cerr
		}
	}()
	return image.Compare(ctx, sa, sb, opts)
}

// find returns the differences at path p.
func find(res *compare.Result, p string) []compare.Difference {
	var out []compare.Difference
	for _, d := range res.Differences {
		if d.Path == p {
			out = append(out, d)
		}
	}
	return out
}
