package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/reproof/reproof/internal/mountinfo"
)

func TestMain(m *testing.M) { Main(m) }

func TestCheckTools(t *testing.T) {
	err := CheckTools("sh", "reproof-no-such-tool", "dockerd-no-such")
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("CheckTools = %v, want a *MissingError", err)
	}
	if got, want := strings.Join(me.What, ","), "reproof-no-such-tool,dockerd-no-such"; got != want {
		t.Errorf("missing = %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "apt-get install -y dockerd-no-such reproof-no-such-tool") {
		t.Errorf("error %q does not say what to install", err)
	}
	if err := CheckTools("sh"); err != nil {
		t.Errorf("CheckTools(sh) = %v, want nil", err)
	}
	err = CheckTools("runc-missing-" + t.Name())
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y") {
		t.Errorf("CheckTools = %v, want an install hint", err)
	}
}

// recorder captures what unmet does to a test.
type recorder struct {
	testing.TB
	skipped, failed, errored, logged string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = format }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = format }
func (r *recorder) Errorf(format string, a ...any) { r.errored = fmt.Sprintf(format, a...) }
func (r *recorder) Logf(format string, a ...any)   { r.logged = fmt.Sprintf(format, a...) }

// HaveTools: true where the tools are; else false, and a failure when
// required, a log line naming the package otherwise. RequireRoot passes
// as root and skips or fails otherwise, like RequireTools.
func TestHaveToolsAndRequireRoot(t *testing.T) {
	for _, required := range []bool{false, true} {
		v := ""
		if required {
			v = "1"
		}
		t.Setenv("CI", "")
		t.Setenv("REPROOF_REQUIRE_RUNTIME", v)
		r := &recorder{TB: t}
		if !HaveTools(r, "sh") || r.errored != "" || r.logged != "" {
			t.Errorf("required=%v: HaveTools(sh) = false, or it said %q %q", required, r.errored, r.logged)
		}
		r = &recorder{TB: t}
		if HaveTools(r, "reproof-no-such-tool") {
			t.Errorf("required=%v: HaveTools of a missing tool = true", required)
		}
		said := r.logged
		if required {
			said = r.errored
		}
		if (r.errored != "") != required || !strings.Contains(said, "apt-get install -y reproof-no-such-tool") {
			t.Errorf("required=%v: HaveTools of a missing tool failed with %q, logged %q", required, r.errored, r.logged)
		}

		r = &recorder{TB: t}
		RequireRoot(r, "this test")
		switch {
		case os.Geteuid() == 0 && (r.failed != "" || r.skipped != ""):
			t.Errorf("required=%v: RequireRoot as root: failed %q, skipped %q", required, r.failed, r.skipped)
		case os.Geteuid() != 0 && (r.failed != "") != required:
			t.Errorf("required=%v: RequireRoot as uid %d: failed %q, skipped %q", required, os.Geteuid(), r.failed, r.skipped)
		}
	}
	if err := CheckRoot("making devices"); (err == nil) != (os.Geteuid() == 0) ||
		err != nil && !strings.Contains(err.Error(), "making devices: it needs root") {
		t.Errorf("CheckRoot = %v as uid %d", err, os.Geteuid())
	}
}

func TestRequireToolsSkipsOrFails(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		wantFailed bool
	}{
		{map[string]string{"CI": "", "REPROOF_REQUIRE_RUNTIME": ""}, false},
		{map[string]string{"CI": "true", "REPROOF_REQUIRE_RUNTIME": ""}, true},
		{map[string]string{"CI": "", "REPROOF_REQUIRE_RUNTIME": "1"}, true},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		r := &recorder{TB: t}
		RequireTools(r, "reproof-no-such-tool")
		if failed := r.failed != ""; failed != tc.wantFailed {
			t.Errorf("env %v: failed = %v, want %v (skipped = %v)", tc.env, failed, tc.wantFailed, r.skipped != "")
		}
		if r.failed == "" && r.skipped == "" {
			t.Errorf("env %v: neither skipped nor failed", tc.env)
		}
	}
}

func TestNamesPath(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"dockerd\x00--host\x00unix:///tmp/rt-1/docker.sock", true},
		{"containerd\x00--config\x00/tmp/rt-1/exec/containerd/containerd.toml", true},
		{"sleep\x00/tmp/rt-1", true},
		{"dockerd\x00--host\x00unix:///tmp/rt-12/docker.sock", false},
		{"sh\x00-c\x00ls /tmp/rt-10 /tmp/rt-1/x", true},
		{"go\x00test", false},
	} {
		if got := namesPath([]byte(tc.cmdline), "/tmp/rt-1"); got != tc.want {
			t.Errorf("namesPath(%q) = %v, want %v", tc.cmdline, got, tc.want)
		}
	}
}

func testRegistryRoundTrip(t *testing.T, addr string) {
	t.Helper()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("address %q is not on 127.0.0.1", addr)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(addr + "/testenv/random:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("getting %s: %v", ref, err)
	}
	if desc.Digest != want {
		t.Errorf("digest of %s = %s, want %s", ref, desc.Digest, want)
	}
	got, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("fetching layer: %v", err)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("closing layer: %v", err)
		}
	}
}

