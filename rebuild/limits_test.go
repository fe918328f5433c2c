package rebuild

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// Hostile builds meet their limits with every runtime: a fork bomb, a
// memory hog, a build that fills /tmp and one that writes past the output
// limit are stopped at the limit and fail naming it (a *BuildError, exit 4
// for the CLI), leaving nothing behind; the host keeps working; and a
// build within the same limits succeeds.
func TestBuildLimits(t *testing.T) {
	e := newRebuildEnv(t)
	ctx := context.Background()
	small := Limits{Pids: 64, Memory: 64 << 20, CPUs: 1, TmpfsSize: 4 << 20, OutputSize: 8 << 20}
	cases := []struct {
		name    string
		command string
		limit   string // LimitReached.Name
		message string
	}{
		// Every level forks two and exits; once forks fail the bomb
		// withers, so pid 1 sleeps on: only the limit can end it.
		{"fork bomb", "(b() { b | b & }; b) & exec sleep 300", "pids_limit", "build killed: process limit 64 reached"},
		// A string that doubles until the kernel kills the subshell;
		// pid 1 sleeps on.
		{"memory hog", "(x=0123456789abcdef; while :; do x=$x$x; done); exec sleep 300", "memory", "build killed: memory limit 64 MiB reached"},
		// The same as the whole build, which the kernel's kill ends.
		{"memory hog exits", "x=0123456789abcdef; while :; do x=$x$x; done", "memory", "build killed: memory limit 64 MiB reached"},
		{"full /tmp", "dd if=/dev/zero of=/tmp/fill bs=65536 count=1000; exec sleep 300", "tmpfs_size", "build stopped: /tmp exceeded 4 MiB"},
		{"output", "dd if=/dev/zero of=fill bs=65536 count=1000; exec sleep 300", "output_limit", "build stopped: output exceeded 8 MiB"},
		// Written at once and exited 0: the last look catches it.
		{"output at exit", "dd if=/dev/zero of=fill bs=65536 count=1000; mkdir -p dist; echo x > dist/x", "output_limit", "build stopped: output exceeded 8 MiB"},
	}
	for _, runtime := range buildRuntimes {
		t.Run(runtime, func(t *testing.T) {
			e.require(t, runtime)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					opts := e.options(t, runtime)
					opts.Command, opts.Shell = []string{tc.command}, true
					opts.Limits = small
					start := time.Now()
					_, err := Rebuild(ctx, opts)
					var be *BuildError
					if !errors.As(err, &be) || be.Limit == nil || be.Limit.Name != tc.limit || err.Error() != tc.message {
						t.Fatalf("Rebuild = %v, want a build error %q", err, tc.message)
					}
					if took := time.Since(start); took > 2*time.Minute {
						t.Errorf("stopping the build at its limit took %s", took)
					}
					e.checkClean(t)
					// The host still forks and allocates.
					if out, err := exec.Command("sh", "-c", "x=$(seq 1 100000 | wc -l); echo $x").Output(); err != nil || strings.TrimSpace(string(out)) != "100000" {
						t.Errorf("the host after the build: %q %v", out, err)
					}
				})
			}
			// A build within the same limits is not disturbed by them.
			opts := e.options(t, runtime)
			opts.Limits = small
			res, err := Rebuild(ctx, opts)
			if err != nil {
				t.Fatalf("a build within its limits: %v", err)
			}
			if res.Limits != small {
				t.Errorf("Result.Limits = %+v, want %+v", res.Limits, small)
			}
			e.checkClean(t)
		})
	}
}

