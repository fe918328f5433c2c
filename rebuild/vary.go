package rebuild

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/owner"
)

// Variation moves one build away from the environment Rebuild gives it
// by default, to see whether the artifacts depend on it (reproof check).
// The zero value, like a nil *Variation, changes nothing. Whatever it
// changes, the sandbox stays the same: no network, no new privileges, no
// capabilities, the image read-only; SOURCE_DATE_EPOCH is never varied.
type Variation struct {
	// WorkDir is where the checkout is mounted in the container and the
	// build's working directory; default DefaultWorkDir.
	WorkDir string
	// Umask the build command starts with, in octal; default "022".
	Umask string
	// Env entries KEY=VALUE set after reproof's own environment and the
	// spec's: they may replace TZ, LC_ALL and the rest, but not
	// SOURCE_DATE_EPOCH or HOME (see Home).
	Env []string
	// Hostname and Domainname of the build's UTS namespace; default
	// "reproof" and none. Podman cannot set a domain name.
	Hostname, Domainname string
	// Home is the build user's home directory, in its passwd entry and
	// HOME; default the image's for a UID it knows, else /home/reproof.
	Home string
	// CPUSet restricts the build to these CPUs (a cpuset list, "0" or
	// "0-1"); "" leaves it every CPU.
	CPUSet string
	// FileOrder shows the build its checkout through disorderfs, which
	// lists every directory in reverse order.
	FileOrder bool
	// Uname26 runs the build with the UNAME26 personality: uname -r says
	// 2.6.x. NoASLR runs it with address space randomization off
	// (ADDR_NO_RANDOMIZE). Both are set by the host's setarch, run in the
	// container through the host's dynamic loader (PersonalityTool).
	Uname26 bool
	NoASLR  bool
}

// DefaultWorkDir is where the checkout is mounted in the container.
const DefaultWorkDir = "/src"

// personalityDir is where the container sees the host's setarch, its
// dynamic loader and its libraries.
const personalityDir = "/.reproof-personality"

// RunMount is a host file mounted read-only into the build container.
type RunMount struct {
	Source string // on the host, absolute
	Target string // in the container, absolute
}

// check validates v.
func (v *Variation) check() error {
	if v == nil {
		return nil
	}
	for _, p := range []struct{ what, dir string }{{"work directory", v.WorkDir}, {"home", v.Home}} {
		if p.dir == "" {
			continue
		}
		if !path.IsAbs(p.dir) || path.Clean(p.dir) != p.dir || p.dir == "/" || p.dir == "/tmp" || strings.HasPrefix(p.dir, personalityDir) {
			return fmt.Errorf("variation: %s %q: want an absolute, clean path other than / and /tmp", p.what, p.dir)
		}
	}
	if v.Umask != "" {
		if n, err := strconv.ParseUint(v.Umask, 8, 32); err != nil || n > 0o777 {
			return fmt.Errorf("variation: umask %q: want octal, at most 0777", v.Umask)
		}
	}
	for _, e := range v.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n\x00") || strings.ContainsRune(e, 0) {
			return fmt.Errorf("variation: environment entry %q: want KEY=VALUE", e)
		}
		if k == "SOURCE_DATE_EPOCH" || k == "HOME" {
			return fmt.Errorf("variation: environment entry %q: %s is not varied this way", e, k)
		}
	}
	for _, h := range []string{v.Hostname, v.Domainname} {
		if strings.ContainsAny(h, " \t\n\x00/,") || len(h) > 64 {
			return fmt.Errorf("variation: host or domain name %q: want a name of at most 64 characters", h)
		}
	}
	if strings.Trim(v.CPUSet, "0123456789,-") != "" {
		return fmt.Errorf("variation: CPU set %q: want a list such as 0 or 0-1", v.CPUSet)
	}
	return nil
}

// umask is the umask the build starts with, as the shell takes it.
func (v *Variation) umask() string {
	if v == nil || v.Umask == "" {
		return "022"
	}
	return v.Umask
}

// workDir is where the checkout is mounted in the container.
func (v *Variation) workDir() string {
	if v == nil || v.WorkDir == "" {
		return DefaultWorkDir
	}
	return v.WorkDir
}

// hostname is the build container's hostname.
func (v *Variation) hostname() string {
	if v == nil || v.Hostname == "" {
		return "reproof"
	}
	return v.Hostname
}

