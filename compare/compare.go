package compare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/reproof/reproof/archive"
	runowner "github.com/reproof/reproof/internal/owner"
)

// Options bound and tune a comparison. Zero fields take their defaults.
type Options struct {
	// MaxDepth caps how deep nested archives are opened (default 8).
	MaxDepth int
	// MaxEntries caps the entries of one archive (default 1,000,000).
	MaxEntries int64
	// MaxBytes caps the decompressed bytes of one archive (default 16 GiB).
	MaxBytes int64
	// MaxTotalBytes caps the decompressed bytes read in all, by every
	// archive and compressed file of the comparison, nested ones
	// included (default 64 GiB): a zip of zips of bombs stops here.
	MaxTotalBytes int64
	// MaxNameLength, MaxPaxBytes, MaxMetadata and MaxWindow are the
	// archive.Limits of the same names, for every archive read (zero:
	// archive's defaults).
	MaxNameLength int
	MaxPaxBytes   int
	MaxMetadata   int64
	MaxWindow     int64
	// Workers compare pairs in parallel (default GOMAXPROCS).
	Workers int
	// TempDir holds the contents extracted for nested comparison and
	// content diffs (default os.TempDir()); everything is removed at the end.
	TempDir string
	// ContextLines of unified diffs (default 3).
	ContextLines int
	// MaxDiffLines caps the lines of one content diff (default 400).
	MaxDiffLines int
	// MaxLineLength caps the bytes shown of one diff line (default 400).
	MaxLineLength int
	// MaxTextSize is the largest content diffed as text; larger contents
	// are shown as binary windows (default 8 MiB).
	MaxTextSize int64
}

