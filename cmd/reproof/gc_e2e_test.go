package main_test

// Crashes, end to end through the binary: `reproof rebuild` and `reproof
// verify` killed with SIGKILL (nothing of reproof runs after it) during a
// build in docker, podman and runc, a download and a compare; then `reproof
// gc`, or the next run, must leave the host clean: no container, no runc
// state, no process, no work directory, no partial download. And gc run
// beside live runs must remove only what dead ones left.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/internal/testenv"
)

// gcEnv is what the crash tests share: the fixture, the private docker
// engine and its client, and an image cache.
type gcEnv struct {
	f          *fx.Fixture
	docker     *testenv.DockerEngine
	cli        string
	imageCache string
}

func newGCEnv(t *testing.T) *gcEnv {
	env := fx.NewEnv(t)
	docker := testenv.Docker(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	return &gcEnv{f: env.Fixture(t, fx.Nimbus, fx.Faithful), docker: docker, cli: cli, imageCache: t.TempDir()}
}

// invocation runs reproof in the fixture against the private engine, with
// TMPDIR tmp and the user cache directory home.
func (e *gcEnv) invocation(tmp, home string) invocation {
	return invocation{dir: e.f.Dir, env: append(e.docker.Env(),
		"PATH="+filepath.Dir(e.cli)+":"+os.Getenv("PATH"),
		"REPROOF_IMAGE_CACHE="+e.imageCache, "XDG_CACHE_HOME="+home, "TMPDIR="+tmp)}
}

// ownerIn returns the owner recorded in the name of the one entry of dir
// named with prefix.
func ownerIn(t *testing.T, dir, prefix string) owner.ID {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
	if len(m) != 1 {
		t.Fatalf("%d entries %s* in %s, want 1", len(m), prefix, dir)
	}
	id, ok := owner.Of(filepath.Base(m[0]), prefix)
	if !ok {
		t.Fatalf("%s records no owner", m[0])
	}
	return id
}

// processesMentioning lists the processes whose command line holds s.
func processesMentioning(s string) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
		}
	}
	return found
}

// children lists the processes whose parent is pid, each as "PID START"
// (its start time, so that a reused pid is not taken for it).
func children(pid int) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name: state (3), ppid (4), ...,
		// starttime (22).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 19 && f[1] == strconv.Itoa(pid) {
			found = append(found, e.Name()+" "+f[19])
		}
	}
	return found
}

// alive reports whether a process listed by children still runs (a zombie
// does not count).
func alive(child string) bool {
	pid, start, _ := strings.Cut(child, " ")
	stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(f) > 19 && f[19] == start && f[0] != "Z"
}

// killed kills s with SIGKILL and waits for it to be gone, then for the
// kernel to kill the children it had when killed (a `docker start
// --attach`, a `runc run`): none may outlive it. It returns those
// children.
func (s *started) killed(t *testing.T) []string {
	t.Helper()
	kids := children(s.cmd.Process.Pid)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if r := s.wait(t); r.code != -1 {
		t.Fatalf("reproof exited %d, want killed\nstderr:\n%s", r.code, r.stderr)
	}
	waitGone(t, "children of the killed reproof", func() []string {
		return slices.DeleteFunc(slices.Clone(kids), func(k string) bool { return !alive(k) })
	})
	return kids
}

// waitGone waits, a minute at most, until list returns nothing.
func waitGone(t *testing.T, what string, list func() []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		left := list()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still run a minute later: %q", what, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOwnerGone fails unless, soon, no process names owner id in its
// command line (a container's monitor, such as podman's conmon, does while
// the container exists).
func checkOwnerGone(t *testing.T, id owner.ID) {
	t.Helper()
	waitGone(t, "processes naming the dead run", func() []string { return processesMentioning(id.String()) })
}

// checkClean is checkNothingLeft, and also: no process names owner id, no
// cgroup is named after its containers, and no loop device is backed by a
// file under tmp (the output filesystem of a rebuild as root).
func checkClean(t *testing.T, docker *testenv.DockerEngine, tmp string, buildArgs []string, dir string, id owner.ID) {
	t.Helper()
	checkNothingLeft(t, docker, tmp, buildArgs, dir)
	checkOwnerGone(t, id)
	if cg := cgroupsNamed("reproof-" + id.String() + "-*"); len(cg) > 0 {
		t.Errorf("cgroups of the dead run's containers are left: %q", cg)
	}
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), tmp+"/") {
			t.Errorf("loop device %s is left, backed by %s", filepath.Base(filepath.Dir(filepath.Dir(f))), strings.TrimSpace(string(b)))
		}
	}
}

