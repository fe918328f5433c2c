package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

type tarReader struct {
	tr   *tar.Reader
	tail *tailReader
	// entryEnd is where the stored data of the last entry ends, -1 when
	// unknown (a sparse file): after it must come the end-of-archive
	// marker, and nothing else before the stream ends.
	entryEnd int64
}

func newTarReader(r io.Reader, _ *countingReader, _ *bufio.Reader) *tarReader {
	tail := &tailReader{r: r}
	return &tarReader{tr: tar.NewReader(tail), tail: tail}
}

func (t *tarReader) offset() int64 { return t.tail.n }

// tailReader passes reads on, counting them and keeping the last
// tailSize bytes: where archive/tar says io.EOF, they tell an
// end-of-archive marker from a stream that stopped short.
type tailReader struct {
	r    io.Reader
	n    int64
	tail [tailSize]byte // ring: byte at offset o is tail[o%tailSize]
}

const tailSize = 1024

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	b := p[:n]
	if len(b) > tailSize {
		t.n += int64(len(b) - tailSize)
		b = b[len(b)-tailSize:]
	}
	for _, c := range b {
		t.tail[t.n%tailSize] = c
		t.n++
	}
	return n, err
}

// zeroFrom reports whether the bytes read from offset off on are all
// zero (and still in the tail).
func (t *tailReader) zeroFrom(off int64) bool {
	if off < 0 || t.n-off > tailSize {
		return false
	}
	for o := off; o < t.n; o++ {
		if t.tail[o%tailSize] != 0 {
			return false
		}
	}
	return true
}

// endedWell reports whether archive/tar's io.EOF came after an
// end-of-archive marker: two zero blocks right after the last entry, or
// one (a lone zero block, which GNU tar accepts too).
func (t *tarReader) endedWell() bool {
	if t.entryEnd < 0 { // after a sparse file: the last block read is zero
		return t.tail.n >= 512 && t.tail.zeroFrom(t.tail.n-512)
	}
	d := t.tail.n - t.entryEnd
	return (d == 512 || d == 1024) && t.tail.zeroFrom(t.entryEnd)
}

func (t *tarReader) next() (*Entry, io.Reader, error) {
	h, err := t.tr.Next()
	if err == io.EOF && !t.endedWell() {
		// archive/tar ends quietly where the data stops, even inside a
		// pax header; GNU tar and this reader want the marker.
		return nil, nil, errors.New("no end-of-archive marker (truncated?)")
	}
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			err = errTruncated
		}
		return nil, nil, err
	}
	t.entryEnd = t.offset()
	switch {
	case isSparse(h):
		t.entryEnd = -1
	case h.Typeflag == tar.TypeXGlobalHeader: // its records are read: the padding is left
		t.entryEnd += pad512(t.entryEnd)
	case !isHeaderOnly(h.Typeflag):
		t.entryEnd += h.Size + pad512(h.Size)
	}
	e, err := entryFromTar(h)
	if err != nil {
		return nil, nil, err
	}
	e.ContentOffset = -1
	if !e.Type.HasContent() {
		return e, nil, nil
	}
	if !isSparse(h) {
		e.ContentOffset = t.offset()
	}
	return e, t.tr, nil
}

// isHeaderOnly reports whether archive/tar reads no data after a header
// of this type, whatever its size field says.
func isHeaderOnly(flag byte) bool {
	switch flag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo:
		return true
	}
	return false
}

func pad512(n int64) int64 { return (512 - n%512) % 512 }

// isSparse reports whether a tar entry's content is stored as a sparse map
// (its stored bytes are not the file's bytes).
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, paxSparsePrefix) {
			return true
		}
	}
	return false
}

// paxFieldKeys are pax records that Entry represents as fields.
var paxFieldKeys = map[string]bool{
	"path": true, "linkpath": true, "size": true, "uid": true, "gid": true,
	"uname": true, "gname": true, "mtime": true, "atime": true, "ctime": true,
}

const (
	paxXattrPrefix  = "SCHILY.xattr."
	paxSparsePrefix = "GNU.sparse."
)

func entryFromTar(h *tar.Header) (*Entry, error) {
	e := &Entry{
		Name:       h.Name,
		Linkname:   h.Linkname,
		Mode:       h.Mode & ModePerm,
		UID:        h.Uid,
		GID:        h.Gid,
		Uname:      h.Uname,
		Gname:      h.Gname,
		ModTime:    h.ModTime.UTC(),
		AccessTime: utcOrZero(h.AccessTime),
		ChangeTime: utcOrZero(h.ChangeTime),
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		e.Type = TypeRegular
		e.Size = h.Size
	case tar.TypeDir:
		e.Type = TypeDir
	case tar.TypeSymlink:
		e.Type = TypeSymlink
	case tar.TypeLink:
		e.Type = TypeHardlink
	case tar.TypeChar:
		e.Type, e.Devmajor, e.Devminor = TypeCharDevice, h.Devmajor, h.Devminor
	case tar.TypeBlock:
		e.Type, e.Devmajor, e.Devminor = TypeBlockDevice, h.Devmajor, h.Devminor
	case tar.TypeFifo:
		e.Type = TypeFIFO
	case tar.TypeXGlobalHeader:
		e.Type = TypePAXGlobal
		e.PAXRecords = cloneMap(h.PAXRecords)
		e.ModTime = e.ModTime.Truncate(0)
		return e, nil
	default:
		return nil, fmt.Errorf("%w: tar entry %q has type %q", ErrUnsupported, h.Name, string(h.Typeflag))
	}
	if e.Type != TypeCharDevice && e.Type != TypeBlockDevice {
		e.Devmajor, e.Devminor = h.Devmajor, h.Devminor
	}
	for k, v := range h.PAXRecords {
		switch {
		case paxFieldKeys[k], strings.HasPrefix(k, paxSparsePrefix):
		case strings.HasPrefix(k, paxXattrPrefix):
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[strings.TrimPrefix(k, paxXattrPrefix)] = v
		default:
			if e.PAXRecords == nil {
				e.PAXRecords = map[string]string{}
			}
			e.PAXRecords[k] = v
		}
	}
	return e, nil
}