// applyVariation changes spec and its environment as v says, after
// prepareRun has made them for the default environment, and mounts what
// the variation needs (disorderfs) under work. undo unmounts it; it is
// never nil.
func applyVariation(ctx context.Context, v *Variation, spec *RunSpec, user User, work string, t time.Duration) (undo func() error, err error) {
	undo = func() error { return nil }
	if v == nil {
		return undo, nil
	}
	if v.Home != "" && v.Home != spec.Home {
		if err := rehome(filepath.Join(spec.EtcDir, "passwd"), user, v.Home); err != nil {
			return undo, fmt.Errorf("variation: home: %w", err)
		}
		spec.Home = v.Home
	}
	e := newEnv()
	for _, kv := range spec.Env {
		e.set(kv)
	}
	e.set("HOME=" + spec.Home)
	for _, kv := range v.Env {
		e.set(kv)
	}
	spec.Env = e.list()
	spec.Hostname, spec.Domainname, spec.CPUSet = v.hostname(), v.Domainname, v.CPUSet
	if spec.WorkDir == spec.Home || strings.HasPrefix(spec.WorkDir, spec.Home+"/") || strings.HasPrefix(spec.Home, spec.WorkDir+"/") {
		return undo, fmt.Errorf("variation: the work directory %q and home %q overlap", spec.WorkDir, spec.Home)
	}
	if v.Uname26 || v.NoASLR {
		tool, err := PersonalityTool()
		if err != nil {
			return undo, fmt.Errorf("variation: personality: %w", err)
		}
		spec.Mounts = append(spec.Mounts, tool.Mounts...)
		spec.Args = append(tool.Command(v.Uname26, v.NoASLR), spec.Args...)
	}
	if v.FileOrder {
		view := filepath.Join(work, "disorder")
		unmount, err := mountDisorder(ctx, spec.SourceDir, view, t)
		if err != nil {
			return undo, fmt.Errorf("variation: file order: %w", err)
		}
		spec.SourceDir = view
		undo = unmount
	}
	return undo, nil
}

// rehome sets the home directory of user's entry in the passwd file at p.
func rehome(p string, user User, home string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	uid := strconv.Itoa(user.UID)
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) >= 7 && f[2] == uid {
			f[5] = home
			lines[i] = strings.Join(f, ":")
			return os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
		}
	}
	return fmt.Errorf("no passwd entry for UID %d", user.UID)
}

// Personality is the host's setarch as a build container runs it: the
// program, its dynamic loader and its libraries mounted read-only under
// one directory, and run through that loader, so that it works in any
// image (a static busybox one included) and then executes the image's
// own programs with the personality set.
type Personality struct {
	Mounts []RunMount
	loader string // in the container
	prog   string // in the container
}

// Command is the argv prefix that runs the rest of the argv with the
// personality flags asked for.
func (p *Personality) Command(uname26, noASLR bool) []string {
	args := []string{p.prog}
	if p.loader != "" {
		args = []string{p.loader, "--library-path", personalityDir, p.prog}
	}
	if uname26 {
		args = append(args, "--uname-2.6")
	}
	if noASLR {
		args = append(args, "--addr-no-randomize")
	}
	return args
}

// libraryDirs are where the host's shared libraries are looked for.
var libraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// PersonalityTool finds the host's setarch and what it needs to run in a
// container. An error says why the kernel and aslr variations cannot be
// applied here.
func PersonalityTool() (*Personality, error) {
	prog, err := exec.LookPath("setarch")
	if err != nil {
		return nil, errors.New("setarch (util-linux) is not installed on this host")
	}
	if prog, err = filepath.EvalSymlinks(prog); err != nil {
		return nil, err
	}
	f, err := elf.Open(prog)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", prog, err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("reading %s: %w", prog, err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	p := &Personality{prog: personalityDir + "/setarch"}
	p.Mounts = append(p.Mounts, RunMount{Source: prog, Target: p.prog})
	if interp == "" {
		return p, nil // a static setarch needs nothing else
	}
	loader, err := filepath.EvalSymlinks(interp)
	if err != nil {
		return nil, fmt.Errorf("the dynamic loader of %s: %w", prog, err)
	}
	p.loader = personalityDir + "/" + path.Base(interp)
	p.Mounts = append(p.Mounts, RunMount{Source: loader, Target: p.loader})
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", prog, err)
	}
	for _, lib := range libs {
		found := ""
		for _, dir := range libraryDirs {
			if real, err := filepath.EvalSymlinks(filepath.Join(dir, lib)); err == nil {
				found = real
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s needs %s, which is not in %s", prog, lib, strings.Join(libraryDirs, ", "))
		}
		p.Mounts = append(p.Mounts, RunMount{Source: found, Target: personalityDir + "/" + lib})
	}
	return p, nil
}

