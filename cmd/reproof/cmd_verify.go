package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

type verifyConfig struct {
	format      string
	color       string
	jsonFile    string
	markdown    string
	html        string
	text        string
	attestation string
	githubAPI   string
	gitlabAPI   string
	npmRegistry string
	tmpdir      string
	caps        compare.Options
	maxDownload int64
	signing     signingFlags
	attest      attestFlags
}

func verifyUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof verify [flags] [SPEC]

Tell whether a published release comes from its tagged source: check the
published files against the release's own checksums, rebuild the tag as
'reproof rebuild' does, pair rebuilt and published artifacts, compare each
(bytes first, then both sides normalized with the allowed passes, or the
members a member rule names), and report a verdict.

SPEC is a spec file (default: reproof.toml if it exists; 'reproof init'
writes a commented template; docs/spec.md documents it). Every field can be
given as a flag instead; flags override the file. An npm:, github: or
gitlab: source in place of SPEC is --published. With npm:NAME@VERSION,
--repo, --commit and --tag default to the version's repository, its
gitHead and the repository's tag at that commit, and --artifacts to
'*.tgz'.

Per artifact: identical, equivalent (equal after the named normalization
passes; the report lists what each hid), different, missing, extra
(rebuilt, not published; informational), skipped (a skip rule with its
reason), checksum-mismatch (the release disagrees with its own checksums).

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
The rebuilt artifacts and their provenance are kept in --out (default
rebuilt/ beside the spec; an earlier rebuild there is replaced).

EXIT STATUS
  0  reproducible (bit for bit), or after normalization with --accept-normalized
  1  not reproducible: an artifact differs or is missing, or the release
     disagrees with its own checksums
  2  error: usage, network, registry, runtime, hostile or corrupt input, a
     comparison that stopped at a limit, nothing compared
  3  reproducible only after normalization
  4  the build itself failed
  130  interrupted: the container, temporary files and partial reports are
       removed
