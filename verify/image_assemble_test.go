package verify_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

const assembleEpoch = 1700000000

// writeTarGz writes a gzip-compressed tar of the given headers (and
// contents) to dir/name.
func writeTarGz(t *testing.T, dir, name string, entries []tar.Header, contents map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		h := h
		data := contents[h.Name]
		h.Size = int64(len(data))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func assembleFiles(t *testing.T) (string, func(string) (string, error)) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app"), []byte("\x7fELF the app\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Unix(assembleEpoch+3600, 0)
	earlier := time.Unix(1000, 0)
	writeTarGz(t, dir, "root.tar.gz", []tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: earlier},
		{Name: "./etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: later},
		{Name: "./etc/os-release", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 5, Gid: 5, Uname: "five", ModTime: later},
		{Name: "./etc/issue", Typeflag: tar.TypeLink, Linkname: "./etc/os-release", ModTime: earlier},
		{Name: "./bin/su", Typeflag: tar.TypeReg, Mode: 0o4755, ModTime: earlier},
	}, map[string]string{"./etc/os-release": "ID=fixture\n", "./bin/su": "su"})
	return dir, func(src string) (string, error) {
		p := filepath.Join(dir, filepath.Base(src))
		_, err := os.Stat(p)
		return p, err
	}
}

// An assembled image is what the Dockerfile would make: the files in one
// layer (a tarball unpacked with its owners, modes and links, mtimes
// clamped to the epoch, no names), the config set as the instructions
// say, created at the epoch; and the same inputs give the same digest.
func TestAssembleImage(t *testing.T) {
	_, file := assembleFiles(t)
	im := spec.Image{Base: "scratch",
		Add: []spec.ImageAdd{
			{Src: "dist/root.tar.gz", Dest: "/", Unpack: true},
			{Src: "dist/app", Dest: "/usr/local/bin/"},
		},
		Env: []string{"LANG=C.UTF-8"}, Entrypoint: []string{"/usr/local/bin/app"}, EntrypointSet: true,
		Labels: map[string]string{"a": "b"}, WorkingDir: "/srv", User: "65534", ExposedPorts: []string{"8080/tcp"},
	}
	ctx := context.Background()
	a, err := verify.AssembleImage(ctx, im, file, verify.AssembleOptions{Epoch: assembleEpoch, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	img := a.Image
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(assembleEpoch, 0).UTC()
	if !cfg.Created.Time.Equal(epoch) || cfg.OS != "linux" || cfg.Architecture != "amd64" ||
		!reflect.DeepEqual(cfg.Config.Env, []string{"LANG=C.UTF-8"}) || !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/usr/local/bin/app"}) ||
		cfg.Config.WorkingDir != "/srv" || cfg.Config.User != "65534" || cfg.Config.Labels["a"] != "b" || len(cfg.Config.ExposedPorts) != 1 ||
		len(cfg.History) != 1 || !cfg.History[0].Created.Time.Equal(epoch) {
		t.Errorf("config: %+v", cfg)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close() //nolint:errcheck // a reader, read to its end below
	type entry struct {
		name       string
		mode       int64
		uid        int
		link       string
		mtime      int64
		uname      string
		typeflag   byte
		dataPrefix string
	}
	var got []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Mode, h.Uid, h.Linkname, h.ModTime.Unix(), h.Uname, h.Typeflag, string(data)})
	}
	want := []entry{
		{"etc/", 0o755, 0, "", assembleEpoch, "", tar.TypeDir, ""},
		{"etc/os-release", 0o644, 5, "", assembleEpoch, "", tar.TypeReg, "ID=fixture\n"},
		{"etc/issue", 0, 0, "etc/os-release", 1000, "", tar.TypeLink, ""},
		{"bin/", 0o755, 0, "", assembleEpoch, "", tar.TypeDir, ""},
		{"bin/su", 0o4755, 0, "", 1000, "", tar.TypeReg, "su"},
		{"usr/", 0o755, 0, "", assembleEpoch, "", tar.TypeDir, ""},
		{"usr/local/", 0o755, 0, "", assembleEpoch, "", tar.TypeDir, ""},
		{"usr/local/bin/", 0o755, 0, "", assembleEpoch, "", tar.TypeDir, ""},
		{"usr/local/bin/app", 0o755, 0, "", assembleEpoch, "", tar.TypeReg, "\x7fELF the app\n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer:\n%+v\nwant\n%+v", got, want)
	}

	d1, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	again, err := verify.AssembleImage(ctx, im, file, verify.AssembleOptions{Epoch: assembleEpoch, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := again.Digest()
	if err != nil {
		t.Fatal(err)
	}
	later, err := verify.AssembleImage(ctx, im, file, verify.AssembleOptions{Epoch: assembleEpoch + 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	d3, err := later.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || d1 == d3 {
		t.Errorf("digests %s, %s (same inputs), %s (another epoch)", d1, d2, d3)
	}
}

// ENTRYPOINT resets an inherited CMD; several platforms make an index.
func TestAssembleImageIndex(t *testing.T) {
	_, file := assembleFiles(t)
	im := spec.Image{Base: "scratch", Platforms: []string{"linux/amd64", "linux/arm64"}, Cmd: []string{"/x"}, CmdSet: true,
		Add: []spec.ImageAdd{{Src: "dist/app", Dest: "/app", Platform: "linux/arm64"}}}
	a, err := verify.AssembleImage(context.Background(), im, file, verify.AssembleOptions{Epoch: assembleEpoch, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if a.Index == nil {
		t.Fatal("two platforms made no index")
	}
	m, err := a.Index.IndexManifest()
	if err != nil || len(m.Manifests) != 2 || m.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("index: %+v, %v", m, err)
	}
	for i, want := range []int{0, 1} {
		img, err := a.Index.Image(m.Manifests[i].Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != want {
			t.Errorf("%s: %d layers, want %d (the add entry is for arm64 only)", m.Manifests[i].Platform, len(ls), want)
		}
	}
}

// A tarball whose members leave the destination, or would be
// whiteouts, is refused.
func TestAssembleImageRefuses(t *testing.T) {
	dir, file := assembleFiles(t)
	writeTarGz(t, dir, "escape.tar.gz", []tar.Header{{Name: "../../etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}}, nil)
	writeTarGz(t, dir, "wh.tar.gz", []tar.Header{{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg, Mode: 0o644}}, nil)
	for _, c := range []struct{ src, want string }{
		{"escape.tar.gz", "leaves"},
		{"wh.tar.gz", "whiteout"},
	} {
		im := spec.Image{Base: "scratch", Add: []spec.ImageAdd{{Src: c.src, Dest: "/", Unpack: true}}}
		_, err := verify.AssembleImage(context.Background(), im, file, verify.AssembleOptions{Epoch: assembleEpoch, TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.src, err, c.want)
		}
	}
	im := spec.Image{Base: "example.org/debian:12", Add: []spec.ImageAdd{{Src: "app", Dest: "/app"}}}
	if _, err := verify.AssembleImage(context.Background(), im, file, verify.AssembleOptions{TempDir: t.TempDir()}); err == nil {
		t.Error("an unpinned base was accepted")
	}
}

// A Dockerfile's FROM must be pinned by digest.
func TestCheckDockerfileFrom(t *testing.T) {
	pinned := "example.org/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	for _, c := range []struct {
		text string
		ok   bool
	}{
		{"FROM " + pinned + "\nCOPY app /app\n", true},
		{"FROM scratch\nCOPY app /app\n", true},
		{"FROM --platform=linux/amd64 " + pinned + " AS build\nRUN make\nFROM build\n", true},
		{"# syntax\nFROM debian:12\n", false},
		{"FROM " + pinned + "\nFROM \\\n  debian:12\n", false},
		{"ARG BASE\nFROM $BASE\n", false},
	} {
		_, err := verify.CheckDockerfileFrom(strings.NewReader(c.text))
		if (err == nil) != c.ok {
			t.Errorf("CheckDockerfileFrom(%q) = %v, want ok %v", c.text, err, c.ok)
		}
		if err != nil && !c.ok && strings.Contains(c.text, "debian:12") && !errors.Is(err, verify.ErrUnpinnedFrom) {
			t.Errorf("CheckDockerfileFrom(%q) = %v, want ErrUnpinnedFrom", c.text, err)
		}
	}
}
