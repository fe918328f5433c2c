// Command release-build builds reproof's release in the current checkout:
// a static binary per platform (CGO_ENABLED=0, -trimpath, no VCS stamping,
// the version and commit stamped with -ldflags -X), a .tar.gz per platform
// with the binary, LICENSE, README.md, CHANGELOG.md, shell completions and
// the man page, and the container image as an OCI layout in a tar, all
// into --out (default dist). Every time in them is SOURCE_DATE_EPOCH.
//
// It is the build command of release.toml: `reproof rebuild release.toml
// --tag vX.Y.Z` runs it in the checkout of the tag, in the release build
// image (the Go toolchain and the module proxy of go.sum, no network),
// where it reads the version and commit from .git. `make release` drives
// that; see internal/dist/cmd/reproof-release.
//
//	go run -trimpath ./internal/dist/cmd/release-build [--out DIR] [--platforms LIST] [--version V --commit C]
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/internal/dist"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `Usage: release-build [flags]

Build reproof's release in the current directory, a checkout of
reproof: per platform a static binary in a .tar.gz with its docs, shell
completions and man page, and the container image as an OCI layout in a
tar. SOURCE_DATE_EPOCH must be set; every time in the outputs is it.
Without --version and --commit they are read from .git (the detached HEAD
and the one tag that 'reproof rebuild' fetched).

