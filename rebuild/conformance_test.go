package rebuild

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/mountinfo"
	"github.com/reproof/reproof/internal/testenv"
)

// The runtime conformance suite: what a build sees and what Run returns
// must not depend on the runtime that ran it, so every case runs against
// docker (a private dockerd, testenv.Docker), podman and runc (as
// installed). A runtime that is missing skips its cases, or fails them when
// testenv.Required. Where runtimes legitimately differ, the case says what
// each one does and why, rather than skipping.
//
// Runtime-specific tests stay beside their runtime: runc's own root
// filesystem unpacking (rootfs_test.go, TestRuncRefusesHostileLayer), and
// what only the docker engine's API has (sandbox_test.go's probes).

// conformance is one runtime under the suite, and what its cases share:
// the busybox image, pulled once for the whole suite.
type conformance struct {
	name string
	rt   Runtime
	// binary and env are Options.RuntimeBinary and Options.RuntimeEnv for
	// a Rebuild with this runtime.
	binary string
	env    []string
	img    *PulledImage
	cache  string // the image cache img was pulled into
	// containers lists the engine's containers called name (docker and
	// podman); nil for runc, which has no engine.
	containers func(ctx context.Context, name string) ([]byte, error)
}

// conformanceRuntimes are the runtimes of the suite, each started the way
// its tests start it. start skips or fails t (testenv.Unmet) when the
// runtime cannot run here.
var conformanceRuntimes = []struct {
	name  string
	start func(t *testing.T) *conformance
}{
	{"docker", func(t *testing.T) *conformance {
		d := testenv.Docker(t)
		return &conformance{rt: NewDocker(d.CLI, d.Env()), binary: d.CLI, env: d.Env(),
			containers: func(ctx context.Context, name string) ([]byte, error) {
				return d.Output(ctx, "ps", "--all", "--quiet", "--filter", "name=^"+name+"$")
			}}
	}},
	{"podman", func(t *testing.T) *conformance {
		testenv.RequireTools(t, "podman")
		return &conformance{rt: NewPodman("", nil),
			containers: func(ctx context.Context, name string) ([]byte, error) {
				return exec.CommandContext(ctx, "podman", "ps", "--all", "--quiet", "--filter", "name=^"+name+"$").Output()
			}}
	}},
	{"runc", func(t *testing.T) *conformance {
		return &conformance{rt: needRunc(t)}
	}},
}

// conformanceCase is one case of the suite. A script case runs
// `sh -c script` with newRunSpec's settings and compares its output with
// stdout and stderr, the same for every runtime; any other case is a test
// function, which states what each runtime must do where they
// legitimately differ.
type conformanceCase struct {
	name   string
	script string
	stdout string
	stderr string
	test   func(t *testing.T, c *conformance)
}

// TestRuntimeConformance runs every case of conformanceCases with every
// runtime of conformanceRuntimes.
func TestRuntimeConformance(t *testing.T) {
	testenv.RequireRoot(t, "the conformance suite builds as UID 1000 in a directory it gives that user")
	testenv.RequireTools(t, "busybox")
	img, cache := busyboxImage(t)
	for _, r := range conformanceRuntimes {
		t.Run(r.name, func(t *testing.T) {
			c := r.start(t)
			c.name, c.img, c.cache = r.name, img, cache
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.test != nil {
						tc.test(t, c)
						return
					}
					// busybox has no grep, tr or pwd applet links; run them
					// through busybox itself.
					script := strings.NewReplacer("grep ", "busybox grep ", "tr ", "busybox tr ", "pwd", "busybox pwd").Replace(tc.script)
					res := c.run(context.Background(), t, newRunSpec(t, c.img, "sh", "-c", script))
					if res.err != nil {
						t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
					}
					if res.stdout != tc.stdout || res.stderr != tc.stderr {
						t.Errorf("Run printed\n%q on stdout and %q on stderr, want\n%q and %q", res.stdout, res.stderr, tc.stdout, tc.stderr)
					}
				})
			}
		})
	}
}

