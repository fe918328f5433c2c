package main_test

// The differential test: pairs of archives (testdata/differential/gen.py)
// are extracted by the real extractors — GNU tar, bsdtar, Python's tarfile
// and zipfile, Info-ZIP unzip, dpkg-deb and GNU cpio — and the trees they
// produce are the oracle. Whenever an extractor gives the user different
// trees for A and B (paths, types, contents, link targets, hardlinks,
// modes with the special bits, owners of special-bit files, xattrs, inode
// flags, or whether it refused), or one archive is read differently by two
// extractors while A and B are not the same bytes, `reproof diff A B` must
// exit 1 and `reproof normalize` must not turn both into the same bytes.
// CONTROL pairs differ only in what the closed list of harmless kinds
// names: every extractor gives equal trees, and diff must exit 3.
//
// The table of outcomes, testdata/differential/outcomes.md, is a golden
// file: go test ./cmd/reproof -run TestDifferential -update rewrites it.
//
// What the extractors did with the crafted pairs (GNU tar 1.34, bsdtar
// 3.6.2, Python 3.11 tarfile/zipfile, UnZip 6.00 (Debian), dpkg-deb,
// GNU cpio 2.13, all as root; run -v for every case's differences):
//
//   - pax globals: GNU tar and tarfile apply a global path, linkpath and
//     uid to the entries after it, tarfile a global size too (GNU tar
//     fails on it); bsdtar ignores them all. A global uid=0 gives GNU tar
//     and tarfile users a root-owned setuid file.
//   - GNU.sparse.* on a plain file: bsdtar and tarfile extract
//     GNU.sparse.size/realsize zero-padded (4096 bytes for 13); GNU tar
//     refuses realsize; all three rename by GNU.sparse.name.
//   - a pax size "+13": tarfile takes it, bsdtar ignores it (empty file),
//     GNU tar fails. Two pax headers: GNU tar takes the second, bsdtar
//     too but exits 1, tarfile the first. A GNU long name (L) then a pax
//     path: GNU tar takes the path, bsdtar and tarfile the long name; a
//     pax path then L: all three take the path.
//   - GNU magic with a prefix: GNU tar and bsdtar ignore the prefix,
//     tarfile joins it to the name.
//   - LIBARCHIVE.xattr.security.capability: bsdtar sets the capability,
//     GNU tar --xattrs ignores it. A SCHILY.acl.access mask shows as the
//     group bits (0674); plain tar -xpf drops it. bsdtar applies
//     SCHILY.fflags=schg as chattr +i on Linux.
//   - hardlink to "a/": GNU tar and bsdtar fail, tarfile makes a copy;
//     to "zz/../a": GNU tar links, bsdtar refuses, tarfile copies. A file
//     named "d/": bsdtar makes a directory, GNU tar fails.
//   - zip: bsdtar takes the local header's name; unzip the central one
//     (warning); zipfile refuses. bsdtar and zipfile follow the second
//     central directory of the extra-bytes rule, unzip the first (exit 1).
//     unzip and bsdtar use the Unicode Path field (0x7075), zipfile 3.11
//     does not. unzip makes a symlink or keeps setuid (-K) from the Unix
//     mode of a zip "made by" BeOS or Atari; bsdtar gives 0664. A FAT zip:
//     unzip 0644 (umask), bsdtar 0664. bsdtar turns "dir\a.txt" into
//     dir/a.txt, unzip and zipfile keep the backslash. A CP437 name:
//     zipfile decodes it, unzip and bsdtar write the raw bytes. Streaming
//     (a pipe) bsdtar extracts local-only entries, with 0775/0664 modes.
//   - cpio: GNU cpio --no-absolute-filenames writes a/../b as b, bsdtar
//     refuses; both give an empty newc file the content of the last
//     member of its hardlink group.
//   - deb: dpkg-deb refuses members out of order and BSD #1/ names,
//     ignores a trailing extra member; bsdtar extracts them all.
//   - tarfile fully_trusted writes absolute names outside its
//     destination (here into its chroot); GNU tar, bsdtar, unzip and
//     zipfile strip the slash.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/testenv"
)

var updateDifferential = flag.Bool("update", false, "rewrite testdata/differential/outcomes.md from the differential test's results")

