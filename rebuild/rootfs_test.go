package rebuild

// Tests of runc's own image unpacking (rootfs.go). They are not part of the
// runtime conformance suite (conformance_test.go): docker and podman unpack
// images in their engines, which reproof does not control.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerTime is the fixed modification time of test layer entries.
var layerTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// tarEntry is one entry of a test layer. Mode 0 means 0644 for files and
// 0755 for directories.
type tarEntry struct {
	name     string
	typ      byte // tar.TypeReg when 0
	body     string
	link     string
	mode     int64
	uid, gid int
}

// dirEntry, fileEntry, symlinkEntry and hardlinkEntry make tarEntries.
func dirEntry(name string) tarEntry        { return tarEntry{name: name, typ: tar.TypeDir} }
func fileEntry(name, body string) tarEntry { return tarEntry{name: name, body: body} }
func symlinkEntry(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeSymlink, link: target}
}
func hardlinkEntry(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeLink, link: target}
}

// layerOf is a gzipped layer holding entries, in order, names as given.
func layerOf(t testing.TB, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: e.typ,
			Linkname: e.link,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  layerTime,
			Format:   tar.FormatPAX,
		}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if hdr.Typeflag == tar.TypeDir {
				hdr.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing %q: %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return layer
}

// imageOf is an image of layers, bottom first, with PATH=/bin.
func imageOf(t testing.TB, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Env = []string{"PATH=/bin"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var testLimits = rootfsLimits{maxBytes: DefaultRootfsMaxBytes, maxEntries: DefaultRootfsMaxEntries}

// unpackInto unpacks layers into a new rootfs directory under base.
func unpackInto(t *testing.T, base string, lim rootfsLimits, layers ...v1.Layer) (string, *rootfsStats, error) {
	t.Helper()
	rootfs := filepath.Join(base, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	stats, err := unpackRootfs(context.Background(), imageOf(t, layers...), rootfs, lim)
	return rootfs, stats, err
}

func TestUnpackRootfsWhiteouts(t *testing.T) {
	lower := layerOf(t,
		dirEntry("a/"), fileEntry("a/f1", "1"), fileEntry("a/f2", "2"),
		dirEntry("d/"), fileEntry("d/x", "x"), dirEntry("d/sub/"), fileEntry("d/sub/y", "y"),
		dirEntry("gone/"), fileEntry("gone/deep", "deep"),
		fileEntry("keep", "keep"),
		fileEntry("becomes-dir", "file"), dirEntry("becomes-file/"), fileEntry("becomes-file/inner", "i"),
	)
	upper := layerOf(t,
		fileEntry("a/.wh.f1", ""),
		dirEntry("d/"),
		fileEntry("d/new", "new"), // before the opaque marker: kept all the same
		fileEntry("d/.wh..wh..opq", ""),
		dirEntry("d/sub/"),
		fileEntry("d/sub/z", "z"),
		fileEntry(".wh.gone", ""),
		fileEntry(".wh.never-existed", ""),
		dirEntry("becomes-dir/"), fileEntry("becomes-dir/inner", "i"),
		fileEntry("becomes-file", "file"),
	)
	rootfs, stats, err := unpackInto(t, t.TempDir(), testLimits, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Layers != 2 {
		t.Errorf("stats.Layers = %d, want 2", stats.Layers)
	}
	want := []string{
		"a/", "a/f2", "becomes-dir/", "becomes-dir/inner", "becomes-file",
		"d/", "d/new", "d/sub/", "d/sub/z", "keep",
	}
	if got := listTree(t, rootfs); !slices.Equal(got, want) {
		t.Errorf("tree after whiteouts:\n got %q\nwant %q", got, want)
	}
}

// listTree lists the names under dir, directories with a trailing slash.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			rel += "/"
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestUnpackRootfsMetadata(t *testing.T) {
	layer := layerOf(t,
		dirEntry("bin/"),
		tarEntry{name: "bin/su", body: "#!/bin/sh\n", mode: 0o4755},
		tarEntry{name: "secret", body: "s", mode: 0o640, uid: 1234, gid: 5678},
		tarEntry{name: "sticky/", typ: tar.TypeDir, mode: 0o1777},
		symlinkEntry("sh", "/bin/su"),
		hardlinkEntry("secret2", "secret"),
		tarEntry{name: "dev/null", typ: tar.TypeChar},
		tarEntry{name: "fifo", typ: tar.TypeFifo},
		dirEntry("./"),
	)
	rootfs, stats, err := unpackInto(t, t.TempDir(), testLimits, layer)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{
		"bin/su": 0o755 | fs.ModeSetuid,
		"secret": 0o640,
		"sticky": 0o777 | fs.ModeSticky | fs.ModeDir,
	}
	for name, want := range modes {
		fi, err := os.Lstat(filepath.Join(rootfs, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", name, fi.Mode(), want)
		}
		if name != "sticky" && !fi.ModTime().Equal(layerTime) {
			t.Errorf("mtime of %s = %v, want %v", name, fi.ModTime(), layerTime)
		}
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "sh")); err != nil || target != "/bin/su" {
		t.Errorf("symlink sh = %q, %v; want /bin/su", target, err)
	}
	a, _ := os.Stat(filepath.Join(rootfs, "secret"))
	b, _ := os.Stat(filepath.Join(rootfs, "secret2"))
	if !os.SameFile(a, b) {
		t.Errorf("secret2 is not a hardlink to secret")
	}
	if os.Geteuid() == 0 {
		st := a.Sys().(*syscall.Stat_t)
		if st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("owner of secret = %d:%d, want 1234:5678", st.Uid, st.Gid)
		}
	}
	if stats.Skipped != 2 || !slices.Equal(stats.SkippedNames, []string{"dev/null", "fifo"}) {
		t.Errorf("skipped %d %q, want the device and the FIFO", stats.Skipped, stats.SkippedNames)
	}
	if _, err := os.Lstat(filepath.Join(rootfs, "dev/null")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("device node dev/null was created (or: %v)", err)
	}
}

// TestUnpackRootfsHostile unpacks layers built to write outside the root
// filesystem. Each must be refused, or contained inside it; nothing outside
// may change.
func TestUnpackRootfsHostile(t *testing.T) {
	type check func(t *testing.T, rootfs, outside string)
	exists := func(rel string) check {
		return func(t *testing.T, rootfs, outside string) {
			if _, err := os.Lstat(filepath.Join(rootfs, rel)); err != nil {
				t.Errorf("want %s inside the rootfs: %v", rel, err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		layers  func(outside string) [][]tarEntry
		wantErr string // "" means contained
		check   check
	}{{
		name:    "dotdot",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{fileEntry("../outside/pwned", "x")}} },
		wantErr: `entry "../outside/pwned": name has a ".." component`,
	}, {
		name:    "dotdot inside a name",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{fileEntry("a/../../outside/pwned", "x")}} },
		wantErr: `name has a ".." component`,
	}, {
		name:   "absolute name",
		layers: func(string) [][]tarEntry { return [][]tarEntry{{fileEntry("/outside/pwned", "x")}} },
		check:  exists("outside/pwned"),
	}, {
		name:   "absolute name of the outside directory",
		layers: func(out string) [][]tarEntry { return [][]tarEntry{{fileEntry(out+"/pwned", "x")}} },
		check: func(t *testing.T, rootfs, outside string) {
			exists(outside+"/pwned")(t, rootfs, outside)
		},
	}, {
		name: "relative symlink out, then a file through it",
		layers: func(string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("evil", "../outside"), fileEntry("evil/pwned", "x")}}
		},
		check: exists("outside/pwned"),
	}, {
		name: "absolute symlink out, then a file through it in the next layer",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("evil", out)}, {fileEntry("evil/pwned", "x")}}
		},
		check: func(t *testing.T, rootfs, outside string) {
			exists(outside+"/pwned")(t, rootfs, outside)
		},
	}, {
		name: "symlink to / then a file through it",
		layers: func(string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("up", "/"), symlinkEntry("up2", "up/../../.."), fileEntry("up2/etc/pwned", "x")}}
		},
		check: exists("etc/pwned"),
	}, {
		name: "file over a symlink to a file outside",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("f", out+"/sentinel")}, {fileEntry("f", "x")}}
		},
		check: func(t *testing.T, rootfs, outside string) {
			if fi, err := os.Lstat(filepath.Join(rootfs, "f")); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("f is not a regular file in the rootfs: %v", err)
			}
		},
	}, {
		name: "directory over a symlink to a directory outside",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("d", out), dirEntry("d/"), fileEntry("d/pwned", "x")}}
		},
		check: exists("d/pwned"),
	}, {
		name:    "hardlink to an absolute path",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{hardlinkEntry("shadow", "/etc/shadow")}} },
		wantErr: `entry "shadow": hardlink target "/etc/shadow"`,
	}, {
		name: "hardlink to the outside sentinel by absolute path",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{hardlinkEntry("h", out+"/sentinel")}}
		},
		wantErr: `hardlink target`,
	}, {
		name:    "hardlink with dotdot",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{hardlinkEntry("h", "../outside/sentinel")}} },
		wantErr: `name has a ".." component`,
	}, {
		name: "hardlink through a symlink out",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("evil", out), hardlinkEntry("h", "evil/sentinel")}}
		},
		wantErr: `hardlink target "evil/sentinel"`,
	}, {
		name: "hardlink then a file over it",
		layers: func(string) [][]tarEntry {
			return [][]tarEntry{{fileEntry("a", "a"), hardlinkEntry("b", "a"), fileEntry("b", "b")}}
		},
		check: func(t *testing.T, rootfs, outside string) {
			if got, _ := os.ReadFile(filepath.Join(rootfs, "a")); string(got) != "a" {
				t.Errorf("a = %q after writing over its hardlink b, want %q", got, "a")
			}
		},
	}, {
		name: "whiteout through a symlink out",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("evil", out)}, {fileEntry("evil/.wh.sentinel", "")}}
		},
	}, {
		name: "opaque whiteout through a symlink out",
		layers: func(out string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("evil", out)}, {fileEntry("evil/.wh..wh..opq", "")}}
		},
	}, {
		name: "symlink loop",
		layers: func(string) [][]tarEntry {
			return [][]tarEntry{{symlinkEntry("a", "b"), symlinkEntry("b", "a"), fileEntry("a/f", "x")}}
		},
		wantErr: `more than 40 symlinks`,
	}, {
		name: "symlinks that make resolving expensive",
		layers: func(string) [][]tarEntry {
			deep := strings.Repeat("a/", 50)
			return [][]tarEntry{{
				dirEntry(deep),
				symlinkEntry("l", "/"+deep+strings.Repeat("a/../", 700)),
				fileEntry("l/f", "x"),
			}}
		},
		wantErr: `entry "l/f": resolving "l": more than 4096 lookups`,
	}, {
		name:    "name too deep",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{fileEntry(strings.Repeat("d/", 257)+"f", "x")}} },
		wantErr: `name deeper than 256 directories`,
	}, {
		name:    "bad whiteout",
		layers:  func(string) [][]tarEntry { return [][]tarEntry{{fileEntry("a/.wh..", "")}} },
		wantErr: `entry "a/.wh..": bad whiteout name ".wh.."`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			sentinel := filepath.Join(outside, "sentinel")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sentinel, []byte("sentinel"), 0o644); err != nil {
				t.Fatal(err)
			}
			var layers []v1.Layer
			for _, entries := range tc.layers(outside) {
				layers = append(layers, layerOf(t, entries...))
			}
			rootfs, _, err := unpackInto(t, base, testLimits, layers...)
			switch {
			case tc.wantErr != "" && err == nil:
				t.Errorf("unpacking = nil, want an error containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("unpacking = %q, want an error containing %q", err, tc.wantErr)
			case tc.wantErr != "" && !strings.HasPrefix(err.Error(), "layer sha256:"):
				t.Errorf("unpacking = %q, want it to name the layer", err)
			case tc.wantErr != "" && strings.Contains(err.Error(), "\n"):
				t.Errorf("unpacking = %q, want one line", err)
			case tc.wantErr == "" && err != nil:
				t.Errorf("unpacking = %v, want it contained", err)
			case tc.check != nil:
				tc.check(t, rootfs, outside)
			}

			// Nothing outside the rootfs changed.
			if got := listTree(t, outside); !slices.Equal(got, []string{"sentinel"}) {
				t.Errorf("outside the rootfs: %q, want only the sentinel", got)
			}
			fi, err := os.Stat(sentinel)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(sentinel); string(got) != "sentinel" || fi.Sys().(*syscall.Stat_t).Nlink != 1 {
				t.Errorf("sentinel = %q with %d links, want untouched", got, fi.Sys().(*syscall.Stat_t).Nlink)
			}
			entries, err := os.ReadDir(base)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 2 {
				t.Errorf("%d entries beside the rootfs, want only outside", len(entries)-1)
			}
		})
	}
}

