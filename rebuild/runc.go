package rebuild

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/mountinfo"
)

// errRootless: the runc runtime runs runc as root, with no user namespace.
var errRootless = errors.New("runc: rootless runc is not supported yet; run reproof as root, or use --runtime docker or podman")

// How long the runtime waits for runc's own commands while stopping and
// removing a container, and for runc to exit once its container is killed.
const (
	runcCleanupTimeout = 30 * time.Second
	runcStopTimeout    = 10 * time.Second
)

// runcName is what runc accepts as a container ID.
var runcName = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

// NewRunc returns the runtime that runs builds with runc directly, without
// any daemon: Run unpacks the cached image's layers into a root filesystem
// in RunSpec.ScratchDir and runs it with a generated OCI runtime config.
// binary is the runc executable; "" means "runc" in PATH.
//
// It needs root: runc runs as root here, with no user namespace.
func NewRunc(binary string) Runtime {
	if binary == "" {
		binary = "runc"
	}
	return &runc{
		binary: binary,
		limits: rootfsLimits{maxBytes: DefaultRootfsMaxBytes, maxEntries: DefaultRootfsMaxEntries},
	}
}

type runc struct {
	binary  string
	limits  rootfsLimits
	timeout time.Duration // each runc command's deadline (not runc run's); 0: DefaultEngineTimeout
}

func (r *runc) Name() string { return "runc" }

// Version is runc's own version, the third word of `runc --version`'s first
// line ("runc version 1.1.5+ds1").
func (r *runc) Version(ctx context.Context) (string, error) {
	if os.Geteuid() != 0 {
		return "", errRootless
	}
	t := r.timeout
	if t <= 0 {
		t = DefaultEngineTimeout
	}
	vctx, cancel := context.WithTimeoutCause(ctx, t, errNoAnswer)
	defer cancel()
	cmd := exec.CommandContext(vctx, r.binary, "--version")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(context.Cause(vctx), errNoAnswer) {
			return "", &NoAnswerError{Engine: "runc", What: "--version", After: t}
		}
		return "", fmt.Errorf("runc --version: %s", commandError(err))
	}
	first, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(first)
	if len(f) < 3 || f[0] != "runc" || f[1] != "version" {
		return "", fmt.Errorf("runc --version: unexpected output %q", first)
	}
	return f[2], nil
}