// DisorderfsAvailable says why the file-order variation cannot be applied
// on this host, or nil when it can: disorderfs installed, /dev/fuse
// present, reproof running as root (disorderfs --multi-user needs it, so
// that the build user and the engine can read the view).
func DisorderfsAvailable() error {
	if _, err := exec.LookPath("disorderfs"); err != nil {
		return errors.New("disorderfs is not installed (apt-get install disorderfs)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return errors.New("/dev/fuse is missing: FUSE is not available here")
	}
	if os.Geteuid() != 0 {
		return errors.New("disorderfs --multi-user needs root")
	}
	if !traversable(os.TempDir()) && !traversable("/tmp") {
		return fmt.Errorf("neither %s nor /tmp is a directory the build user may reach, which disorderfs needs", os.TempDir())
	}
	return nil
}

// mountDisorder mounts a disorderfs view of dir at view (created) and
// returns what unmounts it. t bounds the mount.
//
// disorderfs --multi-user works on the files as the user who asks (so
// that what the build creates is the build user's), and that user must be
// able to walk to them: dir is first bound at a directory others may
// traverse but not list, an owner-named work directory of its own in
// os.TempDir(), or /tmp when the build user cannot reach that (reproof gc
// unmounts and removes one a killed run left).
func mountDisorder(ctx context.Context, dir, view string, t time.Duration) (_ func() error, err error) {
	if err := DisorderfsAvailable(); err != nil {
		return nil, err
	}
	parent := ""
	for _, d := range []string{os.TempDir(), "/tmp"} {
		if traversable(d) {
			parent = d
			break
		}
	}
	if parent == "" {
		return nil, fmt.Errorf("neither %s nor /tmp is a directory other users may reach, which disorderfs needs", os.TempDir())
	}
	pub, err := owner.TempDir(parent, "reproof-rebuild-")
	if err != nil {
		return nil, err
	}
	src := filepath.Join(pub, "src")
	var mounted []string
	undo := func() error {
		var errs []error
		for i := len(mounted) - 1; i >= 0; i-- {
			if err := unmountRetry(mounted[i]); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		os.Remove(view)
		return os.RemoveAll(pub)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, undo())
		}
	}()
	if err := os.Chmod(pub, 0o711); err != nil {
		return nil, err
	}
	for _, d := range []string{src, view} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := unix.Mount(dir, src, "", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("binding the checkout at %s: %w", src, err)
	}
	mounted = append(mounted, src)
	bin, _ := exec.LookPath("disorderfs")
	// Reversed listings (disorderfs' default) are a different order that is
	// the same in every run; multi-user: the build's UID and the engine
	// see the view with their own permissions.
	if err := runBounded(ctx, t, bin, "--quiet", "--multi-user=yes", "--reverse-dirents=yes", "-o", "fsname=reproof-disorderfs", src, view); err != nil {
		return nil, err
	}
	mounted = append(mounted, view)
	return undo, nil
}

// traversable tells whether any user may walk to dir: it and each of its
// parents give others search permission.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// unmountRetry unmounts p, waiting a little while it is busy (an engine
// may still be releasing its bind mount of it), then detaching it.
func unmountRetry(p string) error {
	var err error
	for range 50 {
		if err = unix.Unmount(p, 0); err == nil || errors.Is(err, unix.EINVAL) {
			return nil // EINVAL: not mounted (any more)
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if unix.Unmount(p, unix.MNT_DETACH) == nil {
		return nil
	}
	return fmt.Errorf("unmounting %s: %w", p, err)
}

// ImageHasFile returns the first of paths (absolute) that is a regular
// file in img's filesystem, "" when none is. For the time variation,
// which needs the image's own libfaketime.
func ImageHasFile(ctx context.Context, img *PulledImage, paths []string) (string, error) {
	rel := make([]string, len(paths))
	for i, p := range paths {
		rel[i] = strings.TrimPrefix(path.Clean(p), "/")
	}
	files, err := imageFiles(ctx, img.Image, rel, 64<<20)
	if err != nil {
		return "", err
	}
	for i, f := range files {
		if f != nil {
			return paths[i], nil
		}
	}
	return "", nil
}

// cliVariation are the docker and podman flags of what a Variation set in
// spec beyond the hostname.
func cliVariation(spec *RunSpec) []string {
	var args []string
	if spec.Domainname != "" {
		args = append(args, "--domainname", spec.Domainname)
	}
	if spec.CPUSet != "" {
		args = append(args, "--cpuset-cpus", spec.CPUSet)
	}
	for _, m := range spec.Mounts {
		args = append(args, "--mount", bindMount(m.Source, m.Target, true))
	}
	return args
}

// runcVariationMounts are the runc mounts of spec.Mounts.
func runcVariationMounts(spec *RunSpec) []ociMount {
	var ms []ociMount
	for _, m := range spec.Mounts {
		ms = append(ms, ociMount{Destination: m.Target, Type: "bind", Source: m.Source,
			Options: []string{"bind", "rprivate", "ro", "nosuid", "nodev"}, file: true})
	}
	return ms
}