// Defaults of Options.
const (
	DefaultMaxDepth      = 8
	DefaultMaxBytes      = 16 << 30
	DefaultMaxTotalBytes = 64 << 30
	defaultContext       = 3
	defaultMaxDiffLines  = 400
	defaultMaxLineLen    = 400
	defaultMaxTextSize   = 8 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = archive.DefaultMaxEntries
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxTotalBytes <= 0 {
		o.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ContextLines <= 0 {
		o.ContextLines = defaultContext
	}
	if o.MaxDiffLines <= 0 {
		o.MaxDiffLines = defaultMaxDiffLines
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = defaultMaxLineLen
	}
	if o.MaxTextSize <= 0 {
		o.MaxTextSize = defaultMaxTextSize
	}
	return o
}

// Limits are the caps of o that bound reading one archive, as
// archive.Limits.
func (o Options) Limits() archive.Limits {
	return archive.Limits{MaxEntries: o.MaxEntries, MaxBytes: o.MaxBytes, MaxNameLength: o.MaxNameLength,
		MaxPaxBytes: o.MaxPaxBytes, MaxMetadata: o.MaxMetadata, MaxWindow: o.MaxWindow}
}

// maxOpenPairs caps the pairs of archive streams open at once, whatever
// the number of workers and however deep the nesting: each stream may
// hold a decompression window (up to MaxWindow), so memory stays within
// 2*maxOpenPairs windows.
const maxOpenPairs = 2

// readOpts returns the options of an archive stream of the comparison.
func (c *comparer) readOpts() archive.Options {
	return archive.Options{Limits: c.opts.Limits(), TempDir: c.tmp, Budget: c.budget}
}

// acquire waits for a slot to read a pair of archives; release gives it
// back. A slot is never held while nested pairs are compared, so slots
// cannot run out.
func (c *comparer) acquire() error {
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

func (c *comparer) release() { <-c.slots }

// Compare compares a and b, each a file (plain or an archive) or a
// directory, and returns every difference between them. An error means
// the comparison could not be made at all (an input is missing or its
// top-level archive is corrupt); a limit reached or an unreadable nested
// archive is reported in Result.Incomplete instead.
func Compare(ctx context.Context, a, b string, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	tmp, err := runowner.TempDir(opts.TempDir, "reproof-diff-")
	if err != nil {
		return nil, fmt.Errorf("creating work directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	c := &comparer{ctx: ctx, opts: opts, tmp: tmp, slots: make(chan struct{}, maxOpenPairs),
		budget: archive.NewBudget(opts.MaxTotalBytes, "--max-total-bytes")}
	res := &Result{}
	if res.A, err = describeInput(a, opts); err != nil {
		return nil, err
	}
	if res.B, err = describeInput(b, opts); err != nil {
		return nil, err
	}
	switch {
	case res.A.Kind == "directory" && res.B.Kind == "directory":
		err = c.compareDirs(a, b, "", 0)
	case res.A.Kind != res.B.Kind:
		c.add(Difference{Kind: KindType, Detail: res.A.Kind + " → " + res.B.Kind, Old: res.A.Kind, New: res.B.Kind})
	case res.A.SHA256 != res.B.SHA256:
		err = c.compareFiles(a, b, "", 0, true)
	}
	if err != nil {
		return nil, err
	}
	res.Differences, res.Incomplete = c.diffs, c.incomplete
	res.EntriesA, res.EntriesB = c.entriesA, c.entriesB
	sortDifferences(res.Differences)
	sort.Strings(res.Incomplete)
	return res, nil
}

// describeInput stats and hashes one side.
func describeInput(path string, opts Options) (Input, error) {
	in := Input{Path: path}
	st, err := os.Stat(path)
	if err != nil {
		return in, err
	}
	if st.IsDir() {
		in.Kind, in.Format = "directory", "directory"
		return in, nil
	}
	if !st.Mode().IsRegular() {
		return in, fmt.Errorf("%q is not a regular file or a directory", path)
	}
	in.Kind, in.Size = "file", st.Size()
	sum, err := hashFile(path)
	if err != nil {
		return in, err
	}
	in.SHA256 = hex.EncodeToString(sum)
	f, err := os.Open(path)
	if err != nil {
		return in, err
	}
	defer f.Close()
	in.Format = "raw"
	if s, err := archive.Open(f, path, archive.Options{Limits: opts.Limits()}); err == nil {
		in.Format = s.Format.String()
		s.Close()
	}
	return in, nil
}

// comparer carries one comparison's state. Differences found by
// concurrent workers are collected under mu.
type comparer struct {
	ctx    context.Context
	opts   Options
	tmp    string
	slots  chan struct{}   // see acquire
	budget *archive.Budget // MaxTotalBytes

	mu                 sync.Mutex
	diffs              []Difference
	incomplete         []string
	entriesA, entriesB int64
	tmpSeq             int
}

func (c *comparer) add(ds ...Difference) {
	c.mu.Lock()
	c.diffs = append(c.diffs, ds...)
	c.mu.Unlock()
}

func (c *comparer) stop(where, why string) {
	if where == "" {
		where = "(top level)"
	}
	c.mu.Lock()
	c.incomplete = append(c.incomplete, where+": "+why)
	c.mu.Unlock()
}

func (c *comparer) count(a, b int64) {
	c.mu.Lock()
	c.entriesA += a
	c.entriesB += b
	c.mu.Unlock()
}

// tempFile returns a new file in the comparison's work directory.
func (c *comparer) tempFile() (*os.File, error) {
	c.mu.Lock()
	c.tmpSeq++
	n := c.tmpSeq
	c.mu.Unlock()
	return os.Create(fmt.Sprintf("%s/%d", c.tmp, n))
}

// compareFiles compares two regular files known to differ in bytes, at
// path prefix, nesting depth depth. top marks the compared inputs
// themselves, whose read errors are errors rather than incomplete notes.
func (c *comparer) compareFiles(a, b, prefix string, depth int, top bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if err := c.acquire(); err != nil {
		return err
	}
	fa, fb, side, err := c.detectBoth(a, b)
	c.release()
	if err != nil {
		if top {
			return fmt.Errorf("reading %q: %w", pick(side, a, b), err)
		}
		c.stop(prefix, "in "+side+": "+oneLine(err.Error()))
		return nil
	}
	switch {
	case fa.IsArchive() && fb.IsArchive(), fa.Compression != archive.NoCompression && fb.Compression != archive.NoCompression:
		if depth >= c.opts.MaxDepth {
			c.add(Difference{Path: prefix, Kind: KindContent, Detail: fmt.Sprintf("%v → %v, not opened: nested deeper than %d", fa, fb, c.opts.MaxDepth)})
			c.stop(prefix, fmt.Sprintf("nesting deeper than %d archives (--max-depth)", c.opts.MaxDepth))
			return nil
		}
		if fa.IsArchive() && fb.IsArchive() {
			return c.compareArchives(a, b, fa, fb, prefix, depth, top)
		}
		return c.compareCompressed(a, b, fa, fb, prefix, depth, top)
	case fa.IsArchive() != fb.IsArchive():
		c.add(Difference{Path: prefix, Kind: KindType, Detail: fmt.Sprintf("%v → %v", fa, fb), Old: fa.String(), New: fb.String()})
		return nil
	}
	d, err := c.contentDiff(a, b)
	if err != nil {
		c.stop(prefix, err.Error())
		return nil
	}
	d.Path = prefix
	c.add(d)
	return nil
}

// detectBoth detects the formats of two files. side names the one whose
// detection failed, "A" or "B". The errors do not name the files: nested
// ones are temporary files, meaningless to the user and different on
// every run.
func (c *comparer) detectBoth(a, b string) (fa, fb archive.Format, side string, err error) {
	if fa, err = c.detectFile(a); err != nil {
		return fa, fb, "A", err
	}
	fb, err = c.detectFile(b)
	return fa, fb, "B", err
}

// pick returns a for side "A", else b.
func pick(side, a, b string) string {
	if side == "A" {
		return a
	}
	return b
}

func (c *comparer) detectFile(path string) (archive.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return archive.Format{}, err
	}
	defer f.Close()
	s, err := archive.Open(f, path, c.readOpts())
	if err != nil {
		return archive.Format{}, err
	}
	defer s.Close()
	return s.Format, nil
}

// compareCompressed compares two compressed plain files (or a compressed
// file with a compressed archive): the compression layers first, then the
// decompressed payloads.
func (c *comparer) compareCompressed(a, b string, fa, fb archive.Format, prefix string, depth int, top bool) error {
	if err := c.acquire(); err != nil {
		return err
	}
	side := "A"
	pa, za, sumA, err := c.decompressTo(a)
	if err == nil {
		var pb string
		var zb int64
		var sumB []byte
		side = "B"
		pb, zb, sumB, err = c.decompressTo(b)
		if err == nil {
			equal := string(sumA) == string(sumB)
			if d, ok := compressionDifference(a, b, fa, fb, equal && za == zb); ok {
				d.Path = prefix
				c.add(d)
			}
			if za != zb {
				c.add(paddingDifference(prefix, za, zb))
			}
			c.release()
			if equal {
				return nil
			}
			return c.compareFiles(pa, pb, prefix, depth+1, false)
		}
	}
	c.release()
	switch {
	case c.ctx.Err() != nil:
		return c.ctx.Err()
	case top && !errors.Is(err, archive.ErrLimit):
		return fmt.Errorf("reading %q: %w", pick(side, a, b), err)
	default:
		c.stop(prefix, "in "+side+": "+oneLine(err.Error()))
	}
	return nil
}

// paddingDifference says that two streams end in different zero padding.
func paddingDifference(prefix string, a, b int64) Difference {
	return Difference{Path: prefix, Kind: KindCompression, Old: fmt.Sprint(a), New: fmt.Sprint(b),
		Detail: fmt.Sprintf("%d → %d bytes of zero padding after the end", a, b)}
}

// decompressTo writes the decompressed payload of path to a temporary
// file and returns it with the zero padding that followed the stream and
// the payload's digest.
func (c *comparer) decompressTo(path string) (string, int64, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, nil, err
	}
	defer f.Close()
	s, err := archive.Open(f, path, c.readOpts())
	if err != nil {
		return "", 0, nil, err
	}
	defer s.Close()
	out, err := c.tempFile()
	if err != nil {
		return "", 0, nil, err
	}
	defer out.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), ctxReader{c.ctx, s}); err != nil {
		return "", 0, nil, err
	}
	return out.Name(), s.TrailingZeros, h.Sum(nil), out.Close()
}

func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading %q: %w", path, err)
	}
	return h.Sum(nil), nil
}

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