// Run unpacks the image into ScratchDir/rootfs, writes the container's
// config to ScratchDir/bundle/config.json and runs
//
//	runc --root ScratchDir/state run --bundle ScratchDir/bundle --pid-file ... NAME
//
// in the foreground, with stdin from /dev/null.
//
// A build's own failure and runc's are told apart by the pid file: runc run
// writes it only once the container's process has been created and told to
// exec the build command (after which runc's exit status is the command's),
// and fails without it when it cannot create or start the container (a bad
// config, a failed mount, a command not found in the image). Without the
// pid file the error is runc's, read from its JSON log. A command killed by
// a signal exits 128+N, as runc reports it; that is indistinguishable from
// a command that exits 128+N itself.
//
// Everything the container mounts is mounted in its own mount namespace, so
// nothing remains on the host once it is gone; Run checks that no mount is
// left under ScratchDir, and unmounts any it finds.
func (r *runc) Run(ctx context.Context, spec *RunSpec) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("build stopped: %w", err)
	}
	if os.Geteuid() != 0 {
		return errRootless
	}
	if err := checkRuncSpec(spec); err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	bin, err := exec.LookPath(r.binary)
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	scratch, err := filepath.Abs(spec.ScratchDir)
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	bundle, err := r.prepareBundle(ctx, spec, scratch)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("build stopped: %w", ctxErr)
		}
		return fmt.Errorf("runc: %w", err)
	}
	state := filepath.Join(scratch, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		return fmt.Errorf("runc: %w", err)
	}

	t := spec.EngineTimeout
	if t <= 0 {
		t = DefaultEngineTimeout
	}
	// From here on runc may create a container: remove it and check for
	// mounts whichever way Run returns.
	defer func() {
		err = withCleanup(err, cleanupRunc(bin, state, spec.Name, scratch, t))
	}()

	pidFile := filepath.Join(scratch, "container.pid")
	logFile := filepath.Join(scratch, "runc.log")
	// --keep: the container (and its cgroups, which count the limit
	// events) stays until cleanupRunc deletes it, after the last look.
	cmd := exec.Command(bin, "--root", state, "--log", logFile, "--log-format", "json",
		"run", "--keep", "--bundle", bundle, "--pid-file", pidFile, spec.Name)
	cmd.Env = runcEnv()
	cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	// A process group of its own: a Ctrl-C on the terminal reaches reproof,
	// which stops the container itself, and not runc, which would forward
	// it to the container's init (that ignores it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Once runc has exited, nothing in the container can hold the output
	// pipes open (its pid namespace is gone); bound the wait regardless.
	cmd.WaitDelay = 5 * time.Second
	// The build's own context: it ends with ctx, or when the build
	// reaches a limit (the cause is then a *LimitReached).
	buildCtx, stopBuild := context.WithCancelCause(ctx)
	defer stopBuild(nil)
	done, err := startTied(cmd) // runc dies with reproof; Sweep removes its container
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	watch := watchWhenStarted(spec, t, func(context.Context) (int, string, error) {
		pid, err := readPidFile(pidFile)
		return pid, spec.Name, err
	}, func(l *LimitReached) { stopBuild(l) })
	select {
	case werr := <-done:
		if limit := watch(true); limit != nil {
			return limitBuildError(limit)
		}
		return runcResult(werr, pidFile, logFile)
	case <-buildCtx.Done():
		limit := watch(false)
		if l := limitCause(context.Cause(buildCtx)); l != nil {
			limit = l
		}
		stopRunc(bin, state, spec.Name, cmd.Process, done, t)
		if limit != nil {
			return limitBuildError(limit)
		}
		return fmt.Errorf("build stopped: %w", ctx.Err())
	}
}

// readPidFile reads the PID runc wrote to its --pid-file.
func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// prepareBundle makes the OCI bundle for spec in scratch: the image
// unpacked into scratch/rootfs, with the mountpoints the config needs, and
// scratch/bundle/config.json. It returns the bundle directory.
func (r *runc) prepareBundle(ctx context.Context, spec *RunSpec, scratch string) (_ string, err error) {
	rootfs := filepath.Join(scratch, "rootfs")
	bundle := filepath.Join(scratch, "bundle")
	for _, dir := range []string{rootfs, bundle} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
	}
	// The build user must be able to walk the root directory.
	if err := os.Chmod(rootfs, 0o755); err != nil {
		return "", err
	}
	cached := false
	if spec.RootfsCache != "" {
		var err error
		if cached, err = r.cachedRootfs(ctx, spec, spec.RootfsCache, scratch, rootfs); err != nil {
			return "", err
		}
	}
	if cached {
		defer func() {
			if err != nil {
				err = withCleanup(err, mountinfo.UnmountUnder(scratch))
			}
		}()
	} else {
		if _, err := unpackRootfs(ctx, spec.Image.Image, rootfs, r.limits); err != nil {
			return "", fmt.Errorf("unpacking image %s: %w", spec.Image.Digest, err)
		}
	}
	cfg, err := runcConfig(spec, rootfs)
	if err != nil {
		return "", err
	}
	// runc would create missing mountpoints itself; creating them here
	// keeps every write into the root filesystem in code that resolves
	// names inside it.
	var points []mountpoint
	for _, m := range cfg.Mounts {
		points = append(points, mountpoint{path: m.Destination, file: m.file, mode: m.mode})
	}
	if err := ensureMountpoints(rootfs, points); err != nil {
		return "", fmt.Errorf("preparing the root filesystem: %w", err)
	}
	js, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return "", err
	}
	return bundle, os.WriteFile(filepath.Join(bundle, "config.json"), js, 0o600)
}

