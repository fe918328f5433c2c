package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/reproof/reproof/rebuild"
	"github.com/spf13/pflag"
)

type gcConfig struct {
	dryRun  bool
	runtime string
	tmpdirs []string
	caches  []string
}

func gcUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof gc [flags]

Remove what reproof runs that died (killed, crashed, their machine
rebooted) left behind: build containers in docker and podman, runc
containers with their state, cgroups and unpacked root filesystem, work
directories (with the build's output filesystem mounted in them) and
temporary files in $TMPDIR (reproof-rebuild-*, reproof-verify-*,
reproof-diff-*, reproof-normalize-*, reproof-gpgv-*, reproof-git-home-*,
reproof-zip-*), and partial files in the download and image caches.

Everything reproof makes carries its maker's owner ID: boot, pid namespace,
pid and process start time (containers as the label `+rebuild.OwnerLabel+`,
with `+rebuild.HostLabel+` naming the host; directories and files in their
names). gc removes a thing only when its owner is certainly gone: a process
of this boot and pid namespace that no longer exists, or whose pid now
belongs to a later process, or any process of an earlier boot. A run in
progress, a process in another pid namespace and a container another host
made are never touched, so gc is safe to run at any time. 'reproof rebuild',
'verify', 'diff', 'normalize' and 'sums' do the same for their temporary
directory when they start, and 'rebuild' and 'verify' for the containers of
the engine they use.

Prints one line per thing removed, in a fixed order: containers (docker,
then podman, by name), then each temporary directory's entries by name
(a runc container before the work directory holding it), then the cgroups
of runc containers whose state is gone, then the caches.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  everything left by dead runs was removed (or, with --dry-run, listed);
     an engine installed but not answering is skipped with a warning
  2  something could not be listed or removed (each said on stderr), or
     the engine named with --runtime does not answer
  130  interrupted
`)
}

func runGC(ctx context.Context, args []string, std streams) error {
	var cfg gcConfig
	fs := newFlagSet("gc")
	fs.BoolVarP(&cfg.dryRun, "dry-run", "n", false, "list what would be removed; remove nothing")
	fs.StringVar(&cfg.runtime, "runtime", "auto", "look at the containers of engine `NAME`: auto (docker and podman, those installed), docker, podman, none")
	fs.StringArrayVar(&cfg.tmpdirs, "tmpdir", nil, "also look in `DIR` for work directories, as given to --tmpdir of a run (repeatable; $TMPDIR always)")
	fs.StringArrayVar(&cfg.caches, "cache", nil, "also look in the download cache `DIR`, as given to 'sums --cache' (repeatable; the default cache always)")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { gcUsage(w, fs) }); done || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("gc: takes no arguments, got %q", fs.Args()), hint: "run 'reproof gc --help' for usage"}
	}
	engines, warnings, err := gcEngines(ctx, cfg.runtime)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(std.stderr, "reproof: gc: warning: %s\n", oneLine(w.Error()))
	}
	opts := rebuild.SweepOptions{
		Engines:       engines,
		TempDirs:      append([]string{os.TempDir()}, cfg.tmpdirs...),
		CacheTempDirs: cacheTempDirs(std, cfg.caches),
		Cgroups:       true,
	}
	found, findErr := rebuild.FindLeftovers(ctx, opts)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var errs []error
	if findErr != nil {
		errs = append(errs, findErr)
	}
	for _, l := range found {
		if cfg.dryRun {
			fmt.Fprintf(std.stdout, "would remove %s\n", l)
			continue
		}
		if err := l.Remove(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(std.stderr, "reproof: gc: %s\n", oneLine(err.Error()))
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(std.stdout, "removed %s\n", l)
	}
	if len(found) == 0 && findErr == nil {
		fmt.Fprintln(std.stderr, "reproof: gc: nothing left by dead runs")
	}
	if len(errs) > 0 {
		// Each removal that failed is on its own line above; listing
		// errors are joined in the last one.
		if findErr != nil {
			return fmt.Errorf("gc: %w", findErr)
		}
		return fmt.Errorf("gc: %d of %d things left by dead runs could not be removed", len(errs), len(found))
	}
	return nil
}

// gcEngines are the docker and podman runtimes gc looks at. With auto,
// an engine whose CLI is not installed is skipped, and one that does not
// answer is skipped with a warning; an engine named explicitly must
// answer.
func gcEngines(ctx context.Context, name string) (engines []rebuild.Runtime, warnings []error, err error) {
	all := []rebuild.Runtime{rebuild.NewDocker("", nil), rebuild.NewPodman("", nil)}
	switch name {
	case "none":
		return nil, nil, nil
	case "auto":
	case "docker", "podman":
		for _, rt := range all {
			if rt.Name() == name {
				if _, err := rt.Version(ctx); err != nil {
					return nil, nil, fmt.Errorf("gc: %s is not usable: %w", name, err)
				}
				return []rebuild.Runtime{rt}, nil, nil
			}
		}
	default:
		return nil, nil, &usageError{msg: fmt.Sprintf("gc: --runtime: %q is not one of auto, docker, podman, none", name),
			hint: "run 'reproof gc --help' for usage"}
	}
	for _, rt := range all {
		if _, err := exec.LookPath(rt.Name()); err != nil {
			continue
		}
		if _, err := rt.Version(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			warnings = append(warnings, fmt.Errorf("%s not checked: %w", rt.Name(), err))
			continue
		}
		engines = append(engines, rt)
	}
	return engines, warnings, nil
}

// cacheTempDirs are the directories where the download and image caches
// keep their files in progress: those of the default caches and of each
// cache given.
func cacheTempDirs(std streams, extra []string) []string {
	var downloads []string
	if base, err := os.UserCacheDir(); err == nil {
		// verify's download cache, and sums --published's.
		downloads = append(downloads, filepath.Join(base, "reproof", "downloads"), filepath.Join(base, "reproof"))
	}
	downloads = append(downloads, extra...)
	var dirs []string
	for _, d := range downloads {
		dirs = append(dirs, filepath.Join(d, "tmp"))
	}
	images := std.getenv("REPROOF_IMAGE_CACHE")
	if images == "" {
		images, _ = rebuild.DefaultCacheDir()
	}
	if images != "" {
		dirs = append(dirs, images, filepath.Join(images, "blobs", "sha256"))
	}
	return dirs
}

// sweepAtStart removes, before a command makes its own work files, what
// dead reproof runs left in the temporary directories it uses ($TMPDIR and
// the --tmpdir given, if any): work directories, temporary files and the
// runc containers in them. It says what it removed on stderr; a failure
// is a warning there, never the command's error.
func sweepAtStart(ctx context.Context, std streams, tmpdir string) {
	dirs := []string{os.TempDir()}
	if tmpdir != "" {
		dirs = append(dirs, tmpdir)
	}
	found, err := rebuild.FindLeftovers(ctx, rebuild.SweepOptions{TempDirs: dirs, Cgroups: true})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(std.stderr, "reproof: warning: looking for what dead runs left: %s\n", oneLine(err.Error()))
	}
	for _, l := range found {
		if err := l.Remove(ctx); err != nil {
			fmt.Fprintf(std.stderr, "reproof: warning: %s\n", oneLine(err.Error()))
			continue
		}
		fmt.Fprintf(std.stderr, "reproof: cleanup: removed %s\n", oneLine(l.String()))
	}
}
