package archive

import (
	"fmt"
	"io"
)

// Writer writes entries into an archive. Its output depends only on the
// entries and the WriterOptions: the package's compressor settings are
// fixed, and nothing of the host reaches the bytes.
type Writer interface {
	// WriteEntry writes e, with exactly e.Size bytes of content read from
	// content for entries that have content (content may be nil otherwise).
	WriteEntry(e *Entry, content io.Reader) error
	// Close finishes the archive (trailers, compressor footers). Its error
	// must be checked: without it the archive is incomplete.
	Close() error
}

// WriterOptions choose the output format.
type WriterOptions struct {
	Format Format
	// Gzip gives the gzip header fields to write; nil writes the canonical
	// header (no name, no comment, MTIME 0, OS GzipOS).
	Gzip *GzipHeader
	// ZipComment is the archive comment of a zip.
	ZipComment string
}

// NewWriter returns a Writer of the given format on w. A Raw container
// means a single compressed stream: use NewRawWriter instead.
func NewWriter(w io.Writer, opts WriterOptions) (Writer, error) {
	comp, err := compressor(w, opts.Format.Compression, opts.Gzip)
	if err != nil {
		return nil, err
	}
	var cw Writer
	switch opts.Format.Container {
	case Tar:
		cw = newTarWriter(comp)
	case Zip:
		cw = newZipWriter(comp, opts.ZipComment)
	case Ar:
		cw = &arWriter{w: comp}
	default:
		return nil, fmt.Errorf("%w: writing %v archives", ErrUnsupported, opts.Format.Container)
	}
	return &layeredWriter{Writer: cw, comp: comp}, nil
}

// NewRawWriter returns a compressor with the package's fixed settings, for
// a compressed stream that is not an archive.
func NewRawWriter(w io.Writer, c Compression, gz *GzipHeader) (io.WriteCloser, error) {
	return compressor(w, c, gz)
}

type layeredWriter struct {
	Writer
	comp io.WriteCloser
}

func (l *layeredWriter) Close() error {
	if err := l.Writer.Close(); err != nil {
		l.comp.Close()
		return err
	}
	return l.comp.Close()
}
