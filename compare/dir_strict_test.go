package compare

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/internal/testenv"
)

// dirView is what the directory reader recorded of one path.
type dirView struct {
	Type     archive.EntryType
	Linkname string
	Flags    string
	Xattrs   []string // names
	Dev      [2]int64
}

// readDir reads a directory as a comparison does.
func readDir(t *testing.T, dir string) map[string]dirView {
	t.Helper()
	c := &comparer{ctx: context.Background(), opts: Options{}.withDefaults()}
	tr, err := c.readDirTree(dir)
	if err != nil {
		t.Fatalf("readDirTree(%q): %v", dir, err)
	}
	out := map[string]dirView{}
	for i := range tr.len() {
		x := tr.at(i)
		v := dirView{Type: x.e.Type, Linkname: x.e.Linkname(), Flags: x.e.Flags(), Dev: [2]int64{x.e.Devmajor(), x.e.Devminor()}}
		for k := range x.e.Xattrs() {
			v.Xattrs = append(v.Xattrs, k)
		}
		sort.Strings(v.Xattrs)
		out[x.name()] = v
	}
	return out
}

// writeFiles creates files with the given contents under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// compareStatus compares two directories and returns the status and the
// kinds of the differences.
func compareStatus(t *testing.T, a, b string) (Status, []string) {
	t.Helper()
	res, err := Compare(context.Background(), a, b, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Compare(%q, %q): %v", a, b, err)
	}
	var kinds []string
	for _, d := range res.Differences {
		kinds = append(kinds, string(d.Kind)+" "+d.Path)
	}
	return res.Status(), kinds
}

