package rebuild

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/reproof/reproof/internal/mountinfo"
	"github.com/reproof/reproof/internal/testenv"
)

// needRunc returns the runc runtime, or skips the test where it cannot run
// (not root, or no runc), unless CI or REPROOF_REQUIRE_RUNTIME is set: then
// that is a failure.
func needRunc(t testing.TB) *runc {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "the runc runtime needs root"
	} else if _, err := exec.LookPath("runc"); err != nil {
		why = "runc is not installed (apt-get install runc)"
	} else if _, err := os.Stat(busyboxPath); err != nil {
		why = "the test image needs " + busyboxPath + " (apt-get install busybox-static)"
	}
	if why != "" {
		if os.Getenv("CI") != "" || os.Getenv("REPROOF_REQUIRE_RUNTIME") != "" {
			t.Fatalf("%s, and CI or REPROOF_REQUIRE_RUNTIME is set", why)
		}
		t.Skip(why)
	}
	return NewRunc("").(*runc)
}

// busyboxPath is Debian busybox-static's binary: static, so a layer of it
// alone is a working image.
const busyboxPath = "/bin/busybox"

var busyboxApplets = []string{
	"cat", "echo", "env", "id", "ls", "mkdir", "sh", "sleep", "stat", "touch",
	"true", "whoami",
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
// 127.0.0.1 and pulled from it with PullImage into a cache of the test's own.
func busyboxImage(t testing.TB) *PulledImage {
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
	pulled, err := PullImage(context.Background(), ref.Context().Digest(d.String()).String(), ImageOptions{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatalf("pulling the busybox image: %v", err)
	}
	return pulled
}

// TestMain stops the Docker engine the rebuild tests start (testenv.Main
// exits the process).
func TestMain(m *testing.M) { testenv.Main(m) }

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
	return &RunSpec{
		Name:       "reproof-test-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"),
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

// run runs spec and checks that Run left nothing behind: no container in
// runc's state, no cgroup, no mount under the scratch directory, which can
// be removed.
func run(ctx context.Context, t *testing.T, rt *runc, spec *RunSpec) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	spec.Stdout, spec.Stderr = &stdout, &stderr
	err := rt.Run(ctx, spec)
	checkNothingLeft(t, spec)
	return runResult{stdout.String(), stderr.String(), err, spec}
}

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

func TestRuncRun(t *testing.T) {
	rt := needRunc(t)
	img := busyboxImage(t)
	ctx := context.Background()

	for _, tc := range []struct {
		name       string
		script     string
		network    bool
		wantStdout string
		wantStderr string
	}{
		{name: "hello", script: "echo hello; echo oops >&2", wantStdout: "hello\n", wantStderr: "oops\n"},
		{name: "user", script: "id -u; id -g; id -G; id -un; whoami", wantStdout: "1000\n1000\n1000\nbuilder\nbuilder\n"},
		{name: "cwd", script: "pwd; echo $HOME", wantStdout: "/src\n/home/builder\n"},
		{name: "hostname", script: "cat /proc/sys/kernel/hostname", wantStdout: "reproof\n"},
		// Loopback only, and up (flags 0x9: IFF_LOOPBACK|IFF_UP), as with
		// docker's --network none.
		{name: "no network", script: "ls /sys/class/net; cat /sys/class/net/lo/flags", wantStdout: "lo\n0x9\n"},
		{name: "no capabilities", script: "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)|^NoNewPrivs' /proc/self/status | tr -s '\\t' ' '",
			wantStdout: "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n"},
		{name: "pid namespace", script: "echo $$", wantStdout: "1\n"},
		{name: "read-only image", script: `
			for f in /etc/x /x /bin/x /etc/passwd; do touch $f 2>/dev/null && echo "wrote $f"; done
			touch /tmp/x $HOME/x /src/x && echo writable
			stat -c '%a %u:%g' /tmp $HOME`,
			wantStdout: "writable\n1777 0:0\n755 1000:1000\n"},
		{name: "devices", script: "ls /dev/null /dev/zero /dev/urandom && echo x > /dev/null && ! ls /dev/sda 2>/dev/null",
			wantStdout: "/dev/null\n/dev/urandom\n/dev/zero\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// busybox has no grep or tr applet links; run them through sh.
			script := strings.NewReplacer("grep ", "busybox grep ", "tr ", "busybox tr ", "pwd", "busybox pwd").Replace(tc.script)
			spec := newRunSpec(t, img, "sh", "-c", script)
			spec.Network = tc.network
			res := run(ctx, t, rt, spec)
			if res.err != nil {
				t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
			}
			if res.stdout != tc.wantStdout || res.stderr != tc.wantStderr {
				t.Errorf("Run printed\n%q on stdout and %q on stderr, want\n%q and %q", res.stdout, res.stderr, tc.wantStdout, tc.wantStderr)
			}
		})
	}
}

