package archive

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The cpio "newc" format (magic 070701, or 070702 with a checksum): a
// 110-byte ASCII-hex header, the NUL-terminated name padded to 4 bytes,
// the content padded to 4 bytes; "TRAILER!!!" ends the archive.

const (
	cpioHeaderSize = 110
	maxCpioName    = 64 << 10
)

type cpioReader struct {
	br  *bufio.Reader
	cnt *countingReader
	cur *io.LimitedReader
	pad int64
}

func newCpioReader(r *bufio.Reader, cnt *countingReader, _ *bufio.Reader) *cpioReader {
	return &cpioReader{br: r, cnt: cnt}
}

func (c *cpioReader) offset() int64 { return bufferedOffset(c.cnt, c.br) }

func (c *cpioReader) next() (*Entry, io.Reader, error) {
	if c.cur != nil {
		if _, err := io.Copy(io.Discard, c.cur); err != nil || c.cur.N > 0 {
			return nil, nil, errTruncated
		}
		c.cur = nil
	}
	if _, err := c.br.Discard(int(c.pad)); err != nil {
		return nil, nil, errTruncated
	}
	c.pad = 0
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
	mode, uid, gid, mtime, size := f[1], f[2], f[3], f[5], f[6]
	rdevmajor, rdevminor, namesize := f[9], f[10], f[11]
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
	}
	if e.Name == "TRAILER!!!" {
		return nil, nil, io.EOF
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
		return e, nil, nil
	case 0o020000:
		e.Type, e.Devmajor, e.Devminor = TypeCharDevice, rdevmajor, rdevminor
	case 0o060000:
		e.Type, e.Devmajor, e.Devminor = TypeBlockDevice, rdevmajor, rdevminor
	case 0o010000:
		e.Type = TypeFIFO
	default:
		return nil, nil, fmt.Errorf("%w: cpio entry %q has file type %o", ErrUnsupported, e.Name, mode&0o170000)
	}
	c.cur = &io.LimitedReader{R: c.br, N: size}
	if e.Type != TypeRegular {
		return e, nil, nil // content, if any, is skipped by the next call
	}
	e.ContentOffset = c.offset()
	return e, &exactReader{r: c.cur}, nil
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }
