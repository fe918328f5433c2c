package archive

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"strings"

	"github.com/reproof/reproof/internal/owner"
)

// Options configure how a stream is read.
type Options struct {
	Limits Limits
	// Digest makes the Stream compute Entry.Digest (SHA-256) as content is
	// read; content skipped by Next is read and hashed too.
	Digest bool
	// Tee receives a copy of every decompressed byte of the container
	// stream as it is read: a caller that will need contents again can
	// spill the stream once and find contents by Entry.ContentOffset.
	Tee io.Writer
	// TempDir is where a zip that cannot be read in place (inside a
	// compressed stream, or from a pipe) is spooled. Default os.TempDir().
	TempDir string
	// Budget, when set, counts the decompressed bytes of this stream
	// together with those of every other stream given the same budget.
	Budget *Budget
}

// Stream is an opened input: its detected format and, for archives, its
// entries. It reads forward only; entries come in stored order.
type Stream struct {
	Format Format
	// Gzip is the header of the first gzip member, when compressed with gzip.
	Gzip *GzipHeader
	// ZipComment is the archive comment of a zip.
	ZipComment string

	// TrailingZeros counts the zero bytes found after the last member of
	// a gzip stream (tape padding, which GNU gzip ignores), once the
	// stream has been read to its end. Zero padding after the end of a
	// tar or cpio archive (the rest of a record) is not counted: it
	// comes with the archive's size.
	TrailingZeros int64

	name       string // for errors
	opts       Options
	entries    entryReader
	raw        io.Reader // decompressed stream
	counter    *countingReader
	rawCounter *countingReader // compressed input
	outer      *bufio.Reader   // over rawCounter
	dec        io.Reader       // the decompressor
	meta       int64           // metadata bytes of the entries so far
	closers    []func() error
	count      int64 // entries returned
	cur        *Entry
	content    io.Reader
	hash       hash.Hash
	consumed   int64 // content bytes read across entries, expanded (sparse, zip)
	err        error // sticky
}

// entryReader is what each container format implements.
type entryReader interface {
	// next returns the next entry and a reader of exactly its content
	// (nil when the entry's content cannot be read), or io.EOF.
	next() (*Entry, io.Reader, error)
	// offset is the current position in the container stream.
	offset() int64
}

// containerAmbiguities is implemented by the container readers that find
// ambiguous constructs outside any one entry (bytes before or between zip
// structures, a second central directory).
type containerAmbiguities interface {
	ambiguities() []Ambiguity
}

// Ambiguities returns the ambiguous constructs found so far outside any
// one entry (each entry carries its own in Entry.Ambiguities). For a zip
// they are known once Open returns; for streamed formats, once Next has
// returned io.EOF.
func (s *Stream) Ambiguities() []Ambiguity {
	if ca, ok := s.entries.(containerAmbiguities); ok {
		return ca.ambiguities()
	}
	return nil
}

// Open detects the format of src and prepares to read it. name is used in
// error messages only. When src is an *os.File (or any io.ReaderAt with a
// Seek method) a zip is read in place; otherwise it is spooled to a
// temporary file first. The caller must Close the stream.
func Open(src io.Reader, name string, opts Options) (_ *Stream, err error) {
	opts.Limits = opts.Limits.withDefaults()
	s := &Stream{name: name, opts: opts}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	start := int64(-1)
	if sk, ok := src.(io.Seeker); ok {
		if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
			start = pos
		}
	}
	raw := &countingReader{r: src, max: math.MaxInt64 - 1}
	outer := bufio.NewReaderSize(raw, 64<<10)
	s.rawCounter, s.outer = raw, outer
	head, err := peek(outer, 16)
	if err != nil {
		return nil, &FormatError{Format: "input", Offset: 0, Err: err}
	}
	s.Format.Compression = DetectCompression(head)
	s.counter = &countingReader{max: opts.Limits.MaxBytes, tee: opts.Tee, budget: opts.Budget}
	inputOffset := func() int64 { return bufferedOffset(raw, outer) }
	dec, gz, err := decompressor(s.Format.Compression, outer, opts.Limits, s.counter.charge, inputOffset)
	if err != nil {
		return nil, compressionError(s.Format.Compression, inputOffset(), err)
	}
	s.closers = append(s.closers, dec.Close)
	s.Gzip = gz
	s.dec = dec
	s.counter.r = layerErrors{dec, s.Format.Compression}
	inner := bufio.NewReaderSize(s.counter, 64<<10)
	head, err = peek(inner, peekSize)
	if err != nil {
		var le *layerError
		if errors.As(err, &le) {
			return nil, compressionError(le.c, inputOffset(), le.err)
		}
		return nil, &FormatError{Format: s.Format.String(), Offset: 0, Err: err}
	}
	s.Format.Container, s.Format.Deb = DetectContainer(head)
	if s.Format.Container == Tar && allZero(head) {
		// An empty tar is zeros; so are the first KiB of many a disk
		// image (an ISO starts with 32 KiB of them). Zeros through the
		// buffer are a tar (the rest must be zeros too); anything else
		// is plain bytes.
		if more, err := peek(inner, inner.Size()); err == nil && !allZero(more) {
			s.Format.Container = Raw
		}
	}
	s.raw = inner

	switch s.Format.Container {
	case Tar:
		s.entries = newTarReader(inner, s.counter, inner)
	case Ar:
		s.entries = newArReader(inner, s.counter, inner)
	case Cpio:
		s.entries = newCpioReader(inner, s.counter, inner)
	case Zip:
		ra, size, err := s.zipSource(src, start, inner)
		if err != nil {
			return nil, err
		}
		zr, comment, err := newZipReader(ra, size, opts.Limits)
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, &FormatError{Format: "zip", Offset: -1, Err: err}
		}
		s.entries, s.ZipComment = zr, comment
	}
	return s, nil
}