func TestRuncEnvironment(t *testing.T) {
	rt := needRunc(t)
	res := run(context.Background(), t, rt, newRunSpec(t, busyboxImage(t), "env"))
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	got := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	slices.Sort(got)
	want := slices.Sorted(slices.Values(testEnv))
	if !slices.Equal(got, want) {
		t.Errorf("env in the container:\n%q\nwant exactly\n%q", got, want)
	}
}

func TestRuncSourceOwnership(t *testing.T) {
	rt := needRunc(t)
	spec := newRunSpec(t, busyboxImage(t), "sh", "-c", "mkdir out && echo built > out/bin")
	res := run(context.Background(), t, rt, spec)
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
	if got, _ := os.ReadFile(filepath.Join(spec.SourceDir, "out/bin")); string(got) != "built\n" {
		t.Errorf("out/bin = %q, want %q", got, "built\n")
	}
}

func TestRuncHostNetwork(t *testing.T) {
	rt := needRunc(t)
	host, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Skip(err)
	}
	var want string
	for _, e := range host {
		want += e.Name() + "\n"
	}
	spec := newRunSpec(t, busyboxImage(t), "ls", "/sys/class/net")
	spec.Network = true
	res := run(context.Background(), t, rt, spec)
	if res.err != nil {
		t.Fatalf("Run = %v; stderr:\n%s", res.err, res.stderr)
	}
	if res.stdout != want {
		t.Errorf("interfaces with Network = %q, want the host's %q", res.stdout, want)
	}
}

func TestRuncBuildFails(t *testing.T) {
	rt := needRunc(t)
	img := busyboxImage(t)
	for _, code := range []int{1, 3, 125, 127} {
		res := run(context.Background(), t, rt, newRunSpec(t, img, "sh", "-c", "echo failing >&2; exit "+strconv.Itoa(code)))
		var be *BuildError
		if !errors.As(res.err, &be) || be.ExitCode != code {
			t.Errorf("exit %d: Run = %#v, want a *BuildError with ExitCode %d", code, res.err, code)
		}
		if res.stderr != "failing\n" {
			t.Errorf("exit %d: stderr %q, want %q", code, res.stderr, "failing\n")
		}
	}
}

// A container runc cannot start is runc's failure, not the build's.
func TestRuncCannotStart(t *testing.T) {
	rt := needRunc(t)
	res := run(context.Background(), t, rt, newRunSpec(t, busyboxImage(t), "no-such-command"))
	var be *BuildError
	if res.err == nil || errors.As(res.err, &be) {
		t.Fatalf("Run = %#v, want an error that is not a *BuildError", res.err)
	}
	if !strings.Contains(res.err.Error(), "runc could not start the build") || !strings.Contains(res.err.Error(), "no-such-command") ||
		strings.Contains(res.err.Error(), "\n") {
		t.Errorf("Run = %q, want one line saying runc could not start no-such-command", res.err)
	}
}

func TestRuncTimeout(t *testing.T) {
	rt := needRunc(t)
	spec := newRunSpec(t, busyboxImage(t), "sh", "-c", "echo started; sleep 60 & sleep 60")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	res := run(ctx, t, rt, spec)
	elapsed := time.Since(start)
	if !errors.Is(res.err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded", res.err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("Run returned %s after the start, with a 2s timeout", elapsed)
	}
	if res.stdout != "started\n" {
		t.Errorf("stdout = %q, want %q", res.stdout, "started\n")
	}
	t.Logf("stopped after %s", elapsed.Round(time.Millisecond))
}