// stopRunc kills the container of a running `runc run` and waits for runc
// to exit. Killing the container's init kills every process in its pid
// namespace, and runc run then exits. Until runc has created the container
// there is nothing to kill, so the kill is repeated until runc exits; if it
// does not within runcStopTimeout, runc itself is killed and cleanupRunc's
// delete --force removes what it left.
func stopRunc(bin, state, name string, proc *os.Process, done <-chan error, t time.Duration) {
	deadline := time.NewTimer(runcStopTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), t)
		// It fails until the container exists, and once it is gone.
		runcCommand(ctx, bin, "--root", state, "kill", name, "KILL").Run() //nolint:errcheck
		cancel()
		select {
		case <-done:
			return
		case <-tick.C:
		case <-deadline.C:
			proc.Kill() //nolint:errcheck // it may have exited meanwhile
			<-done
			return
		}
	}
}

// runcResult turns how `runc run` ended into Run's result.
func runcResult(waitErr error, pidFile, logFile string) error {
	if waitErr == nil {
		return nil
	}
	var exit *exec.ExitError
	if !errors.As(waitErr, &exit) {
		return fmt.Errorf("runc: %w", waitErr)
	}
	if !exit.Exited() {
		return fmt.Errorf("runc was killed: %s", exit)
	}
	if _, err := os.Stat(pidFile); err == nil {
		return &BuildError{ExitCode: exit.ExitCode()}
	}
	if msg := runcLogError(logFile); msg != "" {
		return fmt.Errorf("runc could not start the build: %s", msg)
	}
	return fmt.Errorf("runc could not start the build (it exited with status %d and logged no error)", exit.ExitCode())
}

// runcLogError is the last error runc wrote to its JSON log, on one line.
func runcLogError(logFile string) string {
	f, err := os.Open(logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	// Only runc's own messages are in the log, but read a bounded tail.
	const tail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		if _, err := f.Seek(-tail, io.SeekEnd); err != nil {
			return ""
		}
	}
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), tail)
	for sc.Scan() {
		var rec struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Level == "error" && rec.Msg != "" {
			last = rec.Msg
		}
	}
	return strings.Join(strings.Fields(last), " ")
}

// cleanupRunc removes the container if runc left it (runc run removes its
// container when it exits normally), then makes sure nothing is mounted
// under scratch, so that the caller can remove it.
func cleanupRunc(bin, state, name, scratch string, t time.Duration) error {
	var problems []string
	if _, err := os.Stat(filepath.Join(state, name)); err == nil {
		ctx, cancel := context.WithTimeoutCause(context.Background(), t, errNoAnswer)
		cmd := runcCommand(ctx, bin, "--root", state, "delete", "--force", name)
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		noAnswer := errors.Is(context.Cause(ctx), errNoAnswer)
		cancel()
		switch {
		case noAnswer:
			problems = append(problems, fmt.Sprintf("the build container %s was not removed: %s", name, &NoAnswerError{Engine: "runc", What: "delete", After: t}))
		case err != nil:
			problems = append(problems, fmt.Sprintf("the build container %s was not removed: runc delete --force: %s: %s", name, err, strings.Join(strings.Fields(string(out)), " ")))
		}
	}
	if err := mountinfo.UnmountUnder(scratch); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("cleaning up after runc: %s", strings.Join(problems, "; "))
	}
	return nil
}

// runcCommand is a runc command that stops and removes containers. Like
// runc run, it gets a process group of its own, so that a second Ctrl-C on
// the terminal does not interrupt the cleanup of the first.
func runcCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = runcEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// runcEnv is runc's own environment: the container's comes from the
// config alone, and nothing of reproof's environment needs to reach runc.
func runcEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH")}
}

// commandError describes a failed command in one line, with its stderr.
func commandError(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(bytes.TrimSpace(exit.Stderr)) > 0 {
		return fmt.Sprintf("%s: %s", err, strings.Join(strings.Fields(string(exit.Stderr)), " "))
	}
	return err.Error()
}

// nofileLimit is the build's RLIMIT_NOFILE: docker's default, 1024 soft and
// 524288 hard, lowered to this process's own hard limit, since raising a
// hard limit takes CAP_SYS_RESOURCE, which root does not always have (in a
// container, say).
func nofileLimit() ociRlimit {
	lim := ociRlimit{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 524288}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err == nil && cur.Max < lim.Hard {
		lim.Hard = cur.Max
		lim.Soft = min(lim.Soft, lim.Hard)
	}
	return lim
}

// nprocLimit is the build's RLIMIT_NPROC: this process's own soft limit,
// capped at 16384, which builds do not reach and nested hosts accept
// (podman's default, 32768, is refused there).
func nprocLimit() ociRlimit {
	n := uint64(16384)
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &cur); err == nil {
		n = min(n, cur.Cur)
	}
	return ociRlimit{Type: "RLIMIT_NPROC", Soft: n, Hard: n}
}

// buildRlimits are the build's resource limits, the same with every
// runtime (runc's config, --ulimit for docker and podman): left to each,
// a build would see dockerd's own limits, podman's defaults or runc's.
func buildRlimits() []ociRlimit { return []ociRlimit{nofileLimit(), nprocLimit()} }

// withTmpfsSize adds the size limit of the build's tmpfs mounts to options.
func withTmpfsSize(options []string, spec *RunSpec) []string {
	if spec.Limits.TmpfsSize > 0 {
		options = append(options, "size="+strconv.FormatInt(spec.Limits.TmpfsSize, 10))
	}
	return options
}

// checkRuncSpec refuses a RunSpec the config cannot express safely.
func checkRuncSpec(spec *RunSpec) error {
	switch {
	case spec.Image == nil || spec.Image.Image == nil:
		return errors.New("no image")
	case len(spec.Args) == 0:
		return errors.New("no command")
	case !runcName.MatchString(spec.Name):
		return fmt.Errorf("container name %q: want letters, digits and _+.-", spec.Name)
	case spec.UID < 0 || spec.GID < 0 || int64(spec.UID) > 1<<32-2 || int64(spec.GID) > 1<<32-2:
		return fmt.Errorf("user %d:%d out of range", spec.UID, spec.GID)
	case spec.SourceDir == "" || spec.EtcDir == "" || spec.ScratchDir == "":
		return errors.New("source, etc and scratch directories are required")
	}
	for _, p := range []struct{ what, dir string }{{"work directory", spec.WorkDir}, {"home", spec.Home}} {
		if !path.IsAbs(p.dir) || path.Clean(p.dir) != p.dir || p.dir == "/" {
			return fmt.Errorf("%s %q: want an absolute, clean path other than /", p.what, p.dir)
		}
		if p.dir == "/tmp" {
			return fmt.Errorf("%s %q: /tmp is a mount of its own", p.what, p.dir)
		}
	}
	if spec.WorkDir == spec.Home {
		return fmt.Errorf("the work directory and home are both %q", spec.Home)
	}
	return nil
}

// The OCI runtime spec (v1.0.2, what runc 1.1 implements), only the fields
// reproof sets. Written out here rather than imported: a few structs, and
// every field is a decision worth reading.
type ociSpec struct {
	Version  string     `json:"ociVersion"`
	Process  ociProcess `json:"process"`
	Root     ociRoot    `json:"root"`
	Hostname string     `json:"hostname"`
	Mounts   []ociMount `json:"mounts"`
	Linux    ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal        bool            `json:"terminal"`
	User            ociUser         `json:"user"`
	Args            []string        `json:"args"`
	Env             []string        `json:"env"`
	Cwd             string          `json:"cwd"`
	Capabilities    ociCapabilities `json:"capabilities"`
	Rlimits         []ociRlimit     `json:"rlimits"`
	NoNewPrivileges bool            `json:"noNewPrivileges"`
}

type ociUser struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

type ociCapabilities struct {
	Bounding    []string `json:"bounding"`
	Effective   []string `json:"effective"`
	Inheritable []string `json:"inheritable"`
	Permitted   []string `json:"permitted"`
	Ambient     []string `json:"ambient"`
}

type ociRlimit struct {
	Type string `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

type ociRoot struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options,omitempty"`

	// file: a bind mount of a file, whose mountpoint is an empty file.
	file bool
	// mode is the mode the mountpoint directory is given, when not 0: runc
	// gives a tmpfs the mode of the directory it is mounted over (whatever
	// its mode= option says), when that exists.
	mode fs.FileMode
}

type ociLinux struct {
	Resources     ociResources    `json:"resources"`
	Namespaces    []ociNamespace  `json:"namespaces"`
	MaskedPaths   []string        `json:"maskedPaths"`
	ReadonlyPaths []string        `json:"readonlyPaths"`
	Seccomp       *seccompProfile `json:"seccomp"`
	// Sysctl: runc 1.1 sets a domain name only this way (kernel.domainname).
	Sysctl map[string]string `json:"sysctl,omitempty"`
}

type ociResources struct {
	Devices []ociDeviceRule `json:"devices"`
	Memory  *ociMemory      `json:"memory,omitempty"`
	CPU     *ociCPU         `json:"cpu,omitempty"`
	Pids    *ociPids        `json:"pids,omitempty"`
}

type ociMemory struct {
	Limit int64  `json:"limit"`
	Swap  *int64 `json:"swap,omitempty"` // memory and swap together
}

type ociCPU struct {
	Quota  int64  `json:"quota,omitempty"`
	Period uint64 `json:"period,omitempty"`
	Cpus   string `json:"cpus,omitempty"`
}

type ociPids struct {
	Limit int64 `json:"limit"`
}

// cpuPeriod is the CFS period of the CPU limit, in microseconds.
const cpuPeriod = 100000

// runcResources are the cgroup limits of the build, as docker and podman
// set them from the same Limits: the memory limit includes swap where the
// kernel accounts for swap (the build has none), the CPU limit is a CFS
// quota.
func runcResources(l Limits, cpuSet string) ociResources {
	res := ociResources{Devices: []ociDeviceRule{{Allow: false, Access: "rwm"}}}
	if l.Memory > 0 {
		res.Memory = &ociMemory{Limit: l.Memory}
		if swapAccounted() {
			swap := l.Memory
			res.Memory.Swap = &swap
		}
	}
	if l.CPUs > 0 {
		res.CPU = &ociCPU{Quota: int64(l.CPUs * cpuPeriod), Period: cpuPeriod}
	}
	if l.Pids > 0 {
		res.Pids = &ociPids{Limit: l.Pids}
	}
	if cpuSet != "" {
		if res.CPU == nil {
			res.CPU = &ociCPU{}
		}
		res.CPU.Cpus = cpuSet
	}
	return res
}

// swapAccounted tells whether runc can limit memory and swap together: on
// cgroup v1, the memory hierarchy has memsw files only when the kernel
// accounts for swap, and runc refuses a swap limit without them; on v2
// runc ignores a swap limit it cannot set to zero swap.
func swapAccounted() bool {
	mounts, err := mountinfo.Read()
	if err != nil {
		return false
	}
	for _, m := range mounts {
		if m.FSType == "cgroup" && hasOption(m.SuperOptions, "memory") {
			_, err := os.Stat(filepath.Join(m.Point, "memory.memsw.limit_in_bytes"))
			return err == nil
		}
	}
	return true
}

type ociDeviceRule struct {
	Allow  bool   `json:"allow"`
	Access string `json:"access"`
}

type ociNamespace struct {
	Type string `json:"type"`
}

// runcConfig is the container's OCI runtime config. Every choice in it is
// part of what makes a rebuild trustworthy, and matches the docker runtime:
//
//   - the image's root filesystem read-only; /tmp and HOME tmpfs; the
//     source the only writable host path; passwd and group read-only;
//   - spec's UID and GID, no supplementary groups beyond what the group
//     file gives that user, no capabilities at all, no new privileges;
//   - new pid, ipc, uts and mount namespaces, and a new network namespace
//     unless spec.Network. A new network namespace has only a loopback
//     interface, which runc brings up, so that 127.0.0.1 works as with
//     docker's --network none. With spec.Network the container shares the
//     host's network namespace (its interfaces, routes and ports), and the
//     host's /etc/resolv.conf is mounted read-only over the image's;
//   - the environment exactly as given (runc adds HOME, from the passwd
//     file, only when it is missing), hostname "reproof";
//   - runc's default /dev (a tmpfs with null, zero, full, random, urandom,
//     tty, pts and shm), device cgroup deny-all beyond those, /sys
//     read-only, and runc's default masked and read-only /proc paths;
//   - reproof's seccomp filter (seccomp.go): runc has no default one.
//
// No user namespace: runc runs as root, and the build's UID is the host's.
func runcConfig(spec *RunSpec, rootfs string) (*ociSpec, error) {
	src, err := filepath.Abs(spec.SourceDir)
	if err != nil {
		return nil, err
	}
	etc, err := filepath.Abs(spec.EtcDir)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"passwd", "group"} {
		if fi, err := os.Stat(filepath.Join(etc, f)); err != nil {
			return nil, err
		} else if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%q is not a regular file", filepath.Join(etc, f))
		}
	}
	empty := []string{}
	cfg := &ociSpec{
		Version: "1.0.2",
		Process: ociProcess{
			User:            ociUser{UID: uint32(spec.UID), GID: uint32(spec.GID)},
			Args:            spec.Args,
			Env:             containerEnv(spec),
			Cwd:             spec.WorkDir,
			Capabilities:    ociCapabilities{Bounding: empty, Effective: empty, Inheritable: empty, Permitted: empty, Ambient: empty},
			Rlimits:         buildRlimits(),
			NoNewPrivileges: true,
		},
		Root:     ociRoot{Path: rootfs, Readonly: true},
		Hostname: orDefault(spec.Hostname, "reproof"),
		Linux: ociLinux{
			Resources: runcResources(spec.Limits, spec.CPUSet),
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
			Seccomp: buildSeccomp(),
		},
	}
	if spec.Domainname != "" {
		cfg.Linux.Sysctl = map[string]string{"kernel.domainname": spec.Domainname}
	}
	for _, ns := range []string{"pid", "ipc", "uts", "mount"} {
		cfg.Linux.Namespaces = append(cfg.Linux.Namespaces, ociNamespace{Type: ns})
	}
	if !spec.Network {
		cfg.Linux.Namespaces = append(cfg.Linux.Namespaces, ociNamespace{Type: "network"})
	}

	// The system mounts, as in runc's default spec (less the cgroup
	// hierarchy, which a build has no use for).
	cfg.Mounts = []ociMount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}, mode: 0o755},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	// The build's mounts, parents before children (HOME may be under
	// /tmp, say), so that none hides another.
	build := []ociMount{
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: withTmpfsSize([]string{"nosuid", "nodev", "mode=1777"}, spec),
			mode: 0o777 | fs.ModeSticky},
		{Destination: spec.WorkDir, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", "rw", "nosuid", "nodev"}},
		{Destination: spec.Home, Type: "tmpfs", Source: "tmpfs", Options: withTmpfsSize([]string{"nosuid", "nodev", "mode=0755",
			"uid=" + strconv.Itoa(spec.UID), "gid=" + strconv.Itoa(spec.GID)}, spec), mode: 0o755},
		{Destination: "/etc/passwd", Type: "bind", Source: filepath.Join(etc, "passwd"), Options: []string{"bind", "rprivate", "ro", "nosuid", "nodev", "noexec"}, file: true},
		{Destination: "/etc/group", Type: "bind", Source: filepath.Join(etc, "group"), Options: []string{"bind", "rprivate", "ro", "nosuid", "nodev", "noexec"}, file: true},
	}
	if spec.Network {
		if fi, err := os.Stat("/etc/resolv.conf"); err == nil && fi.Mode().IsRegular() {
			build = append(build, ociMount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/etc/resolv.conf",
				Options: []string{"bind", "rprivate", "ro", "nosuid", "nodev", "noexec"}, file: true})
		}
	}
	build = append(build, runcVariationMounts(spec)...)
	slices.SortStableFunc(build, func(a, b ociMount) int {
		return strings.Count(a.Destination, "/") - strings.Count(b.Destination, "/")
	})
	cfg.Mounts = append(cfg.Mounts, build...)
	return cfg, nil
}