Flags:
`

// docFiles are copied from the checkout into every archive.
var docFiles = []string{"LICENSE", "README.md", "CHANGELOG.md"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := pflag.NewFlagSet("release-build", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "dist", "write the release into `DIR`")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "`LIST` of OS/ARCH to build for")
	version := fs.String("version", "", "the release `VERSION` (default: the checkout's tag)")
	commit := fs.String("commit", "", "the release `COMMIT` (default: the checkout's HEAD)")
	goCmd := fs.String("go", "go", "the go `COMMAND`")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "release-build: %v\n", err)
		return 2
	}
	if *help {
		fmt.Fprint(stdout, usage+fs.FlagUsages())
		return 0
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "release-build: no arguments expected, got %q\n", fs.Args())
		return 2
	}
	b := builder{dir: ".", out: *out, goCmd: *goCmd, stderr: stderr, version: *version, commit: *commit}
	var err error
	if b.platforms, err = dist.ParsePlatforms(*platforms); err != nil {
		fmt.Fprintf(stderr, "release-build: --platforms: %v\n", err)
		return 2
	}
	sde := getenv("SOURCE_DATE_EPOCH")
	secs, perr := strconv.ParseInt(sde, 10, 64)
	if perr != nil || secs < 0 {
		fmt.Fprintf(stderr, "release-build: SOURCE_DATE_EPOCH is %q, not a number of seconds since 1970 (reproof rebuild sets it)\n", sde)
		return 2
	}
	b.epoch = time.Unix(secs, 0).UTC()
	names, err := b.build(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "release-build: %v\n", err)
		return 2
	}
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return 0
}

type builder struct {
	dir             string // the checkout of reproof
	out, goCmd      string
	version, commit string
	platforms       []dist.Platform
	epoch           time.Time
	stderr          io.Writer
}

// build writes the release into b.out and returns the paths it wrote.
func (b *builder) build(ctx context.Context) (written []string, err error) {
	if b.version == "" || b.commit == "" {
		v, c, err := dist.CheckoutVersion(b.dir)
		if err != nil {
			return nil, fmt.Errorf("%w (or give --version and --commit)", err)
		}
		if b.version == "" {
			b.version = v
		}
		if b.commit == "" {
			b.commit = c
		}
	}
	if !dist.ReleaseVersion.MatchString(b.version) {
		return nil, fmt.Errorf("version %q is not a release version such as v1.2.3", b.version)
	}
	fmt.Fprintf(b.stderr, "release-build: reproof %s (%s), SOURCE_DATE_EPOCH %d\n", b.version, b.commit, b.epoch.Unix())
	work, err := os.MkdirTemp("", "release-build-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := os.RemoveAll(work); rerr != nil && err == nil {
			err = rerr
		}
	}()

	docs, err := b.staticDocs()
	if err != nil {
		return nil, err
	}
	binaries := map[dist.Platform][]byte{}
	for _, p := range b.platforms {
		if binaries[p], err = b.goBuild(ctx, work, p); err != nil {
			return nil, err
		}
	}
	host := dist.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	hostBin := filepath.Join(work, host.OS+"-"+host.Arch, "reproof")
	if _, ok := binaries[host]; !ok {
		if _, err := b.goBuild(ctx, work, host); err != nil {
			return nil, err
		}
	}
	generated, err := generatedDocs(ctx, hostBin, b.epoch)
	if err != nil {
		return nil, err
	}
	docs = append(docs, generated...)

	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return nil, err
	}
	var imageBins []dist.ImageBinary
	for _, p := range b.platforms {
		top := dist.ArchiveDir(b.version, p)
		files := []dist.File{{Name: top + "/reproof", Mode: 0o755, Data: binaries[p]}}
		for _, d := range docs {
			d.Name = top + "/" + d.Name
			files = append(files, d)
		}
		name := filepath.Join(b.out, dist.ArchiveName(b.version, p))
		if err := writeFile(name, func(w io.Writer) error { return dist.WriteTarGz(w, files, b.epoch) }); err != nil {
			return nil, err
		}
		written = append(written, name)
		imageBins = append(imageBins, dist.ImageBinary{OS: p.OS, Arch: p.Arch, Binary: binaries[p]})
	}
	license, err := os.ReadFile(filepath.Join(b.dir, "LICENSE"))
	if err != nil {
		return nil, err
	}
	idx, err := dist.Image(imageBins, dist.ImageOptions{
		Version: b.version, Commit: b.commit, Source: dist.SourceURL, Epoch: b.epoch,
		Files: []dist.File{{Name: "usr/share/doc/reproof/LICENSE", Mode: 0o644, Data: license}},
	})
	if err != nil {
		return nil, err
	}
	name := filepath.Join(b.out, dist.OCIArchiveName(b.version))
	if err := writeFile(name, func(w io.Writer) error {
		return dist.WriteOCIArchive(w, idx, dist.ImageRefName(b.version), b.epoch, work)
	}); err != nil {
		return nil, err
	}
	return append(written, name), nil
}

// goBuild builds cmd/reproof for p into work and returns the binary.
func (b *builder) goBuild(ctx context.Context, work string, p dist.Platform) ([]byte, error) {
	bin := filepath.Join(work, p.OS+"-"+p.Arch, "reproof")
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=" + dist.LDFlags(b.version, b.commit), "-o", bin, "./cmd/reproof"}
	fmt.Fprintf(b.stderr, "release-build: GOOS=%s GOARCH=%s go %q\n", p.OS, p.Arch, args)
	cmd := exec.CommandContext(ctx, b.goCmd, args...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = b.stderr, b.stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building reproof for %s: %w", p, err)
	}
	return os.ReadFile(bin)
}

// staticDocs reads the documents every archive carries.
func (b *builder) staticDocs() ([]dist.File, error) {
	var files []dist.File
	for _, n := range docFiles {
		data, err := os.ReadFile(filepath.Join(b.dir, n))
		if err != nil {
			return nil, fmt.Errorf("reading %s for the archives: %w", n, err)
		}
		files = append(files, dist.File{Name: n, Mode: 0o644, Data: data})
	}
	return files, nil
}

// generatedDocs runs the built reproof for its shell completions and man
// page: the same help text as --help.
func generatedDocs(ctx context.Context, bin string, epoch time.Time) ([]dist.File, error) {
	var files []dist.File
	for _, g := range []struct {
		name string
		args []string
	}{
		{"completions/reproof.bash", []string{"completion", "bash"}},
		{"completions/_reproof", []string{"completion", "zsh"}},
		{"completions/reproof.fish", []string{"completion", "fish"}},
		{"man/man1/reproof.1", []string{"man"}},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, g.args...)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch.Unix(), 10))
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("generating %s with reproof %q: %w: %s", g.name, g.args, err, bytes.TrimSpace(stderr.Bytes()))
		}
		files = append(files, dist.File{Name: g.name, Mode: 0o644, Data: stdout.Bytes()})
	}
	return files, nil
}

// writeFile writes name with write, removing it on failure.
func writeFile(name string, write func(io.Writer) error) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(name)
		}
	}()
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
