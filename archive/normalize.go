package archive

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"
)

// NormalizeOptions configure Normalize.
type NormalizeOptions struct {
	Passes PassSet
	// Epoch is SOURCE_DATE_EPOCH: the time the time passes set (or clamp
	// to). It is required when a selected pass uses it.
	Epoch    time.Time
	HasEpoch bool
	// Clamp makes the time passes lower later times to the epoch and keep
	// earlier ones, instead of setting every time to it.
	Clamp bool
	// Compression, when set, replaces the input's compression in the
	// output (needed for bzip2 input, which cannot be written).
	Compression *Compression
	// TempDir holds the spill file of tar-order. Default os.TempDir().
	TempDir string
	Limits  Limits
}

// NormalizeReport says what Normalize did: for every selected pass that
// applies to the format, what it changed, so a report can name what each
// normalization hid.
type NormalizeReport struct {
	Input   Format
	Output  Format
	Entries int64
	Passes  []PassReport
	// Kept lists properties deliberately preserved that a reader may want
	// to know about (setuid and setgid bits).
	Kept []string
}

// PassReport is what one pass changed.
type PassReport struct {
	Pass     string
	Changed  int64    // entries (or headers) the pass altered
	Examples []string // a few of them, "name: field old → new"
}

const maxExamples = 3

type passLog struct {
	reports []PassReport
	index   map[string]int
}

func newPassLog(set PassSet, f Format, out Format) *passLog {
	l := &passLog{index: map[string]int{}}
	for _, p := range Passes {
		if !set.Has(p.Name) || !p.applies(f, out) {
			continue
		}
		l.index[p.Name] = len(l.reports)
		l.reports = append(l.reports, PassReport{Pass: p.Name})
	}
	return l
}

func (l *passLog) on(pass string) bool { _, ok := l.index[pass]; return ok }

// needsEpoch reports whether a pass that will run sets or clamps times.
func (l *passLog) needsEpoch() bool {
	for _, p := range Passes {
		if p.NeedsEpoch && l.on(p.Name) {
			return true
		}
	}
	return false
}

// record records a change to one entry. what describes it; it is called
// only while the pass still wants examples.
func (l *passLog) record(pass string, what func() string) { l.recordN(pass, 1, what) }

// recordN records a change that touched n entries at once.
func (l *passLog) recordN(pass string, n int64, what func() string) {
	r := &l.reports[l.index[pass]]
	r.Changed += n
	if len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, what())
	}
}

