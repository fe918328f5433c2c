package compare

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/archive"
)

// readDirTree walks a directory into a tree, hashing regular files with a
// worker pool. It records what an archive of the tree would hold and an
// extraction would give back: types (sockets included), device numbers,
// every extended attribute (capabilities and POSIX ACLs among them), the
// inode flags bsdtar stores, and hardlink structure: files sharing a
// device and inode are, after the first of them in bytewise path order,
// TypeHardlink entries naming that first path, as a tar of the tree
// stores them. Filesystem noise (inode numbers, atime, ctime, block
// counts, directory sizes) is not recorded: it is never a difference.
func (c *comparer) readDirTree(root string) (*tree, error) {
	t := newTree()
	links := map[dirInode][]*entryInfo{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := c.ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		if int64(t.len()) >= c.opts.MaxEntries {
			return fmt.Errorf("%w: more than %d entries (--max-entries)", archive.ErrLimit, c.opts.MaxEntries)
		}
		e, id, err := readDirEntry(p, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		x := t.arena.newEntry(normalizeName(e.Name), e)
		x.e.ensureRare().file = p
		t.add(x)
		if id.nlink > 1 && e.Type != archive.TypeDir {
			k := dirInode{id.dev, id.ino}
			links[k] = append(links[k], x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	linkGroups(links)
	var files []*entryInfo
	for i := range t.len() {
		if x := t.at(i); x.e.Type == archive.TypeRegular {
			files = append(files, x)
		}
	}
	if err := c.hashFiles(files); err != nil {
		return nil, err
	}
	t.index()
	return t, nil
}

// dirInode identifies a file on disk; nlink is its link count.
type dirInode struct{ dev, ino uint64 }

type dirID struct {
	dev, ino, nlink uint64
}

// readDirEntry reads what the tree records of one file: its metadata,
// link target, extended attributes and inode flags.
func readDirEntry(p, name string) (*archive.Entry, dirID, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, dirID{}, err
	}
	e, err := entryFromFileInfo(name, info)
	if err != nil {
		return nil, dirID{}, fmt.Errorf("%q: %w", p, err)
	}
	var id dirID
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		id = dirID{dev: uint64(st.Dev), ino: st.Ino, nlink: uint64(st.Nlink)}
	}
	if e.Type == archive.TypeSymlink {
		if e.Linkname, err = os.Readlink(p); err != nil {
			return nil, dirID{}, err
		}
	}
	if e.Xattrs, err = readXattrs(p); err != nil {
		return nil, dirID{}, err
	}
	if e.Type == archive.TypeRegular || e.Type == archive.TypeDir {
		if e.Flags, err = readFlags(p, e.Type == archive.TypeDir); err != nil {
			return nil, dirID{}, err
		}
	}
	return e, id, nil
}

// linkGroups turns every file sharing its inode with another of the tree,
// but the first in bytewise path order, into a hardlink to that first one:
// a tar of the tree stores them so, and an extraction links them again.
// The link carries no content, extended attributes or flags of its own:
// they are its target's.
func linkGroups(links map[dirInode][]*entryInfo) {
	for _, group := range links {
		if len(group) < 2 {
			continue // its other links are outside the tree
		}
		slices.SortFunc(group, func(a, b *entryInfo) int { return strings.Compare(a.name(), b.name()) })
		first := group[0].name()
		for _, x := range group[1:] {
			x.e.Type, x.e.Size, x.e.hasDigest = archive.TypeHardlink, 0, false
			r := x.e.ensureRare()
			r.linkname, r.devmajor, r.devminor = first, 0, 0
			r.xattrs, r.flags = nil, ""
		}
	}
}

// entryFromFileInfo is the entry of a file from its Lstat information.
func entryFromFileInfo(name string, info fs.FileInfo) (*archive.Entry, error) {
	m := info.Mode()
	e := &archive.Entry{Name: name, Mode: int64(m.Perm()), ModTime: info.ModTime().UTC()}
	if m&fs.ModeSetuid != 0 {
		e.Mode |= archive.ModeSetuid
	}
	if m&fs.ModeSetgid != 0 {
		e.Mode |= archive.ModeSetgid
	}
	if m&fs.ModeSticky != 0 {
		e.Mode |= archive.ModeSticky
	}
	switch {
	case m.IsRegular():
		e.Type, e.Size = archive.TypeRegular, info.Size()
	case m.IsDir():
		e.Type = archive.TypeDir
	case m&fs.ModeSymlink != 0:
		e.Type = archive.TypeSymlink
	case m&fs.ModeNamedPipe != 0:
		e.Type = archive.TypeFIFO
	case m&fs.ModeSocket != 0:
		e.Type = archive.TypeSocket
	case m&fs.ModeCharDevice != 0:
		e.Type = archive.TypeCharDevice
	case m&fs.ModeDevice != 0:
		e.Type = archive.TypeBlockDevice
	default:
		return nil, fmt.Errorf("unsupported file type (mode %v)", m)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
		if e.Type == archive.TypeCharDevice || e.Type == archive.TypeBlockDevice {
			e.Devmajor = int64(unix.Major(uint64(st.Rdev)))
			e.Devminor = int64(unix.Minor(uint64(st.Rdev)))
		}
	}
	return e, nil
}

// inodeFlags are the Linux inode flags (FS_IOC_GETFLAGS) bsdtar stores in
// SCHILY.fflags, by the names it stores them under (libarchive's flag
// table; checked with `chattr +X f; bsdtar -cf - --fflags f`). Flags it
// does not store (extents, inline data, casefold, verity, DAX, encrypt,
// the directory index) describe the filesystem, not the file.
var inodeFlags = []struct {
	bit  uint32
	name string
}{
	// The bits of <linux/fs.h>, FS_*_FL.
	{0x00000001, "secdel"},       // FS_SECRM_FL, chattr +s
	{0x00000002, "undel"},        // FS_UNRM_FL, +u
	{0x00000004, "compress"},     // FS_COMPR_FL, +c
	{0x00000008, "sync"},         // FS_SYNC_FL, +S
	{0x00000010, "schg"},         // FS_IMMUTABLE_FL, +i
	{0x00000020, "sappnd"},       // FS_APPEND_FL, +a
	{0x00000040, "nodump"},       // FS_NODUMP_FL, +d
	{0x00000080, "noatime"},      // FS_NOATIME_FL, +A
	{0x00004000, "journal-data"}, // FS_JOURNAL_DATA_FL, +j
	{0x00008000, "notail"},       // FS_NOTAIL_FL, +t
	{0x00010000, "dirsync"},      // FS_DIRSYNC_FL, +D
	{0x00020000, "topdir"},       // FS_TOPDIR_FL, +T
	{0x00800000, "nocow"},        // FS_NOCOW_FL, +C
	{0x20000000, "projinherit"},  // FS_PROJINHERIT_FL, +P
}

// readFlags returns the inode flags of a regular file or directory as
// bsdtar names them, comma-separated in bytewise order; "" when it has
// none or the filesystem keeps none (as bsdtar, it reads them of regular
// files and directories only: opening a device or FIFO has effects).
func readFlags(p string, dir bool) (string, error) {
	mode := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NOCTTY
	if dir {
		mode |= unix.O_DIRECTORY
	}
	fd, err := unix.Open(p, mode, 0)
	if err != nil {
		return "", fmt.Errorf("reading the inode flags of %q: %w", p, err)
	}
	defer unix.Close(fd)
	bits, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return "", nil // the filesystem keeps no flags
		}
		return "", fmt.Errorf("reading the inode flags of %q: %w", p, err)
	}
	var names []string
	for _, f := range inodeFlags {
		if bits&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ","), nil
}

