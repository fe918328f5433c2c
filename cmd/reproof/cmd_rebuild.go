package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

// defaultSpecFile is read when no SPEC argument is given and it exists.
const defaultSpecFile = "reproof.toml"

// addSpecFlags registers the flag of every spec field (all of them for
// verify, the rebuild ones otherwise).
func addSpecFlags(fs *pflag.FlagSet, verify bool) {
	for _, f := range spec.Flags() {
		if f.VerifyOnly && !verify {
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
}

// loadSpec reads the spec file (args[0], or reproof.toml if present, or
// none), lets the flags the user gave override it, lets complete (if not
// nil) fill in defaults, and validates it for need.
func loadSpec(fs *pflag.FlagSet, args []string, need spec.Need, cmd string, complete func(*spec.Spec) error) (*spec.Spec, error) {
	var s *spec.Spec
	switch len(args) {
	case 0:
		if _, err := os.Stat(defaultSpecFile); err == nil {
			if s, err = spec.Load(defaultSpecFile); err != nil {
				return nil, err
			}
		} else {
			s = spec.Default()
		}
	case 1:
		var err error
		if s, err = spec.Load(args[0]); err != nil {
			return nil, err
		}
	default:
		return nil, &usageError{msg: fmt.Sprintf("%s: one SPEC file at most, got %d arguments", cmd, len(args)),
			hint: fmt.Sprintf("run 'reproof %s --help' for usage", cmd)}
	}
	for _, f := range spec.Flags() {
		fl := fs.Lookup(f.Name)
		if fl == nil || !fl.Changed {
			continue
		}
		var values []string
		if f.Kind == spec.FlagList {
			values, _ = fs.GetStringArray(f.Name)
		} else {
			values = []string{fl.Value.String()}
		}
		if err := s.SetFlag(f.Name, values...); err != nil {
			return nil, &usageError{msg: cmd + ": " + err.Error(), hint: fmt.Sprintf("run 'reproof %s --help' for usage", cmd)}
		}
	}
	if complete != nil {
		if err := complete(s); err != nil {
			return nil, err
		}
	}
	if err := s.Validate(need); err != nil {
		if errors.Is(err, spec.ErrMissing) {
			return nil, &usageError{msg: cmd + ": " + err.Error(), hint: fmt.Sprintf("run 'reproof init' for a spec template, or 'reproof %s --help'", cmd)}
		}
		return nil, err
	}
	return s, nil
}

// rebuildOptions turns a validated spec into rebuild.Options.
func rebuildOptions(s *spec.Spec, std streams) rebuild.Options {
	opts := verify.RebuildOptions(s)
	opts.Log = &buildOutput{w: std.stderr}
	opts.Progress = prefixWriter{w: std.stderr, prefix: "reproof: "}
	opts.Version = version()
	opts.Getenv = std.getenv
	if dir := std.getenv("REPROOF_IMAGE_CACHE"); dir != "" {
		opts.ImageOptions.CacheDir = dir
	}
	return opts
}

func rebuildUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof rebuild [flags] [SPEC]

Rebuild a release from its tagged source: clone the repository and check out
the tag (refusing it if it does not point at --commit), pull the base image
by digest and verify it, run the build command in it as an unprivileged
user with the network off, and copy the artifacts it produced, with their
sha256 and sha512, a capped build log and an in-toto SLSA provenance record,
into the output directory.

SPEC is a spec file (default: reproof.toml if it exists; see 'reproof init'
and docs/spec.md). Every field can be given as a flag instead; flags
override the file.

The build sees: the checkout at /src (read-write, its working directory),
the image read-only, a tmpfs /tmp and HOME, a passwd entry for its UID,
SOURCE_DATE_EPOCH (the commit's committer time), TZ=UTC, LC_ALL=C.UTF-8,
umask 022, and loopback only. When reproof runs as root, the build runs as
$SUDO_UID:$SUDO_GID, or 1000:1000, unless --user says otherwise.

Pulled images are cached (verified) in an OCI layout under the user cache
directory ($REPROOF_IMAGE_CACHE overrides it); a cached image needs no
registry.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
Output directory (created complete, or not at all; it must not exist or be
empty): the artifacts, SHA256SUMS, SHA512SUMS, build.log,
provenance.intoto.json (the in-toto Statement), and with --signing-key
provenance.intoto.jsonl (the same Statement in a signed DSSE envelope;
docs/attestations.md).

EXIT STATUS
  0  rebuilt
  2  error: usage, source, image, registry, runtime, timeout
  4  the build command failed, or produced no artifact
  130  interrupted (SIGINT, SIGTERM, SIGHUP): the container and temporary
       files are removed, nothing is left in the output directory
`)
}

func runRebuild(ctx context.Context, args []string, std streams) error {
	fs := newFlagSet("rebuild")
	addSpecFlags(fs, false)
	var signing signingFlags
	addSigningFlags(fs, &signing)
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { rebuildUsage(w, fs) }); done || err != nil {
		return err
	}
	s, err := loadSpec(fs, fs.Args(), spec.NeedRebuild, "rebuild", nil)
	if err != nil {
		return err
	}
	signer, err := signing.signer(std, "rebuild")
	if err != nil {
		return err
	}
	sweepAtStart(ctx, std, "")
	ro := rebuildOptions(s, std)
	ro.SecretEnv, ro.Signer = signing.envSecrets, signer
	res, err := rebuild.Rebuild(ctx, ro)
	if err != nil {
		return rebuildError(err)
	}
	printRebuilt(std.stdout, res)
	return nil
}

// rebuildError maps a failed rebuild to its exit code: 4 when the build
// itself failed (with the end of its log), 2 otherwise.
func rebuildError(err error) error {
	var be *rebuild.BuildError
	switch {
	case errors.As(err, &be):
		msg := "build failed: " + be.Error()
		quote := func(text string) string {
			var b strings.Builder
			(&buildOutput{w: &b, prefix: "  | "}).Write([]byte(text)) //nolint:errcheck // a Builder
			return strings.TrimSuffix(b.String(), "\n")
		}
		if len(be.Explain) > 0 {
			msg += "; the lines of its log that say why:\n" + quote(strings.Join(be.Explain, "\n")+"\n")
		}
		if be.LogTail != "" {
			msg += "\nthe end of its log:\n" + quote(be.LogTail)
		}
		if be.LogFile != "" {
			msg += "\nthe whole log: " + be.LogFile
		}
		if be.Hint != "" {
			return &exitCodeError{code: exitBuildFailed, msg: msg + "\nhint: " + be.Hint}
		}
		return &exitCodeError{code: exitBuildFailed, msg: msg}
	case errors.Is(err, rebuild.ErrNoArtifacts):
		return &exitCodeError{code: exitBuildFailed, msg: "build failed: " + oneLine(err.Error())}
	case errors.Is(err, rebuild.ErrNoRuntime):
		return &hinted{err: err, hint: "install docker.io or runc, or start the Docker daemon"}
	}
	return err
}

// printRebuilt is the result on stdout: what was built from what, and the
// artifacts with their sha256.
func printRebuilt(w io.Writer, res *rebuild.Result) {
	fmt.Fprintf(w, "rebuilt %s at %s (commit %s) in %s with %s %s\n",
		res.Source.Repo, res.Source.Tag, res.Source.Commit, res.Image.Digest, res.Runtime, res.RuntimeVersion)
	for _, a := range res.Artifacts {
		fmt.Fprintf(w, "  %s  %s  (%d bytes)\n", a.SHA256, a.Name, a.Size)
	}
	if signed, err := os.Stat(filepath.Join(res.OutDir, rebuild.ProvenanceEnvelopeFile)); err == nil && signed.Mode().IsRegular() {
		fmt.Fprintf(w, "output: %s (provenance: %s, signed: %s)\n", res.OutDir, rebuild.ProvenanceFile, rebuild.ProvenanceEnvelopeFile)
	} else {
		fmt.Fprintf(w, "output: %s (provenance: %s, unsigned)\n", res.OutDir, rebuild.ProvenanceFile)
	}
	if res.Image.Unpinned {
		fmt.Fprintf(w, "warning: the image was not pinned; it resolved to %s\n", res.Image.Digest)
	}
	if res.Network {
		fmt.Fprintln(w, "warning: the build had network access")
	}
}

// prefixWriter writes each line with a prefix; for progress lines.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// buildOutput streams the build's output to the user's terminal. The build
// is untrusted code: every line it writes is prefixed (by default
// "build: "), so that it cannot pass for reproof's own lines, and control
// characters (escape sequences that move the cursor, clear the screen, set
// the title or the clipboard; carriage returns that overwrite a line; C1
// controls) are shown escaped, spelt as report.Visible spells them. It
// works byte by byte, since a write may end in the middle of a line or a
// character. build.log keeps the bytes as written.
type buildOutput struct {
	mu     sync.Mutex // the build's stdout and stderr may be written at once
	w      io.Writer
	prefix string // "" means "build: "
	mid    bool   // the last byte written was not a newline
	c2     bool   // a 0xc2 byte is held: the next may make it a C1 control
	buf    []byte
}

func (o *buildOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = o.buf[:0]
	for _, c := range p {
		if o.c2 {
			o.c2 = false
			if c >= 0x80 && c <= 0x9f { // U+0080..U+009F
				o.buf = fmt.Appendf(o.buf, `\u%04x`, c)
				continue
			}
			o.buf = append(o.buf, 0xc2)
		}
		if !o.mid {
			if o.prefix == "" {
				o.prefix = "build: "
			}
			o.buf = append(o.buf, o.prefix...)
			o.mid = true
		}
		switch {
		case c == '\n':
			o.buf = append(o.buf, c)
			o.mid = false
		case c == '\t':
			o.buf = append(o.buf, c)
		case c < 0x20 || c == 0x7f:
			// As report.Visible spells it: \a, \r, \x1b.
			q := strconv.QuoteRuneToASCII(rune(c))
			o.buf = append(o.buf, q[1:len(q)-1]...)
		case c == 0xc2:
			o.c2 = true
		default:
			o.buf = append(o.buf, c)
		}
	}
	if _, err := o.w.Write(o.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
