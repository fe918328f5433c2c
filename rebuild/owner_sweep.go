package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reproof/reproof/internal/mountinfo"
	"github.com/reproof/reproof/internal/owner"
)

// WorkPrefixes are the prefixes of every work directory and temporary file
// reproof makes directly in a temporary directory ($TMPDIR or --tmpdir),
// each named by owner.TempDir or owner.TempFile: the rebuild's work
// directory (checkout, runc state and root filesystem), verify's, the
// comparison's, normalize's, gpgv's home, git's home for ls-remote and
// a spooled zip, buildah's private storage for a Dockerfile image. A test
// holds this list to the calls in the code.
var WorkPrefixes = []string{
	"reproof-rebuild-",
	"reproof-check-",
	"reproof-verify-",
	"reproof-diff-",
	"reproof-normalize-",
	"reproof-gpgv-",
	"reproof-git-home-",
	"reproof-zip-",
	"reproof-buildah-",
}

// sweepTimeout bounds each engine or runc command of a sweep: listing the
// containers, reading one's labels, removing one.
const sweepTimeout = 60 * time.Second

// A Leftover is something a reproof process made and could not remove
// because it died first (killed, crashed, the machine rebooted): a build
// container, a runc container with its state, a work directory or a
// temporary file. Its owner is certainly dead (see owner.ID.Dead).
type Leftover struct {
	// Kind is what it is: "docker container", "podman container", "runc
	// container", "directory" or "file".
	Kind string
	// Name is the container's name or the path.
	Name  string
	Owner owner.ID

	remove func(ctx context.Context) error
}

// String is the leftover in one line, as `reproof gc` prints it.
func (l Leftover) String() string {
	return fmt.Sprintf("%s %s (left by pid %d, which is gone)", l.Kind, l.Name, l.Owner.PID)
}

// Remove removes the leftover. Something already gone is not an error.
func (l Leftover) Remove(ctx context.Context) error {
	if err := l.remove(ctx); err != nil {
		return fmt.Errorf("removing %s %s: %w", l.Kind, l.Name, err)
	}
	return nil
}

// SweepOptions says where FindLeftovers looks.
type SweepOptions struct {
	// TempDirs are the directories where runs made their work directories
	// and temporary files (os.TempDir() and any --tmpdir); none, none.
	TempDirs []string
	// Engines are the docker and podman runtimes (NewDocker, NewPodman)
	// whose containers are looked at; a runc runtime here is ignored: runc
	// containers are found in the work directories.
	Engines []Runtime
	// CacheTempDirs are directories where reproof keeps temporary files
	// beside what it keeps for good (a download cache's tmp directory, the
	// image cache's blob directory): their entries whose name records a
	// dead owner anywhere (owner.Scan) are leftovers, whatever the prefix.
	// The caches also remove these themselves when next used.
	CacheTempDirs []string
	// Runc is the runc program that removes runc containers found in work
	// directories; "" means runc from PATH.
	Runc string
	// Cgroups looks for the cgroups of runc containers whose state is
	// gone with their work directory (removed by hand, say): runc names a
	// container's cgroups after it, so they record its owner too.
	Cgroups bool
}

// FindLeftovers returns what dead reproof processes left, in the order
// they are to be removed, which is also a stable order for printing:
// the engines' containers (each engine's by name), then for each
// temporary directory its dead work directories and temporary files by
// name, each directory preceded by the runc containers it holds, then the
// cgroups of runc containers whose state is gone, then the caches'
// temporary files. Nothing
// of a live process is ever returned: its containers and directories
// carry its owner ID, and a live owner is never dead.
//
// An engine or directory that cannot be read is reported in the error,
// and what could be found is returned with it.
func FindLeftovers(ctx context.Context, opts SweepOptions) ([]Leftover, error) {
	var found []Leftover
	var errs []error
	for _, rt := range opts.Engines {
		cli, ok := rt.(*cliRuntime)
		if !ok {
			continue
		}
		l, err := cli.leftovers(ctx)
		found = append(found, l...)
		errs = append(errs, err)
	}
	runc := opts.Runc
	if runc == "" {
		runc = "runc"
	}
	seen := map[string]bool{}
	for _, dir := range opts.TempDirs {
		abs, err := filepath.Abs(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		l, err := workLeftovers(abs, runc)
		found = append(found, l...)
		errs = append(errs, err)
	}
	if opts.Cgroups {
		found = append(found, cgroupLeftovers(cgroupRoot, found)...)
	}
	for _, dir := range opts.CacheTempDirs {
		l, err := cacheLeftovers(dir)
		found = append(found, l...)
		errs = append(errs, err)
	}
	return found, errors.Join(errs...)
}

// cacheLeftovers are the entries of a cache's temporary directory whose
// name records a dead owner.
func cacheLeftovers(dir string) ([]Leftover, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking for leftovers in %s: %w", dir, err)
	}
	var found []Leftover
	for _, e := range entries {
		id, ok := owner.Scan(e.Name())
		if !ok || !id.Dead() {
			continue
		}
		kind := "file"
		if e.IsDir() {
			kind = "directory"
		}
		path := filepath.Join(dir, e.Name())
		found = append(found, Leftover{Kind: kind, Name: path, Owner: id,
			remove: func(context.Context) error { return owner.RemoveAll(path) }})
	}
	return found, nil
}

