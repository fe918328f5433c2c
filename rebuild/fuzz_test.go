package rebuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// rawTar is the uncompressed tar stream of entries (see layerOf).
func rawTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	rc, err := layerOf(t, entries...).Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rawLayer is a layer whose uncompressed stream is data, stored without
// compression so that the fuzzer's mutations reach the tar reader.
func rawLayer(t testing.TB, data []byte) v1.Layer {
	t.Helper()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(gzip.NoCompression))
	if err != nil {
		t.Fatal(err)
	}
	return layer
}

// FuzzUnpackLayers unpacks two arbitrary layers, as a registry could serve
// them, into a rootfs beside a directory holding a sentinel file. Whatever
// the layers hold, unpacking must not panic, must end in success or a
// one-line error naming the layer, and must leave everything outside the
// rootfs as it was: the sentinel's content and link count, and no other
// entry beside the rootfs. The seeds are the hostile cases of
// TestUnpackRootfsHostile that do not depend on the test's temporary path,
// and an ordinary image tree with whiteouts.
func FuzzUnpackLayers(f *testing.F) {
	deep := strings.Repeat("a/", 20)
	seeds := [][2][]tarEntry{
		{{dirEntry("bin/"), fileEntry("bin/sh", "#!"), symlinkEntry("bin/ls", "sh"), hardlinkEntry("bin/cat", "bin/sh"), dirEntry("etc/"), fileEntry("etc/passwd", "root:x:0:0::/root:/bin/sh\n")},
			{fileEntry("bin/.wh.ls", ""), fileEntry("etc/.wh..wh..opq", ""), fileEntry("etc/group", "root:x:0:\n")}},
		{{fileEntry("../outside/pwned", "x")}, nil},
		{{symlinkEntry("evil", "../outside"), fileEntry("evil/pwned", "x")}, nil},
		{{symlinkEntry("evil", "../../outside")}, {fileEntry("evil/pwned", "x"), hardlinkEntry("h", "evil/sentinel")}},
		{{symlinkEntry("up", "/"), symlinkEntry("up2", "up/../../.."), fileEntry("up2/outside/pwned", "x")}, nil},
		{{symlinkEntry("f", "../outside/sentinel")}, {fileEntry("f", "x")}},
		{{symlinkEntry("d", "../outside"), dirEntry("d/"), fileEntry("d/pwned", "x")}, nil},
		{{hardlinkEntry("h", "../outside/sentinel")}, nil},
		{{fileEntry("a", "a"), hardlinkEntry("b", "a"), fileEntry("b", "b")}, nil},
		{{symlinkEntry("evil", "../outside")}, {fileEntry("evil/.wh.sentinel", ""), fileEntry("evil/.wh..wh..opq", "")}},
		{{symlinkEntry("a", "b"), symlinkEntry("b", "a"), fileEntry("a/f", "x")}, nil},
		{{dirEntry(deep), symlinkEntry("l", "/"+deep+strings.Repeat("a/../", 30)+"../outside"), fileEntry("l/f", "x")}, nil},
		{{fileEntry("a/.wh..", "")}, nil},
	}
	for _, s := range seeds {
		f.Add(rawTar(f, s[0]...), rawTar(f, s[1]...))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		sentinel := filepath.Join(outside, "sentinel")
		rootfs := filepath.Join(base, "rootfs")
		for _, d := range []string{outside, rootfs} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(sentinel, []byte("sentinel"), 0o644); err != nil {
			t.Fatal(err)
		}
		img := imageOf(t, rawLayer(t, first), rawLayer(t, second))
		lim := rootfsLimits{maxBytes: 1 << 20, maxEntries: 1000}
		_, err := unpackRootfs(context.Background(), img, rootfs, lim)
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "layer sha256:") {
				t.Errorf("unpacking = %q, want one line naming the layer", msg)
			}
		}
		names, rerr := os.ReadDir(outside)
		if rerr != nil || len(names) != 1 || names[0].Name() != "sentinel" {
			t.Fatalf("outside the rootfs after unpacking: %v %v, want only the sentinel", names, rerr)
		}
		fi, serr := os.Lstat(sentinel)
		got, _ := os.ReadFile(sentinel)
		if serr != nil || !fi.Mode().IsRegular() || string(got) != "sentinel" || fi.Sys().(*syscall.Stat_t).Nlink != 1 {
			t.Fatalf("sentinel changed by unpacking: %q, %v", got, serr)
		}
		entries, _ := os.ReadDir(base)
		var beside []string
		for _, e := range entries {
			beside = append(beside, e.Name())
		}
		if !slices.Equal(beside, []string{"outside", "rootfs"}) {
			t.Fatalf("beside the rootfs after unpacking: %q, want only outside", beside)
		}
	})
}