// The limits reach docker and podman as flags, runc as cgroup resources
// and tmpfs options, from the same Limits.
func TestLimitsApplied(t *testing.T) {
	l := Limits{Pids: 64, Memory: 64 << 20, CPUs: 1.5, TmpfsSize: 4 << 20, OutputSize: 8 << 20}
	spec := &RunSpec{Name: "reproof-x", Args: []string{"sh"}, UID: 1000, GID: 1000, SourceDir: "/s", WorkDir: "/src",
		EtcDir: "/e", Home: "/home/builder", ScratchDir: "/x", Limits: l}
	args := (&cliRuntime{name: "docker"}).createArgs(spec, "sha256:abc")
	for _, want := range [][]string{
		{"--pids-limit", "64"}, {"--memory", "67108864"}, {"--memory-swap", "67108864"}, {"--cpus", "1.5"},
		{"--tmpfs", "/tmp:rw,exec,mode=1777,size=4194304"},
		{"--tmpfs", "/home/builder:rw,exec,mode=0755,uid=1000,gid=1000,size=4194304"},
	} {
		if i := slices.Index(args, want[0]); i < 0 || !slices.Contains(args[i:], want[1]) {
			t.Errorf("docker create %v: no %v", args, want)
		}
	}
	res := runcResources(l, "")
	if res.Pids == nil || res.Pids.Limit != 64 || res.Memory == nil || res.Memory.Limit != 64<<20 ||
		res.CPU == nil || res.CPU.Quota != 150000 || res.CPU.Period != 100000 {
		t.Errorf("runcResources(%+v) = %+v", l, res)
	}
	if res.Memory != nil && res.Memory.Swap != nil && *res.Memory.Swap != l.Memory {
		t.Errorf("runc swap limit %d, want %d (memory and swap together: no swap)", *res.Memory.Swap, l.Memory)
	}
	for _, o := range [][]string{withTmpfsSize(nil, spec)} {
		if !slices.Contains(o, "size=4194304") {
			t.Errorf("runc tmpfs options %v: no size", o)
		}
	}
}

func TestResolveLimits(t *testing.T) {
	l, err := ResolveLimits(Limits{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if l.Pids != DefaultPids || l.Memory <= 0 || l.Memory > DefaultMemory || l.CPUs < 1 ||
		l.TmpfsSize != min(int64(DefaultTmpfsSize), l.Memory) || l.OutputSize <= 0 || l.OutputSize > DefaultOutputSize {
		t.Errorf("ResolveLimits(zero) = %+v", l)
	}
	for _, bad := range []Limits{{Pids: 2}, {Memory: 1 << 20}, {CPUs: -1}, {TmpfsSize: 1}, {OutputSize: 1}} {
		if _, err := ResolveLimits(bad, t.TempDir()); err == nil {
			t.Errorf("ResolveLimits(%+v) accepted", bad)
		}
	}
	for n, want := range map[int64]string{1000: "1000 bytes", 64 << 20: "64 MiB", 3 << 29: "1.5 GiB", 8 << 30: "8 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// The output volume: a filesystem of its own as root, which holds little
// more than the limit and is gone after Close; Exceeded once the limit is
// reached.
func TestOutputVolume(t *testing.T) {
	testenv.RequireRoot(t, "the output filesystem")
	work := t.TempDir()
	dir := filepath.Join(work, "checkout")
	v, err := newOutputVolume(context.Background(), dir, work, 8<<20, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if v.Enforcement() != "filesystem" {
		t.Fatalf("Enforcement() = %q, want filesystem", v.Enforcement())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a new output volume holds %v", entries)
	}
	if v.Exceeded() {
		t.Errorf("an empty volume exceeded its limit")
	}
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	written := 0
	for range 64 {
		if _, err := f.Write(chunk); err != nil {
			break
		}
		written++
	}
	f.Close()
	if written < 8 || written >= 64 {
		t.Errorf("wrote %d MiB into an 8 MiB volume", written)
	}
	if !v.Exceeded() {
		t.Errorf("%d MiB written, not Exceeded", written)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), dir) {
		t.Errorf("still mounted after Close")
	}
	// The image is sparse: what it takes on disk is what was written.
	var st = mustStat(t, filepath.Join(work, "output.ext4"))
	if st > int64(written+4)<<20 {
		t.Errorf("the image takes %d bytes on disk for %d MiB written", st, written)
	}
}

func mustStat(t *testing.T, path string) int64 {
	out, err := exec.Command("du", "-B1", "--", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