// TestDirHardlinks: files sharing an inode are, after the first in
// bytewise path order, hardlinks to it; a link whose other names are
// outside the tree is a plain file; a copy is a file.
func TestDirHardlinks(t *testing.T) {
	linked, copied := t.TempDir(), t.TempDir()
	files := map[string]string{"a.b": "#!/bin/sh\n", "a/b": "#!/bin/sh\n", "a/c": "#!/bin/sh\n", "lonely": "x\n"}
	writeFiles(t, copied, files)
	writeFiles(t, linked, map[string]string{"a.b": "#!/bin/sh\n"})
	if err := os.Mkdir(filepath.Join(linked, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	// WalkDir visits "a/b" before "a.b"; bytewise, "a.b" comes first.
	for _, name := range []string{"a/b", "a/c"} {
		if err := os.Link(filepath.Join(linked, "a.b"), filepath.Join(linked, name)); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "outside")
	writeFiles(t, filepath.Dir(outside), map[string]string{"outside": "x\n"})
	if err := os.Link(outside, filepath.Join(linked, "lonely")); err != nil {
		t.Fatal(err)
	}

	got := readDir(t, linked)
	want := map[string]dirView{
		"a":      {Type: archive.TypeDir},
		"a.b":    {Type: archive.TypeRegular},
		"a/b":    {Type: archive.TypeHardlink, Linkname: "a.b"},
		"a/c":    {Type: archive.TypeHardlink, Linkname: "a.b"},
		"lonely": {Type: archive.TypeRegular},
	}
	for name, w := range want {
		g := got[name]
		if g.Type != w.Type || g.Linkname != w.Linkname {
			t.Errorf("readDirTree(linked)[%q] = %v %q, want %v %q", name, g.Type, g.Linkname, w.Type, w.Linkname)
		}
	}
	for name, v := range readDir(t, copied) {
		if v.Type == archive.TypeHardlink {
			t.Errorf("readDirTree(copied)[%q] is a hardlink, want a file", name)
		}
	}
	if st, kinds := compareStatus(t, linked, copied); st != StatusDiffers {
		t.Errorf("Compare(hardlinks, copies) = %v %q, want %v", st, kinds, StatusDiffers)
	}
	if st, kinds := compareStatus(t, linked, linked); st != StatusIdentical {
		t.Errorf("Compare(hardlinks, themselves) = %v %q, want %v", st, kinds, StatusIdentical)
	}
}

// TestDirSpecialFiles: a FIFO and a socket are different types; device
// numbers are read.
func TestDirSpecialFiles(t *testing.T) {
	fifo, sock := t.TempDir(), t.TempDir()
	if err := unix.Mkfifo(filepath.Join(fifo, "s"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(sock, "s"))
	if err != nil {
		t.Skipf("cannot make a unix socket here: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(sock, "s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g := readDir(t, sock)["s"].Type; g != archive.TypeSocket {
		t.Errorf("readDirTree(socket) type = %v, want %v", g, archive.TypeSocket)
	}
	if g := readDir(t, fifo)["s"].Type; g != archive.TypeFIFO {
		t.Errorf("readDirTree(FIFO) type = %v, want %v", g, archive.TypeFIFO)
	}
	if st, kinds := compareStatus(t, fifo, sock); st != StatusDiffers {
		t.Errorf("Compare(FIFO, socket) = %v %q, want %v", st, kinds, StatusDiffers)
	}

	null, zero := t.TempDir(), t.TempDir()
	if err := unix.Mknod(filepath.Join(null, "d"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod refused (not root?): %v", err)
	}
	if err := unix.Mknod(filepath.Join(zero, "d"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
		t.Fatal(err)
	}
	if g := readDir(t, zero)["d"]; g.Type != archive.TypeCharDevice || g.Dev != [2]int64{1, 5} {
		t.Errorf("readDirTree(/dev/zero twin) = %v %v, want char-device 1,5", g.Type, g.Dev)
	}
	if st, kinds := compareStatus(t, null, zero); st != StatusDiffers {
		t.Errorf("Compare(char 1,3, char 1,5) = %v %q, want %v", st, kinds, StatusDiffers)
	}
}

// TestDirFlags: inode flags are read under bsdtar's names; checked with
// bsdtar's own SCHILY.fflags record of the same file when bsdtar is
// installed. Skipped where the filesystem keeps no flags.
func TestDirFlags(t *testing.T) {
	testenv.RequireTools(t, "chattr")
	cases := []struct {
		attrs string // chattr argument
		want  string
	}{
		{"+i", "schg"},
		{"+a", "sappnd"},
		{"+d", "nodump"},
		{"+A", "noatime"},
		{"+adA", "noatime,nodump,sappnd"},
		{"+S", "sync"},
		{"+s", "secdel"},
		{"+u", "undel"},
	}
	for _, tc := range cases {
		t.Run(tc.attrs, func(t *testing.T) {
			flagged, plain := t.TempDir(), t.TempDir()
			writeFiles(t, flagged, map[string]string{"f": "x\n"})
			writeFiles(t, plain, map[string]string{"f": "x\n"})
			f := filepath.Join(flagged, "f")
			if flags, err := readFlags(f, false); err != nil || flags != "" {
				t.Skipf("the filesystem of %s keeps no inode flags (FS_IOC_GETFLAGS: %q, %v)", flagged, flags, err)
			}
			if out, err := exec.Command("chattr", tc.attrs, f).CombinedOutput(); err != nil {
				t.Skipf("chattr %s refused here: %v %s", tc.attrs, err, out)
			}
			t.Cleanup(func() { chattr(t, "-iaAdSsu", f) })
			if g := readDir(t, flagged)["f"].Flags; g != tc.want {
				t.Errorf("readDirTree(chattr %s) flags = %q, want %q", tc.attrs, g, tc.want)
			}
			if bsd := bsdtarFlags(t, flagged, "f"); bsd != "" && bsd != tc.want {
				t.Errorf("bsdtar stores SCHILY.fflags %q for chattr %s, the reader says %q", bsd, tc.attrs, tc.want)
			}
			if st, kinds := compareStatus(t, flagged, plain); st != StatusDiffers {
				t.Errorf("Compare(chattr %s, none) = %v %q, want %v", tc.attrs, st, kinds, StatusDiffers)
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		flagged, plain := t.TempDir(), t.TempDir()
		for _, d := range []string{flagged, plain} {
			if err := os.Mkdir(filepath.Join(d, "d"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		d := filepath.Join(flagged, "d")
		if out, err := exec.Command("chattr", "+i", d).CombinedOutput(); err != nil {
			t.Skipf("chattr +i refused here: %v %s", err, out)
		}
		t.Cleanup(func() { chattr(t, "-i", d) })
		if g := readDir(t, flagged)["d"].Flags; g != "schg" {
			t.Errorf("readDirTree(chattr +i dir) flags = %q, want %q", g, "schg")
		}
		if st, kinds := compareStatus(t, flagged, plain); st != StatusDiffers {
			t.Errorf("Compare(immutable dir, plain dir) = %v %q, want %v", st, kinds, StatusDiffers)
		}
	})
}

// chattr changes the inode flags of path back, for a test's cleanup.
func chattr(t *testing.T, flags, path string) {
	t.Helper()
	if out, err := exec.Command("chattr", flags, path).CombinedOutput(); err != nil {
		t.Errorf("chattr %s %s: %v %s", flags, path, err, out)
	}
}

// bsdtarFlags returns the SCHILY.fflags bsdtar writes for name in dir,
// sorted; "" when bsdtar is missing (testenv.HaveTools).
func bsdtarFlags(t *testing.T, dir, name string) string {
	t.Helper()
	if !testenv.HaveTools(t, "bsdtar") {
		return ""
	}
	out, err := exec.Command("bsdtar", "-C", dir, "--format=pax", "--fflags", "-cf", "-", name).Output()
	if err != nil {
		t.Fatalf("bsdtar --fflags: %v", err)
	}
	m := regexp.MustCompile(`\d+ SCHILY\.fflags=([^\n]*)\n`).FindSubmatch(out)
	if m == nil {
		return "(none)"
	}
	names := strings.Split(string(m[1]), ",")
	sort.Strings(names)
	return strings.Join(names, ",")
}

// TestDirXattrs: capabilities and POSIX ACLs are extended attributes the
// reader sees, on files, directories (default ACLs) and symlinks.
func TestDirXattrs(t *testing.T) {
	cases := []struct {
		name  string
		tool  string
		args  func(p string) []string
		isDir bool
		want  string
	}{
		{"capability", "setcap", func(p string) []string { return []string{"cap_net_raw+ep", p} }, false, "security.capability"},
		{"access ACL", "setfacl", func(p string) []string { return []string{"-m", "u:1234:rwx", p} }, false, "system.posix_acl_access"},
		{"default ACL", "setfacl", func(p string) []string { return []string{"-d", "-m", "u:1234:rwx", p} }, true, "system.posix_acl_default"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequireTools(t, tc.tool)
			with, without := t.TempDir(), t.TempDir()
			for _, d := range []string{with, without} {
				if tc.isDir {
					if err := os.Mkdir(filepath.Join(d, "f"), 0o755); err != nil {
						t.Fatal(err)
					}
				} else {
					writeFiles(t, d, map[string]string{"f": "#!/bin/sh\n"})
				}
			}
			if out, err := exec.Command(tc.tool, tc.args(filepath.Join(with, "f"))...).CombinedOutput(); err != nil {
				t.Skipf("%s refused here: %v %s", tc.tool, err, out)
			}
			if g := readDir(t, with)["f"].Xattrs; !slices.Contains(g, tc.want) {
				t.Errorf("readDirTree(%s) xattrs = %q, want %s among them", tc.name, g, tc.want)
			}
			if st, kinds := compareStatus(t, with, without); st != StatusDiffers {
				t.Errorf("Compare(%s, none) = %v %q, want %v", tc.name, st, kinds, StatusDiffers)
			}
		})
	}
	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink("target", filepath.Join(dir, "l")); err != nil {
			t.Fatal(err)
		}
		// trusted.* may be set on a symlink, by root.
		if err := unix.Lsetxattr(filepath.Join(dir, "l"), "trusted.reproof", []byte("1"), 0); err != nil {
			t.Skipf("cannot set an xattr on a symlink here: %v", err)
		}
		if g := readDir(t, dir)["l"].Xattrs; !slices.Equal(g, []string{"trusted.reproof"}) {
			t.Errorf("readDirTree(symlink with an xattr) xattrs = %q, want [trusted.reproof]", g)
		}
	})
}

// TestDirXattrCap: more extended attribute names than the reader takes
// is an error, never a file read as having none.
func TestDirXattrCap(t *testing.T) {
	// ext4 keeps about a block of xattrs per inode; tmpfs (Linux 6.6 and
	// later) takes more.
	dir, err := os.MkdirTemp("/dev/shm", "reproof-xattr-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	f := filepath.Join(dir, "f")
	writeFiles(t, dir, map[string]string{"f": ""})
	name := "user." + strings.Repeat("n", 200)
	total := 0
	for i := 0; total <= maxXattrs; i++ {
		n := name + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if err := unix.Setxattr(f, n, nil, 0); err != nil {
			t.Skipf("the filesystem of %s takes no more xattrs (%d bytes of names so far): %v", dir, total, err)
		}
		total += len(n) + 1
	}
	_, err = readXattrs(f)
	if !errors.Is(err, archive.ErrLimit) {
		t.Errorf("readXattrs(%d bytes of names) = %v, want a limit error", total, err)
	}
}

// TestDirFlagBits: each flag name stands for one bit of its own.
func TestDirFlagBits(t *testing.T) {
	var bits uint32
	for _, f := range inodeFlags {
		if bits&f.bit != 0 || f.bit == 0 || f.bit&(f.bit-1) != 0 {
			t.Errorf("inodeFlags: bit %#x of %q is not a new single bit", f.bit, f.name)
		}
		bits |= f.bit
	}
}
