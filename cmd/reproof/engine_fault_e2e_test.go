package main_test

// A container engine that stops answering: a private dockerd stopped with
// SIGSTOP before a run and in the middle of a build. reproof must return
// within its deadlines, exit 2 naming the call the engine did not answer,
// never claim a timeout or a removal that did not happen, and leave
// nothing of its own behind but what the frozen engine holds.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/testenv"
)

// frozenEngine is a private dockerd of the test's own, which it can stop
// and continue without disturbing the engine the other tests share.
type frozenEngine struct {
	*testenv.DockerEngine
	pid int
}

func newFrozenEngine(t *testing.T) *frozenEngine {
	t.Helper()
	if err := testenv.CheckDocker(); err != nil {
		testenv.Unmet(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := testenv.StartDocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(e.Dir, "dockerd.pid"))
	pid, perr := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || perr != nil || pid <= 0 {
		t.Fatalf("the engine's pid file: %q %v %v (stopping it: %v)", raw, err, perr, e.Stop())
	}
	f := &frozenEngine{DockerEngine: e, pid: pid}
	t.Cleanup(func() {
		f.thaw(t) // a stopped dockerd cannot be stopped
		if err := e.Stop(); err != nil {
			t.Errorf("stopping the engine: %v", err)
		}
	})
	return f
}

func (f *frozenEngine) freeze(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(f.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
}

func (f *frozenEngine) thaw(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(f.pid, syscall.SIGCONT); err != nil && err != syscall.ESRCH {
		t.Error(err)
	}
}

// TestFrozenEngine: with dockerd stopped before the run, `verify --timeout
// 10s` returns within the engine deadline that timeout implies (10s, not
// the default minute), exit 2, naming the call. Stopped in the middle of a
// build, `rebuild` returns once its timeout and two engine deadlines have
// passed: exit 2, saying the engine did not answer and that the container
// was not removed, never that the build timed out or its container was
// removed; once the engine continues, the container it kept is there, and
// nothing else is left.
func TestFrozenEngine(t *testing.T) {
	env := fx.NewEnv(t)
	engine := newFrozenEngine(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	f := env.Fixture(t, fx.Nimbus, fx.Faithful)
	imageCache := t.TempDir()
	invocationFor := func(tmp string) invocation {
		return invocation{dir: f.Dir, env: append(engine.Env(),
			"PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"),
			"REPROOF_IMAGE_CACHE="+imageCache, "XDG_CACHE_HOME="+t.TempDir(), "TMPDIR="+tmp)}
	}

	t.Run("before the run", func(t *testing.T) {
		tmp := t.TempDir()
		engine.freeze(t)
		defer engine.thaw(t)
		start := time.Now()
		s := startReproof(t, invocationFor(tmp), append(append([]string{"verify", "--runtime", "docker", "--timeout", "10s",
			"--out", "frozen-out", "--format", "none"}, f.Published.VerifyArgs()...), f.Spec)...)
		r := s.wait(t)
		took := time.Since(start)
		want := "the docker engine did not answer version within 10s"
		if line := lastLine(r.stderr); r.code != 2 || !strings.Contains(line, want) {
			t.Errorf("exit %d, last line %q; want 2 and %q\nstderr:\n%s", r.code, line, want, r.stderr)
		}
		if took > 90*time.Second {
			t.Errorf("reproof took %s to give up on a frozen engine", took)
		}
		t.Logf("returned after %s", took.Round(100*time.Millisecond))
		if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
			t.Errorf("TMPDIR is not empty: %v (%v)", left, err)
		}
	})

	t.Run("mid-build", func(t *testing.T) {
		tmp := t.TempDir()
		// The build finishes 3 s after the engine stops; the run's
		// timeout comes later. Whether the build ran out of time is not
		// what reproof can know: it must say the engine did not answer.
		sleep := []string{"sleep", "3"}
		args := []string{"rebuild", "--runtime", "docker", "--out", "frozen-mid", "--timeout", "20s", "--engine-timeout", "4s",
			"--command", "touch started; " + strings.Join(sleep, " ") + "; sh scripts/make_dist.sh amd64", f.Spec}
		s := startReproof(t, invocationFor(tmp), args...)
		s.waitFor(t, "build running", func() bool {
			m, err := filepath.Glob(filepath.Join(tmp, "reproof-rebuild-*", "checkout", "*", "started"))
			if err != nil {
				t.Fatal(err)
			}
			return len(m) > 0
		})
		engine.freeze(t)
		start := time.Now()
		r := s.wait(t)
		took := time.Since(start)
		line := lastLine(r.stderr)
		for _, want := range []string{"the docker engine did not answer inspect within 4s", "was not removed: the docker engine did not answer rm within 4s"} {
			if !strings.Contains(line, want) {
				t.Errorf("last line %q; want %q", line, want)
			}
		}
		if r.code != 2 || strings.Contains(r.stderr, "timed out") || strings.Contains(r.stderr, "container removed") {
			t.Errorf("exit %d; want 2, and no claim of a timeout or a removal\nstderr:\n%s", r.code, r.stderr)
		}
		// 20 s of timeout, then inspect and rm: 4 s each, and a little.
		if took > 90*time.Second {
			t.Errorf("reproof took %s to return", took)
		}
		t.Logf("returned %s after the engine stopped: %s", took.Round(100*time.Millisecond), line)

		// The engine comes back: the container reproof said it could not
		// remove is there; once it is removed nothing is left.
		engine.thaw(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := engine.Output(ctx, "ps", "--all", "--quiet", "--filter", "name=reproof-")
		if err != nil || len(strings.Fields(string(out))) != 1 {
			t.Errorf("containers after the engine continued: %q %v; want the one reproof reported", out, err)
		}
		for _, id := range strings.Fields(string(out)) {
			if _, err := engine.Output(ctx, "rm", "--force", id); err != nil {
				t.Error(err)
			}
		}
		checkNothingLeft(t, engine.DockerEngine, tmp, []string{"sleep", "3"}, f.Dir)
		if _, err := os.Stat(filepath.Join(f.Dir, "frozen-mid")); err == nil {
			t.Errorf("a run that failed left its output directory")
		}
	})
}

// TestBuildLimitsCLI: a build that reaches a limit is a failed build
// through the binary: `rebuild` exits 4 naming the limit, `verify` reports
// build-failed with the limit as the reason; the provenance of a build
// within its limits records them.
func TestBuildLimitsCLI(t *testing.T) {
	env := fx.NewEnv(t)
	f := env.Fixture(t, fx.Nimbus, fx.Faithful)
	inv := invocation{dir: f.Dir, env: []string{"REPROOF_IMAGE_CACHE=" + t.TempDir(), "TMPDIR=" + t.TempDir()}}

	r := reproof(t, inv, "rebuild", "--runtime", "runc", "--out", "bomb-out", "--pids-limit", "64",
		"--command", "(b() { b | b & }; b) & exec sleep 300", f.Spec)
	if want := "reproof: build failed: build killed: process limit 64 reached"; r.code != 4 || !strings.Contains(r.stderr, want) {
		t.Errorf("fork bomb: exit %d; want 4 and %q\nstderr:\n%s", r.code, want, r.stderr)
	}

	r = reproof(t, inv, append(append([]string{"verify", "--runtime", "runc", "--out", "tmp-out", "--tmpfs-size", "1MiB",
		"--command", "dd if=/dev/zero of=/tmp/fill bs=65536 count=100; exec sleep 300", "--format", "none", "--json", "limit.json"},
		f.Published.VerifyArgs()...), f.Spec)...)
	var rep verifyJSON
	raw, err := os.ReadFile(filepath.Join(f.Dir, "limit.json"))
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || r.code != 4 || rep.Verdict != "build-failed" || !strings.Contains(rep.Reason, "build stopped: /tmp exceeded 1 MiB") {
		t.Errorf("verify with a full /tmp: exit %d, verdict %q, reason %q (%v)\nstderr:\n%s", r.code, rep.Verdict, rep.Reason, err, r.stderr)
	}

	r = reproof(t, inv, "rebuild", "--runtime", "runc", "--out", "limited", "--pids-limit", "100", "--memory", "256MiB",
		"--cpus", "1", "--tmpfs-size", "8MiB", "--output-limit", "64MiB", f.Spec)
	if r.code != 0 {
		t.Fatalf("a build within its limits: exit %d\n%s", r.code, r.stderr)
	}
	var prov struct {
		Predicate struct {
			BuildDefinition struct {
				ExternalParameters struct {
					Limits map[string]any `json:"limits"`
				} `json:"externalParameters"`
				InternalParameters struct {
					OutputLimit string `json:"output_limit"`
				} `json:"internalParameters"`
			} `json:"buildDefinition"`
		} `json:"predicate"`
	}
	raw, err = os.ReadFile(filepath.Join(f.Dir, "limited", "provenance.intoto.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &prov); err != nil {
		t.Fatal(err)
	}
	got := prov.Predicate.BuildDefinition.ExternalParameters.Limits
	want := map[string]any{"pids": 100.0, "memory_bytes": float64(256 << 20), "cpus": 1.0, "tmpfs_bytes": float64(8 << 20), "output_bytes": float64(64 << 20)}
	if fmt.Sprint(got) != fmt.Sprint(want) || prov.Predicate.BuildDefinition.InternalParameters.OutputLimit != "filesystem" {
		t.Errorf("provenance limits %v (output limit %q), want %v (filesystem)", got, prov.Predicate.BuildDefinition.InternalParameters.OutputLimit, want)
	}
}