// zipSource returns random access to the zip: the file itself when it is
// an uncompressed seekable file, else a spooled copy.
func (s *Stream) zipSource(src io.Reader, start int64, inner io.Reader) (io.ReaderAt, int64, error) {
	if ra, ok := src.(io.ReaderAt); ok && start >= 0 && s.Format.Compression == NoCompression {
		if sk, ok := src.(io.Seeker); ok {
			end, err := sk.Seek(0, io.SeekEnd)
			if err == nil {
				return io.NewSectionReader(ra, start, end-start), end - start, nil
			}
		}
	}
	f, err := owner.TempFile(s.opts.TempDir, "reproof-zip-")
	if err != nil {
		return nil, 0, fmt.Errorf("spooling zip: %w", err)
	}
	s.closers = append(s.closers, func() error { f.Close(); return os.Remove(f.Name()) })
	n, err := io.Copy(f, inner)
	if err != nil {
		return nil, 0, &FormatError{Format: s.Format.String(), Offset: n, Err: err}
	}
	return f, n, nil
}

// Name returns the name the stream was opened with.
func (s *Stream) Name() string { return s.name }

// Next advances to the next entry, skipping what is left of the current
// one's content. It returns io.EOF after the last entry, and at once for a
// stream that is not an archive.
func (s *Stream) Next() (*Entry, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.entries == nil {
		return nil, io.EOF
	}
	if err := s.finishContent(); err != nil {
		return nil, s.fail(err)
	}
	off := s.entries.offset()
	e, content, err := s.entries.next()
	if err == io.EOF {
		s.cur, s.content = nil, nil
		if err := s.drain(); err != nil {
			return nil, s.setErr(err)
		}
		s.err = io.EOF
		return nil, io.EOF
	}
	if err != nil {
		s.cur = nil
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, s.setErr(err)
		}
		return nil, s.setErr(&FormatError{Format: s.Format.String(), Offset: off, Err: err})
	}
	s.count++
	if err := s.checkEntry(e); err != nil {
		return nil, s.setErr(&FormatError{Format: s.Format.String(), Entry: clipName(e.Name), Offset: off, Err: err})
	}
	if e.Offset == 0 {
		e.Offset = off
	}
	s.cur, s.content, s.hash = e, content, nil
	if s.opts.Digest && content != nil && e.Type.HasContent() {
		s.hash = sha256.New()
	}
	if s.opts.Digest && e.Type.HasContent() && e.Size == 0 && content != nil {
		// Nothing to read: the digest of empty content is known now.
		e.Digest = sha256.New().Sum(nil)
		s.hash = nil
	}
	return e, nil
}

// checkEntry applies the limits to an entry that was just read.
func (s *Stream) checkEntry(e *Entry) error {
	lim := s.opts.Limits
	if s.count > lim.MaxEntries {
		return limitError("--max-entries", "more than %d entries", lim.MaxEntries)
	}
	if n := max(len(e.Name), len(e.Linkname)); n > lim.MaxNameLength {
		what := "name"
		if len(e.Linkname) > len(e.Name) {
			what = "link target"
		}
		return limitError("--max-name", "%s of %d bytes, more than %d", what, n, lim.MaxNameLength)
	}
	pax := 0
	for k, v := range e.PAXRecords {
		pax += len(k) + len(v)
	}
	for k, v := range e.Xattrs {
		pax += len(k) + len(v)
	}
	if pax > lim.MaxPaxBytes {
		return limitError("--max-pax", "pax records of %d bytes, more than %d", pax, lim.MaxPaxBytes)
	}
	s.meta += int64(len(e.Name) + len(e.Linkname) + len(e.Uname) + len(e.Gname) + pax)
	if s.meta > lim.MaxMetadata {
		return limitError("--max-metadata", "more than %s of names and pax records", FormatSize(lim.MaxMetadata))
	}
	return nil
}