// hashFiles sets the digest of every file, in parallel.
func (c *comparer) hashFiles(files []*entryInfo) error {
	work := make(chan *entryInfo)
	errs := make([]error, c.opts.Workers)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for x := range work {
				if errs[w] != nil {
					continue
				}
				errs[w] = hashInto(x)
			}
		}(w)
	}
	for _, x := range files {
		work <- x
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func hashInto(x *entryInfo) error {
	f, err := os.Open(x.file())
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading %q: %w", x.file(), err)
	}
	x.e.setDigest(h.Sum(nil))
	return nil
}

// compareDirs compares two directory trees.
func (c *comparer) compareDirs(a, b, prefix string, depth int) error {
	var ta, tb *tree
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tb, errB = c.readDirTree(b)
	}()
	ta, errA = c.readDirTree(a)
	wg.Wait()
	for _, side := range []struct {
		dir string
		err error
	}{{a, errA}, {b, errB}} {
		switch {
		case side.err == nil:
		case errors.Is(side.err, archive.ErrLimit):
			// A cap reached is said in the result, as for archives.
			c.stop(prefix, fmt.Sprintf("reading directory %q: %v", side.dir, side.err))
			return nil
		default:
			return fmt.Errorf("reading directory %q: %w", side.dir, side.err)
		}
	}
	c.count(int64(ta.len()), int64(tb.len()))
	diffs, pairs := c.pairEntries(ta, tb, prefix, false)
	c.add(diffs...)
	for i := range pairs {
		pairs[i].fileA, pairs[i].fileB = pairs[i].a.file(), pairs[i].b.file()
	}
	return c.comparePairs(pairs, depth)
}

// maxXattrs caps the extended attributes read of one file: the list of
// names and each value.
const maxXattrs = 64 << 10

// readXattrs returns every extended attribute of a file, of the file
// itself and not of a symlink's target (security.capability,
// system.posix_acl_access and system.posix_acl_default among them), or
// nil when it has none or the filesystem keeps none. More than
// maxXattrs of names or of one value is an error, never a silent nil.
func readXattrs(p string) (map[string]string, error) {
	buf := make([]byte, maxXattrs)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case errors.Is(err, unix.ERANGE), errors.Is(err, unix.E2BIG):
			return nil, fmt.Errorf("%w: the extended attribute names of %q take more than %d bytes", archive.ErrLimit, p, maxXattrs)
		}
		return nil, fmt.Errorf("listing extended attributes of %q: %w", p, err)
	}
	var out map[string]string
	val := make([]byte, maxXattrs)
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		m, err := unix.Lgetxattr(p, name, val)
		switch {
		case errors.Is(err, unix.ENODATA):
			continue // removed since it was listed
		case errors.Is(err, unix.ERANGE):
			return nil, fmt.Errorf("%w: extended attribute %s of %q is over %d bytes", archive.ErrLimit, name, p, maxXattrs)
		case err != nil:
			return nil, fmt.Errorf("reading extended attribute %s of %q: %w", name, p, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = string(val[:m])
	}
	return out, nil
}