// escapeDir is where the generator's absolute names point; no extractor
// may create it.
const escapeDir = "/tmp/reproof-differential-escape"

// extractionTimeout bounds one run of one extractor.
const extractionTimeout = 20 * time.Second

// diffCase is one entry of the generator's manifest.
type diffCase struct {
	Name        string `json:"name"`
	Family      string `json:"family"`
	Format      string `json:"format"`
	A           string `json:"a"`
	B           string `json:"b"`
	Description string `json:"description"`
	// Policy "ambiguous": the extractors agree here, but the issue
	// declares the construct ambiguous; diff must exit 1 all the same.
	// Policy "default-modes": the archives store no Unix modes (a zip
	// made on FAT), so the mode each extractor gives is its own default
	// (unzip applies the umask, bsdtar 0664): modes are not compared
	// between extractors, only between A and B under each one.
	Policy string `json:"policy"`
}

// restores is what an extractor applies beyond paths, types, contents and
// links; two extractors' trees are compared on what both restore.
type restores struct {
	modes  bool // every mode bit, setuid/setgid/sticky included
	owners bool // uid and gid
	xattrs bool // xattrs, capabilities and ACLs
	flags  bool // inode flags (chattr)
}

// treeExtractor is one real tool run the way a user runs it.
type treeExtractor struct {
	name     string
	formats  []string // case formats it applies to
	view     string   // what its tree holds; trees of different views are never compared
	restores restores
	// chroot: the tool runs chrooted into the jail holding its
	// destination, so what it writes outside lands in the jail and is
	// part of its tree (as ../NAME) instead of an escape.
	chroot bool
	// cmd returns the command extracting archive into dest; scratch is
	// an empty directory for intermediate files.
	cmd func(archive, dest, scratch string) (*exec.Cmd, error)
}

var (
	tarFormats  = []string{"tar", "tar.gz", "tar.xz", "tar.zst"}
	restoresAll = restores{modes: true, owners: true, xattrs: true, flags: true}
)

// extractorShell runs script with bash under umask 022.
func extractorShell(script string, args ...string) *exec.Cmd {
	return exec.Command("bash", append([]string{"-c", "set -eo pipefail; umask 022; " + script, "bash"}, args...)...)
}

// pythonTar extracts with Python's tarfile inside a chroot of the jail,
// the destination being /x. filter is "fully_trusted" or "data"; an
// interpreter without extraction filters runs the legacy extraction,
// which is fully_trusted.
const pythonTar = `
import os, sys, tarfile
filt, src, jail = sys.argv[1:4]
tf = tarfile.open(src)
os.chroot(jail)
os.chdir("/")
kw = {"filter": filt} if hasattr(tarfile, "data_filter") else {}
if filt != "fully_trusted" and not kw:
    sys.exit("python has no tarfile extraction filters")
tf.extractall("/x", **kw)
`

const pythonZip = `
import os, sys, zipfile
src, jail = sys.argv[1:3]
zf = zipfile.ZipFile(src)
os.chroot(jail)
os.chdir("/")
zf.extractall("/x")
`

// decompressedTar gives Python a plain tar for a .tar.zst (tarfile reads
// no zstd before 3.14).
func decompressedTar(archive, scratch string) (string, error) {
	if !strings.HasSuffix(archive, ".zst") {
		return archive, nil
	}
	out := filepath.Join(scratch, "plain.tar")
	if b, err := exec.Command("sh", "-c", `zstd -q -d -c "$1" >"$2"`, "sh", archive, out).CombinedOutput(); err != nil {
		return "", fmt.Errorf("zstd -d %s: %v: %s", archive, err, b)
	}
	return out, nil
}