var conformanceCases = []conformanceCase{
	{name: "output", script: "echo hello; echo oops >&2; printf 'no newline'", stdout: "hello\nno newline", stderr: "oops\n"},
	{name: "large output", test: testLargeOutput},
	{name: "user", script: "id -u; id -g; id -G; id -un; whoami", stdout: "1000\n1000\n1000\nbuilder\nbuilder\n"},
	{name: "working directory", script: "pwd; echo $HOME", stdout: "/src\n/home/builder\n"},
	{name: "hostname", script: "cat /proc/sys/kernel/hostname; hostname", stdout: "reproof\nreproof\n"},
	// Loopback only, and up (flags 0x9: IFF_LOOPBACK|IFF_UP).
	{name: "no network", script: "ls /sys/class/net; cat /sys/class/net/lo/flags", stdout: "lo\n0x9\n"},
	{name: "host network", test: testHostNetwork},
	{name: "no capabilities", script: "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)|^NoNewPrivs' /proc/self/status | tr -s '\\t' ' '",
		stdout: "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n"},
	{name: "pid namespace", script: "echo $$", stdout: "1\n"},
	{name: "read-only image", script: `
		for f in /etc/x /x /bin/x /etc/passwd /etc/group; do touch $f 2>/dev/null && echo "wrote $f"; done
		touch /tmp/x $HOME/x /src/x && echo writable
		stat -c '%a %u:%g' /tmp $HOME`,
		stdout: "writable\n1777 0:0\n755 1000:1000\n"},
	{name: "devices", script: "ls /dev/null /dev/zero /dev/urandom && echo x > /dev/null && ! ls /dev/sda 2>/dev/null",
		stdout: "/dev/null\n/dev/urandom\n/dev/zero\n"},
	{name: "environment", test: testEnvironment},
	{name: "limits", test: testRlimits},
	{name: "source ownership", test: testSourceOwnership},
	{name: "exit status", test: testExitStatus},
	{name: "killed by a signal", test: testKilled},
	{name: "command not found", test: testCannotStart},
	{name: "timeout", test: testTimeout},
	{name: "cancel at any time", test: testCancelAnyTime},
	{name: "hostile image", test: testHostileImage},
	{name: "hostile outputs", test: testHostileOutputs},
	{name: "version", test: testVersion},
}

// testLargeOutput: a build's output reaches the writers whole, however
// large, and stdout and stderr stay apart.
func testLargeOutput(t *testing.T, c *conformance) {
	const n = 4 << 20
	res := c.run(context.Background(), t, newRunSpec(t, c.img, "sh", "-c", "busybox yes 0123456789abcdef | busybox head -c "+strconv.Itoa(n)+"; echo done >&2"))
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	if want := strings.Repeat("0123456789abcdef\n", n/17+1)[:n]; res.stdout != want {
		t.Errorf("stdout: %d bytes, want %d bytes of the same line", len(res.stdout), n)
	}
	if res.stderr != "done\n" {
		t.Errorf("stderr = %q, want %q", res.stderr, "done\n")
	}
}

// testHostNetwork: with Network, the build sees the host's interfaces.
func testHostNetwork(t *testing.T, c *conformance) {
	host, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatalf("listing the host's interfaces: %v", err)
	}
	var want string
	for _, e := range host {
		want += e.Name() + "\n"
	}
	spec := newRunSpec(t, c.img, "ls", "/sys/class/net")
	spec.Network = true
	res := c.run(context.Background(), t, spec)
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	if res.stdout != want {
		t.Errorf("interfaces with Network = %q, want the host's %q", res.stdout, want)
	}
}

