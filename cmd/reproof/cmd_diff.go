package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/image"
	"github.com/reproof/reproof/report"
	"github.com/spf13/pflag"
)

type diffConfig struct {
	format         string
	color          string
	jsonFile       string
	markdownFile   string
	htmlFile       string
	diffoscopeFile string
	textFile       string
	opts           compare.Options
	image          image.Options
}

func diffUsage(w io.Writer, fs interface{ FlagUsages() string }) {
	fmt.Fprint(w, `Usage: reproof diff [flags] A B

Compare two files, directories or archives and explain every difference.
Archives are opened recursively, whatever their names (tar, zip/jar, ar/deb,
cpio, in gzip, xz, zstd or bzip2): a jar in a tar in a gzip is compared entry
by entry. Identical bytes end a comparison at once. Entries are paired by
name ("./a", "a" and "a/" are the same entry). Each difference has a kind:

  content size type link mode xattr missing extra duplicate ambiguous
                                 (what a user extracts differs: exit 1)
  mtime order owner pax compression
                                 (harmless, from a closed list: exit 3)

mode is any mode bit (GNU tar run as root applies them all); xattr covers
capabilities, ACLs and file flags; link includes a hardlink against a copy
of the same bytes; owner is content for a file with setuid, setgid or
sticky bits; ambiguous is a construct the extractors (GNU tar, bsdtar,
unzip, Python, dpkg-deb, cpio) unpack differently, named with who reads
what. docs/SECURITY.md has the list.

A is the reference: "missing" is in A and not in B, "extra" in B only.
The report on stdout is grouped: one line for a reordered archive, one line
for 500 entries that differ only in mtime, and every content difference
with its diff (text as a unified diff, binary as hexdump windows, ELF by
section). The JSON report lists every difference.

Container images are compared when both A and B are image references, as
skopeo names them: docker://REGISTRY/REPO[:TAG][@sha256:…] (a registry,
with the Docker config's credentials and credential helpers),
oci:DIR[:TAG] (an OCI layout), oci-archive:FILE[:TAG] and
docker-archive:FILE[:REF] (docker save). A tag is resolved and its digest
shown; every blob is verified as it streams. Sections: the manifest and
index, the config (config/created and history timestamps are mtime;
env, entrypoint, cmd, user, workdir, labels, ports, volumes and history
are content), each layer by position (layers/N; its files as
layers/N!/PATH, where an owner is content: the runtime applies it), and
the squashed filesystem (squashed!/PATH) when the layer counts differ or
--squashed always. Identical manifest digests are identical images.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  identical
  1  content differs, or entries are missing or extra
  2  error, or the comparison is incomplete (a limit was reached)
  3  only metadata, order or compression differ
`)
}

func runDiff(ctx context.Context, args []string, std streams) error {
	var cfg diffConfig
	fs := newFlagSet("diff")
	fs.StringVar(&cfg.format, "format", "text", "report on stdout: text, markdown, html, json, diffoscope-json, none")
	fs.StringVar(&cfg.color, "color", "auto", "colour the text report: auto, always, never (NO_COLOR is honoured)")
	fs.StringVar(&cfg.jsonFile, "json", "", "also write the JSON report (reproof/diff/v1) to `FILE`")
	fs.StringVar(&cfg.markdownFile, "markdown", "", "also write a Markdown report to `FILE`")
	fs.StringVar(&cfg.htmlFile, "html", "", "also write a self-contained HTML report to `FILE`")
	fs.StringVar(&cfg.diffoscopeFile, "diffoscope-json", "", "also write the report in diffoscope's JSON structure to `FILE`")
	fs.StringVar(&cfg.textFile, "text", "", "also write the text report to `FILE`")
	fs.IntVar(&cfg.opts.MaxDepth, "max-depth", compare.DefaultMaxDepth, "open nested archives up to `N` levels deep")
	addCapFlags(fs, &cfg.opts)
	fs.IntVar(&cfg.opts.ContextLines, "context", 3, "lines of context in text diffs")
	fs.IntVar(&cfg.opts.MaxDiffLines, "max-diff-lines", 400, "lines shown of one content diff")
	fs.StringVar(&cfg.opts.TempDir, "tmpdir", "", "directory for extracted contents (default $TMPDIR)")
	fs.StringVar(&cfg.image.Platform, "platform", "", "images: the platform of an index to compare, os/arch[/variant] (default linux/amd64)")
	fs.BoolVar(&cfg.image.AllPlatforms, "all-platforms", false, "images: compare every platform of the indexes")
	fs.StringVar(&cfg.image.Squashed, "squashed", "auto", "images: compare the squashed filesystems: auto (when the layer counts differ), always, never")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { diffUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "diff: " + msg, hint: "run 'reproof diff --help' for usage"}
	}
	if fs.NArg() != 2 {
		return usageErr(fmt.Sprintf("want two inputs A and B, got %d arguments", fs.NArg()))
	}
	render, ok := renderers[cfg.format]
	if !ok && cfg.format != "none" {
		return usageErr(fmt.Sprintf("--format: %q is not one of text, markdown, html, json, diffoscope-json, none", cfg.format))
	}
	color, err := colorWanted(cfg.color, std)
	if err != nil {
		return usageErr(err.Error())
	}
	a, b := fs.Arg(0), fs.Arg(1)
	if image.IsReference(a) != image.IsReference(b) {
		return usageErr(fmt.Sprintf("%q and %q: compare an image with an image, or files and directories with each other", a, b))
	}
	if cfg.image.AllPlatforms && cfg.image.Platform != "" {
		return usageErr("--platform and --all-platforms: give one of them")
	}
	sweepAtStart(ctx, std, cfg.opts.TempDir)
	var res *compare.Result
	if image.IsReference(a) {
		cfg.image.Compare = cfg.opts
		cfg.image.Registry.Getenv = std.getenv
		res, err = diffImages(ctx, a, b, cfg.image)
	} else {
		res, err = compare.Compare(ctx, a, b, cfg.opts)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("diff: %w", err)
	}
	files := []struct {
		path   string
		render func(io.Writer, *compare.Result, bool) error
	}{
		{cfg.jsonFile, renderers["json"]},
		{cfg.markdownFile, renderers["markdown"]},
		{cfg.htmlFile, renderers["html"]},
		{cfg.diffoscopeFile, renderers["diffoscope-json"]},
		{cfg.textFile, renderers["text"]},
	}
	var set []output
	for _, f := range files {
		set = append(set, output{f.path, func(w io.Writer) error { return f.render(w, res, false) }})
	}
	if err := writeSet(set); err != nil {
		return fmt.Errorf("diff: writing reports: %w", err)
	}
	if render != nil {
		if err := render(std.stdout, res, color); err != nil {
			return fmt.Errorf("diff: writing report: %w", err)
		}
	}
	status := res.Status()
	if status == compare.StatusIncomplete {
		return &exitCodeError{code: exitError, msg: fmt.Sprintf("diff: comparison incomplete: %s", strings.Join(res.Incomplete, "; "))}
	}
	return exitWith(int(status))
}

