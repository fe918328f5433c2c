package rebuild

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Caps on an unpacked root filesystem. Layers are untrusted input: a layer
// may claim or decompress to far more than any build image needs.
const (
	// DefaultRootfsMaxBytes caps the sum of the sizes of regular files
	// unpacked from all of an image's layers.
	DefaultRootfsMaxBytes int64 = 16 << 30
	// DefaultRootfsMaxEntries caps the number of tar entries read from all
	// of an image's layers.
	DefaultRootfsMaxEntries = 1 << 20
)

// Bounds on one name, so that the work a layer causes stays proportional
// to its size whatever its names and symlinks.
const (
	maxPathLen = 4096 // PATH_MAX: an entry name or a link target
	// maxDepth bounds the directories in a name. PATH_MAX allows 2048; no
	// image comes near 256, and every operation on a name walks it.
	maxDepth       = 256
	maxSymlinks    = 40   // symlinks followed resolving one name, as Linux's ELOOP
	maxResolveWork = 4096 // directory lookups resolving one name
)

// maxSkippedNames bounds rootfsStats.SkippedNames.
const maxSkippedNames = 20

// Whiteout markers of the OCI image layer format.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// rootfsLimits bounds unpackRootfs.
type rootfsLimits struct {
	maxBytes   int64
	maxEntries int
}

// rootfsStats says what unpackRootfs did.
type rootfsStats struct {
	Layers  int
	Entries int   // tar entries read, whiteouts included
	Bytes   int64 // regular file bytes written
	// Skipped counts device nodes and FIFOs, which are not created (the
	// runtime provides /dev); SkippedNames holds the first few.
	Skipped      int
	SkippedNames []string
}