func TestRegistry(t *testing.T) {
	testRegistryRoundTrip(t, Registry(t))
}

func TestRegistryProcess(t *testing.T) {
	testRegistryRoundTrip(t, RegistryProcess(t))
}

func TestRegistryProcessStops(t *testing.T) {
	RequireTools(t, "docker-registry")
	dir := t.TempDir()
	addr, stop, err := StartRegistryProcess(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	ref, err := name.ParseReference(addr + "/x/y:z")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(ref); err == nil {
		t.Errorf("registry on %s still answers after stop", addr)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.yml")); err != nil {
		t.Errorf("config: %v", err)
	}
}

// busyboxRootfs returns a tar of the host's static busybox as /bin/busybox
// with a few applet links, for `docker import`.
func busyboxRootfs(t *testing.T) []byte {
	t.Helper()
	RequireTools(t, "busybox")
	path, err := LookTool("busybox")
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close() //nolint:errcheck // read-only
			Unmet(t, &MissingError{What: []string{"static busybox"}, Packages: []string{"busybox-static"}})
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdrs := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	}
	for _, applet := range []string{"sh", "id", "sleep", "true", "cat"} {
		hdrs = append(hdrs, &tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Name == "bin/busybox" {
			if _, err := tw.Write(bin); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importBusybox(t *testing.T, ctx context.Context, e *DockerEngine, tag string) {
	t.Helper()
	cmd := e.Command(ctx, "import", "-", tag)
	cmd.Stdin = bytes.NewReader(busyboxRootfs(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
}

// leftovers lists what remains of an engine in dir with cgroup parent cg.
func leftovers(t *testing.T, dir, cg string) []string {
	t.Helper()
	var left []string
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		left = append(left, "directory "+dir)
	}
	mounts, err := mountinfo.Under(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		left = append(left, "mount "+m)
	}
	cgs, err := cgroupDirs(cg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cgs {
		left = append(left, "cgroup "+c)
	}
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && namesPath(b, dir) {
			left = append(left, "process "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return left
}

func runtimeSockets(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/run/containerd/s")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// TestDockerStartStop starts a private engine, runs a container in it as an
// unprivileged user, stops the engine while a second container is still
// running, and checks that nothing is left behind.
func TestDockerStartStop(t *testing.T) {
	if err := CheckDocker(); err != nil {
		Unmet(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	socketsBefore := runtimeSockets(t)

	start := time.Now()
	e, err := StartDocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dockerd %s answered after %v at %s (client %s)", e.Version, time.Since(start).Round(time.Millisecond), e.Host, e.CLI)
	stopped := false
	defer func() {
		if !stopped {
			if err := e.Stop(); err != nil {
				t.Error(err)
			}
		}
	}()
	if len(strings.TrimPrefix(e.Host, "unix://")) >= 108 {
		t.Errorf("socket path %q too long", e.Host)
	}
	if e.Version == "" {
		t.Error("empty server version")
	}

	importBusybox(t, ctx, e, "testenv-busybox:1")
	out, err := e.Output(ctx, "run", "--rm", "--network", "none", "--user", "1000:1000", "testenv-busybox:1", "/bin/id")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "uid=1000 gid=1000"; !strings.HasPrefix(got, want) {
		t.Errorf("id in container = %q, want %q", got, want)
	}
	if _, err := e.Output(ctx, "run", "-d", "--network", "none", "--name", "sleeper", "testenv-busybox:1", "/bin/sleep", "600"); err != nil {
		t.Fatal(err)
	}
	if cgs, err := cgroupDirs(e.CgroupParent); err != nil || len(cgs) == 0 {
		t.Errorf("no cgroup %q while a container runs (err %v)", e.CgroupParent, err)
	} else {
		t.Logf("container cgroups: %s", strings.Join(cgs, " "))
	}

	start = time.Now()
	stopped = true
	if err := e.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))
	if left := leftovers(t, e.Dir, e.CgroupParent); len(left) > 0 {
		t.Errorf("left behind after Stop:\n%s", strings.Join(left, "\n"))
	}
	for s := range runtimeSockets(t) {
		if !socketsBefore[s] {
			t.Logf("note: new entry /run/containerd/s/%s (another engine may have made it)", s)
		}
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestDockerShared(t *testing.T) {
	e := Docker(t)
	if e2 := Docker(t); e2 != e {
		t.Fatal("Docker returned two engines in one test process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	importBusybox(t, ctx, e, "testenv-shared:1")
	out, err := e.Output(ctx, "run", "--rm", "--network", "none", "testenv-shared:1", "/bin/sh", "-c", "echo hello from $(/bin/id -u)")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), "hello from 0"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// TestCleanStaleEngines fakes the directory of an engine whose test process
// died and checks that the next start removes it.
func TestCleanStaleEngines(t *testing.T) {
	if err := CheckDocker(); err != nil {
		Unmet(t, err)
	}
	dir, err := os.MkdirTemp(engineDirParent, engineDirPattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Error(err)
		}
	})
	// PID 2^22+1 is above the kernel's pid_max limit, so never alive.
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte("4194305 reproof-test-4194305-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cleanStaleEngines(); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale engine directory %s not removed (%v)", dir, err)
	}
}