// testEnvironment: the build's environment is exactly RunSpec.Env.
func testEnvironment(t *testing.T, c *conformance) {
	// Podman passed these from its own environment (reproof's) to the
	// container.
	t.Setenv("http_proxy", "http://user:secret@proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://user:secret@proxy.invalid:3128")
	res := c.run(context.Background(), t, newRunSpec(t, c.img, "env"))
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	got := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	slices.Sort(got)
	// HOSTNAME is the container's host name, which docker always sets.
	want := slices.Sorted(slices.Values(append(slices.Clone(testEnv), "HOSTNAME=reproof")))
	if !slices.Equal(got, want) {
		t.Errorf("env in the container:\n%q\nwant exactly\n%q", got, want)
	}
}

// testRlimits: the build's open-file and process limits, the same with
// every runtime: 1024 open files, up to 524288 or this process's own hard
// limit, whichever is lower; 16384 processes of the build user, or this
// process's own soft limit if lower. The umask is the kernel's default,
// 022 (the caller sets it).
func testRlimits(t *testing.T, c *conformance) {
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		t.Fatal(err)
	}
	hard := min(nofile.Max, 524288)
	procs := min(nproc.Cur, 16384)
	want := fmt.Sprintf("%d\n%d\n%d\n%d\n0022\n", min(1024, hard), hard, procs, procs)
	res := c.run(context.Background(), t, newRunSpec(t, c.img, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu; umask"))
	if res.err != nil || res.stdout != want {
		t.Errorf("Run = %v, printed %q; want %q", res.err, res.stdout, want)
	}
}

// testSourceOwnership: what the build writes into its source directory
// belongs to the build user on the host.
func testSourceOwnership(t *testing.T, c *conformance) {
	spec := newRunSpec(t, c.img, "sh", "-c", "mkdir out && echo built > out/bin")
	res := c.run(context.Background(), t, spec)
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	for _, p := range []string{"out", "out/bin"} {
		fi, err := os.Stat(filepath.Join(spec.SourceDir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("%s is owned by %d:%d on the host, want 1000:1000", p, st.Uid, st.Gid)
		}
	}
	if got, err := os.ReadFile(filepath.Join(spec.SourceDir, "out/bin")); err != nil || string(got) != "built\n" {
		t.Errorf("out/bin = %q, %v; want %q", got, err, "built\n")
	}
}

// testExitStatus: a build that exits non-zero is a *BuildError with its
// status, whatever the status (125 and 127 are also what the docker CLI
// exits with for its own failures).
func testExitStatus(t *testing.T, c *conformance) {
	for _, code := range []int{1, 3, 125, 126, 127, 255} {
		res := c.run(context.Background(), t, newRunSpec(t, c.img, "sh", "-c", "echo failing >&2; exit "+strconv.Itoa(code)))
		var be *BuildError
		if !errors.As(res.err, &be) || be.ExitCode != code || be.Signal != "" || be.Limit != nil {
			t.Errorf("exit %d: Run = %#v, want a *BuildError with ExitCode %d", code, res.err, code)
		}
		if res.stderr != "failing\n" {
			t.Errorf("exit %d: stderr %q, want %q", code, res.stderr, "failing\n")
		}
	}
}

// testKilled: a build killed from outside (SIGKILL to its first process,
// as the host's OOM killer or an administrator would) failed: a
// *BuildError with status 137, as every runtime reports it.
func testKilled(t *testing.T, c *conformance) {
	marker := "reproof-conformance-kill-" + randomHex(t)
	script := "echo started; sleep 60; : " + marker
	spec := newRunSpec(t, c.img, "sh", "-c", script)
	started := make(chan struct{})
	spec.Stdout = &signalWriter{signal: started}
	done := make(chan error, 1)
	var stderr bytes.Buffer
	spec.Stderr = &stderr
	go func() { done <- c.rt.Run(context.Background(), spec) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Run = %v before the build started; stderr:\n%s", err, stderr.Bytes())
	case <-time.After(time.Minute):
		t.Fatal("the build did not start within a minute")
	}
	// busybox sh runs sleep in a child it does not exec, which has the
	// same command line: the build's first process is the one whose
	// parent is not the build's.
	pids := processesWithArgs(t, "sh", "-c", script)
	var first []int
	for _, pid := range pids {
		if !slices.Contains(pids, parentOf(t, pid)) {
			first = append(first, pid)
		}
	}
	if len(first) != 1 {
		t.Fatalf("processes running the build: %v, of which %v have a parent of another; want one", pids, first)
	}
	if err := syscall.Kill(first[0], syscall.SIGKILL); err != nil {
		t.Fatalf("killing the build: %v", err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of the build's death")
	}
	c.checkNothingLeft(t, spec)
	var be *BuildError
	if !errors.As(err, &be) || be.ExitCode != 137 || be.Limit != nil {
		t.Errorf("Run = %#v, want a *BuildError with ExitCode 137", err)
	}
	if left := processesWith(t, marker); len(left) > 0 {
		t.Errorf("processes %v still running", left)
	}
}

// signalWriter closes signal at its first write.
type signalWriter struct {
	signal chan struct{}
	once   bool
}

func (w *signalWriter) Write(p []byte) (int, error) {
	if !w.once {
		w.once = true
		close(w.signal)
	}
	return len(p), nil
}

// testCannotStart: a container the runtime cannot start is the runtime's
// failure, not the build's: an error that is not a *BuildError, on one
// line, naming the runtime and the command.
func testCannotStart(t *testing.T, c *conformance) {
	res := c.run(context.Background(), t, newRunSpec(t, c.img, "no-such-command"))
	var be *BuildError
	if res.err == nil || errors.As(res.err, &be) {
		t.Fatalf("Run = %#v, want an error that is not a *BuildError", res.err)
	}
	msg := res.err.Error()
	if !strings.Contains(msg, c.name+" could not ") || !strings.Contains(msg, "no-such-command") || strings.Contains(msg, "\n") {
		t.Errorf("Run = %q, want one line saying %s could not start no-such-command", msg, c.name)
	}
}

// testTimeout: a build whose context ends is stopped promptly, background
// processes and all, and Run says why; what it printed before is kept.
func testTimeout(t *testing.T, c *conformance) {
	marker := "reproof-conformance-timeout-" + randomHex(t)
	spec := newRunSpec(t, c.img, "sh", "-c", "echo started; sleep 60 & sleep 60; : "+marker)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	res := c.run(ctx, t, spec)
	elapsed := time.Since(start)
	if !errors.Is(res.err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded", res.err)
	}
	var be *BuildError
	if errors.As(res.err, &be) {
		t.Errorf("Run = %#v, a *BuildError; a stopped build has no result", res.err)
	}
	if elapsed > 30*time.Second {
		t.Errorf("Run returned %s after the start, with a 3s timeout", elapsed)
	}
	if res.stdout != "started\n" {
		t.Errorf("stdout = %q, want %q", res.stdout, "started\n")
	}
	if left := processesWith(t, marker); len(left) > 0 {
		t.Errorf("processes %v still running", left)
	}
}

// testCancelAnyTime: cancelling at any moment (while the image is loaded
// or unpacked, while the container is created, while the build runs)
// stops it all the same, and leaves no process behind.
func testCancelAnyTime(t *testing.T, c *conformance) {
	const marker = "reproof-cancel-marker"
	for _, delay := range []time.Duration{0, 10, 40, 70, 120, 200, 400} {
		delay *= time.Millisecond
		spec := newRunSpec(t, c.img, "sh", "-c", "sleep 60; : "+marker)
		ctx, cancel := context.WithTimeout(context.Background(), delay)
		start := time.Now()
		res := c.run(ctx, t, spec)
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(res.err, context.DeadlineExceeded) {
			t.Errorf("cancelled after %s: Run = %v, want context.DeadlineExceeded", delay, res.err)
		}
		if elapsed > delay+30*time.Second {
			t.Errorf("cancelled after %s: Run returned after %s", delay, elapsed)
		}
		if pids := processesWith(t, marker); len(pids) > 0 {
			t.Errorf("cancelled after %s: processes %v still running", delay, pids)
		}
	}
}

// testHostileImage: a layer holding a symlink to a host directory, then a
// file through it, writes nothing outside the image on any runtime. What
// the build then sees differs (see below); that the host is untouched does
// not.
func testHostileImage(t *testing.T, c *conformance) {
	// Not under /tmp, which is a tmpfs in the container.
	outside, err := os.MkdirTemp("/var/tmp", "reproof-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(outside); err != nil {
			t.Error(err)
		}
	})
	layer := layerOf(t, symlinkEntry("evil", outside), fileEntry("evil/pwned", "x"))
	img := pinnedImage(t, imageOf(t, busyboxLayer(t), layer))
	res := c.run(context.Background(), t, newRunSpec(t, img, "cat", outside+"/pwned"))
	switch c.name {
	case "runc":
		// runc's unpacker resolves the symlink inside the root
		// filesystem: the file lands in it, and the build sees it there.
		if res.err != nil || res.stdout != "x" {
			t.Errorf("Run = %v, %q (stderr %q); want the contained file", res.err, res.stdout, res.stderr)
		}
	default:
		// The engines refuse to load the image (docker: "open
		// /evil/pwned: no such file or directory", in the chroot it
		// unpacks in; podman hides why behind the last format it tried):
		// the runtime's error, before anything runs.
		var be *BuildError
		if res.err == nil || errors.As(res.err, &be) || !strings.HasPrefix(res.err.Error(), "loading the image into "+c.name+": ") {
			t.Errorf("Run = %#v, want an error loading the image into %s", res.err, c.name)
		}
	}
	if entries, err := os.ReadDir(outside); err != nil || len(entries) != 0 {
		t.Errorf("the image wrote %d entries outside its root filesystem (%v)", len(entries), err)
	}
}

// testHostileOutputs: what a build leaves in its checkout (a directory
// without permissions, read-only trees, a symlink to the root, a FIFO) is
// removed after the build, and never followed or opened: a FIFO named as
// an artifact fails the rebuild at once, naming it.
func testHostileOutputs(t *testing.T, c *conformance) {
	testenv.RequireTools(t, "git")
	repo, commit := fixtureRepo(t)
	tmp := t.TempDir()
	opts := func(command string, artifacts ...string) Options {
		return Options{
			Repo: repo, Tag: "v1.0", Commit: commit,
			Image:        c.img.Ref,
			ImageOptions: ImageOptions{CacheDir: c.cache},
			Runtime:      c.name, RuntimeBinary: c.binary, RuntimeEnv: c.env,
			Command: []string{command}, Shell: true,
			Artifacts: artifacts,
			OutDir:    filepath.Join(t.TempDir(), "out"),
			TempDir:   tmp,
			Timeout:   2 * time.Minute,
			Getenv:    func(string) string { return "" },
		}
	}
	left := func() {
		t.Helper()
		if entries, err := os.ReadDir(tmp); err != nil || len(entries) > 0 {
			t.Errorf("work directory left behind: %v %v", entries, err)
		}
		if mounts, err := mountinfo.Under(tmp); err != nil || len(mounts) > 0 {
			t.Errorf("mounts left behind: %q %v", mounts, err)
		}
	}
	const junk = `set -e
		mkdir -p dist locked ro/deep && echo binary > dist/app && chmod 0555 dist/app
		echo x > locked/f && chmod 0 locked
		echo y > ro/deep/f && chmod -R a-w ro
		ln -s / dist/root && ln -s /etc/passwd dist/passwd
		busybox mkfifo fifo`
	res, err := Rebuild(context.Background(), opts(junk, "dist/app"))
	if err != nil {
		t.Fatalf("Rebuild = %v", err)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].Name != "app" || res.Artifacts[0].Size != int64(len("binary\n")) {
		t.Errorf("artifacts %+v, want app alone", res.Artifacts)
	}
	fi, err := os.Stat(filepath.Join(res.OutDir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	// An executable artifact is 0755, whatever the build made it.
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() || fi.Mode().Perm() != 0o755 {
		t.Errorf("app: owner %d, mode %v; want %d and 0755", st.Uid, fi.Mode().Perm(), os.Getuid())
	}
	left()

	for _, tc := range []struct{ pattern, want string }{
		{"fifo", `artifact fifo: not a regular file`},
		{"dist/root", `"dist/root"`},
		{"dist/passwd", `"dist/passwd"`},
	} {
		done := make(chan error, 1)
		go func() {
			_, err := Rebuild(context.Background(), opts(junk, tc.pattern))
			done <- err
		}()
		select {
		case err = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s as an artifact: Rebuild hangs", tc.pattern)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s as an artifact: Rebuild = %v, want an error with %s", tc.pattern, err, tc.want)
		}
		left()
	}
}

// testVersion: the runtime reports a version number for the provenance;
// a runtime whose program is missing is an error.
func testVersion(t *testing.T, c *conformance) {
	v, err := c.rt.Version(context.Background())
	if err != nil || v == "" || strings.ContainsAny(v, " \n") || !strings.ContainsAny(v[:1], "0123456789") {
		t.Errorf("Version = %q, %v; want a version number like 1.1.5+ds1", v, err)
	}
	var missing Runtime
	switch c.name {
	case "docker":
		missing = NewDocker("/nonexistent/docker", nil)
	case "podman":
		missing = NewPodman("/nonexistent/podman", nil)
	case "runc":
		missing = NewRunc("/nonexistent/runc")
	}
	if v, err := missing.Version(context.Background()); err == nil {
		t.Errorf("Version of a missing binary = %q, nil; want an error", v)
	}
}

// busyboxPath is Debian busybox-static's binary: static, so a layer of it
// alone is a working image.
const busyboxPath = "/bin/busybox"

var busyboxApplets = []string{
	"cat", "echo", "env", "id", "ls", "mkdir", "sh", "sleep", "stat", "touch",
	"true", "whoami", "hostname",
}

// busyboxLayer is a layer with /bin/busybox and its applets as symlinks,
// and no /etc at all: the runtime must make the mountpoints it needs.
func busyboxLayer(t testing.TB) v1.Layer {
	t.Helper()
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	entries := []tarEntry{dirEntry("bin/"), {name: "bin/busybox", body: string(bb), mode: 0o755}}
	for _, a := range busyboxApplets {
		entries = append(entries, symlinkEntry("bin/"+a, "busybox"))
	}
	return layerOf(t, entries...)
}

// busyboxImage is the busybox image, pushed to a ggcr registry on
// 127.0.0.1 (which serves until t ends) and pulled from it with PullImage
// into a cache of the test's own, which it returns too. The image's Ref
// is pinned, for Rebuild.
func busyboxImage(t testing.TB) (*PulledImage, string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	img := imageOf(t, busyboxLayer(t))
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/busybox:test")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing the busybox image: %v", err)
	}
	cache := t.TempDir()
	pulled, err := PullImage(context.Background(), ref.Context().Digest(d.String()).String(), ImageOptions{CacheDir: cache})
	if err != nil {
		t.Fatalf("pulling the busybox image: %v", err)
	}
	return pulled, cache
}