// cgroupsNamed lists the cgroups runc made for a container called name, a
// glob pattern (cgroup v1: one per controller; v2: one).
func cgroupsNamed(name string) []string {
	v1, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
	v2, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", name))
	return append(v1, v2...)
}

// gcOut runs `reproof gc` with args and returns its stdout lines; it
// fails t unless it exits 0.
func gcOut(t *testing.T, inv invocation, args ...string) []string {
	t.Helper()
	r := reproof(t, inv, append([]string{"gc"}, args...)...)
	if r.code != 0 {
		t.Fatalf("reproof gc %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	if r.stdout == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
}

// leftoverLine is how gc names a thing it removes ("removed") or would.
func leftoverLine(verb, kind, name string, id owner.ID) string {
	return fmt.Sprintf("%s %s %s (left by pid %d, which is gone)", verb, kind, name, id.PID)
}

// containersOf lists the names of the engine's containers labelled with
// owner id.
func containersOf(t *testing.T, docker *testenv.DockerEngine, id owner.ID) []string {
	t.Helper()
	out, err := docker.Output(t.Context(), "ps", "--all", "--filter", "label=dev.reproof.owner="+id.String(), "--format", "{{.Names}}")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// TestKilledRuns kills reproof with SIGKILL at five points and checks that
// what it leaves is named by its owner, that its tied children died with
// it, and that `reproof gc` (or, for runc, the next rebuild) removes all of
// it: afterwards no container, runc state, build process, mount, work
// directory or partial download remains.
func TestKilledRuns(t *testing.T) {
	e := newGCEnv(t)
	f := e.f

	t.Run("rebuild/docker/build", func(t *testing.T) {
		tmp := t.TempDir()
		inv := e.invocation(tmp, t.TempDir())
		sleep := []string{"sleep", "6201"}
		s := startReproof(t, inv, "rebuild", "--runtime", "docker", "--out", "out-docker", "--command", "touch started; exec "+strings.Join(sleep, " "), f.Spec)
		s.waitFor(t, "build running", func() bool {
			m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started"))
			return len(m) > 0 && len(processesWithArgs(sleep...)) > 0
		})
		id := ownerIn(t, tmp, "reproof-rebuild-")
		work, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*"))
		if kids := s.killed(t); len(kids) == 0 {
			t.Error("the killed reproof had no child running the build")
		}

		// The container outlived reproof, labelled with its owner.
		names := containersOf(t, e.docker, id)
		if len(names) != 1 || !strings.HasPrefix(names[0], "reproof-"+id.String()+"-") {
			t.Fatalf("containers of the killed run: %q, want one named reproof-%s-…", names, id)
		}
		want := []string{
			leftoverLine("would remove", "docker container", names[0], id),
			leftoverLine("would remove", "directory", work[0], id),
		}
		if got := gcOut(t, inv, "--runtime", "docker", "--dry-run"); !slices.Equal(got, want) {
			t.Errorf("gc --dry-run printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(containersOf(t, e.docker, id)) != 1 || len(processesWithArgs(sleep...)) == 0 {
			t.Fatal("gc --dry-run removed the container")
		}
		for i := range want {
			want[i] = "removed" + strings.TrimPrefix(want[i], "would remove")
		}
		if got := gcOut(t, inv, "--runtime", "docker"); !slices.Equal(got, want) {
			t.Errorf("gc printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkClean(t, e.docker, tmp, sleep, f.Dir, id)
		if got := gcOut(t, inv, "--runtime", "docker"); len(got) > 0 {
			t.Errorf("a second gc removed more: %q", got)
		}
	})

	t.Run("rebuild/podman/build", func(t *testing.T) {
		if err := testenv.CheckTools("podman"); err != nil {
			testenv.Unmet(t, err)
		}
		tmp := t.TempDir()
		inv := e.invocation(tmp, t.TempDir())
		sleep := []string{"sleep", "6203"}
		s := startReproof(t, inv, "rebuild", "--runtime", "podman", "--out", "out-podman", "--command", "touch started; exec "+strings.Join(sleep, " "), f.Spec)
		s.waitFor(t, "build running", func() bool {
			m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started"))
			return len(m) > 0 && len(processesWithArgs(sleep...)) > 0
		})
		id := ownerIn(t, tmp, "reproof-rebuild-")
		work, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*"))
		if kids := s.killed(t); len(kids) == 0 {
			t.Error("the killed reproof had no child running the build")
		}
		out, err := exec.Command("podman", "ps", "--all", "--filter", "label=dev.reproof.owner="+id.String(), "--format", "{{.Names}}").Output()
		names := strings.Fields(string(out))
		if err != nil || len(names) != 1 {
			t.Fatalf("podman containers of the killed run: %q %v, want one", names, err)
		}
		// The host's podman is shared: other dead runs' containers may be
		// removed too, so only this run's lines are looked for.
		got := gcOut(t, inv, "--runtime", "podman")
		for _, line := range []string{
			leftoverLine("removed", "podman container", names[0], id),
			leftoverLine("removed", "directory", work[0], id),
		} {
			if !slices.Contains(got, line) {
				t.Errorf("gc printed\n%s\nwant a line\n%s", strings.Join(got, "\n"), line)
			}
		}
		checkClean(t, e.docker, tmp, sleep, f.Dir, id)
	})

	t.Run("rebuild/runc/build", func(t *testing.T) {
		tmp := t.TempDir()
		inv := e.invocation(tmp, t.TempDir())
		sleep := []string{"sleep", "6202"}
		args := []string{"rebuild", "--runtime", "runc", "--out", "out-runc", f.Spec}
		s := startReproof(t, inv, append(args, "--command", "touch started; exec "+strings.Join(sleep, " "))...)
		s.waitFor(t, "build running", func() bool {
			m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started"))
			return len(m) > 0 && len(processesWithArgs(sleep...)) > 0
		})
		id := ownerIn(t, tmp, "reproof-rebuild-")
		work, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*"))
		state := filepath.Join(work[0], "runtime", "state")
		containers, _ := os.ReadDir(state)
		if len(containers) != 1 || !strings.HasPrefix(containers[0].Name(), "reproof-"+id.String()+"-") {
			t.Fatalf("runc containers in %s: %v, want one named reproof-%s-…", state, containers, id)
		}
		cgroups := cgroupsNamed(containers[0].Name())
		if kids := s.killed(t); len(kids) == 0 {
			t.Error("the killed reproof had no child running the build")
		}
		if len(processesWithArgs(sleep...)) == 0 {
			t.Fatal("the build died with reproof: nothing left to test")
		}

		// The next rebuild removes it all before it builds.
		r := reproof(t, inv, args...)
		if r.code != 0 {
			t.Fatalf("the rebuild after the killed one: exit %d\n%s", r.code, r.stderr)
		}
		for _, line := range []string{
			"reproof: cleanup: " + leftoverLine("removed", "runc container", containers[0].Name()+" (state "+state+")", id),
			"reproof: cleanup: " + leftoverLine("removed", "directory", work[0], id),
		} {
			if !strings.Contains(r.stderr, line+"\n") {
				t.Errorf("the rebuild after the killed one does not say\n%s\nstderr:\n%s", line, r.stderr)
			}
		}
		checkClean(t, e.docker, tmp, sleep, f.Dir, id)
		for _, cg := range cgroups {
			if _, err := os.Stat(cg); err == nil {
				t.Errorf("the killed runc container's cgroup %s is left", cg)
			}
		}
	})

	t.Run("verify/download", func(t *testing.T) {
		rel := serveNimbus(t, fx.NewEnv(t))
		tmp, home := t.TempDir(), t.TempDir()
		inv := invocation{dir: rel.dir, env: []string{"TMPDIR=" + tmp, "XDG_CACHE_HOME=" + home, "REPROOF_IMAGE_CACHE=" + e.imageCache}}
		rel.srv.set(faults["stall in the body"], func(p string) bool { return p == rel.download })
		s := startReproof(t, inv, append(append([]string{"verify", "--runtime", "runc", "--json", "report.json"}, rel.pub.VerifyArgs()...), rel.spec)...)
		cacheTmp := filepath.Join(home, "reproof", "downloads", "tmp")
		s.waitFor(t, "a download in progress", func() bool {
			entries, _ := os.ReadDir(cacheTmp)
			return len(entries) > 0
		})
		id := ownerIn(t, tmp, "reproof-verify-")
		work, _ := filepath.Glob(filepath.Join(tmp, "reproof-verify-*"))
		partial, _ := os.ReadDir(cacheTmp)
		s.killed(t)

		got := gcOut(t, inv, "--runtime", "none")
		want := []string{leftoverLine("removed", "directory", work[0], id)}
		for _, p := range partial {
			want = append(want, leftoverLine("removed", "file", filepath.Join(cacheTmp, p.Name()), id))
		}
		if !slices.Equal(got, want) {
			t.Errorf("gc printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkDownloadCache(t, filepath.Join(home, "reproof", "downloads"))
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("TMPDIR is not empty: %v", left)
		}
		if left, _ := os.ReadDir(cacheTmp); len(left) > 0 {
			t.Errorf("the download cache's tmp is not empty: %v", left)
		}
		if _, err := os.Stat(filepath.Join(rel.dir, "report.json")); err == nil {
			t.Errorf("a killed verify wrote its report")
		}
	})

	t.Run("verify/runc/compare", func(t *testing.T) {
		tmp := t.TempDir()
		inv := e.invocation(tmp, t.TempDir())
		// The release's tarball again, with 200 MB of zeros in it: the
		// comparison reads through them for a while.
		command := `sh scripts/make_dist.sh amd64 >/dev/null && cd dist && d=$(ls | sed -n 's/\.tar\.gz$//p') && ` +
			`tar xzf "$d.tar.gz" && head -c 200000000 /dev/zero >"$d/build/zeros" && tar czf "$d.tar.gz" "$d" && rm -rf "$d"`
		args := append([]string{"verify", "--runtime", "runc", "--out", "out-compare", "--format", "none", "--json", "compare.json", "--command", command}, f.Published.VerifyArgs()...)
		s := startReproof(t, inv, append(args, f.Spec)...)
		// Polled often: the comparison takes a fraction of a second.
		deadline := time.Now().Add(5 * time.Minute)
		for !strings.Contains(s.stderr.String(), "reproof: compare: ") {
			if time.Now().After(deadline) {
				t.Fatalf("no comparison after 5 minutes\nstderr:\n%s", s.stderr.String())
			}
			time.Sleep(time.Millisecond)
		}
		// Stopped, so that what it holds can be seen, then killed.
		if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatalf("verify ended before it could be stopped in its comparison: %v\nstderr:\n%s", err, s.stderr.String())
		}
		select {
		case <-s.done:
			t.Fatalf("verify ended before it could be stopped in its comparison\nstderr:\n%s", s.stderr.String())
		default:
		}
		id := ownerIn(t, tmp, "reproof-verify-")
		work, _ := filepath.Glob(filepath.Join(tmp, "reproof-verify-*"))
		if m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*")); len(m) > 0 {
			t.Errorf("the rebuild's work directory is still there during the comparison: %q", m)
		}
		s.killed(t)

		want := []string{leftoverLine("removed", "directory", work[0], id)}
		if got := gcOut(t, inv, "--runtime", "docker"); !slices.Equal(got, want) {
			t.Errorf("gc printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkClean(t, e.docker, tmp, []string{"head", "-c", "200000000", "/dev/zero"}, f.Dir, id)
		if _, err := os.Stat(filepath.Join(f.Dir, "compare.json")); err == nil {
			t.Errorf("a killed verify wrote its report")
		}
	})
}

// TestGCKeepsLiveRuns runs `reproof gc` while two rebuilds are building
// (one in docker, one in runc) and a third, killed, has left its things:
// gc removes the dead run's, and the live runs' containers, runc state,
// build processes and work directories stay; both then finish normally
// when interrupted, and leave nothing.
func TestGCKeepsLiveRuns(t *testing.T) {
	e := newGCEnv(t)
	f := e.f
	tmp := t.TempDir()
	inv := e.invocation(tmp, t.TempDir())
	type run struct {
		s     *started
		sleep []string
		id    owner.ID
		work  string
	}
	start := func(runtime string, n int) *run {
		r := &run{sleep: []string{"sleep", strconv.Itoa(6300 + n)}}
		before, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*"))
		r.s = startReproof(t, inv, "rebuild", "--runtime", runtime, "--out", fmt.Sprintf("live-%d", n),
			"--command", "touch started-"+strconv.Itoa(n)+"; exec "+strings.Join(r.sleep, " "), f.Spec)
		r.s.waitFor(t, "build running", func() bool {
			m, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started-"+strconv.Itoa(n)))
			return len(m) > 0 && len(processesWithArgs(r.sleep...)) > 0
		})
		after, _ := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*"))
		for _, w := range after {
			if !slices.Contains(before, w) {
				r.work = w
			}
		}
		r.id, _ = owner.Of(filepath.Base(r.work), "reproof-rebuild-")
		return r
	}
	// The live runs first: the killed run's own start (which sweeps
	// $TMPDIR) must leave them alone too.
	live := []*run{start("docker", 1), start("runc", 2)}
	dead := start("runc", 0)
	deadState := filepath.Join(dead.work, "runtime", "state")
	deadContainers, _ := os.ReadDir(deadState)
	if len(deadContainers) != 1 {
		t.Fatalf("runc containers of the run to kill: %v, want 1", deadContainers)
	}
	dead.s.killed(t)

	want := []string{
		leftoverLine("removed", "runc container", deadContainers[0].Name()+" (state "+deadState+")", dead.id),
		leftoverLine("removed", "directory", dead.work, dead.id),
	}
	if got := gcOut(t, inv, "--runtime", "docker"); !slices.Equal(got, want) {
		t.Errorf("gc beside live runs printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if pids := processesWithArgs(dead.sleep...); len(pids) > 0 {
		t.Errorf("the killed run's build still runs after gc: %v", pids)
	}
	for _, r := range live {
		if _, err := os.Stat(r.work); err != nil {
			t.Errorf("gc removed a live run's work directory: %v", err)
		}
		if len(processesWithArgs(r.sleep...)) == 0 {
			t.Errorf("gc stopped a live run's build %q", r.sleep)
		}
	}
	if names := containersOf(t, e.docker, live[0].id); len(names) != 1 {
		t.Errorf("the live docker run's containers after gc: %q, want 1", names)
	}
	// Nothing of theirs is even listed.
	if got := gcOut(t, inv, "--runtime", "docker", "--dry-run"); len(got) > 0 {
		t.Errorf("gc --dry-run beside live runs lists %q", got)
	}

	for _, r := range live {
		r.s.cmd.Process.Signal(os.Interrupt)
	}
	for _, r := range live {
		if res := r.s.wait(t); res.code != 130 {
			t.Errorf("a live run after gc: exit %d, want 130 (interrupted)\nstderr:\n%s", res.code, res.stderr)
		}
	}
	for _, r := range append(live, dead) {
		checkClean(t, e.docker, tmp, r.sleep, f.Dir, r.id)
	}
}