// clipName shortens an overlong entry name for an error message.
func clipName(name string) string {
	if len(name) > 256 {
		return name[:256] + "…"
	}
	return name
}

// drain reads what is left once the container has ended. After an
// archive's end only zero padding may follow (the rest of a tar record);
// anything else is an error, as data hidden after the end would be. A
// compressed stream is read to its end so that the decompressor checks
// its trailer (gzip CRC and size, xz index, zstd checksum): a truncated or
// corrupt stream is an error even when the container's end marker came
// before the damage.
func (s *Stream) drain() error {
	if s.Format.Container == Zip || s.Format.Container == Ar {
		// A zip was read to its end by the spool, or is read in place
		// by its central directory; an ar ends where its data does.
		return nil
	}
	end := "the end of the archive"
	if s.Format.Container == Tar {
		end = "the end-of-archive marker"
	}
	_, err := readZeros(s.raw, end, s.counter.n-int64(s.raw.(*bufio.Reader).Buffered()))
	if err == nil {
		if gm, ok := s.dec.(*gzipMembers); ok {
			s.TrailingZeros = gm.zeros
		}
		return nil
	}
	var le *layerError
	if errors.As(err, &le) {
		return compressionError(le.c, bufferedOffset(s.rawCounter, s.outer), le.err)
	}
	off := int64(-1)
	if te, ok := err.(*trailingError); ok {
		off = te.Offset
	}
	return &FormatError{Format: s.Format.String(), Offset: off, Err: err}
}

// Read reads the current entry's content. For a stream that is not an
// archive it reads the decompressed stream.
func (s *Stream) Read(p []byte) (int, error) {
	if s.entries == nil {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.raw.Read(p)
		switch {
		case err == io.EOF:
			if gm, ok := s.dec.(*gzipMembers); ok {
				s.TrailingZeros = gm.zeros
			}
		case err != nil:
			var le *layerError
			var fe *FormatError
			switch {
			case errors.As(err, &le):
				err = compressionError(le.c, bufferedOffset(s.rawCounter, s.outer), le.err)
			case !errors.As(err, &fe):
				err = &FormatError{Format: s.Format.String(), Offset: s.counter.n, Err: err}
			}
			s.err = err
		}
		return n, err
	}
	if s.cur == nil {
		return 0, io.EOF
	}
	if s.content == nil {
		if s.cur.Type.HasContent() && s.cur.Size > 0 {
			return 0, s.fail(fmt.Errorf("%w: content cannot be read", ErrUnsupported))
		}
		return 0, io.EOF
	}
	n, err := s.content.Read(p)
	if n > 0 {
		s.consumed += int64(n)
		if s.consumed > s.opts.Limits.MaxBytes {
			return n, s.fail(limitError("--max-bytes", "more than %d bytes of content", s.opts.Limits.MaxBytes))
		}
		if s.cur.ContentOffset < 0 {
			// Not bytes of the container stream (a zip entry, a sparse
			// file): the counter has not seen them.
			if err := s.opts.Budget.spend(int64(n)); err != nil {
				return n, s.fail(err)
			}
		}
		if s.hash != nil {
			s.hash.Write(p[:n])
		}
	}
	if err == io.EOF {
		if s.hash != nil {
			s.cur.Digest = s.hash.Sum(nil)
			s.hash = nil
		}
		s.content = nil
		return n, io.EOF
	}
	if err != nil {
		return n, s.fail(err)
	}
	return n, nil
}

// finishContent reads what is left of the current entry.
func (s *Stream) finishContent() error {
	if s.cur == nil || s.content == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, readerOnly{s})
	return err
}

type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// fail wraps an error met while reading the current entry.
func (s *Stream) fail(err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return s.setErr(err)
	}
	fe = &FormatError{Format: s.Format.String(), Offset: -1, Err: err}
	if s.entries != nil {
		fe.Offset = s.entries.offset()
	}
	if s.cur != nil {
		fe.Entry = s.cur.Name
	}
	return s.setErr(fe)
}

