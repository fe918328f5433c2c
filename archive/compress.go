package archive

import (
	"compress/bzip2"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
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

// ZstdMaxWindow is the largest zstd window a reader accepts (zstd --long
// up to 30 bits); larger windows are refused as a memory bomb.
const ZstdMaxWindow = 1 << 30

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

// decompressor opens the decompressed view of r. The returned header is
// non-nil for gzip.
func decompressor(c Compression, r io.Reader) (io.ReadCloser, *GzipHeader, error) {
	switch c {
	case NoCompression:
		return io.NopCloser(r), nil, nil
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		h := &GzipHeader{Name: zr.Name, Comment: zr.Comment, Extra: zr.Extra, ModTime: zr.ModTime, OS: zr.OS}
		if h.ModTime.Unix() <= 0 {
			h.ModTime = time.Time{} // MTIME 0: no time stored
		} else {
			h.ModTime = h.ModTime.UTC()
		}
		return zr, h, nil
	case Xz:
		zr, err := xz.ReaderConfig{}.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return io.NopCloser(zr), nil, nil
	case Zstd:
		zr, err := zstd.NewReader(r,
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(ZstdMaxWindow),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, err
		}
		return zstdReadCloser{zr}, nil, nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil, nil
	}
	return nil, nil, fmt.Errorf("%w: reading %v", ErrUnsupported, c)
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error { z.Decoder.Close(); return nil }

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