// Normalize rewrites the archive read from src into dst deterministically:
// the same content, however it was packed, gives the same bytes. The
// container and compression of the input are kept (unless
// opts.Compression says otherwise); contents are never changed. name is
// used in errors. The returned report lists what each pass changed.
//
// The output is written as it is produced: callers write to a temporary
// file and rename it on success.
func Normalize(ctx context.Context, src io.Reader, name string, dst io.Writer, opts NormalizeOptions) (*NormalizeReport, error) {
	if opts.Passes.on == nil {
		opts.Passes = AllPasses()
	}
	s, err := Open(src, name, Options{Limits: opts.Limits, TempDir: opts.TempDir})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := s.Format
	out.Deb = false
	if opts.Compression != nil {
		out.Compression = *opts.Compression
	}
	if out.Compression == Bzip2 {
		return nil, fmt.Errorf("%w: cannot write bzip2; choose another compression for the output", ErrUnsupported)
	}
	log := newPassLog(opts.Passes, s.Format, out)
	if log.needsEpoch() && !opts.HasEpoch {
		return nil, ErrNoEpoch
	}
	if err := ambiguityError("", s.Ambiguities()); err != nil {
		return nil, err // a zip's are known before any entry is read
	}
	n := &normalizer{ctx: ctx, s: s, opts: opts, log: log}
	rep := &NormalizeReport{Input: s.Format, Output: out}

	var gz *GzipHeader
	if out.Compression == Gzip {
		gz = n.gzipHeader()
	}
	switch s.Format.Container {
	case Raw:
		if s.Format.Compression == NoCompression {
			return nil, ErrNotArchive
		}
		zw, err := NewRawWriter(dst, out.Compression, gz)
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(zw, ctxReader{ctx, s}); err != nil {
			zw.Close()
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	case Cpio:
		return nil, fmt.Errorf("%w: cpio archives are read, not rewritten", ErrUnsupported)
	default:
		w, err := NewWriter(dst, WriterOptions{Format: out, Gzip: gz, ZipComment: n.zipComment()})
		if err != nil {
			return nil, err
		}
		switch {
		case s.Format.Container == Tar && log.on("tar-order"):
			err = n.sortedTar(w)
		default:
			if s.Format.Container == Zip && log.on("zip-order") {
				n.sortZip()
			}
			err = n.stream(w)
		}
		if err != nil {
			w.Close()
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("finishing output: %w", err)
		}
	}
	rep.Entries = n.count
	rep.Passes = log.reports
	rep.Kept = n.kept()
	return rep, nil
}

// ErrNoEpoch is returned when a selected pass needs SOURCE_DATE_EPOCH and
// none was given.
var ErrNoEpoch = errors.New("no epoch: a time pass needs SOURCE_DATE_EPOCH")

type normalizer struct {
	ctx      context.Context
	s        *Stream
	opts     NormalizeOptions
	log      *passLog
	count    int64
	special  int64 // entries with setuid/setgid kept
	specialE []string
	owners   int64 // owners kept on entries with special bits
	ownersE  []string
}

// keep records an owner tar-owner kept.
func (n *normalizer) keep(what string) {
	n.owners++
	if len(n.ownersE) < maxExamples {
		n.ownersE = append(n.ownersE, what)
	}
}

func (n *normalizer) kept() []string {
	var out []string
	if n.special > 0 {
		out = append(out, fmt.Sprintf("%d entries keep setuid/setgid bits, e.g. %s", n.special, joinQuoted(n.specialE)))
	}
	if n.owners > 0 {
		out = append(out, fmt.Sprintf("%d entries with special bits keep their owner, e.g. %s", n.owners, joinPlain(n.ownersE)))
	}
	return out
}

func joinQuoted(names []string) string {
	out := ""
	for i, s := range names {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", s)
	}
	return out
}

func (n *normalizer) gzipHeader() *GzipHeader {
	in := n.s.Gzip
	if n.log.on("gzip-header") {
		if in != nil && !in.isCanonical() {
			n.log.record("gzip-header", func() string { return describeGzip(in) })
		}
		return nil
	}
	return in
}

func describeGzip(h *GzipHeader) string {
	s := fmt.Sprintf("name %q, mtime %s, OS %d", h.Name, formatTime(h.ModTime), h.OS)
	if h.Comment != "" {
		s += fmt.Sprintf(", comment %q", h.Comment)
	}
	if len(h.Extra) > 0 {
		s += fmt.Sprintf(", %d bytes of extra field", len(h.Extra))
	}
	return s + " → canonical header"
}

// zipComment is the archive comment to write: the input's, unless
// zip-extra drops it (git archive stores the commit id there).
func (n *normalizer) zipComment() string {
	c := n.s.ZipComment
	if c == "" || !n.log.on("zip-extra") {
		return c
	}
	shown := c
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	n.log.record("zip-extra", func() string {
		return fmt.Sprintf("archive comment %q dropped", shown)
	})
	return ""
}

// formatTime renders a time in UTC, RFC 3339; the zero time as "0".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// stream rewrites entries in stored order.
func (n *normalizer) stream(w Writer) error {
	for {
		e, err := n.nextEntry()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.WriteEntry(e, n.s); err != nil {
			return n.wrapWrite(e, err)
		}
	}
}

func (n *normalizer) wrapWrite(e *Entry, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("entry %q: %w", e.Name, err)
}

// nextEntry reads the next entry and applies the per-entry passes.
func (n *normalizer) nextEntry() (*Entry, error) {
	if err := n.ctx.Err(); err != nil {
		return nil, err
	}
	for {
		e, err := n.s.Next()
		if err == io.EOF {
			if err := ambiguityError("", n.s.Ambiguities()); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, err
		}
		if err := ambiguityError(e.Name, e.Ambiguities); err != nil {
			return nil, err
		}
		n.count++
		n.applyEntryPasses(e)
		if e.Type == TypePAXGlobal && len(e.PAXRecords) == 0 {
			continue // a global header left with no records says nothing
		}
		return e, nil
	}
}

func (n *normalizer) applyEntryPasses(e *Entry) {
	if e.Mode&(ModeSetuid|ModeSetgid) != 0 {
		n.special++
		if len(n.specialE) < maxExamples {
			n.specialE = append(n.specialE, e.Name)
		}
	}
	for _, p := range Passes {
		if p.entry != nil && n.log.on(p.Name) {
			p.entry(n, e)
		}
	}
	if len(e.PAXRecords) == 0 {
		e.PAXRecords = nil
	}
}

func joinPlain(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func describeRecords(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		v := m[k]
		if len(v) > 64 {
			v = v[:64] + "…"
		}
		parts = append(parts, fmt.Sprintf("%s=%q", k, v))
	}
	return joinPlain(parts)
}

// sortZip orders a zip's entries by name, bytewise; the sort is stable so
// duplicate names keep their stored order. Each entry's ambiguities move
// with it.
func (n *normalizer) sortZip() {
	zr := n.s.entries.(*zipReader)
	less := func(i, j int) bool { return zr.files[i].Name < zr.files[j].Name }
	if sort.SliceIsSorted(zr.files, less) {
		return
	}
	perm := make([]int, len(zr.files))
	for i := range perm {
		perm[i] = i
	}
	sort.SliceStable(perm, func(i, j int) bool { return zr.files[perm[i]].Name < zr.files[perm[j]].Name })
	// layout.entries runs parallel to files (zipStrict makes one per file).
	files := make([]*zip.File, len(perm))
	amb := make([][]Ambiguity, len(perm))
	for i, p := range perm {
		files[i], amb[i] = zr.files[p], zr.layout.entries[p]
	}
	zr.files, zr.layout.entries = files, amb
	n.log.recordN("zip-order", int64(len(zr.files)), func() string {
		return fmt.Sprintf("%d entries sorted by name", len(zr.files))
	})
}

// ctxReader stops a copy when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
