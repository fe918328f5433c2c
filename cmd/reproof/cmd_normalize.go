package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/internal/owner"
)

type normalizeConfig struct {
	output      string
	epoch       string
	clamp       bool
	passes      string
	compression string
	tmpdir      string
	quiet       bool
	limits      archive.Limits
}

func normalizeUsage(w io.Writer, fs interface{ FlagUsages() string }) {
	fmt.Fprint(w, `Usage: reproof normalize [flags] IN -o OUT

Rewrite the archive IN deterministically into OUT: the same content, however
it was packed (entry order, times, owners, modes, compressor and its
settings), gives the same bytes. The container and compression of IN are
kept; contents, exec bits, symlinks, hardlinks and empty directories are
never changed. A summary of what each pass changed goes to stderr.

Formats: tar (ustar, pax, GNU), zip/jar, ar/deb, each plain or compressed
with gzip, xz or zstd; bzip2 is read (choose --compression for the output);
a compressed plain file gets a canonical stream.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, "\nPasses (--passes all, none, a,b,c, or -a to drop one from all):\n")
	for _, p := range archive.Passes {
		fmt.Fprintf(w, "  %-12s %-5s %s\n", p.Name, p.Applies, p.Summary)
	}
	fmt.Fprintf(w, `
Output compression uses fixed settings: gzip level %d (klauspost/compress),
xz with an %d MiB dictionary and CRC64 (ulikunitz/xz), zstd level 3 with an
%d MiB window and checksums (klauspost/compress), zip entries deflated at
level %d. The output is written to a temporary file beside OUT and renamed.

`, archive.GzipLevel, archive.XzDictCap>>20, archive.ZstdWindow>>20, archive.ZipDeflateLevel)
	fmt.Fprint(w, `EXIT STATUS
  0  OUT written
  2  error: usage, unreadable, corrupt or hostile input, a limit reached;
     nothing is left at OUT
`)
}

func runNormalize(ctx context.Context, args []string, std streams) (err error) {
	var cfg normalizeConfig
	fs := newFlagSet("normalize")
	fs.StringVarP(&cfg.output, "output", "o", "", "write the normalized archive to `FILE` (- for stdout)")
	fs.StringVar(&cfg.epoch, "epoch", "", "SOURCE_DATE_EPOCH in `SECONDS` (default $SOURCE_DATE_EPOCH)")
	fs.BoolVar(&cfg.clamp, "clamp", false, "clamp times later than the epoch instead of setting all")
	fs.StringVar(&cfg.passes, "passes", "all", "normalization passes to apply (`LIST`)")
	fs.StringVar(&cfg.compression, "compression", "keep", "output compression: keep, none, gzip, xz, zstd")
	fs.StringVar(&cfg.tmpdir, "tmpdir", "", "directory for the sort spill file (default $TMPDIR)")
	fs.Int64Var(&cfg.limits.MaxEntries, "max-entries", archive.DefaultMaxEntries, "refuse archives with more entries than `N`")
	fs.Int64Var(&cfg.limits.MaxBytes, "max-bytes", archive.DefaultMaxBytes, "refuse archives that decompress to more than `N` bytes")
	fs.IntVar(&cfg.limits.MaxNameLength, "max-name", archive.DefaultMaxNameLength, "refuse entry names or link targets longer than `N` bytes")
	fs.IntVar(&cfg.limits.MaxPaxBytes, "max-pax", archive.DefaultMaxPaxBytes, "refuse entries with more than `N` bytes of pax records")
	fs.Int64Var(&cfg.limits.MaxMetadata, "max-metadata", archive.DefaultMaxMetadata, "refuse archives with more than `N` bytes of names and pax records")
	fs.Int64Var(&cfg.limits.MaxWindow, "max-window", archive.DefaultMaxWindow, "refuse xz dictionaries or zstd windows larger than `N` bytes")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "print no summary")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { normalizeUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "normalize: " + msg, hint: "run 'reproof normalize --help' for usage"}
	}
	if fs.NArg() != 1 {
		return usageErr(fmt.Sprintf("want one input archive, got %d arguments", fs.NArg()))
	}
	if cfg.output == "" {
		return usageErr("no output: give -o OUT (or -o - for stdout)")
	}
	in := fs.Arg(0)
	passes, err := archive.ParsePasses(cfg.passes)
	if err != nil {
		return usageErr(fmt.Sprintf("--passes: %v", err))
	}
	opts := archive.NormalizeOptions{
		Passes:  passes,
		Clamp:   cfg.clamp,
		TempDir: cfg.tmpdir,
		Limits:  cfg.limits,
	}
	epoch, source := cfg.epoch, "--epoch"
	if epoch == "" {
		epoch, source = std.getenv("SOURCE_DATE_EPOCH"), "SOURCE_DATE_EPOCH"
	}
	if epoch != "" {
		secs, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil || secs < 0 {
			return usageErr(fmt.Sprintf("%s: %q is not a number of seconds since 1970", source, epoch))
		}
		opts.Epoch, opts.HasEpoch = time.Unix(secs, 0).UTC(), true
	} else if passes.NeedsEpoch() {
		return &usageError{msg: "normalize: no epoch: the time passes need SOURCE_DATE_EPOCH",
			hint: "give --epoch SECONDS or set SOURCE_DATE_EPOCH (e.g. from git log -1 --format=%ct), or drop the time passes with --passes"}
	}
	if cfg.compression != "keep" {
		c, err := archive.ParseCompression(cfg.compression)
		if err != nil || c == archive.Bzip2 {
			return usageErr(fmt.Sprintf("--compression: %q is not one of keep, none, gzip, xz, zstd", cfg.compression))
		}
		opts.Compression = &c
	}

	// The sort's spill files go in a directory of the run's own, removed
	// as a whole, and by a later run if this one dies.
	sweepAtStart(ctx, std, cfg.tmpdir)
	work, err := owner.TempDir(cfg.tmpdir, "reproof-normalize-")
	if err != nil {
		return fmt.Errorf("normalize: creating a work directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(work); rmErr != nil && err == nil {
			err = fmt.Errorf("normalize: removing the work directory: %w", rmErr)
		}
	}()
	opts.TempDir = work

	src, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("normalize: %w", err)
	}
	defer src.Close()
	if st, err := src.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("normalize: %q is a directory, not an archive", in)
	}

	var rep *archive.NormalizeReport
	write := func(w io.Writer) error {
		var err error
		rep, err = archive.Normalize(ctx, src, in, w, opts)
		return err
	}
	if cfg.output == "-" {
		bw := bufio.NewWriterSize(std.stdout, 1<<20)
		if err := write(bw); err != nil {
			return normalizeError(in, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("normalize: writing stdout: %w", err)
		}
	} else {
		if err := refuseSameFile(src, cfg.output); err != nil {
			return err
		}
		if err := writeAtomically(cfg.output, write); err != nil {
			return normalizeError(in, err)
		}
	}
	if !cfg.quiet {
		printNormalizeReport(std.stderr, in, cfg.output, rep)
	}
	return nil
}

// normalizeError names the input in an error, and gives a hint where one
// helps.
func normalizeError(in string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	msg := fmt.Errorf("normalize %q: %w", in, err)
	switch {
	case errors.Is(err, archive.ErrNotArchive):
		return &hinted{msg, "reproof normalize rewrites tar, zip and ar archives and gzip, xz or zstd streams"}
	case errors.Is(err, archive.ErrLimit):
		return &hinted{msg, "raise the limit named in parentheses if the input is trusted"}
	}
	return msg
}

// refuseSameFile stops a run that would overwrite its own input.
func refuseSameFile(src *os.File, out string) error {
	a, err := src.Stat()
	if err != nil {
		return nil
	}
	if b, err := os.Stat(out); err == nil && os.SameFile(a, b) {
		return &usageError{msg: fmt.Sprintf("normalize: output %q is the input: the input is never modified", out),
			hint: "write to another file and rename it yourself"}
	}
	return nil
}

func printNormalizeReport(w io.Writer, in, out string, rep *archive.NormalizeReport) {
	if out == "-" {
		out = "stdout"
	}
	fmt.Fprintf(w, "reproof: normalized %q (%v, %d entries) into %q (%v)\n", in, rep.Input, rep.Entries, out, rep.Output)
	for _, p := range rep.Passes {
		if p.Changed == 0 {
			fmt.Fprintf(w, "  %-12s nothing to change\n", p.Pass)
			continue
		}
		fmt.Fprintf(w, "  %-12s %d changed, e.g. %s\n", p.Pass, p.Changed, oneLine(strings.Join(p.Examples, "; ")))
	}
	for _, k := range rep.Kept {
		fmt.Fprintf(w, "  kept: %s\n", oneLine(k))
	}
}