// differentialExtractors returns the extractors; python3 is the
// interpreter with tarfile extraction filters, if any ("" otherwise).
func differentialExtractors(python3 string) []treeExtractor {
	sysPython := "/usr/bin/python3"
	trustedPython := sysPython
	if python3 != "" {
		trustedPython = python3
	}
	exs := []treeExtractor{
		{name: "gnutar", formats: tarFormats, view: "files", restores: restores{modes: true, owners: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec tar -xpf "$1" -C "$2"`, a, d), nil
			}},
		{name: "gnutar-xattrs", formats: tarFormats, view: "files", restores: restores{modes: true, owners: true, xattrs: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec tar --xattrs --xattrs-include='*' --acls -xpf "$1" -C "$2"`, a, d), nil
			}},
		{name: "bsdtar", formats: append(slices.Clone(tarFormats), "zip", "cpio", "deb"), view: "files", restores: restoresAll,
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec bsdtar -xpf "$1" -C "$2"`, a, d), nil
			}},
		// Read from a pipe, libarchive's zip reader streams: it sees the
		// local headers only, so modes and owners (central directory) are
		// its defaults (0775 directories, 0664 files).
		{name: "bsdtar-stream", formats: []string{"zip"}, view: "files",
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`cat "$1" | bsdtar -xpf - -C "$2"`, a, d), nil
			}},
		{name: "python-tarfile", formats: tarFormats, view: "files", restores: restores{modes: true, owners: true}, chroot: true,
			cmd: func(a, d, s string) (*exec.Cmd, error) {
				src, err := decompressedTar(a, s)
				if err != nil {
					return nil, err
				}
				return extractorShell(`exec "$1" -c "$2" fully_trusted "$3" "$4"`, trustedPython, pythonTar, src, filepath.Dir(d)), nil
			}},
		{name: "unzip", formats: []string{"zip"}, view: "files",
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec unzip -o -q "$1" -d "$2"`, a, d), nil
			}},
		{name: "unzip-XK", formats: []string{"zip"}, view: "files", restores: restores{modes: true, owners: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec unzip -o -q -X -K "$1" -d "$2"`, a, d), nil
			}},
		{name: "python-zipfile", formats: []string{"zip"}, view: "files", chroot: true,
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`exec "$1" -c "$2" "$3" "$4"`, sysPython, pythonZip, a, filepath.Dir(d)), nil
			}},
		{name: "dpkg-deb", formats: []string{"deb"}, view: "control+data", restores: restores{modes: true, owners: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`dpkg-deb -x "$1" "$2/data"; dpkg-deb -e "$1" "$2/control"`, a, d), nil
			}},
		{name: "dpkg-deb-tarfiles", formats: []string{"deb"}, view: "control+data", restores: restores{modes: true, owners: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				return extractorShell(`mkdir -m 755 "$2/control" "$2/data"
dpkg-deb --ctrl-tarfile "$1" | tar -xpf - -C "$2/control"
dpkg-deb --fsys-tarfile "$1" | tar -xpf - -C "$2/data"`, a, d), nil
			}},
		{name: "gnucpio", formats: []string{"cpio"}, view: "files", restores: restores{modes: true, owners: true},
			cmd: func(a, d, _ string) (*exec.Cmd, error) {
				c := extractorShell(`cd "$2" && exec cpio -idm --no-absolute-filenames --quiet <"$1"`, a, d)
				return c, nil
			}},
		{name: "as-is", formats: []string{"dir"}, view: "files", restores: restoresAll},
	}
	if python3 != "" {
		exs = append(exs, treeExtractor{name: "python-tarfile-data", formats: tarFormats, view: "files", chroot: true,
			cmd: func(a, d, s string) (*exec.Cmd, error) {
				src, err := decompressedTar(a, s)
				if err != nil {
					return nil, err
				}
				return extractorShell(`exec "$1" -c "$2" data "$3" "$4"`, python3, pythonTar, src, filepath.Dir(d)), nil
			}})
	}
	return exs
}

// filterPython returns a python3 whose tarfile has extraction filters
// (PEP 706): /usr/bin/python3 if it has them, else python3 from PATH.
func filterPython() string {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import tarfile; tarfile.data_filter").Run() == nil {
			return p
		}
	}
	return ""
}

// treeNode is what a user gets at one path of an extracted tree. mtimes and
// the owners of ordinary files are not part of it.
type treeNode struct {
	path   string
	typ    string // file, dir, symlink, fifo, socket, char, block
	size   int64
	sha256 string
	link   string // symlink target
	hard   string // first path (walk order) of the hardlink group, for the others
	mode   uint32 // permission and setuid/setgid/sticky bits; 0 for symlinks
	owner  string // uid:gid, only with setuid/setgid/sticky
	rdev   string // major,minor of devices
	xattrs string // name=hex;... sorted
	flags  uint32 // inode flags a user sets with chattr
}

// treeSnapshot is one extractor's outcome on one archive.
type treeSnapshot struct {
	status string     // "ok", "exit N", "timeout", "error: ..."
	nodes  []treeNode // sorted by path; "." is the destination itself
}

// chattrFlags are the FS_IOC_GETFLAGS bits a user sets with chattr; the
// others (extents, inline data, htree) depend on the file system only.
const chattrFlags = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x800000 | 0x20000000

const (
	flagImmutable = 0x10
	flagAppend    = 0x20
)

// takeSnapshot walks root (and any sibling of it in its jail, as
// ../NAME) without following links.
func takeSnapshot(root string) ([]treeNode, error) {
	var nodes []treeNode
	first := map[[2]uint64]string{}
	walk := func(top, prefix string) error {
		return filepath.WalkDir(top, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(top, p)
			if err != nil {
				return err
			}
			if prefix != "" {
				rel = filepath.Join(prefix, rel)
			}
			n, err := inspectPath(p, rel, first)
			if err != nil {
				return err
			}
			nodes = append(nodes, n)
			return nil
		})
	}
	if err := walk(root, ""); err != nil {
		return nil, err
	}
	siblings, err := os.ReadDir(filepath.Dir(root))
	if err != nil {
		return nil, err
	}
	for _, s := range siblings {
		if s.Name() == filepath.Base(root) {
			continue
		}
		if err := walk(filepath.Join(filepath.Dir(root), s.Name()), filepath.Join("..", s.Name())); err != nil {
			return nil, err
		}
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].path < nodes[j].path })
	return nodes, nil
}

// inspectPath describes the file at p as rel; first maps the dev and
// inode of each hardlinked file to the first path met.
func inspectPath(p, rel string, first map[[2]uint64]string) (treeNode, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return treeNode{}, err
	}
	n := treeNode{path: rel, mode: st.Mode & 0o7777}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.typ = "file"
		b, err := os.ReadFile(p)
		if err != nil {
			return treeNode{}, err
		}
		sum := sha256.Sum256(b)
		n.size, n.sha256 = int64(len(b)), hex.EncodeToString(sum[:8])
		if st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if f, ok := first[key]; ok {
				n.hard = f
			} else {
				first[key] = rel
			}
		}
	case unix.S_IFDIR:
		n.typ = "dir"
	case unix.S_IFLNK:
		n.typ, n.mode = "symlink", 0
		t, err := os.Readlink(p)
		if err != nil {
			return treeNode{}, err
		}
		n.link = t
	case unix.S_IFIFO:
		n.typ = "fifo"
	case unix.S_IFSOCK:
		n.typ = "socket"
	case unix.S_IFCHR, unix.S_IFBLK:
		n.typ = map[bool]string{true: "char", false: "block"}[st.Mode&unix.S_IFMT == unix.S_IFCHR]
		n.rdev = fmt.Sprintf("%d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if n.mode&0o7000 != 0 {
		n.owner = fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	x, err := listXattrs(p)
	if err != nil {
		return treeNode{}, err
	}
	n.xattrs = x
	if n.typ == "file" || n.typ == "dir" {
		f, err := inodeFlags(p)
		if err != nil {
			return treeNode{}, err
		}
		n.flags = f & chattrFlags
	}
	return n, nil
}

// listXattrs returns all xattrs of p (not following a symlink) as
// name=hex pairs, sorted by name.
func listXattrs(p string) (string, error) {
	buf := make([]byte, 64<<10)
	sz, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ENOTSUP) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("llistxattr %s: %w", p, err)
	}
	var names []string
	for _, name := range strings.Split(string(buf[:sz]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		vb := make([]byte, 64<<10)
		vs, err := unix.Lgetxattr(p, name, vb)
		if err != nil {
			return "", fmt.Errorf("lgetxattr %s %s: %w", p, name, err)
		}
		out = append(out, name+"="+hex.EncodeToString(vb[:vs]))
	}
	return strings.Join(out, ";"), nil
}

func inodeFlags(p string) (uint32, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", p, err)
	}
	defer unix.Close(fd) //nolint:errcheck // opened read-only
	f, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOTSUP) {
		return 0, nil
	}
	return f, err
}

// clearImmutable takes chattr +i and +a off everything under dir, so
// that it can be removed.
func clearImmutable(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !(d.Type().IsRegular() || d.IsDir()) {
			return nil
		}
		f, err := inodeFlags(p)
		if err != nil || f&(flagImmutable|flagAppend) == 0 {
			return err
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		defer unix.Close(fd) //nolint:errcheck // opened read-only
		if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(f&^(flagImmutable|flagAppend))); err != nil {
			return fmt.Errorf("clearing the flags of %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clearing chattr +i and +a under %s: %w", dir, err)
	}
	return nil
}

// runExtractor runs ex on archive in a new jail under work and snapshots what
// it made. escaped lists what a non-chrooted extractor wrote beside its
// destination.
func runExtractor(ex treeExtractor, archive, work string) (snap treeSnapshot, escaped []string, err error) {
	if ex.cmd == nil { // a directory is its own tree
		nodes, err := takeSnapshotDir(archive)
		return treeSnapshot{status: "ok", nodes: nodes}, nil, err
	}
	jail, err := os.MkdirTemp(work, ex.name+"-")
	if err != nil {
		return treeSnapshot{}, nil, err
	}
	defer func() {
		if cerr := clearImmutable(jail); cerr != nil && err == nil {
			err = cerr
		}
	}()
	dest, scratch := filepath.Join(jail, "x"), filepath.Join(work, filepath.Base(jail)+"-scratch")
	for _, d := range []string{jail, dest, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return treeSnapshot{}, nil, err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return treeSnapshot{}, nil, err
		}
	}
	cmd, err := ex.cmd(archive, dest, scratch)
	if err != nil {
		return treeSnapshot{}, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), extractionTimeout)
	defer cancel()
	cmd.Dir = dest
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + scratch, "LC_ALL=C.UTF-8", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal: unzip cannot ask for a password
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return treeSnapshot{}, nil, fmt.Errorf("%s: %v", ex.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // it may have exited meanwhile; waited for below
		<-done                                          //nolint:errcheck // killed: ctx.Err() is the error
		err = ctx.Err()
	}
	switch {
	case err == nil:
		snap.status = "ok"
	case errors.Is(err, context.DeadlineExceeded):
		snap.status = "timeout"
	default:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return treeSnapshot{}, nil, fmt.Errorf("%s: %v", ex.name, err)
		}
		snap.status = "exit " + strconv.Itoa(ee.ExitCode())
	}
	nodes, err := takeSnapshot(dest)
	if err != nil {
		return treeSnapshot{}, nil, err
	}
	if !ex.chroot {
		for _, n := range nodes {
			if strings.HasPrefix(n.path, "..") && !strings.Contains(strings.TrimPrefix(n.path, "../"), "/") {
				escaped = append(escaped, n.path)
			}
		}
	}
	snap.nodes = nodes
	return snap, escaped, nil
}

// takeSnapshotDir snapshots a directory input itself (no siblings).
func takeSnapshotDir(dir string) ([]treeNode, error) {
	var nodes []treeNode
	first := map[[2]uint64]string{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		n, err := inspectPath(p, rel, first)
		nodes = append(nodes, n)
		return err
	})
	return nodes, err
}

// projectSnapshot keeps of s what an extractor restoring r can show; status is
// reduced to whether it succeeded.
func projectSnapshot(s treeSnapshot, r restores) treeSnapshot {
	out := treeSnapshot{status: "ok"}
	if s.status != "ok" {
		out.status = "failed"
	}
	for _, n := range s.nodes {
		if !r.modes {
			n.mode, n.owner = 0, ""
		}
		if !r.owners {
			n.owner = ""
		}
		if !r.xattrs {
			n.xattrs = ""
		}
		if !r.flags {
			n.flags = 0
		}
		out.nodes = append(out.nodes, n)
	}
	return out
}

func (r restores) and(o restores) restores {
	return restores{modes: r.modes && o.modes, owners: r.owners && o.owners, xattrs: r.xattrs && o.xattrs, flags: r.flags && o.flags}
}

// firstDifference says how b differs from a, or "" if it does not.
func firstDifference(a, b treeSnapshot) string {
	if a.status != b.status {
		return fmt.Sprintf("status %s vs %s", a.status, b.status)
	}
	i, j := 0, 0
	for i < len(a.nodes) || j < len(b.nodes) {
		switch {
		case j == len(b.nodes) || (i < len(a.nodes) && a.nodes[i].path < b.nodes[j].path):
			return fmt.Sprintf("%q only in the first (%s)", a.nodes[i].path, a.nodes[i].typ)
		case i == len(a.nodes) || b.nodes[j].path < a.nodes[i].path:
			return fmt.Sprintf("%q only in the second (%s)", b.nodes[j].path, b.nodes[j].typ)
		}
		x, y := a.nodes[i], b.nodes[j]
		for _, f := range []struct {
			name string
			x, y any
		}{
			{"type", x.typ, y.typ}, {"size", x.size, y.size}, {"sha256", x.sha256, y.sha256},
			{"symlink target", x.link, y.link}, {"hardlink of", x.hard, y.hard},
			{"mode", fmt.Sprintf("%04o", x.mode), fmt.Sprintf("%04o", y.mode)}, {"owner", x.owner, y.owner},
			{"device", x.rdev, y.rdev}, {"xattrs", x.xattrs, y.xattrs}, {"flags", fmt.Sprintf("%#x", x.flags), fmt.Sprintf("%#x", y.flags)},
		} {
			if f.x != f.y {
				return fmt.Sprintf("%q: %s %v vs %v", x.path, f.name, f.x, f.y)
			}
		}
		i++
		j++
	}
	return ""
}

// caseOutcome is one row of the outcomes table.
type caseOutcome struct {
	c                          diffCase
	withinA, withinB, acrossAB []string // "x≠y" / extractor names
	want                       int      // 1, 3 or 0; -1: the case proves nothing
	diffExit                   int
	normalize                  string
	ok                         bool
}

func TestDifferential(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t, "extracting with owners, devices, capabilities and inode flags")
	testenv.RequireTools(t, "bash", "tar", "bsdtar", "unzip", "/usr/bin/python3", "dpkg-deb", "cpio", "zstd", "chattr", "setfacl")
	python3 := filterPython()
	exs := differentialExtractors(python3)
	start := time.Now()

	gen := t.TempDir()
	t.Cleanup(func() {
		if err := clearImmutable(gen); err != nil {
			t.Error(err)
		}
	})
	script, err := filepath.Abs(filepath.Join("testdata", "differential", "gen.py"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/usr/bin/python3", script, gen).CombinedOutput(); err != nil {
		t.Fatalf("/usr/bin/python3 %s %s: %v\n%s", script, gen, err, out)
	}
	b, err := os.ReadFile(filepath.Join(gen, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []diffCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	families := map[string]int{}
	for _, c := range cases {
		families[c.Family]++
	}
	for _, f := range []string{"tar-records", "zip", "names-links", "metadata", "control"} {
		if families[f] < 3 {
			t.Errorf("family %s has %d cases, want at least 3", f, families[f])
		}
	}

	outcomes := make([]caseOutcome, len(cases))
	t.Run("case", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				outcomes[i] = runDifferentialCase(t, c, exs, filepath.Join(gen, c.A), filepath.Join(gen, c.B))
			})
		}
	})
	if _, err := os.Lstat(escapeDir); err == nil {
		t.Errorf("an extractor wrote %s outside its destination (absolute names)", escapeDir)
		if err := os.RemoveAll(escapeDir); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d cases, %d extractors, %v", len(cases), len(exs), time.Since(start).Round(time.Millisecond))

	table := outcomesTable(outcomes)
	golden := filepath.Join("testdata", "differential", "outcomes.md")
	if python3 == "" {
		t.Logf("not checking %s: no python3 here has tarfile extraction filters (the python-tarfile-data extractor)", golden)
		return
	}
	if *updateDifferential {
		if err := os.WriteFile(golden, table, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/reproof -run TestDifferential -update)", err)
	}
	if !bytes.Equal(want, table) {
		t.Errorf("%s is stale; rerun with -update. Rows that changed:\n%s", golden, changedRows(want, table))
	}
}

// runDifferentialCase extracts both sides with every extractor that
// applies, decides what reproof must say, and checks it.
func runDifferentialCase(t *testing.T, c diffCase, exs []treeExtractor, a, b string) caseOutcome {
	out := caseOutcome{c: c, want: -1}
	var applied []treeExtractor
	for _, ex := range exs {
		if slices.Contains(ex.formats, c.Format) {
			applied = append(applied, ex)
		}
	}
	if len(applied) == 0 {
		t.Fatalf("no extractor applies to format %q", c.Format)
	}
	snaps := [2][]treeSnapshot{make([]treeSnapshot, len(applied)), make([]treeSnapshot, len(applied))}
	errs := make([]error, 2*len(applied))
	work := t.TempDir()
	var wg sync.WaitGroup
	for side, archive := range []string{a, b} {
		for i, ex := range applied {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, escaped, err := runExtractor(ex, archive, work)
				if err == nil && len(escaped) > 0 {
					err = fmt.Errorf("%s wrote %q outside its destination extracting %s", ex.name, escaped, filepath.Base(archive))
				}
				snaps[side][i], errs[side*len(applied)+i] = s, err
			}()
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	var reasons []string
	for i, ex := range applied {
		if d := firstDifference(snaps[0][i], snaps[1][i]); d != "" {
			out.acrossAB = append(out.acrossAB, ex.name)
			reasons = append(reasons, fmt.Sprintf("%s extracts A and B differently: %s", ex.name, d))
		}
	}
	for side := range 2 {
		for i := range applied {
			for j := i + 1; j < len(applied); j++ {
				x, y := applied[i], applied[j]
				if x.view != y.view {
					continue
				}
				r := x.restores.and(y.restores)
				if c.Policy == "default-modes" {
					r.modes = false // the archive stores none: each tool's default
				}
				if d := firstDifference(projectSnapshot(snaps[side][i], r), projectSnapshot(snaps[side][j], r)); d != "" {
					pair := x.name + "≠" + y.name
					if side == 0 {
						out.withinA = append(out.withinA, pair)
					} else {
						out.withinB = append(out.withinB, pair)
					}
					reasons = append(reasons, fmt.Sprintf("%s is read differently by %s and %s: %s", "AB"[side:side+1], x.name, y.name, d))
				}
			}
		}
	}
	for _, r := range reasons {
		t.Log(r)
	}
	sameBytes := c.Format != "dir" && fileSHA256(t, a) == fileSHA256(t, b)
	differs := len(out.acrossAB) > 0 || (!sameBytes && len(out.withinA)+len(out.withinB) > 0)
	anyRefused := false
	for side := range 2 {
		for _, s := range snaps[side] {
			anyRefused = anyRefused || s.status != "ok"
		}
	}

	switch {
	case c.Family == "control" && differs:
		t.Errorf("control case %s (%s) is not harmless: %s", c.Name, c.Description, strings.Join(reasons, "; "))
	case differs || c.Policy == "ambiguous":
		out.want = 1
	case c.Family == "control" && sameBytes:
		out.want = 0
	case c.Family == "control":
		out.want = 3
	default:
		t.Errorf("case %s (%s) proves nothing: every extractor gives equal trees for A and B; make it a control case or fix the trick", c.Name, c.Description)
	}

	r := reproof(t, invocation{}, "diff", "--color", "never", a, b)
	out.diffExit = r.code
	line := firstOutputLine(r.stdout)
	if r.code == 2 || line == "" {
		line = firstOutputLine(r.stderr)
	}
	out.normalize = differentialNormalize(t, a, b, c.Format)

	why := "the extractors agree"
	if len(reasons) > 0 {
		why = strings.Join(reasons, "; ")
	} else if c.Policy == "ambiguous" {
		why = "the construct is ambiguous by policy (the extractors agree here)"
	}
	out.ok = true
	switch {
	case out.want == -1:
		out.ok = false
	case out.want == 1 && r.code == 2 && anyRefused:
		// An archive a real extractor refuses may be refused by reproof
		// too (exit 2, error): never identical, never equivalent.
	case r.code != out.want:
		out.ok = false
		t.Errorf("case %s [%s] (%s): reproof diff exit %d (%s), want %d: %s", c.Name, c.Family, c.Description, r.code, line, out.want, why)
	}
	if out.want == 1 && out.normalize == "both ok, equal bytes" {
		out.ok = false
		t.Errorf("case %s [%s] (%s): reproof normalize turns A and B into the same bytes, but %s", c.Name, c.Family, c.Description, why)
	}
	return out
}

// differentialNormalize runs reproof normalize on both sides and says
// what came of it.
func differentialNormalize(t *testing.T, a, b, format string) string {
	dir := t.TempDir()
	var outs [2][]byte
	var codes [2]int
	for i, in := range []string{a, b} {
		o := filepath.Join(dir, fmt.Sprintf("%c.%s", 'a'+i, format))
		r := reproof(t, invocation{}, "normalize", "-q", "--epoch", "0", in, "-o", o)
		codes[i] = r.code
		if r.code == 0 {
			got, err := os.ReadFile(o)
			if err != nil {
				t.Fatalf("reproof normalize %s: exit 0 but %v", in, err)
			}
			outs[i] = got
		}
	}
	switch {
	case codes[0] == 0 && codes[1] == 0 && bytes.Equal(outs[0], outs[1]):
		return "both ok, equal bytes"
	case codes[0] == 0 && codes[1] == 0:
		return "both ok, different bytes"
	case codes[0] == 0:
		return fmt.Sprintf("B refused (exit %d)", codes[1])
	case codes[1] == 0:
		return fmt.Sprintf("A refused (exit %d)", codes[0])
	}
	return fmt.Sprintf("both refused (exit %d, %d)", codes[0], codes[1])
}

// firstOutputLine is the first line of a command's output.
func firstOutputLine(s string) string {
	s = strings.TrimSpace(s)
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// changedRows lists the lines of was missing from now (-) and the lines
// of now missing from was (+).
func changedRows(was, now []byte) string {
	wasLines, nowLines := strings.Split(string(was), "\n"), strings.Split(string(now), "\n")
	var b strings.Builder
	for _, l := range wasLines {
		if !slices.Contains(nowLines, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range nowLines {
		if !slices.Contains(wasLines, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// outcomesTable renders the golden table, one row per case in manifest
// order.
func outcomesTable(outcomes []caseOutcome) []byte {
	var b bytes.Buffer
	b.WriteString(`# Differential test outcomes

Written by ` + "`go test ./cmd/reproof -run TestDifferential -update`" + ` (cmd/reproof/differential_e2e_test.go);
the pairs come from gen.py in this directory. "A: x≠y" means extractors x and y give different trees
for A; "A vs B" lists the extractors whose trees for A and B differ. "want" is what the oracle demands
of ` + "`reproof diff A B`" + ` (1: different; 3: equivalent; 0: identical; "-" the case proves nothing);
"normalize" is what ` + "`reproof normalize --epoch 0`" + ` made of A and B.

| family | case | format | trick | A: extractors disagree | B: extractors disagree | A vs B differ for | want | diff exit | normalize | ok |
|---|---|---|---|---|---|---|---|---|---|---|
`)
	cell := func(s []string) string {
		if len(s) == 0 {
			return "–"
		}
		return strings.Join(s, ", ")
	}
	for _, o := range outcomes {
		want := strconv.Itoa(o.want)
		if o.want == -1 {
			want = "-"
		}
		if o.c.Policy != "" {
			want += " (" + o.c.Policy + ")"
		}
		ok := "yes"
		if !o.ok {
			ok = "**NO**"
		}
		desc := strings.ReplaceAll(o.c.Description, "|", `\|`)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n",
			o.c.Family, o.c.Name, o.c.Format, desc, cell(o.withinA), cell(o.withinB), cell(o.acrossAB),
			want, o.diffExit, o.normalize, ok)
	}
	return b.Bytes()
}

// differentialPackages names the Debian package of each tool the
// differential test runs (the Makefile's TEST_PACKAGES has them).
