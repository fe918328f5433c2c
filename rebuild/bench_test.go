package rebuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// BenchmarkRebuildOverhead measures what a rebuild with a cached image costs
// over running the same command directly in the runtime: the local clone,
// re-verifying the cached image, the passwd entry, handing the checkout to
// the build user, (runc) unpacking the root filesystem, and collecting the
// artifacts with their digests and provenance. The command is `true`, so
// the difference is reproof's own overhead. Reported per runtime as
// direct-s (the runtime alone), rebuild-s and overhead-s (the difference).
func BenchmarkRebuildOverhead(b *testing.B) {
	for _, runtime := range []string{"docker", "runc"} {
		b.Run(runtime, func(b *testing.B) {
			e := newRebuildEnv(b)
			ctx := context.Background()
			direct := e.directRun(b, runtime)

			opts := e.options(b, runtime)
			opts.Command = []string{"sh", "-c", "true > dist.txt"}
			opts.Artifacts = []string{"dist.txt"}
			// Warm the cache (and, for docker, the engine's copy).
			opts.OutDir = filepath.Join(b.TempDir(), "out")
			if _, err := Rebuild(ctx, opts); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				opts.OutDir = filepath.Join(b.TempDir(), "out")
				start := time.Now()
				if _, err := Rebuild(ctx, opts); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.StopTimer()
			perRun := total.Seconds() / float64(b.N)
			b.ReportMetric(direct.Seconds(), "direct-s")
			b.ReportMetric(perRun, "rebuild-s")
			b.ReportMetric(perRun-direct.Seconds(), "overhead-s")
		})
	}
}

// directRun times the command alone in the runtime, with the same
// isolation flags, averaged over a few runs: `docker run` of the loaded
// image, or `runc run` of an already unpacked bundle.
func (e *rebuildEnv) directRun(b *testing.B, runtime string) time.Duration {
	ctx := context.Background()
	img, err := PullImage(ctx, e.set.Toolchain.Ref, ImageOptions{CacheDir: e.cache})
	if err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	src, etc := filepath.Join(work, "src"), filepath.Join(work, "etc")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(etc, 0o755)
	home, err := writeEtc(ctx, img.Image, User{1000, 1000}, etc)
	if err != nil {
		b.Fatal(err)
	}
	spec := &RunSpec{
		Image: img, Args: []string{"sh", "-c", "true > dist.txt"}, Env: []string{"PATH=/usr/bin:/bin"},
		UID: 1000, GID: 1000, SourceDir: src, WorkDir: "/src", EtcDir: etc, Home: home,
	}
	os.Chown(src, 1000, 1000)

	const runs = 5
	var total time.Duration
	switch runtime {
	case "docker":
		docker, err := testenv.DockerCLI()
		if err != nil {
			b.Fatal(err)
		}
		rt := &cliRuntime{name: "docker", bin: docker, env: e.docker.Env()}
		id, err := rt.ensureImage(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		args := append([]string{"run", "--rm"}, rt.createArgs(spec, id)[1:]...)
		for i := 0; i < runs; i++ {
			args[3] = "reproof-bench-direct" // --name
			start := time.Now()
			cmd := exec.Command(docker, args...)
			cmd.Env = e.docker.Env()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("docker run: %v\n%s", err, out)
			}
			total += time.Since(start)
		}
	case "runc":
		// Unpack once, outside the timing: the direct baseline is runc
		// running a ready bundle.
		rt := NewRunc("")
		for i := 0; i < runs; i++ {
			spec.ScratchDir = filepath.Join(b.TempDir(), "scratch")
			os.MkdirAll(spec.ScratchDir, 0o700)
			spec.Name = "reproof-bench-direct"
			bundle, err := prepareBundleForBench(ctx, rt, spec)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if out, err := exec.Command("runc", "--root", filepath.Join(spec.ScratchDir, "state"), "run", "--bundle", bundle, spec.Name).CombinedOutput(); err != nil {
				b.Fatalf("runc run: %v\n%s", err, out)
			}
			total += time.Since(start)
		}
	}
	return total / runs
}

// prepareBundleForBench does what runc.Run does before `runc run`: unpack
// the root filesystem, create the mountpoints and write the config.
func prepareBundleForBench(ctx context.Context, rt Runtime, spec *RunSpec) (string, error) {
	if err := os.MkdirAll(filepath.Join(spec.ScratchDir, "state"), 0o700); err != nil {
		return "", err
	}
	return rt.(*runc).prepareBundle(ctx, spec, spec.ScratchDir)
}