// pinnedImage is img as Run takes it, named by its digest.
func pinnedImage(t testing.TB, img v1.Image) *PulledImage {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return &PulledImage{Digest: d.String(), Image: img}
}

// runResult is one Run and what it left.
type runResult struct {
	stdout, stderr string
	err            error
	spec           *RunSpec
}

var testEnv = []string{
	"PATH=/bin",
	"HOME=/home/builder",
	"SOURCE_DATE_EPOCH=1700000000",
	"TZ=UTC",
	"LC_ALL=C.UTF-8",
	"SPACED=a b  c",
}

// newRunSpec is a RunSpec for args in img as 1000:1000, with a source
// directory owned by that user and passwd/group files naming it "builder".
// Its name is a build container's (ownedName): `reproof gc` removes what a
// killed test leaves.
func newRunSpec(t testing.TB, img *PulledImage, args ...string) *RunSpec {
	t.Helper()
	src, etc, scratch := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Chown(src, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000:Builder:/home/builder:/bin/sh\n",
		"group":  "root:x:0:\nbuilder:x:1000:\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &RunSpec{
		Name:       ownedName(id),
		Image:      img,
		Args:       args,
		Env:        slices.Clone(testEnv),
		UID:        1000,
		GID:        1000,
		SourceDir:  src,
		WorkDir:    "/src",
		EtcDir:     etc,
		Home:       "/home/builder",
		ScratchDir: scratch,
	}
}

