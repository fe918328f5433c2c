package archive

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"strings"
)

type tarReader struct {
	tr  *tar.Reader
	cnt *countingReader
	br  *bufio.Reader
}

func newTarReader(r io.Reader, cnt *countingReader, br *bufio.Reader) *tarReader {
	return &tarReader{tr: tar.NewReader(r), cnt: cnt, br: br}
}

func (t *tarReader) offset() int64 { return bufferedOffset(t.cnt, t.br) }

func (t *tarReader) next() (*Entry, io.Reader, error) {
	h, err := t.tr.Next()
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			err = errTruncated
		}
		return nil, nil, err
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
