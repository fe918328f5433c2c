// Command reproof-release builds reproof's own release with reproof, and
// checks that it reproduces. `make release` and `make release-check` run
// it.
//
//	reproof-release release --version vX.Y.Z [--out dist] [-- REBUILD-FLAGS...]
//	reproof-release check [--keep DIR]
//	reproof-release image --version vX.Y.Z
//
// The release is a `reproof rebuild` of this repository with release.toml:
// its build command (internal/dist/cmd/release-build) runs the Go build in
// a build image pinned by digest, with the network off. The build image
// is assembled here, deterministically, from the tag's go.mod and go.sum
// (see buildimage.go): Debian's busybox-static, the Go toolchain go.mod
// names (golang.org/toolchain from the module proxy) and a module proxy
// directory of exactly the modules go.sum lists. It is pushed to a
// registry on 127.0.0.1 that lives as long as this command, and passed to
// reproof with --image REPO@sha256:DIGEST.
//
// release writes the publishable files into --out: the archives, the
// container image (an OCI layout in a tar), SHA256SUMS, SHA512SUMS and the
// provenance as reproof-vX.Y.Z.intoto.jsonl; the build log and a
// description of the build image go to --records.
//
// check is CI's: it tags the current commit in a scratch repository,
// builds the release there once with `reproof rebuild`, lays it out as
// published, then runs `reproof verify` of the same tag against it, which
// rebuilds it again in another checkout under another path. It passes
// only if verify says reproducible, bit for bit (exit 0).
//
// image assembles the build image of a tag, serves it, and prints its
// reference until interrupted: for verifying a published release of
// reproof by hand with `reproof verify release.toml --image REF ...`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/internal/dist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage: reproof-release COMMAND [flags]

Commands:
  release  build the release of tag --version into --out with reproof rebuild
  check    rebuild the current commit's release twice and verify one against the other
  image    assemble the build image of a tag and serve it until interrupted