// randomHex is 12 random hex digits, for markers.
func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(uint64(b[0])<<40|uint64(b[1])<<32|uint64(b[2])<<24|uint64(b[3])<<16|uint64(b[4])<<8|uint64(b[5]), 16)
}

// run runs spec with c's runtime and checks that Run left nothing behind.
func (c *conformance) run(ctx context.Context, t *testing.T, spec *RunSpec) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	err := c.rt.Run(ctx, spec)
	c.checkNothingLeft(t, spec)
	return runResult{stdout.String(), stderr.String(), err, spec}
}

// checkNothingLeft fails t if Run left something of spec behind: a
// container in the engine, in runc's state or in the cgroups, a mount under
// the scratch directory, which must be removable.
func (c *conformance) checkNothingLeft(t *testing.T, spec *RunSpec) {
	t.Helper()
	if c.containers != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := c.containers(ctx, spec.Name)
		cancel()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("%s containers named %s after Run: %q, %v; want none", c.name, spec.Name, out, err)
		}
	}
	checkNothingLeft(t, spec)
}

// checkNothingLeft is conformance.checkNothingLeft without an engine to
// ask: runc's state, the cgroups, the mounts and the scratch directory.
func checkNothingLeft(t *testing.T, spec *RunSpec) {
	t.Helper()
	state := filepath.Join(spec.ScratchDir, "state")
	if _, err := os.Stat(state); err == nil {
		out, err := exec.Command("runc", "--root", state, "list", "--quiet").CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("runc list after Run: %q, %v; want no containers", out, err)
		}
	}
	if cgroups, _ := filepath.Glob("/sys/fs/cgroup/*/" + spec.Name); len(cgroups) > 0 {
		t.Errorf("cgroups left after Run: %q", cgroups)
	}
	if mounts, err := mountinfo.Under(spec.ScratchDir); err != nil || len(mounts) > 0 {
		t.Errorf("mounts under the scratch directory after Run: %q, %v", mounts, err)
	}
	if err := os.RemoveAll(spec.ScratchDir); err != nil {
		t.Errorf("removing the scratch directory after Run: %v", err)
	}
}

// processesWith lists the processes whose command line contains s.
func processesWith(t *testing.T, s string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(filepath.Dir(f)))
		}
	}
	return pids
}

// parentOf is the parent process of pid.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...: comm may hold anything but its last ')'.
	_, rest, _ := bytes.Cut(b[bytes.LastIndexByte(b, ')')+1:], []byte(" "))
	f := strings.Fields(string(rest))
	if len(f) < 2 {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return ppid
}

// processesWithArgs lists the processes whose argv is exactly args.
func processesWithArgs(t *testing.T, args ...string) []int {
	t.Helper()
	want := []byte(strings.Join(args, "\x00") + "\x00")
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range cmdlines {
		if b, err := os.ReadFile(f); err == nil && bytes.Equal(b, want) {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
	}
	return pids
}