`)
}

var verifyRenderers = map[string]func(io.Writer, *report.Verification, bool) error{
	"text": func(w io.Writer, v *report.Verification, color bool) error {
		return report.VerifyText(w, v, report.TextOptions{Color: color})
	},
	"markdown": func(w io.Writer, v *report.Verification, _ bool) error { return report.VerifyMarkdown(w, v) },
	"html":     func(w io.Writer, v *report.Verification, _ bool) error { return report.VerifyHTML(w, v) },
	"json":     func(w io.Writer, v *report.Verification, _ bool) error { return report.VerifyJSON(w, v) },
}

func runVerify(ctx context.Context, args []string, std streams) error {
	var cfg verifyConfig
	fs := newFlagSet("verify")
	addSpecFlags(fs, true)
	fs.StringVar(&cfg.format, "format", "text", "report on stdout: text, markdown, html, json, none")
	fs.StringVar(&cfg.color, "color", "auto", "colour the text report: auto, always, never (NO_COLOR is honoured)")
	fs.StringVar(&cfg.jsonFile, "json", "", "also write the JSON report (reproof/report/v1) to `FILE`")
	fs.StringVar(&cfg.markdown, "markdown", "", "also write a Markdown report to `FILE` (a job summary, a PR comment)")
	fs.StringVar(&cfg.html, "html", "", "also write a self-contained HTML report to `FILE`")
	fs.StringVar(&cfg.text, "text", "", "also write the text report to `FILE`")
	fs.StringVar(&cfg.attestation, "attestation", "", "write in-toto SLSA verification summaries (DSSE envelopes, JSON Lines; signed with --signing-key) to `FILE`")
	fs.StringVar(&cfg.githubAPI, "github-api", release.DefaultGitHubAPI, "GitHub API base `URL` for github: sources")
	fs.StringVar(&cfg.gitlabAPI, "gitlab-api", release.DefaultGitLabAPI, "GitLab API base `URL` for gitlab: sources")
	fs.StringVar(&cfg.npmRegistry, "npm-registry", "", "npm registry `URL` for npm: sources (default $npm_config_registry, else "+release.DefaultNPMRegistry+")")
	fs.StringVar(&cfg.tmpdir, "tmpdir", "", "directory for work files (default $TMPDIR)")
	addSigningFlags(fs, &cfg.signing)
	addAttestFlags(fs, &cfg.attest)
	addCapFlags(fs, &cfg.caps)
	fs.Int64Var(&cfg.maxDownload, "max-download", release.DefaultMaxSize, "refuse published files larger than `N` bytes")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { verifyUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "verify: " + msg, hint: "run 'reproof verify --help' for usage"}
	}
	render, ok := verifyRenderers[cfg.format]
	if !ok && cfg.format != "none" {
		return usageErr(fmt.Sprintf("--format: %q is not one of text, markdown, html, json, none", cfg.format))
	}
	if err := cfg.attest.check(); err != nil {
		return usageErr(err.Error())
	}
	signer, err := cfg.signing.signer(std, "verify")
	if err != nil {
		return err
	}
	color, err := colorWanted(cfg.color, std)
	if err != nil {
		return usageErr(err.Error())
	}
	progress := prefixWriter{w: std.stderr, prefix: "reproof: "}
	releaseOpts := release.SourceOptions{
		GitHubAPI: cfg.githubAPI, GitLabAPI: cfg.gitlabAPI, NPMRegistry: cfg.npmRegistry, Getenv: std.getenv,
		Progress: progressWriter(std), MaxSize: cfg.maxDownload,
	}
	// An npm package names its repository and commit: --repo, --commit
	// and --tag default from them.
	npmDefaults := func(s *spec.Spec) error {
		notes, err := verify.NPMDefaults(ctx, s, releaseOpts)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		for _, n := range notes {
			fmt.Fprintf(progress, "using %s\n", n)
		}
		return nil
	}
	// `reproof verify npm:NAME@VERSION`: a published source in place of
	// the spec file.
	specArgs := fs.Args()
	if len(specArgs) == 1 && isSourceArg(specArgs[0]) {
		if fs.Changed("published") {
			return usageErr(fmt.Sprintf("%s and --published both name the published release", specArgs[0]))
		}
		if err := fs.Set("published", specArgs[0]); err != nil {
			return usageErr(err.Error())
		}
		specArgs = nil
	}
	s, err := loadSpec(fs, specArgs, spec.NeedVerify, "verify", npmDefaults)
	if err != nil {
		return err
	}
	sweepAtStart(ctx, std, cfg.tmpdir)
	ro := rebuildOptions(s, std)
	ro.SecretEnv, ro.Signer = cfg.signing.envSecrets, signer
	v, err := verify.Verify(ctx, verify.Options{
		Spec:       s,
		Rebuild:    ro,
		RebuiltDir: s.Build.Out,
		Release:    releaseOpts,
		TempDir:    cfg.tmpdir,
		Caps:       cfg.caps,
		Progress:   progress,
		Version:    version(),
	})
	if err != nil {
		return err // interrupted
	}

	files := []struct {
		path   string
		render func(io.Writer, *report.Verification, bool) error
	}{
		{cfg.jsonFile, verifyRenderers["json"]},
		{cfg.markdown, verifyRenderers["markdown"]},
		{cfg.html, verifyRenderers["html"]},
		{cfg.text, verifyRenderers["text"]},
	}
	var set []output
	for _, f := range files {
		set = append(set, output{f.path, func(w io.Writer) error { return f.render(w, v, false) }})
	}
	attestation, err := verifyAttestationOutputs(std, cfg.attestation, &cfg.attest, s, v, signer)
	if err != nil {
		return err
	}
	set = append(set, attestation...)
	if err := writeSet(set); err != nil {
		return fmt.Errorf("verify: writing reports: %w", err)
	}
	if render != nil {
		if err := render(std.stdout, v, color); err != nil {
			return fmt.Errorf("verify: writing report: %w", err)
		}
	}
	code := v.ExitCode()
	if code == exitError || code == exitBuildFailed {
		return &exitCodeError{code: code, msg: oneLine(string(v.Verdict) + ": " + v.Reason)}
	}
	return exitWith(code)
}

// isSourceArg says whether verify's argument names a published release
// (npm:, github:, gitlab:) rather than a spec file.
func isSourceArg(arg string) bool {
	for _, scheme := range []string{"npm:", "github:", "gitlab:"} {
		if strings.HasPrefix(arg, scheme) {
			return true
		}
	}
	return false
}

// progressWriter is where download progress bars go: stderr, on a
// terminal only.
func progressWriter(std streams) io.Writer {
	if isTerminal(std.stderr) {
		return std.stderr
	}
	return nil
}

func initUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof init [flags] [FILE]

Write a commented spec template to FILE (default reproof.toml; - for
stdout). Every field is explained in the template and in docs/spec.md; fill
in the placeholders, then run 'reproof verify'.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  written
  2  error, or FILE exists (use --force to replace it)
`)
}

func runInit(_ context.Context, args []string, std streams) error {
	fs := newFlagSet("init")
	force := fs.Bool("force", false, "replace FILE if it exists")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { initUsage(w, fs) }); done || err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &usageError{msg: "init: one FILE at most", hint: "run 'reproof init --help' for usage"}
	}
	path := defaultSpecFile
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if path == "-" {
		_, err := std.stdout.Write(spec.Template())
		return err
	}
	if _, err := os.Lstat(path); err == nil && !*force {
		return &hinted{err: fmt.Errorf("init: %s exists", path), hint: "use --force to replace it, or name another FILE"}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("init: %w", err)
	}
	if err := writeAtomically(path, func(w io.Writer) error { _, err := w.Write(spec.Template()); return err }); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(std.stderr, "reproof: wrote %s; fill in the placeholders, then run 'reproof verify'\n", path)
	return nil
}