Flags of every command:
`

// config is what every command takes.
type config struct {
	repo    string // the repository (working tree), default "."
	spec    string // release.toml in it
	reproof string // the reproof binary that rebuilds; empty: built from repo
	goCmd   string
	tmp     string // scratch space, default $TMPDIR
	debs    string // fixture .deb cache
	version string
	out     string
	records string
	keep    string
	extra   []string // flags passed on to reproof rebuild / verify
	stdout  io.Writer
	stderr  io.Writer
	started time.Time
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage+flagSet(&config{}).FlagUsages())
		return 0
	}
	cmd := args[0]
	cfg := &config{stdout: stdout, stderr: stderr, started: time.Now()}
	fs := flagSet(cfg)
	if err := fs.Parse(args[1:]); err != nil {
		fmt.Fprintf(stderr, "reproof-release: %v\n", err)
		return 2
	}
	cfg.extra = fs.Args()
	var err error
	switch cmd {
	case "release":
		err = cfg.release(ctx)
	case "check":
		err = cfg.check(ctx)
	case "image":
		err = cfg.serveImage(ctx)
	default:
		fmt.Fprintf(stderr, "reproof-release: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "reproof-release: %s: %v\n", cmd, err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 2
	}
	return 0
}

func flagSet(cfg *config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("reproof-release", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&cfg.repo, "repo", ".", "the reproof repository (a working tree)")
	fs.StringVar(&cfg.spec, "spec", "release.toml", "the release spec, relative to --repo")
	fs.StringVar(&cfg.reproof, "reproof", "", "the reproof `BINARY` that rebuilds and verifies (default: built from --repo)")
	fs.StringVar(&cfg.goCmd, "go", "go", "the go `COMMAND` of the host")
	fs.StringVar(&cfg.tmp, "tmpdir", "", "scratch `DIR` (default $TMPDIR)")
	fs.StringVar(&cfg.debs, "deb-cache", "", "the fixture .deb cache `DIR` (default $REPROOF_FIXTURE_DEBS, else ~/.cache/reproof-fixtures/debs)")
	fs.StringVar(&cfg.version, "version", "", "release: the tag `vX.Y.Z` to build")
	fs.StringVar(&cfg.out, "out", "dist", "release: the publishable files go to `DIR` (must be empty or absent)")
	fs.StringVar(&cfg.records, "records", "", "release: the build log and the build image's description go to `DIR` (default bin/release/VERSION)")
	fs.StringVar(&cfg.keep, "keep", "", "check: keep both releases and the report in `DIR`")
	return fs
}

// exitError carries an exit code other than 2.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func (c *config) logf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "reproof-release: [%5.1fs] %s\n", time.Since(c.started).Seconds(), fmt.Sprintf(format, args...))
}

// git runs git in the repository and returns its trimmed stdout.
func (c *config) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", c.repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, lastLine(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// scratch makes the command's scratch directory.
func (c *config) scratch() (string, error) {
	return os.MkdirTemp(c.tmp, "reproof-release-")
}

// reproofBinary returns the reproof that rebuilds: --reproof, or one
// built from the working tree into dir.
func (c *config) reproofBinary(ctx context.Context, dir string) (string, error) {
	if c.reproof != "" {
		return filepath.Abs(c.reproof)
	}
	bin := filepath.Join(dir, "reproof")
	cmd := exec.CommandContext(ctx, c.goCmd, "build", "-o", bin, "./cmd/reproof")
	cmd.Dir = c.repo
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building reproof: %w", err)
	}
	return bin, nil
}

// imageAt assembles the build image of a commit and serves it from a
// loopback registry; the caller closes the registry.
func (c *config) imageAt(ctx context.Context, commit, work string) (*buildImage, string, *loopbackRegistry, error) {
	goMod, err := c.git(ctx, "show", commit+":go.mod")
	if err != nil {
		return nil, "", nil, err
	}
	goSum, err := c.git(ctx, "show", commit+":go.sum")
	if err != nil {
		return nil, "", nil, err
	}
	a := &assembler{goCmd: c.goCmd, work: filepath.Join(work, "image"), log: prefixed{c.stderr, "reproof-release: "}, debs: c.debs}
	if err := os.MkdirAll(a.work, 0o755); err != nil {
		return nil, "", nil, err
	}
	bi, err := a.assemble(ctx, []byte(goMod+"\n"), []byte(goSum+"\n"))
	if err != nil {
		return nil, "", nil, fmt.Errorf("assembling the build image: %w", err)
	}
	reg, err := startRegistry(filepath.Join(work, "registry"))
	if err != nil {
		return nil, "", nil, err
	}
	ref, err := reg.push(ctx, bi)
	if err != nil {
		reg.close()
		return nil, "", nil, err
	}
	c.logf("build image %s (Go %s, %d module files, base %s)", ref, bi.GoVersion, len(bi.Modules), strings.Join(bi.Base, " "))
	return bi, ref, reg, nil
}

// reproofRun runs reproof with its output passed through; a non-zero exit
// is an *exitError with that code.
func (c *config) reproofRun(ctx context.Context, bin string, env []string, args ...string) error {
	c.logf("reproof %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return &exitError{code: ee.ExitCode(), msg: fmt.Sprintf("reproof %s exited %d", args[0], ee.ExitCode())}
	}
	return err
}

// release builds the release of the tag c.version.
func (c *config) release(ctx context.Context) (err error) {
	if !dist.ReleaseVersion.MatchString(c.version) {
		return fmt.Errorf("--version %q is not a release version such as v1.2.3", c.version)
	}
	commit, err := c.git(ctx, "rev-parse", "--verify", "--quiet", "refs/tags/"+c.version+"^{commit}")
	if err != nil {
		return fmt.Errorf("no tag %s in %s: tag the release commit first (git tag -s %s)", c.version, c.repo, c.version)
	}
	if err := emptyOrAbsent(c.out); err != nil {
		return err
	}
	if c.records == "" {
		c.records = filepath.Join(c.repo, "bin", "release", c.version)
	}
	work, err := c.scratch()
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(work); rerr != nil && err == nil {
			err = rerr
		}
	}()
	bin, err := c.reproofBinary(ctx, work)
	if err != nil {
		return err
	}
	bi, ref, reg, err := c.imageAt(ctx, commit, work)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := reg.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	rebuilt := filepath.Join(work, "rebuilt")
	args := append([]string{"rebuild", filepath.Join(c.repo, c.spec), "--tag", c.version, "--commit", commit, "--image", ref, "--out", rebuilt}, c.extra...)
	if err := c.reproofRun(ctx, bin, []string{"REPROOF_IMAGE_CACHE=" + filepath.Join(work, "images")}, args...); err != nil {
		return err
	}
	if err := publish(rebuilt, c.out, c.records, c.version, bi); err != nil {
		return err
	}
	c.logf("release %s of %s in %s", c.version, commit, c.out)
	return nil
}

// check rebuilds the current commit's release twice and verifies.
func (c *config) check(ctx context.Context) (err error) {
	commit, err := c.git(ctx, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return err
	}
	version := "v0.0.0-ci." + commit[:12]
	var work string
	if c.keep != "" {
		if work, err = filepath.Abs(c.keep); err != nil {
			return err
		}
		if err := emptyOrAbsent(work); err != nil {
			return err
		}
		defer c.logf("kept in %s", work)
	} else {
		if work, err = c.scratch(); err != nil {
			return err
		}
		defer func() {
			if rerr := os.RemoveAll(work); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	bin, err := c.reproofBinary(ctx, work)
	if err != nil {
		return err
	}
	// The release's repository: the commit, tagged, alone.
	repo := filepath.Join(work, "repo.git")
	if _, err := c.git(ctx, "init", "--quiet", "--bare", repo); err != nil {
		return err
	}
	if _, err := c.git(ctx, "push", "--quiet", repo, commit+":refs/tags/"+version); err != nil {
		return err
	}
	bi, ref, reg, err := c.imageAt(ctx, commit, work)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := reg.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	spec := filepath.Join(c.repo, c.spec)
	common := []string{"--repo", repo, "--tag", version, "--commit", commit, "--image", ref}

	// First: build and publish, as `make release` does, under one path.
	first := filepath.Join(work, "a")
	if err := os.MkdirAll(filepath.Join(first, "tmp"), 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	args := append(append([]string{"rebuild", spec}, common...), "--out", filepath.Join(first, "rebuilt"))
	if err := c.reproofRun(ctx, bin, []string{"TMPDIR=" + filepath.Join(first, "tmp"), "REPROOF_IMAGE_CACHE=" + filepath.Join(first, "images")}, append(args, c.extra...)...); err != nil {
		return err
	}
	published := filepath.Join(first, "published")
	if err := publish(filepath.Join(first, "rebuilt"), published, filepath.Join(first, "records"), version, bi); err != nil {
		return err
	}
	c.logf("first build in %s", time.Since(t0).Round(time.Second))

	// Second: verify rebuilds it in another checkout, under a longer path,
	// and compares with the first as published.
	second := filepath.Join(work, "second-build-under-another-path")
	if err := os.MkdirAll(filepath.Join(second, "tmp"), 0o755); err != nil {
		return err
	}
	t0 = time.Now()
	report := filepath.Join(second, "report.md")
	args = append(append([]string{"verify", spec}, common...), "--published", published, "--out", filepath.Join(second, "rebuilt"),
		"--markdown", report, "--json", filepath.Join(second, "report.json"))
	verr := c.reproofRun(ctx, bin, []string{"TMPDIR=" + filepath.Join(second, "tmp"), "REPROOF_IMAGE_CACHE=" + filepath.Join(second, "images")}, append(args, c.extra...)...)
	c.logf("second build and verify in %s", time.Since(t0).Round(time.Second))
	if verr != nil {
		return fmt.Errorf("reproof's release of %s does not reproduce bit for bit: %w (report: %s)", commit, verr, report)
	}
	var rep struct{ Verdict string }
	raw, err := os.ReadFile(filepath.Join(second, "report.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("reading the verify report: %w", err)
	}
	if rep.Verdict != "reproducible" {
		return fmt.Errorf("verify exited 0 with verdict %q, not reproducible", rep.Verdict)
	}
	c.logf("reproof's release of %s (%s) is reproducible, bit for bit", commit[:12], version)
	return nil
}

// serveImage assembles and serves the build image of a tag.
func (c *config) serveImage(ctx context.Context) (err error) {
	if c.version == "" {
		return errors.New("--version: the tag whose build image to serve")
	}
	commit, err := c.git(ctx, "rev-parse", "--verify", "refs/tags/"+c.version+"^{commit}")
	if err != nil {
		return err
	}
	work, err := c.scratch()
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bi, ref, reg, err := c.imageAt(ctx, commit, work)
	if err != nil {
		return err
	}
	defer reg.close()
	desc, err := json.MarshalIndent(bi, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n%s\n", ref, desc)
	c.logf("serving until interrupted; verify with: reproof verify release.toml --tag %s --commit %s --image %s --published DIR", c.version, commit, ref)
	<-ctx.Done()
	return nil
}

// emptyOrAbsent refuses a directory with files in it.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: remove it first", dir)
	}
	return nil
}

// publish lays a rebuild's output out as the release publishes it: the
// artifacts, SHA256SUMS and SHA512SUMS into out, with the provenance as
// reproof-VERSION.intoto.jsonl (the signed envelope if the rebuild signed
// it, else the statement on one line); the build log, the provenance as
// written and the build image's description into records.
func publish(rebuilt, out, records, version string, bi *buildImage) error {
	for _, d := range []string{out, records} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	sums, err := os.ReadFile(filepath.Join(rebuilt, "SHA256SUMS"))
	if err != nil {
		return err
	}
	names := []string{"SHA256SUMS", "SHA512SUMS"}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		_, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || strings.ContainsAny(name, "/\\") {
			return fmt.Errorf("SHA256SUMS of the rebuild: unexpected line %q", sc.Text())
		}
		names = append(names, name)
	}
	for _, n := range names {
		if err := copyFile(filepath.Join(rebuilt, n), filepath.Join(out, n)); err != nil {
			return err
		}
	}
	prov, err := provenanceLines(rebuilt)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, dist.ProvenanceName(version)), prov, 0o644); err != nil {
		return err
	}
	for _, n := range []string{"build.log", "provenance.intoto.json", "provenance.intoto.jsonl"} {
		err := copyFile(filepath.Join(rebuilt, n), filepath.Join(records, n))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	desc, err := json.MarshalIndent(bi, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(records, "build-image.json"), append(desc, '\n'), 0o644)
}

// provenanceLines is the rebuild's provenance, one JSON document a line.
func provenanceLines(rebuilt string) ([]byte, error) {
	if b, err := os.ReadFile(filepath.Join(rebuilt, "provenance.intoto.jsonl")); err == nil {
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(rebuilt, "provenance.intoto.json"))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