// unpackRootfs unpacks img's layers, in order, into the directory dir, which
// must exist and be empty, applying OCI whiteouts.
//
// Layers are untrusted, so nothing is ever written outside dir:
//
//   - every file operation goes through an os.Root opened on dir, which
//     refuses any path that would leave it;
//   - a name with a ".." component is refused; an absolute name is taken
//     relative to dir, as tar does;
//   - symlinks already unpacked are followed in the parent directories of a
//     name the way the container will see them: an absolute target or a
//     ".." starts again from, or stops at, dir (openat2's RESOLVE_IN_ROOT).
//     The last component of a name is never followed: an entry replaces a
//     symlink rather than writing through it;
//   - a hardlink's target is resolved the same way and must already exist
//     under dir;
//   - device nodes and FIFOs are skipped and counted.
//
// Modes (setuid, setgid and sticky bits included), ownership (when running
// as root), symlinks and modification times are kept; extended attributes
// are not. An error names the layer digest and the entry.
func unpackRootfs(ctx context.Context, img v1.Image, dir string, lim rootfsLimits) (*rootfsStats, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the image's layers: %s", oneLine(err))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	u := &unpacker{
		root:   root,
		lim:    lim,
		owners: os.Geteuid() == 0,
		dirs:   map[string]string{},
		stats:  &rootfsStats{},
		buf:    make([]byte, 256<<10),
	}
	defer u.closeDir()
	for i, layer := range layers {
		if err := u.layer(ctx, layer); err != nil {
			name := fmt.Sprintf("layer %d", i+1)
			if d, derr := layer.Digest(); derr == nil {
				name = "layer " + d.String()
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		u.stats.Layers++
	}
	// Directory times last: creating entries in a directory changes its
	// modification time.
	for _, d := range u.dirTimes {
		if fi, err := root.Lstat(d.path); err == nil && fi.IsDir() {
			if err := root.Chtimes(d.path, d.mtime, d.mtime); err != nil {
				return nil, err
			}
		}
	}
	return u.stats, nil
}

// unpacker unpacks layers into one root filesystem.
type unpacker struct {
	root   *os.Root
	lim    rootfsLimits
	owners bool // set owners from the layers (only root can)
	stats  *rootfsStats
	buf    []byte

	// lastDir is the directory openDir opened last, lastName its name.
	lastDir  *os.Root
	lastName string

	// dirs caches resolveDir: a name as written in a layer to the
	// directory it resolves to. Removing anything can change a
	// resolution, so removals clear it.
	dirs map[string]string
	// created holds the resolved paths the current layer created, which an
	// opaque whiteout in the same layer keeps.
	created  map[string]bool
	dirTimes []dirTime
}

type dirTime struct {
	path  string
	mtime time.Time
}

// layer unpacks one layer.
func (u *unpacker) layer(ctx context.Context, layer v1.Layer) error {
	rc, err := layer.Uncompressed()
	if err != nil {
		return errors.New(oneLine(err))
	}
	defer rc.Close()
	u.created = map[string]bool{}
	tr := tar.NewReader(ctxReader{ctx, rc})
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			return fmt.Errorf("reading the tar stream after %d entries: %s", u.stats.Entries, oneLine(err))
		}
		u.stats.Entries++
		if u.stats.Entries > u.lim.maxEntries {
			return fmt.Errorf("entry %q: more than %d entries in the image (the cap on entries)", hdr.Name, u.lim.maxEntries)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// entry applies one tar entry.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // archive/tar has already applied it
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		u.stats.Skipped++
		if len(u.stats.SkippedNames) < maxSkippedNames {
			u.stats.SkippedNames = append(u.stats.SkippedNames, hdr.Name)
		}
		return nil
	}
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		return nil // the root itself: its mode is ours
	}
	parent, base := path.Split(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(parent, base)
	}
	dir, err := u.resolveDir(parent, true)
	if err != nil {
		return err
	}
	target := path.Join(dir, base)
	d, err := u.openDir(dir)
	if err != nil {
		return err
	}

	existing, err := d.Lstat(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		existing = nil
	case err != nil:
		return err
	}
	// An entry replaces what is there, except that a directory over a
	// directory merges into it.
	if existing != nil && !(hdr.Typeflag == tar.TypeDir && existing.IsDir()) {
		if err := u.remove(target); err != nil {
			return err
		}
		existing = nil
	}

	u.created[target] = true
	switch hdr.Typeflag {
	case tar.TypeDir:
		if existing == nil {
			if err := d.Mkdir(base, 0o700); err != nil {
				return err
			}
		}
		u.dirTimes = append(u.dirTimes, dirTime{target, hdr.ModTime})
		if err := u.chown(d, base, hdr); err != nil {
			return err
		}
		// After the chown, which clears setuid and setgid bits.
		return d.Chmod(base, entryMode(hdr))
	case tar.TypeReg, tar.TypeGNUSparse:
		return u.file(d, base, hdr, r)
	case tar.TypeSymlink:
		if len(hdr.Linkname) > maxPathLen {
			return fmt.Errorf("symlink target longer than %d bytes", maxPathLen)
		}
		if err := d.Symlink(hdr.Linkname, base); err != nil {
			return err
		}
		// No mode or time: Chmod and Chtimes would follow the link.
		return u.chown(d, base, hdr)
	case tar.TypeLink:
		return u.hardlink(target, hdr.Linkname)
	}
	return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
}

// chown gives the entry name in d the owner hdr names, when running as root.
func (u *unpacker) chown(d *os.Root, name string, hdr *tar.Header) error {
	if !u.owners {
		return nil
	}
	return d.Lchown(name, hdr.Uid, hdr.Gid)
}