// Cancelling at any moment (while the image is unpacked, while runc
// creates the container, while the build runs) stops it all the same, and
// leaves no process behind.
func TestRuncCancelAnyTime(t *testing.T) {
	rt := needRunc(t)
	img := busyboxImage(t)
	const marker = "reproof-cancel-marker"
	for _, delay := range []time.Duration{0, 10, 25, 40, 55, 70, 90, 120, 200} {
		delay *= time.Millisecond
		spec := newRunSpec(t, img, "sh", "-c", "sleep 60; : "+marker)
		ctx, cancel := context.WithTimeout(context.Background(), delay)
		start := time.Now()
		res := run(ctx, t, rt, spec)
		elapsed := time.Since(start)
		cancel()
		if !errors.Is(res.err, context.DeadlineExceeded) {
			t.Errorf("cancelled after %s: Run = %v, want context.DeadlineExceeded", delay, res.err)
		}
		if elapsed > delay+10*time.Second {
			t.Errorf("cancelled after %s: Run returned after %s", delay, elapsed)
		}
		if pids := processesWith(t, marker); len(pids) > 0 {
			t.Errorf("cancelled after %s: processes %v still running", delay, pids)
		}
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

func TestRuncHostileImage(t *testing.T) {
	rt := needRunc(t)
	// Not under /tmp, which is a tmpfs in the container.
	outside, err := os.MkdirTemp("/var/tmp", "reproof-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	layer := layerOf(t, symlinkEntry("evil", outside), fileEntry("evil/pwned", "x"))
	img := &PulledImage{Digest: "sha256:test", Image: imageOf(t, busyboxLayer(t), layer)}
	// The symlink is followed inside the root filesystem, so the file lands
	// in it, and the build sees it there.
	res := run(context.Background(), t, rt, newRunSpec(t, img, "cat", outside+"/pwned"))
	if res.err != nil || res.stdout != "x" {
		t.Errorf("Run = %v, %q (stderr %q); want the contained file", res.err, res.stdout, res.stderr)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("the image wrote %d entries outside its root filesystem", len(entries))
	}

	// A refused layer is runc's error, naming the layer.
	bad := &PulledImage{Digest: "sha256:test", Image: imageOf(t, busyboxLayer(t), layerOf(t, fileEntry("../x", "x")))}
	res = run(context.Background(), t, rt, newRunSpec(t, bad, "true"))
	if res.err == nil || !strings.Contains(res.err.Error(), `runc: unpacking image sha256:test: layer sha256:`) ||
		!strings.Contains(res.err.Error(), `entry "../x": name has a ".." component`) {
		t.Errorf("Run = %v, want a refusal naming the layer and entry", res.err)
	}
}

func TestRuncVersion(t *testing.T) {
	rt := needRunc(t)
	v, err := rt.Version(context.Background())
	if err != nil || v == "" || strings.ContainsAny(v, " \n") || !strings.ContainsAny(v[:1], "0123456789") {
		t.Errorf("Version = %q, %v; want a version number like 1.1.5+ds1", v, err)
	}
	if _, err := NewRunc("/nonexistent/runc").Version(context.Background()); err == nil {
		t.Errorf("Version of a missing binary = nil, want an error")
	}
}

// BenchmarkRuncTrivial measures the runtime's overhead: unpacking the
// busybox image and running true.
func BenchmarkRuncTrivial(b *testing.B) {
	rt := needRunc(b)
	img := busyboxImage(b)
	for b.Loop() {
		spec := newRunSpec(b, img, "true")
		if err := rt.Run(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(spec.ScratchDir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuncUnpack measures the unpacking part of BenchmarkRuncTrivial.
func BenchmarkRuncUnpack(b *testing.B) {
	rt := needRunc(b)
	img := busyboxImage(b)
	for b.Loop() {
		dir := b.TempDir()
		if _, err := unpackRootfs(context.Background(), img.Image, dir, rt.limits); err != nil {
			b.Fatal(err)
		}
	}
}