func (s *Stream) setErr(err error) error {
	if err == io.ErrUnexpectedEOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if fe, ok := err.(*FormatError); ok && fe.Err == io.ErrUnexpectedEOF {
			fe.Err = errTruncated
		}
	}
	s.err = err
	return err
}

var errTruncated = errors.New("unexpected end of data (truncated?)")

// Close releases the stream's resources, including temporary files.
func (s *Stream) Close() error {
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}

// countingReader counts the bytes read and fails past max.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
	tee io.Writer // gets every byte read, when set
	// charged is what the decoder spent besides the bytes it gave
	// (xz dictionaries): it counts towards max too.
	charged int64
	budget  *Budget // shared with other streams, when set
}

func (c *countingReader) over() error {
	return limitError("--max-bytes", "more than %d decompressed bytes", c.max)
}

// charge counts n bytes of decoder work against max.
func (c *countingReader) charge(n int64) error {
	c.charged += n
	if c.n+c.charged > c.max {
		return c.over()
	}
	return c.budget.spend(n)
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n+c.charged > c.max {
		return 0, c.over()
	}
	if rest := c.max - c.n - c.charged + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if berr := c.budget.spend(int64(n)); berr != nil && err == nil {
		err = berr
	}
	if c.tee != nil && n > 0 {
		if _, werr := c.tee.Write(p[:n]); werr != nil {
			return n, fmt.Errorf("copying the decompressed stream: %w", werr)
		}
	}
	return n, err
}

// layerErrors names the compression layer in the errors it returns.
type layerErrors struct {
	r io.Reader
	c Compression
}

func (l layerErrors) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF && l.c != NoCompression {
		err = &layerError{c: l.c, err: bareCompressionError(l.c, err)}
	}
	return n, err
}

// layerError is an error of a compression layer: "xz: unexpected end of
// data (truncated?)".
type layerError struct {
	c   Compression
	err error
}

func (e *layerError) Error() string { return e.c.String() + ": " + e.err.Error() }
func (e *layerError) Unwrap() error { return e.err }

// compressionError reports an error of the compression layer itself, at an
// offset in the compressed input (how far the decompressor had read, or
// where trailing data starts).
func compressionError(c Compression, off int64, err error) error {
	var te *trailingError
	if errors.As(err, &te) {
		off = te.Offset
	}
	return &FormatError{Format: c.String(), Offset: off, Err: bareCompressionError(c, err)}
}

// bareCompressionError drops the "gzip: " prefix the decompressors put on
// their own messages (the FormatError or layerError names the layer once)
// and calls a short stream truncated.
func bareCompressionError(c Compression, err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return errTruncated
	}
	if c == Bzip2 && strings.Contains(err.Error(), "continuation file") {
		// compress/bzip2's words for bytes after the last stream.
		return &prefixStripped{msg: "data after the end of the stream (trailing garbage)", err: err}
	}
	if msg := err.Error(); strings.HasPrefix(msg, c.String()+": ") {
		return &prefixStripped{msg: strings.TrimPrefix(msg, c.String()+": "), err: err}
	}
	return err
}

// prefixStripped shows an error without its package prefix and still
// unwraps to it, so errors.Is keeps working.
type prefixStripped struct {
	msg string
	err error
}

func (e *prefixStripped) Error() string { return e.msg }
func (e *prefixStripped) Unwrap() error { return e.err }

// bufferedOffset returns how far a reader consumed through br has got:
// what the counter has read minus what br still buffers.
func bufferedOffset(c *countingReader, br *bufio.Reader) int64 {
	return c.n - int64(br.Buffered())
}

// OpenPayload returns the decompressed bytes of src: the container stream
// inside its compression (src itself when it is not compressed), read
// within opts.Limits (MaxBytes, MaxWindow) and opts.Budget.
func OpenPayload(src io.Reader, opts Options) (io.ReadCloser, Compression, error) {
	limits := opts.Limits.withDefaults()
	raw := &countingReader{r: src, max: math.MaxInt64 - 1}
	br := bufio.NewReaderSize(raw, 64<<10)
	head, err := peek(br, 16)
	if err != nil {
		return nil, 0, err
	}
	c := DetectCompression(head)
	counter := &countingReader{max: limits.MaxBytes, budget: opts.Budget}
	off := func() int64 { return bufferedOffset(raw, br) }
	dec, _, err := decompressor(c, br, limits, counter.charge, off)
	if err != nil {
		return nil, c, compressionError(c, off(), err)
	}
	counter.r = layerErrors{dec, c}
	return struct {
		io.Reader
		io.Closer
	}{counter, dec}, c, nil
}
