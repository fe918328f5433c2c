package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
)

// The cpio "newc" format (magic 070701, or 070702 with a checksum): a
// 110-byte ASCII-hex header, the NUL-terminated name padded to 4 bytes,
// the content padded to 4 bytes; "TRAILER!!!" ends the archive. The old
// portable format (070707) and the binary ones are not read.
//
// How GNU cpio 2.13 (`cpio -idm --no-absolute-filenames`) and bsdtar
// 3.6.2 extract what the format leaves open (cpio_strict_test.go asks
// them):
//
//   - Hardlinks: entries sharing (dev major, dev minor, inode) with
//     nlink > 1. GNU cpio stores the content once, with the last link;
//     the earlier links have size 0. Both extractors give every link the
//     content: GNU cpio defers a size-0 link until the link with data
//     comes (and makes the deferred ones empty files at the end when none
//     does); bsdtar makes later links hardlinks of the first and writes a
//     later link's data through them. The reader returns the same tree:
//     a size-0 link waits (bounded, maxCpioPending) until the link with
//     data, which is returned as the regular file, followed by the early
//     links as TypeHardlink entries naming it; a size-0 link after it is
//     a TypeHardlink at once; a group with no data ends as one empty
//     regular file and hardlinks to it, after the last entry. Devices,
//     FIFOs and sockets linked the same way are hardlinks of the first.
//   - Where they disagree it records an Ambiguity: two links with data
//     (GNU cpio keeps the first, bsdtar the last), more links than nlink
//     (bsdtar stops linking), hardlinked symlinks (GNU cpio makes copies),
//     sockets (bsdtar makes an empty file), names with "..", absolute,
//     empty or with a trailing '/' on a non-directory, duplicate names
//     (GNU cpio keeps the first unless a later one is newer, bsdtar the
//     last), a header whose magic differs from the first (GNU cpio skips
//     the entry as junk), and bytes nobody reads (data on a directory,
//     FIFO or device, a check field in a 070701 header).
//   - A 070702 checksum that does not match the content is an error.

const (
	cpioHeaderSize = 110
	maxCpioName    = 64 << 10
	// maxCpioPending caps the size-0 links waiting for the link with
	// their data; maxCpioTracked caps the hardlink groups and names
	// remembered. Past either, links are returned as stored and the
	// archive carries a "cpio hardlink group not modeled" ambiguity.
	maxCpioPending = 4096
	maxCpioTracked = 1 << 20
)

// cpioInode identifies a hardlink group, as both extractors do.
type cpioInode struct{ devmajor, devminor, ino int64 }

// cpioGroup is what the reader knows of one hardlink group.
type cpioGroup struct {
	nlink   int64
	seen    int64
	target  *Entry   // the regular file with the data, or the first special file
	pending []*Entry // size-0 links waiting for the data
	data    int      // links that came with data
}

type cpioReader struct {
	br     *bufio.Reader
	cnt    *countingReader
	cur    *cpioContent
	pad    int64
	magic  string // of the first header
	queue  []*Entry
	ended  bool
	groups map[cpioInode]*cpioGroup
	// waiting lists the groups with pending links, in the order their
	// first link came.
	waiting  []*cpioGroup
	npending int
	names    map[uint64]struct{}
	found    []Ambiguity // container-level
	seen     map[string]bool
}

func newCpioReader(r *bufio.Reader, cnt *countingReader, _ *bufio.Reader) *cpioReader {
	return &cpioReader{br: r, cnt: cnt}
}

func (c *cpioReader) offset() int64 { return bufferedOffset(c.cnt, c.br) }

// ambiguities returns the container-level constructs: duplicate names,
// hardlink groups past the caps.
func (c *cpioReader) ambiguities() []Ambiguity { return c.found }

// once records a container-level ambiguity, the first of its construct.
func (c *cpioReader) once(a Ambiguity) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[a.Construct] {
		c.seen[a.Construct] = true
		c.found = append(c.found, a)
	}
}

