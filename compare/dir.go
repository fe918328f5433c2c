package compare

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/reproof/reproof/archive"
)

// readDirTree walks a directory into a tree, hashing regular files with a
// worker pool. Filesystem noise (inode, atime, ctime, block counts,
// directory sizes) is not recorded: it is never a difference.
func (c *comparer) readDirTree(root string) (*tree, error) {
	t := newTree()
	var files []*entryInfo
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
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entryFromFileInfo(filepath.ToSlash(rel), info)
		if e.Type == archive.TypeSymlink {
			if e.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
		} else if e.Xattrs, err = readXattrs(p); err != nil {
			return err
		}
		x := t.arena.newEntry(normalizeName(e.Name), e)
		x.e.ensureRare().file = p
		t.add(x)
		if e.Type == archive.TypeRegular {
			files = append(files, x)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.hashFiles(files); err != nil {
		return nil, err
	}
	t.index()
	return t, nil
}

func entryFromFileInfo(name string, info fs.FileInfo) *archive.Entry {
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
	case m&fs.ModeCharDevice != 0:
		e.Type = archive.TypeCharDevice
	case m&fs.ModeDevice != 0:
		e.Type = archive.TypeBlockDevice
	default:
		e.Type = archive.TypeFIFO // sockets: no content, compared by metadata
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
		if e.Type == archive.TypeCharDevice || e.Type == archive.TypeBlockDevice {
			dev := uint64(st.Rdev)
			e.Devmajor = int64((dev>>8)&0xfff | (dev>>32)&^0xfff)
			e.Devminor = int64(dev&0xff | (dev>>12)&^0xff)
		}
	}
	return e
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

// maxXattrs caps the extended attributes read of one file.
const maxXattrs = 64 << 10

// readXattrs returns the extended attributes of a file (following no
// symlink: it is not called for one), or nil when it has none or the
// filesystem keeps none.
func readXattrs(p string) (map[string]string, error) {
	buf := make([]byte, maxXattrs)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		if err == syscall.ENOTSUP || err == syscall.ERANGE {
			return nil, nil
		}
		return nil, fmt.Errorf("listing extended attributes of %q: %w", p, err)
	}
	var out map[string]string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		val := make([]byte, maxXattrs)
		m, err := syscall.Getxattr(p, name, val)
		if err != nil {
			return nil, fmt.Errorf("reading extended attribute %s of %q: %w", name, p, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = string(val[:m])
	}
	return out, nil
}
