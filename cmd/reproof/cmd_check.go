package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/check"
	"github.com/reproof/reproof/spec"
)

type checkConfig struct {
	vary         string
	maxBuilds    int
	jobs         int
	format       string
	jsonFile     string
	markdownFile string
	tmpdir       string
}

func checkUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof check [flags] [SPEC]

Before publishing: would an independent rebuild get the same bytes, and if
not, why? Build the project twice or more, each in a fresh container from
the same pinned image: first as 'reproof rebuild' does (the reference),
then under varied environments; compare every artifact pair (hashes, then
the comparison engine), and when they differ, search which variation
causes each difference (each alone, then bisecting combinations, within
--max-builds) and print it with a hint of the usual fix:

  build-path → app differs in sections .debug_line and .rodata
    hint: the checkout path is embedded: build with -trimpath (Go), ...

SPEC and the flags are rebuild's (no --out: check keeps no artifacts).
Without a tag (no --tag, none in the spec), the working tree's current
commit is checked: --repo (default .) must be a clean git working tree.
SOURCE_DATE_EPOCH is the same in every build.

Variations (--vary all, none, a comma-separated LIST, or -name to leave
one out; docs/check.md says how each is applied):
`)
	for _, v := range check.Variations {
		fmt.Fprintf(w, "  %-12s %s\n", v.Name, v.Changes)
	}
	fmt.Fprint(w, `
A variation this host, runtime or image cannot apply is reported skipped,
with the reason.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  reproducible: every artifact identical under the variations applied
  1  not reproducible: an artifact differs or is missing
  2  error: usage, source, image, registry, runtime
  4  the build failed (the reference, or under a variation)
  130  interrupted
`)
}

func runCheck(ctx context.Context, args []string, std streams) error {
	var cfg checkConfig
	fs := newFlagSet("check")
	for _, f := range spec.Flags() {
		if f.VerifyOnly || f.Name == "out" {
			continue
		}
		switch f.Kind {
		case spec.FlagBool:
			fs.Bool(f.Name, false, f.Usage)
		case spec.FlagList:
			fs.StringArray(f.Name, nil, f.Usage)
		default:
			fs.String(f.Name, "", f.Usage)
		}
	}
	fs.StringVar(&cfg.vary, "vary", "all", "variations: all, none, a comma-separated `LIST`, or -name,... for all but those")
	fs.IntVar(&cfg.maxBuilds, "max-builds", check.DefaultMaxBuilds, "build at most `N` times in all, the reference included")
	fs.IntVar(&cfg.jobs, "jobs", check.DefaultJobs(), "run `N` builds at once")
	fs.StringVar(&cfg.format, "format", "text", "report on stdout: text, markdown, json, none")
	fs.StringVar(&cfg.jsonFile, "json", "", "also write the JSON report (reproof/check/v1) to `FILE`")
	fs.StringVar(&cfg.markdownFile, "markdown", "", "also write the Markdown report (for a CI job summary) to `FILE`")
	fs.StringVar(&cfg.tmpdir, "tmpdir", "", "directory for the builds' work files (default $TMPDIR)")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { checkUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "check: " + msg, hint: "run 'reproof check --help' for usage"}
	}
	vary, err := check.ParseVary(cfg.vary)
	if err != nil {
		return usageErr(err.Error())
	}
	if cfg.maxBuilds < 2 {
		return usageErr(fmt.Sprintf("--max-builds %d: at least 2 (the reference and a varied build)", cfg.maxBuilds))
	}
	if cfg.jobs < 1 {
		return usageErr(fmt.Sprintf("--jobs %d: at least 1", cfg.jobs))
	}
	renderers := map[string]func(io.Writer, *check.Result) error{"text": check.Text, "markdown": check.Markdown, "json": check.JSON}
	render, ok := renderers[cfg.format]
	if !ok && cfg.format != "none" {
		return usageErr(fmt.Sprintf("--format: %q is not one of text, markdown, json, none", cfg.format))
	}
	head := false
	s, err := loadSpec(fs, fs.Args(), spec.NeedRebuild, "check", func(s *spec.Spec) error {
		if s.Source.Tag == "" {
			head = true
			s.Source.Tag = check.HeadTag
			if s.Source.Repo == "" {
				s.Source.Repo = "."
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sweepAtStart(ctx, std, cfg.tmpdir)
	ro := rebuildOptions(s, std)
	ro.TempDir = cfg.tmpdir
	opts := check.Options{Rebuild: ro, Vary: vary, MaxBuilds: cfg.maxBuilds, Jobs: cfg.jobs, Progress: ro.Progress}
	opts.Rebuild.Progress = nil
	opts.Progress = prefixWriter{w: std.stderr, prefix: "reproof: "}
	if head {
		if s.Source.Commit != "" {
			return usageErr("--commit needs --tag: without a tag, the working tree's current commit is checked")
		}
		opts.HeadOf = s.Source.Repo
	}
	res, err := check.Check(ctx, opts)
	if err != nil {
		return rebuildError(err)
	}
	set := []output{
		{cfg.jsonFile, func(w io.Writer) error { return check.JSON(w, res) }},
		{cfg.markdownFile, func(w io.Writer) error { return check.Markdown(w, res) }},
	}
	if err := writeSet(set); err != nil {
		return fmt.Errorf("check: writing reports: %w", err)
	}
	if render != nil {
		if err := render(std.stdout, res); err != nil {
			return fmt.Errorf("check: writing report: %w", err)
		}
	}
	if code := res.ExitCode(); code != exitOK {
		msg := ""
		if res.Verdict == check.BuildFailed {
			msg = "build failed: " + strings.TrimPrefix(res.Reason, "the ")
		}
		return &exitCodeError{code: code, msg: msg}
	}
	return nil
}