func TestUnpackRootfsCaps(t *testing.T) {
	layer := layerOf(t, dirEntry("d/"), fileEntry("d/a", "0123456789"), fileEntry("d/b", "0123456789"), fileEntry("d/c", ""))
	digest, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		lim     rootfsLimits
		wantErr string
	}{
		{"entries", rootfsLimits{maxBytes: 1 << 20, maxEntries: 3}, `entry "d/c": more than 3 entries in the image (the cap on entries)`},
		{"bytes", rootfsLimits{maxBytes: 15, maxEntries: 100}, `entry "d/b": 10 bytes would take the image past 15 unpacked bytes (the cap on size)`},
		{"within", rootfsLimits{maxBytes: 20, maxEntries: 4}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := unpackInto(t, t.TempDir(), tc.lim, layer)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("unpacking = %v, want nil", err)
				}
				return
			}
			want := "layer " + digest.String() + ": " + tc.wantErr
			if err == nil || err.Error() != want {
				t.Errorf("unpacking = %v, want %q", err, want)
			}
		})
	}
}

func TestUnpackRootfsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := unpackRootfs(ctx, imageOf(t, layerOf(t, fileEntry("a", "a"))), t.TempDir(), testLimits)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("unpacking with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestEnsureMountpoints(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	rootfs, _, err := unpackInto(t, base, testLimits, layerOf(t,
		symlinkEntry("etc", outside), // a hostile image's /etc
		dirEntry("tmp/"),
	))
	if err != nil {
		t.Fatal(err)
	}
	err = ensureMountpoints(rootfs, []mountpoint{
		{path: "/tmp", mode: 0o777 | fs.ModeSticky},
		{path: "/src"},
		{path: "/home/me", mode: 0o750},
		{path: "/etc/passwd", file: true},
		{path: "/etc/group", file: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{"tmp": 0o777 | fs.ModeSticky, "home/me": 0o750, "src": 0o755} {
		if fi, err := os.Stat(filepath.Join(rootfs, p)); err != nil || fi.Mode().Perm()|fi.Mode()&fs.ModeSticky != want {
			t.Errorf("mode of mountpoint %s = %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	for _, p := range []string{"tmp/", "src/", "home/", "home/me/", outside[1:] + "/passwd", outside[1:] + "/group"} {
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		if err != nil || fi.IsDir() != strings.HasSuffix(p, "/") {
			t.Errorf("mountpoint %s: %v, %v", p, fi, err)
		}
	}
	if got := listTree(t, outside); len(got) != 0 {
		t.Errorf("mountpoints created outside the rootfs: %q", got)
	}
}