// workLeftovers are the dead work directories and temporary files in dir,
// each directory preceded by the runc containers in its state root.
func workLeftovers(dir, runc string) ([]Leftover, error) {
	var entries []owner.Entry
	var errs []error
	for _, prefix := range WorkPrefixes {
		e, err := owner.FindDead(dir, prefix)
		entries = append(entries, e...)
		errs = append(errs, err)
	}
	// One order whatever the prefixes' order: by path.
	slices.SortFunc(entries, func(a, b owner.Entry) int { return strings.Compare(a.Path, b.Path) })
	var found []Leftover
	for _, e := range entries {
		fi, err := os.Lstat(e.Path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !removableByMe(fi) {
			continue // another user's run: theirs to sweep
		}
		kind := "file"
		if fi.IsDir() {
			kind = "directory"
			found = append(found, runcLeftovers(runc, e)...)
		}
		path := e.Path
		found = append(found, Leftover{Kind: kind, Name: path, Owner: e.Owner, remove: func(context.Context) error {
			if err := mountinfo.UnmountUnder(path); err != nil {
				return err
			}
			return owner.RemoveAll(path)
		}})
	}
	return found, errors.Join(errs...)
}

// removableByMe reports whether this process may remove a leftover in a
// shared temporary directory such as /tmp (sticky: only its owner or root
// may): root may, anyone else only their own. Another user's leftovers
// are left to them, rather than warned about on every run.
func removableByMe(fi fs.FileInfo) bool {
	euid := os.Geteuid()
	st, ok := fi.Sys().(*syscall.Stat_t)
	return euid == 0 || !ok || int(st.Uid) == euid
}

// runcStateRoot is where a rebuild's work directory keeps runc's state:
// prepareRun's scratch directory "runtime", and Run's "state" in it.
func runcStateRoot(work string) string { return filepath.Join(work, "runtime", "state") }

// runcLeftovers are the runc containers of a dead rebuild's work
// directory: one subdirectory of its state root each. Removing one is
// `runc delete --force`, which kills what still runs in it and removes its
// cgroup; the `runc run` that ran it died with its reproof (startTied).
func runcLeftovers(runc string, work owner.Entry) []Leftover {
	state := runcStateRoot(work.Path)
	entries, err := os.ReadDir(state)
	if err != nil {
		return nil // no runc container was ever made here
	}
	var found []Leftover
	for _, e := range entries {
		if !e.IsDir() || !runcName.MatchString(e.Name()) {
			continue
		}
		name := e.Name()
		found = append(found, Leftover{Kind: "runc container", Name: name + " (state " + state + ")", Owner: work.Owner,
			remove: func(ctx context.Context) error { return removeRuncContainer(ctx, runc, state, name) }})
	}
	return found
}

// removeRuncContainer is `runc delete --force` of a container in state.
// A container whose state runc never wrote (its reproof died while runc
// was creating it) has no process left to kill: runc's init exits when its
// parent does. Its directory goes with the work directory.
func removeRuncContainer(ctx context.Context, runc, state, name string) error {
	if _, err := os.Stat(filepath.Join(state, name, "state.json")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	bin, err := exec.LookPath(runc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	out, err := runcCommand(ctx, bin, "--root", state, "delete", "--force", name).CombinedOutput()
	if err == nil {
		return nil
	}
	if _, serr := os.Stat(filepath.Join(state, name)); errors.Is(serr, fs.ErrNotExist) {
		return nil // gone meanwhile
	}
	if ctx.Err() != nil {
		return fmt.Errorf("runc delete --force: no answer within %s", sweepTimeout)
	}
	return fmt.Errorf("runc delete --force: %s: %s", err, strings.Join(strings.Fields(string(out)), " "))
}

// cgroupRoot is where the kernel's cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupLeftovers are the cgroups runc made for containers of dead owners
// and did not remove: a container's cgroups are named after it, at the top
// of each hierarchy (cgroup v1: root/CONTROLLER/NAME; v2: root/NAME).
// Those of a runc container already in found go with it. Removing one
// kills what still runs in it and removes the directories.
func cgroupLeftovers(root string, found []Leftover) []Leftover {
	listed := map[string]bool{}
	for _, l := range found {
		if l.Kind == "runc container" {
			name, _, _ := strings.Cut(l.Name, " ")
			listed[name] = true
		}
	}
	v1, _ := filepath.Glob(filepath.Join(root, "*", containerPrefix+"*"))
	v2, _ := filepath.Glob(filepath.Join(root, containerPrefix+"*"))
	paths := map[string][]string{}
	var names []string
	for _, p := range append(v2, v1...) {
		name := filepath.Base(p)
		id, ok := owner.Of(name, containerPrefix)
		if !ok || listed[name] || !id.Dead() {
			continue
		}
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue
		}
		if paths[name] == nil {
			names = append(names, name)
		}
		paths[name] = append(paths[name], p)
	}
	slices.Sort(names)
	var left []Leftover
	for _, name := range names {
		id, _ := owner.Of(name, containerPrefix)
		dirs := paths[name]
		left = append(left, Leftover{Kind: "runc cgroup", Name: name, Owner: id,
			remove: func(ctx context.Context) error { return removeCgroups(ctx, dirs) }})
	}
	return left
}

// removeCgroups kills the processes in each cgroup directory (a build
// whose runc and state are gone) and removes the directories. A cgroup
// already gone is not an error.
func removeCgroups(ctx context.Context, dirs []string) error {
	var errs []error
	for _, dir := range dirs {
		deadline := time.Now().Add(sweepTimeout)
		for {
			procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				errs = append(errs, err)
				break
			}
			pids := strings.Fields(string(procs))
			if len(pids) == 0 {
				if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				break
			}
			for _, p := range pids {
				if pid, err := strconv.Atoi(p); err == nil && pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("%s: processes %s still in it", dir, strings.Join(pids, " ")))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}

// leftovers are the engine's containers labelled with a dead owner of this
// host. A container labelled by another host is never judged: its owner's
// processes cannot be seen from here.
func (r *cliRuntime) leftovers(ctx context.Context) ([]Leftover, error) {
	listCtx, cancel := context.WithTimeout(ctx, sweepTimeout)
	out, err := r.output(listCtx, nil, "ps", "--all", "--quiet", "--no-trunc", "--filter", "label="+OwnerLabel)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("listing %s's containers: %w", r.name, sweepError(listCtx, err))
	}
	host := hostName()
	var found []Leftover
	var errs []error
	for _, id := range strings.Fields(out) {
		inspectCtx, cancel := context.WithTimeout(ctx, sweepTimeout)
		info, err := r.output(inspectCtx, nil, "container", "inspect", "--format",
			`{{.Name}}|{{index .Config.Labels "`+OwnerLabel+`"}}|{{index .Config.Labels "`+HostLabel+`"}}`, id)
		cancel()
		if err != nil {
			if !isNoSuchContainer(err) { // else removed meanwhile
				errs = append(errs, fmt.Errorf("reading the labels of %s container %s: %w", r.name, id, sweepError(inspectCtx, err)))
			}
			continue
		}
		fields := strings.Split(strings.TrimSpace(info), "|")
		if len(fields) != 3 || fields[2] != host || host == "" {
			continue
		}
		id, name := id, strings.TrimPrefix(fields[0], "/")
		o, err := owner.Parse(fields[1])
		if err != nil || !o.Dead() {
			continue
		}
		found = append(found, Leftover{Kind: r.name + " container", Name: name, Owner: o, remove: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
			defer cancel()
			_, err := r.output(ctx, nil, "rm", "--force", "--volumes", id)
			if err != nil && !isNoSuchContainer(err) {
				return sweepError(ctx, err)
			}
			return nil
		}})
	}
	slices.SortFunc(found, func(a, b Leftover) int { return strings.Compare(a.Name, b.Name) })
	return found, errors.Join(errs...)
}

// sweepError says that an engine command timed out rather than passing on
// a bare context error.
func sweepError(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer from the engine within %s", sweepTimeout)
	}
	return err
}

// isNoSuchContainer: docker says "No such container", podman "no such
// container".
func isNoSuchContainer(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "no such container")
}

// sweepRuntime removes the containers dead reproof processes left in rt's
// engine before a build starts, and says what it removed on progress. What
// it cannot list or remove is said there too; it does not stop the build.
func sweepRuntime(ctx context.Context, rt Runtime, progress io.Writer) {
	if _, ok := rt.(*cliRuntime); !ok {
		return // runc's leftovers are in work directories, swept with them
	}
	found, err := FindLeftovers(ctx, SweepOptions{Engines: []Runtime{rt}})
	if err != nil {
		fmt.Fprintf(progress, "warning: looking for containers of dead runs: %s\n", oneLine(err))
	}
	for _, l := range found {
		if err := l.Remove(ctx); err != nil {
			fmt.Fprintf(progress, "warning: %s\n", oneLine(err))
			continue
		}
		fmt.Fprintf(progress, "cleanup: removed %s\n", l)
	}
}
