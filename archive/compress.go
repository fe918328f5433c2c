package archive

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// The fixed compressor settings of every writer in this package. Output
// bytes depend on them, so they change only with a documented version bump.
const (
	// GzipLevel is the deflate level of gzip streams (klauspost/compress).
	GzipLevel = 6
	// GzipOS is the OS byte written in gzip headers by the gzip-header pass
	// (255, "unknown": the output claims nothing about the host).
	GzipOS = 255
	// ZstdWindow is the zstd window size; level is zstd.SpeedDefault (3),
	// one encoder goroutine, with frame checksums.
	ZstdWindow = 8 << 20
	// XzDictCap is the LZMA2 dictionary size of xz streams
	// (ulikunitz/xz), with CRC64 checks, one block per stream.
	XzDictCap = 8 << 20
	// ZipDeflateLevel is the deflate level of zip entries.
	ZipDeflateLevel = 6
)

// GzipHeader is the header of a gzip stream's first member.
type GzipHeader struct {
	Name    string
	Comment string
	Extra   []byte
	ModTime time.Time // zero when the header's MTIME field is 0
	OS      byte
}

func (h *GzipHeader) isCanonical() bool {
	return h.Name == "" && h.Comment == "" && len(h.Extra) == 0 && h.ModTime.IsZero() && h.OS == GzipOS
}

// maxTrailingZeros caps the zero bytes accepted after the end of a
// compressed stream or of an archive (tape and record padding); more is
// an error, not a pause while gigabytes of zeros are read.
const maxTrailingZeros = 16 << 20

// decompressor opens the decompressed view of br. The returned header is
// non-nil for gzip. charge adds to the stream's byte budget what a
// decoder allocates (an xz block's dictionary); off tells how far into
// the compressed input br has been read, for errors.
func decompressor(c Compression, br *bufio.Reader, lim Limits, charge func(int64) error, off func() int64) (io.ReadCloser, *GzipHeader, error) {
	switch c {
	case NoCompression:
		return io.NopCloser(br), nil, nil
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		zr.Multistream(false)
		h := &GzipHeader{Name: zr.Name, Comment: zr.Comment, Extra: zr.Extra, ModTime: zr.ModTime, OS: zr.OS}
		if h.ModTime.Unix() <= 0 {
			h.ModTime = time.Time{} // MTIME 0: no time stored
		} else {
			h.ModTime = h.ModTime.UTC()
		}
		return &gzipMembers{zr: zr, br: br, off: off}, h, nil
	case Xz:
		guard := newXzGuard(br, lim.MaxWindow, charge)
		zr, err := xz.ReaderConfig{DictCap: lzma.MinDictCap}.NewReader(guard)
		if err != nil {
			return nil, nil, err
		}
		return io.NopCloser(zr), nil, nil
	case Zstd:
		zr, err := zstd.NewReader(br,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(uint64(lim.MaxWindow)),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, err
		}
		return zstdReadCloser{zr: zr, maxWindow: lim.MaxWindow}, nil, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(br)), nil, nil
	}
	return nil, nil, fmt.Errorf("%w: reading %v", ErrUnsupported, c)
}

// gzipMembers reads the members of a gzip stream one after another, and
// checks what follows the last one: nothing, or zero padding up to
// maxTrailingZeros (counted in zeros). Anything else is an error, where
// GNU gzip warns "trailing garbage ignored": a verifier does not ignore
// bytes that two files may differ by.
type gzipMembers struct {
	zr    *gzip.Reader
	br    *bufio.Reader
	off   func() int64
	zeros int64
	done  bool
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for !g.done {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		if err := g.nextMember(); err != nil {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}

func (g *gzipMembers) Close() error { return g.zr.Close() }

// nextMember starts the member after the one that ended, or checks the
// bytes after the last one.
func (g *gzipMembers) nextMember() error {
	head, err := g.br.Peek(1)
	switch {
	case len(head) == 0 && err == io.EOF:
		g.done = true
		return nil
	case len(head) == 0:
		return err
	case head[0] == 0x1f:
		if err := g.zr.Reset(g.br); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		g.zr.Multistream(false)
		return nil
	}
	g.done = true
	g.zeros, err = readZeros(g.br, "the last member", g.off())
	return err
}

// readZeros reads r to its end and returns how many bytes it held: zero
// bytes only, at most maxTrailingZeros, or a *trailingError. end names
// where r starts ("the last member") and off is its offset.
func readZeros(r io.Reader, end string, off int64) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		for i, b := range buf[:k] {
			if b != 0 {
				return n, &trailingError{Offset: off + n + int64(i), msg: "data after " + end + " (trailing garbage)"}
			}
		}
		n += int64(k)
		if n > maxTrailingZeros {
			return n, &trailingError{Offset: off, msg: fmt.Sprintf("more than %s of zero padding after %s", FormatSize(maxTrailingZeros), end)}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// trailingError is data found after the end of a compressed stream or an
// archive, at Offset.
type trailingError struct {
	Offset int64
	msg    string
}

func (e *trailingError) Error() string { return e.msg }

type zstdReadCloser struct {
	zr        *zstd.Decoder
	maxWindow int64
}

func (z zstdReadCloser) Read(p []byte) (int, error) {
	n, err := z.zr.Read(p)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		err = limitError("--max-window", "zstd frame window larger than %s", FormatSize(z.maxWindow))
	}
	return n, err
}

func (z zstdReadCloser) Close() error { z.zr.Close(); return nil }

// compressor wraps w in a compressor with the package's fixed settings.
// For gzip, hdr gives the header fields to write (nil: canonical header).
func compressor(w io.Writer, c Compression, hdr *GzipHeader) (io.WriteCloser, error) {
	switch c {
	case NoCompression:
		return nopWriteCloser{w}, nil
	case Gzip:
		zw, err := gzip.NewWriterLevel(w, GzipLevel)
		if err != nil {
			return nil, err
		}
		zw.OS = GzipOS
		if hdr != nil {
			zw.Name, zw.Comment, zw.Extra, zw.ModTime, zw.OS = hdr.Name, hdr.Comment, hdr.Extra, hdr.ModTime, hdr.OS
		}
		if zw.ModTime.IsZero() {
			// MTIME 0: this writer stores uint32(ModTime.Unix()) as is,
			// which for the zero time is not 0.
			zw.ModTime = time.Unix(0, 0)
		}
		return zw, nil
	case Xz:
		return xz.WriterConfig{DictCap: XzDictCap, CheckSum: xz.CRC64}.NewWriter(w)
	case Zstd:
		return zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(true),
			zstd.WithWindowSize(ZstdWindow))
	}
	return nil, fmt.Errorf("%w: writing %v", ErrUnsupported, c)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