func (c *cpioReader) next() (*Entry, io.Reader, error) {
	for {
		if len(c.queue) > 0 {
			e := c.queue[0]
			c.queue = c.queue[1:]
			if e.Type == TypeRegular {
				return e, bytes.NewReader(nil), nil
			}
			return e, nil, nil
		}
		if c.ended {
			return nil, nil, io.EOF
		}
		e, content, err := c.header()
		if err == io.EOF {
			c.flushGroups()
			c.ended = true
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if e == nil {
			continue // a link waiting for its data
		}
		return e, content, nil
	}
}

// header reads the next header and returns its entry; nil, nil, nil when
// the entry is a link held back until its data comes.
func (c *cpioReader) header() (*Entry, io.Reader, error) {
	if c.cur != nil {
		if _, err := io.Copy(io.Discard, c.cur); err != nil {
			return nil, nil, err
		}
		c.cur = nil
	}
	if _, err := c.br.Discard(int(c.pad)); err != nil {
		return nil, nil, errTruncated
	}
	c.pad = 0
	off := c.offset()
	var hdr [cpioHeaderSize]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, nil, errTruncated
	}
	magic := string(hdr[:6])
	if magic != "070701" && magic != "070702" {
		return nil, nil, fmt.Errorf("bad cpio magic %q", magic)
	}
	var f [13]int64
	for i := range f {
		v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("bad cpio header field %q", hdr[6+8*i:14+8*i])
		}
		f[i] = int64(v)
	}
	ino, mode, uid, gid, nlink, mtime, size := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	devmajor, devminor, rdevmajor, rdevminor, namesize, check := f[7], f[8], f[9], f[10], f[11], f[12]
	if namesize < 1 || namesize > maxCpioName {
		return nil, nil, fmt.Errorf("bad cpio name size %d", namesize)
	}
	name := make([]byte, namesize)
	if _, err := io.ReadFull(c.br, name); err != nil {
		return nil, nil, errTruncated
	}
	if name[namesize-1] != 0 {
		return nil, nil, errors.New("cpio name is not NUL-terminated")
	}
	if _, err := c.br.Discard(int(pad4(cpioHeaderSize + namesize))); err != nil {
		return nil, nil, errTruncated
	}
	e := &Entry{
		ContentOffset: -1,
		Name:          string(name[:namesize-1]),
		Mode:          mode & ModePerm,
		UID:           int(uid),
		GID:           int(gid),
		ModTime:       time.Unix(mtime, 0).UTC(),
		Offset:        off,
	}
	if e.Name == "TRAILER!!!" {
		return nil, nil, io.EOF
	}
	if c.magic == "" {
		c.magic = magic
	} else if magic != c.magic {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio mixed header formats",
			"magic %s after %s: GNU cpio skips this entry as junk, bsdtar extracts it", magic, c.magic))
	}
	c.pad = pad4(size)
	switch mode & 0o170000 {
	case 0o100000:
		e.Type, e.Size = TypeRegular, size
	case 0o040000:
		e.Type = TypeDir
	case 0o120000:
		if size > maxLinkTarget {
			return nil, nil, fmt.Errorf("symlink %q: target of %d bytes is too long", e.Name, size)
		}
		target := make([]byte, size)
		if _, err := io.ReadFull(c.br, target); err != nil {
			return nil, nil, errTruncated
		}
		e.Type, e.Linkname = TypeSymlink, string(target)
		size = 0
	case 0o020000:
		e.Type, e.Devmajor, e.Devminor = TypeCharDevice, rdevmajor, rdevminor
	case 0o060000:
		e.Type, e.Devmajor, e.Devminor = TypeBlockDevice, rdevmajor, rdevminor
	case 0o010000:
		e.Type = TypeFIFO
	case 0o140000:
		e.Type = TypeSocket
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio socket", "GNU cpio creates a socket, bsdtar an empty regular file"))
	default:
		return nil, nil, fmt.Errorf("%w: cpio entry %q has file type %o", ErrUnsupported, e.Name, mode&0o170000)
	}
	if e.Type != TypeRegular && e.Type != TypeSymlink && size > 0 {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio data on a "+e.Type.String(),
			"%d bytes of data that every extractor skips", size))
	}
	if check != 0 && (magic == "070701" || e.Type != TypeRegular) {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio check field",
			"check field %08x that no extractor reads", check))
	}
	c.checkName(e)
	c.cur = &cpioContent{r: io.LimitedReader{R: c.br, N: size}, check: magic == "070702" && e.Type == TypeRegular, want: uint32(check), name: e.Name}
	if e.Type == TypeRegular {
		e.ContentOffset = c.offset()
	}
	if nlink > 1 && e.Type != TypeDir {
		if keep := c.link(e, cpioInode{devmajor, devminor, ino}, nlink); !keep {
			return nil, nil, nil
		}
	}
	if e.Type != TypeRegular {
		return e, nil, nil // content, if any, is skipped by the next call
	}
	return e, c.cur, nil
}

// checkName records the names the extractors read differently, and
// names stored twice.
func (c *cpioReader) checkName(e *Entry) {
	name := e.Name
	switch {
	case name == "":
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio empty name", "GNU cpio extracts it as \".\", bsdtar skips it"))
	case strings.HasPrefix(name, "/"):
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio absolute name",
			"%q: GNU cpio writes it there unless given --no-absolute-filenames; bsdtar and that option strip the '/'", name))
	}
	if name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.HasSuffix(name, "/..") {
		stripped := name
		if i := strings.LastIndex(name, "../"); i >= 0 {
			stripped = name[i+3:]
		}
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio name with ..",
			"%q: GNU cpio extracts %q, bsdtar refuses it", name, stripped))
	}
	if strings.HasSuffix(name, "/") && e.Type != TypeDir {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio name with a trailing slash",
			"a %v named %q: GNU cpio fails to create it, bsdtar extracts %q", e.Type, name, strings.TrimRight(name, "/")))
	}
	if c.names == nil {
		c.names = map[uint64]struct{}{}
	}
	if len(c.names) >= maxCpioTracked {
		c.once(ambiguous("cpio names not tracked", "more than %d names: duplicates are not looked for", maxCpioTracked))
		return
	}
	h := fnv.New64a()
	clean := strings.TrimLeft(path.Clean("/"+name), "/")
	h.Write([]byte(clean))
	key := h.Sum64()
	if _, dup := c.names[key]; dup {
		c.once(ambiguous("cpio duplicate name",
			"%q is stored twice: GNU cpio keeps the first unless a later one is newer, bsdtar the last", clean))
	}
	c.names[key] = struct{}{}
}

// link places an entry with nlink > 1 in its hardlink group; it returns
// false when the entry is held back until the link with the data comes.
func (c *cpioReader) link(e *Entry, key cpioInode, nlink int64) bool {
	if c.groups == nil {
		c.groups = map[cpioInode]*cpioGroup{}
	}
	g := c.groups[key]
	if g == nil {
		if len(c.groups) >= maxCpioTracked {
			c.notModeled(e, "more than %d hardlink groups", maxCpioTracked)
			return true
		}
		g = &cpioGroup{nlink: nlink}
		c.groups[key] = g
	}
	g.seen++
	if g.seen > g.nlink {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio hardlink count",
			"link %d of a group of %d: GNU cpio links it, bsdtar extracts it on its own", g.seen, g.nlink))
	}
	switch {
	case e.Type == TypeSymlink:
		if g.target != nil {
			e.Ambiguities = append(e.Ambiguities, ambiguous("cpio hardlinked symlink",
				"%q shares an inode with %q: bsdtar hardlinks them, GNU cpio makes two symlinks", e.Name, g.target.Name))
		} else {
			g.target = e
		}
		return true
	case e.Type != TypeRegular:
		if g.target == nil {
			g.target = e
			return true
		}
		c.asHardlink(e, g.target)
		return true
	case e.Size > 0:
		g.data++
		if g.data > 1 {
			e.Ambiguities = append(e.Ambiguities, ambiguous("cpio hardlink with two contents",
				"%q and %q share an inode and both carry data: GNU cpio extracts the first's, bsdtar the last's", g.target.Name, e.Name))
			return true
		}
		g.target = e
		for _, p := range g.pending {
			c.asHardlink(p, e)
		}
		c.queue = append(c.queue, g.pending...)
		c.npending -= len(g.pending)
		g.pending = nil
		return true
	case g.target != nil:
		c.asHardlink(e, g.target)
		return true
	case c.npending >= maxCpioPending:
		c.notModeled(e, "more than %d links waiting for their data", maxCpioPending)
		return true
	default:
		if len(g.pending) == 0 {
			c.waiting = append(c.waiting, g)
		}
		g.pending = append(g.pending, e)
		c.npending++
		return false
	}
}

// asHardlink turns e into a hardlink to target, noting metadata the two
// disagree on (the extracted inode has one mode and one owner).
func (c *cpioReader) asHardlink(e, target *Entry) {
	if e.Mode != target.Mode || e.UID != target.UID || e.GID != target.GID {
		e.Ambiguities = append(e.Ambiguities, ambiguous("cpio hardlink metadata",
			"%q (mode %04o, owner %d:%d) links to %q (mode %04o, owner %d:%d): the extracted inode has one of them",
			e.Name, e.Mode, e.UID, e.GID, target.Name, target.Mode, target.UID, target.GID))
	}
	e.Type, e.Linkname, e.Size, e.ContentOffset = TypeHardlink, target.Name, 0, -1
	e.Devmajor, e.Devminor = 0, 0
}

// notModeled records on e and on the archive that a hardlink group is
// returned as stored, past a cap.
func (c *cpioReader) notModeled(e *Entry, format string, args ...any) {
	a := ambiguous("cpio hardlink group not modeled", format, args...)
	e.Ambiguities = append(e.Ambiguities, a)
	c.once(a)
}

// flushGroups queues the links whose data never came, once the trailer
// is read: both extractors make them one empty file, hardlinked.
func (c *cpioReader) flushGroups() {
	for _, g := range c.waiting {
		if len(g.pending) == 0 {
			continue
		}
		first := g.pending[0]
		c.queue = append(c.queue, first)
		for _, p := range g.pending[1:] {
			c.asHardlink(p, first)
			c.queue = append(c.queue, p)
		}
		g.pending = nil
	}
	c.waiting, c.npending = nil, 0
}

// cpioContent reads an entry's content, checking the 070702 checksum
// (the byte sum) at its end.
type cpioContent struct {
	r     io.LimitedReader
	check bool
	sum   uint32
	want  uint32
	name  string
}

func (x *cpioContent) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if x.check {
		for _, b := range p[:n] {
			x.sum += uint32(b)
		}
	}
	switch {
	case err == io.EOF && x.r.N > 0:
		return n, errTruncated
	case err == nil && n == 0 && x.r.N > 0 && len(p) > 0:
		return 0, errTruncated
	case err == io.EOF && x.check && x.sum != x.want:
		return n, fmt.Errorf("cpio entry %q: content sums to %08x, the header's checksum is %08x", x.name, x.sum, x.want)
	}
	return n, err
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }
