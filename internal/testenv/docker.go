package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// dockerReadyTimeout bounds the wait for a new dockerd to answer.
	dockerReadyTimeout = 30 * time.Second
	// dockerStopTimeout bounds the wait for dockerd to exit after SIGTERM;
	// it is started with --shutdown-timeout 5 for its containers.
	dockerStopTimeout = 30 * time.Second
	// engineDirPattern names the engine's directory under /tmp. Unix socket
	// paths must stay under 108 bytes, so this is short and not os.TempDir.
	engineDirPattern = "rt-*"
	engineDirParent  = "/tmp"
	// ownerFile, inside the engine directory, records the owning test
	// process and the cgroup parent, so a later run can clean up after a
	// test binary that was killed before it could.
	ownerFile = "owner"
)

// dockerTools are the commands a private engine needs.
var dockerTools = []string{"dockerd", "docker", "containerd", "containerd-shim-runc-v2", "runc"}

// DockerEngine is a private dockerd with its own socket, data root, exec
// root, containerd and cgroup parent. Containers run with --network none
// (the engine has no bridge, no iptables rules and no NAT), and registries on
// 127.0.0.1 are reachable over plain HTTP, as for any engine.
type DockerEngine struct {
	Host         string // DOCKER_HOST value: "unix:///tmp/rt-…/docker.sock"
	CLI          string // docker client to run; Debian's /usr/bin/docker when present
	Dir          string // the engine's directory: socket, data, exec root, log
	CgroupParent string // --cgroup-parent of every container
	Version      string // server version, e.g. "20.10.24+dfsg1"

	cmd    *exec.Cmd
	exited chan struct{}

	stopOnce sync.Once
	stopErr  error
}

var engineSeq atomic.Int64

// Shared engine of this test process (see Docker).
var (
	dockerOnce   sync.Once
	dockerShared *DockerEngine
	dockerErr    error
)

// Docker returns the engine shared by the tests of this test binary,
// starting it on first use. It skips (or fails, see Required) t when the
// tools or root privileges are missing, and fails t unless TestMain calls
// Main, which stops the engine at the end.
//
// The engine is shared: tests should run containers with --rm and give
// images they load or tag names of their own.
func Docker(t testing.TB) *DockerEngine {
	t.Helper()
	if err := CheckDocker(); err != nil {
		Unmet(t, err)
	}
	if !mainRunning.Load() {
		t.Fatal("testenv.Docker: TestMain must call testenv.Main(m) so the engine is stopped at the end")
	}
	dockerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*dockerReadyTimeout)
		defer cancel()
		dockerShared, dockerErr = StartDocker(ctx)
		if dockerErr == nil {
			atExit(dockerShared.Stop)
		}
	})
	if dockerErr != nil {
		t.Fatalf("testenv: %v", dockerErr)
	}
	return dockerShared
}

// CheckDocker returns a *MissingError when a private engine cannot be
// started here: a tool is missing or the process is not root.
func CheckDocker() error {
	if err := CheckTools(dockerTools...); err != nil {
		return err
	}
	if uid := os.Geteuid(); uid != 0 {
		return &MissingError{What: []string{"root"}, Reason: fmt.Sprintf("a private docker engine needs root (running as uid %d)", uid)}
	}
	if err := checkPlatform(); err != nil {
		return err
	}
	return nil
}

// DockerCLI returns the docker client to use: Debian's /usr/bin/docker if it
// exists (it matches Debian's dockerd; another client earlier in PATH may
// not), else the first docker in PATH.
func DockerCLI() (string, error) {
	const debian = "/usr/bin/docker"
	if fi, err := os.Stat(debian); err == nil && fi.Mode().IsRegular() {
		return debian, nil
	}
	return LookTool("docker")
}

// StartDocker starts a private dockerd and waits until it answers. ctx
// bounds the start only; the engine runs until Stop, which removes
// everything it left: processes, mounts, cgroups and its directory. Before
// starting, it cleans up engines whose owning process has died.
func StartDocker(ctx context.Context) (_ *DockerEngine, err error) {
	if err := CheckDocker(); err != nil {
		return nil, err
	}
	dockerd, err := LookTool("dockerd")
	if err != nil {
		return nil, err
	}
	cli, err := DockerCLI()
	if err != nil {
		return nil, err
	}
	if err := cleanStaleEngines(); err != nil {
		// Another test binary's leftovers: reported, not this engine's
		// failure.
		fmt.Fprintf(os.Stderr, "testenv: removing stale engines: %v\n", err)
	}

	dir, err := os.MkdirTemp(engineDirParent, engineDirPattern)
	if err != nil {
		return nil, fmt.Errorf("creating engine directory: %w", err)
	}
	e := &DockerEngine{
		Host:         "unix://" + filepath.Join(dir, "docker.sock"),
		CLI:          cli,
		Dir:          dir,
		CgroupParent: fmt.Sprintf("reproof-test-%d-%d", os.Getpid(), engineSeq.Add(1)),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Stop())
		}
	}()
	if len(e.Host) > 100 {
		return nil, fmt.Errorf("socket path %q is too long for a unix socket", e.Host)
	}
	owner := fmt.Sprintf("%d %s\n", os.Getpid(), e.CgroupParent)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o644); err != nil {
		return nil, err
	}
	// An empty config file keeps the host's /etc/docker/daemon.json out.
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "cli"), 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(e.logPath())
	if err != nil {
		return nil, err
	}
	defer logf.Close() //nolint:errcheck // the child writes through its own copy

	e.cmd = exec.Command(dockerd,
		"--host", e.Host,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--iptables=false",
		"--ip-masq=false",
		"--bridge=none",
		"--storage-driver", "overlay2",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", e.CgroupParent,
		"--shutdown-timeout", "5",
	)
	e.cmd.Env = daemonEnv()
	e.cmd.Stdout = logf
	e.cmd.Stderr = logf
	e.cmd.SysProcAttr = daemonSysProcAttr()
	if err := e.cmd.Start(); err != nil {
		e.cmd = nil
		return nil, fmt.Errorf("starting %s: %w", dockerd, err)
	}
	e.exited = make(chan struct{})
	go func() {
		e.cmd.Wait() //nolint:errcheck // the exit status is in e.cmd.ProcessState
		close(e.exited)
	}()

	if err := e.waitReady(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// waitReady polls `docker version` until the server answers.
func (e *DockerEngine) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dockerReadyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := e.Output(callCtx, "version", "--format", "{{.Server.Version}}")
		callCancel()
		if err == nil {
			e.Version = strings.TrimSpace(string(out))
			return nil
		}
		lastErr = err
		select {
		case <-e.exited:
			return fmt.Errorf("dockerd exited during start (%v); log %s ends:\n%s", e.cmd.ProcessState, e.logPath(), e.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("dockerd did not answer within %v (last: %v); log %s ends:\n%s", dockerReadyTimeout, lastErr, e.logPath(), e.LogTail(30))
		case <-tick.C:
		}
	}
}

func (e *DockerEngine) logPath() string { return filepath.Join(e.Dir, "dockerd.log") }

// LogTail returns the last n lines of the daemon's log.
func (e *DockerEngine) LogTail(n int) string {
	return tail(e.logPath(), n)
}

// Env returns the environment for running the docker client against this
// engine: the process environment without DOCKER_* variables, plus
// DOCKER_HOST and a private, empty DOCKER_CONFIG.
func (e *DockerEngine) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return append(env, "DOCKER_HOST="+e.Host, "DOCKER_CONFIG="+filepath.Join(e.Dir, "cli"))
}

// Command returns a docker client command against this engine.
func (e *DockerEngine) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.CLI, args...)
	cmd.Env = e.Env()
	return cmd
}

// Output runs the docker client with args and returns its stdout; a failure
// carries the command line and its stderr.
func (e *DockerEngine) Output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := e.Command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Stop stops dockerd (SIGTERM, bounded wait, then SIGKILL) and removes
// everything the engine left: containerd and shim processes, processes in
// its cgroups, mounts under its directory, its cgroups and the directory.
// It is safe to call more than once.
func (e *DockerEngine) Stop() error {
	e.stopOnce.Do(func() {
		var errs []error
		if e.cmd != nil {
			select {
			case <-e.exited:
			default:
				// dockerd would give each running container its stop
				// timeout; kill them now instead.
				e.removeContainers()
				if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					errs = append(errs, fmt.Errorf("signalling dockerd: %w", err))
				}
				select {
				case <-e.exited:
				case <-time.After(dockerStopTimeout):
					e.cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile; waited for below
					<-e.exited
					errs = append(errs, fmt.Errorf("dockerd did not exit within %v of SIGTERM; killed", dockerStopTimeout))
				}
			}
		}
		errs = append(errs, removeEngine(e.Dir, e.CgroupParent))
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// removeContainers force-removes every container, best effort.
func (e *DockerEngine) removeContainers() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := e.Output(ctx, "ps", "-aq")
	if err != nil {
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		e.Output(ctx, append([]string{"rm", "-f"}, ids...)...) //nolint:errcheck // best effort: removeEngine kills and removes what is left
	}
}

// daemonEnv is the environment of dockerd: it must find containerd, the
// shim and runc, which Debian installs in /usr/bin and /usr/sbin.
func daemonEnv() []string {
	var env []string
	path := os.Getenv("PATH")
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "DOCKER_") {
			continue
		}
		env = append(env, kv)
	}
	for _, dir := range sbinDirs {
		if !strings.Contains(":"+path+":", ":"+dir+":") {
			path += ":" + dir
		}
	}
	return append(env, "PATH="+strings.TrimPrefix(path, ":"))
}

// removeEngine removes what an engine in dir with cgroup parent cg left
// behind once dockerd is gone. Each step runs even when an earlier one
// failed; all errors are reported.
func removeEngine(dir, cg string) error {
	var errs []error
	errs = append(errs, killProcessesUsing(dir))
	errs = append(errs, unmountUnder(dir))
	errs = append(errs, removeCgroups(cg))
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %q: %w", dir, err))
	}
	return errors.Join(errs...)
}

// cleanStaleEngines removes engines whose owning test process is gone (a
// test binary killed by a timeout cannot clean up after itself).
func cleanStaleEngines() error {
	owners, err := filepath.Glob(filepath.Join(engineDirParent, engineDirPattern, ownerFile))
	if err != nil {
		return err
	}
	var errs []error
	for _, owner := range owners {
		b, err := os.ReadFile(owner)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b))
		if len(fields) != 2 || !strings.HasPrefix(fields[1], "reproof-test-") {
			continue
		}
		pid, err := strconv.Atoi(fields[0])
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		errs = append(errs, removeEngine(filepath.Dir(owner), fields[1]))
	}
	return errors.Join(errs...)
}