// exitWith turns a result status into the command's exit code.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return &exitCodeError{code: code}
}

var renderers = map[string]func(io.Writer, *compare.Result, bool) error{
	"text": func(w io.Writer, r *compare.Result, color bool) error {
		return report.Text(w, r, report.TextOptions{Color: color})
	},
	"markdown":        func(w io.Writer, r *compare.Result, _ bool) error { return report.Markdown(w, r) },
	"html":            func(w io.Writer, r *compare.Result, _ bool) error { return report.HTML(w, r) },
	"json":            func(w io.Writer, r *compare.Result, _ bool) error { return report.JSON(w, r) },
	"diffoscope-json": func(w io.Writer, r *compare.Result, _ bool) error { return report.DiffoscopeJSON(w, r) },
}

// colorWanted decides whether the text report on stdout is coloured.
func colorWanted(mode string, std streams) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		if std.getenv("NO_COLOR") != "" || std.getenv("TERM") == "dumb" {
			return false, nil
		}
		return isTerminal(std.stdout), nil
	}
	return false, fmt.Errorf("--color: %q is not one of auto, always, never", mode)
}

// addCapFlags adds the flags of the caps on reading archives that diff and
// verify share (all the Max* of o but MaxDepth).
func addCapFlags(fs *pflag.FlagSet, o *compare.Options) {
	fs.Int64Var(&o.MaxEntries, "max-entries", archive.DefaultMaxEntries, "stop at archives with more than `N` entries")
	fs.Int64Var(&o.MaxBytes, "max-bytes", compare.DefaultMaxBytes, "stop at archives that decompress to more than `N` bytes")
	fs.Int64Var(&o.MaxTotalBytes, "max-total-bytes", compare.DefaultMaxTotalBytes, "stop once `N` decompressed bytes were read in all, nested archives included")
	fs.IntVar(&o.MaxNameLength, "max-name", archive.DefaultMaxNameLength, "stop at entry names or link targets longer than `N` bytes")
	fs.IntVar(&o.MaxPaxBytes, "max-pax", archive.DefaultMaxPaxBytes, "stop at entries with more than `N` bytes of pax records")
	fs.Int64Var(&o.MaxMetadata, "max-metadata", archive.DefaultMaxMetadata, "stop at archives with more than `N` bytes of names and pax records")
	fs.Int64Var(&o.MaxWindow, "max-window", archive.DefaultMaxWindow, "stop at xz dictionaries or zstd windows larger than `N` bytes")
}

// diffImages opens two image references and compares them.
func diffImages(ctx context.Context, a, b string, opts image.Options) (*compare.Result, error) {
	sa, err := image.Open(ctx, a, opts)
	if err != nil {
		return nil, err
	}
	defer sa.Close()
	sb, err := image.Open(ctx, b, opts)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	return image.Compare(ctx, sa, sb, opts)
}