// entryMode is the permission bits hdr gives, with the setuid, setgid and
// sticky bits.
func entryMode(hdr *tar.Header) fs.FileMode {
	return hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// openDir returns dir, a directory resolveDir returned, opened. The last one
// stays open: a layer's entries mostly come directory by directory, and an
// operation on a name under an os.Root walks every component of it.
func (u *unpacker) openDir(dir string) (*os.Root, error) {
	if u.lastDir != nil && u.lastName == dir {
		return u.lastDir, nil
	}
	u.closeDir()
	if dir == "." {
		u.lastDir, u.lastName = u.root, dir
		return u.root, nil
	}
	d, err := u.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	u.lastDir, u.lastName = d, dir
	return d, nil
}

func (u *unpacker) closeDir() {
	if u.lastDir != nil && u.lastDir != u.root {
		u.lastDir.Close()
	}
	u.lastDir, u.lastName = nil, ""
}

// file creates the regular file name in d with its contents, within the
// byte cap, and its owner, mode and time.
func (u *unpacker) file(d *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	if hdr.Size < 0 || hdr.Size > u.lim.maxBytes-u.stats.Bytes {
		return fmt.Errorf("%d bytes would take the image past %d unpacked bytes (the cap on size)", hdr.Size, u.lim.maxBytes)
	}
	f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(onlyWriter{f}, io.LimitReader(r, hdr.Size), u.buf)
	u.stats.Bytes += n
	if err == nil && n != hdr.Size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && u.owners {
		err = f.Chown(hdr.Uid, hdr.Gid)
	}
	if err == nil {
		err = f.Chmod(entryMode(hdr)) // after the chown, which clears setuid and setgid
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return d.Chtimes(name, hdr.ModTime, hdr.ModTime)
}

// onlyWriter hides *os.File's ReadFrom, so that io.CopyBuffer uses the
// buffer it is given instead of allocating one per file.
type onlyWriter struct{ io.Writer }

// hardlink links target to the existing file a layer names as linkname.
func (u *unpacker) hardlink(target, linkname string) error {
	old, err := cleanEntryName(linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	oldParent, oldBase := path.Split(old)
	oldDir, err := u.resolveDir(oldParent, false)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	oldPath := path.Join(oldDir, oldBase)
	fi, err := u.root.Lstat(oldPath)
	switch {
	case err != nil:
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	case fi.IsDir():
		return fmt.Errorf("hardlink target %q is a directory", linkname)
	}
	return u.root.Link(oldPath, target)
}

// whiteout applies a whiteout entry found in the directory parent.
func (u *unpacker) whiteout(parent, base string) error {
	dir, err := u.resolveDir(parent, true)
	if err != nil {
		return err
	}
	if base == whiteoutOpaque {
		return u.opaque(dir)
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	switch {
	case strings.HasPrefix(victim, whiteoutPrefix):
		return nil // other aufs metadata (.wh..wh.plnk and the like)
	case victim == "" || victim == "." || victim == "..":
		return fmt.Errorf("bad whiteout name %q", base)
	}
	return u.remove(path.Join(dir, victim))
}

// opaque applies an opaque whiteout to dir: what lower layers put under it
// is hidden, what this layer put there stays. A directory this layer named
// keeps only what this layer put in it, at any depth.
func (u *unpacker) opaque(dir string) error {
	f, err := u.root.Open(dir)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if !u.created[p] {
			if err := u.remove(p); err != nil {
				return err
			}
			continue
		}
		if fi, err := u.root.Lstat(p); err == nil && fi.IsDir() {
			if err := u.opaque(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove removes p and everything under it, if it exists.
func (u *unpacker) remove(p string) error {
	fi, err := u.root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0:
		// Names resolved through it may resolve differently now.
		clear(u.dirs)
		if u.lastName == p || strings.HasPrefix(u.lastName, p+"/") {
			u.closeDir()
		}
		return u.root.RemoveAll(p)
	}
	return u.root.Remove(p)
}

// resolveDir resolves dir, a clean relative name from a layer ("" or "."
// for the root), to the directory it names inside the root, with every
// symlink in it followed the way the container will see it: a target is
// taken relative to the root filesystem when absolute, and ".." stops at
// its top. The result contains no symlinks, so the os.Root operations on
// names under it do not follow any. With create, missing directories are
// made (mode 0755, owned by root); otherwise they are an error.
//
// The walk keeps the directory it has reached open, so that resolving costs
// a few system calls per component, not a walk from the top for each; a
// budget on the components looked at (symlink targets included) bounds what
// a crafted set of symlinks can cost.
func (u *unpacker) resolveDir(dir string, create bool) (string, error) {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" || dir == "." {
		return ".", nil
	}
	if r, ok := u.dirs[dir]; ok {
		return r, nil
	}
	w := &dirWalk{root: u.root}
	defer w.close()
	pending := strings.Split(dir, "/")
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			w.up()
			continue
		}
		cur, err := w.open()
		if err != nil {
			return "", err
		}
		if w.work > maxResolveWork {
			return "", fmt.Errorf("resolving %q: more than %d lookups (symlinks and .. components)", dir, maxResolveWork)
		}
		fi, err := cur.Lstat(c)
		switch {
		case errors.Is(err, fs.ErrNotExist) && create:
			if err := cur.Mkdir(c, 0o755); err != nil {
				return "", err
			}
			// Mkdir's mode is subject to the umask.
			if err := cur.Chmod(c, 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			links++
			if links > maxSymlinks {
				return "", fmt.Errorf("resolving %q: more than %d symlinks", dir, maxSymlinks)
			}
			target, err := cur.Readlink(c)
			if err != nil {
				return "", err
			}
			if path.IsAbs(target) {
				w.top()
			}
			pending = append(strings.Split(target, "/"), pending...)
			continue
		case !fi.IsDir():
			return "", fmt.Errorf("resolving %q: %q is not a directory", dir, path.Join(append(w.names, c)...))
		}
		if err := w.down(c); err != nil {
			return "", err
		}
	}
	r := path.Join(w.names...)
	if r == "" {
		r = "."
	}
	u.dirs[dir] = r
	return r, nil
}

// dirWalk is where resolveDir has got to: a directory inside the root, by
// its components, and an os.Root opened on it unless a ".." or an absolute
// symlink has moved the walk since.
type dirWalk struct {
	root  *os.Root
	names []string
	cur   *os.Root // nil: to be reopened
	work  int      // directory lookups so far
}

// open returns the walk's directory, reopened from the top when it moved up.
func (w *dirWalk) open() (*os.Root, error) {
	w.work++
	if w.cur != nil {
		return w.cur, nil
	}
	if len(w.names) == 0 {
		w.cur = w.root
		return w.cur, nil
	}
	w.work += len(w.names)
	r, err := w.root.OpenRoot(path.Join(w.names...))
	if err != nil {
		return nil, err
	}
	w.cur = r
	return r, nil
}

// down moves into the directory c, which resolveDir has just seen is one.
func (w *dirWalk) down(c string) error {
	next, err := w.cur.OpenRoot(c)
	if err != nil {
		return err
	}
	w.close()
	w.cur = next
	w.names = append(w.names, c)
	return nil
}

// up moves to the parent directory; the root is its own parent.
func (w *dirWalk) up() {
	if len(w.names) > 0 {
		w.names = w.names[:len(w.names)-1]
		w.close()
	}
}

// top moves to the root.
func (w *dirWalk) top() {
	w.names = w.names[:0]
	w.close()
}

// close closes the opened directory, unless it is the root itself.
func (w *dirWalk) close() {
	if w.cur != nil && w.cur != w.root {
		w.cur.Close()
	}
	w.cur = nil
}

// mountpoint is a path in the root filesystem that the runtime mounts
// over: a directory (of mode, when that is not 0) or an empty file.
type mountpoint struct {
	path string
	file bool
	mode fs.FileMode
}

// ensureMountpoints creates, in the root filesystem at dir, the mountpoints
// that are missing, and gives directories their mode. Names are resolved as
// unpackRootfs resolves them. An existing entry of the wrong type is left
// for the runtime to refuse.
func ensureMountpoints(dir string, points []mountpoint) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	u := &unpacker{root: root, dirs: map[string]string{}}
	for _, m := range points {
		if err := u.mountpoint(m); err != nil {
			return fmt.Errorf("mountpoint %q: %w", m.path, err)
		}
	}
	return nil
}

func (u *unpacker) mountpoint(m mountpoint) error {
	name, err := cleanEntryName(m.path)
	if err != nil {
		return err
	}
	if !m.file {
		p, err := u.resolveDir(name, true)
		if err != nil || m.mode == 0 {
			return err
		}
		return u.root.Chmod(p, m.mode)
	}
	parent, base := path.Split(name)
	pdir, err := u.resolveDir(parent, true)
	if err != nil {
		return err
	}
	p := path.Join(pdir, base)
	if _, err := u.root.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := u.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// cleanEntryName turns a layer's entry name into a clean name relative to
// the root: "." for the root itself. Absolute names are taken as relative;
// a ".." component anywhere is refused, since no image tool writes one.
func cleanEntryName(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty name")
	case len(name) > maxPathLen:
		return "", fmt.Errorf("name longer than %d bytes", maxPathLen)
	case strings.IndexByte(name, 0) >= 0:
		return "", errors.New("name contains a NUL byte")
	case strings.Count(name, "/") > maxDepth:
		return "", fmt.Errorf("name deeper than %d directories", maxDepth)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", errors.New(`name has a ".." component`)
		}
	}
	clean := strings.TrimPrefix(path.Clean("/"+name), "/")
	if clean == "" {
		return ".", nil
	}
	return clean, nil
}
