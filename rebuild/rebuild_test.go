package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/internal/testenv"
)

// The fixture project: a C program whose version is a build input, compiled
// by tcc in the toolchain image, and a build-info file recording what the
// build saw (who it ran as, its network interfaces, its environment).
const (
	helloC = `#include <stdio.h>
int main(void) { printf("hello %s\n", VERSION); return 0; }
`
	buildSh = `#!/bin/sh
set -eu
mkdir -p dist
cc -DVERSION="\"$1\"" -o dist/hello hello.c
{
	echo "uid=$(id -u) gid=$(id -g) user=$(id -un)"
	echo "net=$(ls /sys/class/net | tr '\n' ' ')"
	echo "sde=$SOURCE_DATE_EPOCH tz=$TZ lc_all=$LC_ALL home=$HOME umask=$(umask)"
	echo "pwd=$(pwd)"
	if touch /etc/probe 2>/dev/null; then echo "rootfs=writable"; else echo "rootfs=read-only"; fi
	if touch "$HOME/probe" /tmp/probe; then echo "home+tmp=writable"; fi
} > dist/buildinfo.txt
`
	commitTime = 1700000000
)

// fixtureRepo makes a git repository with the fixture project tagged v1.0,
// committed at commitTime, and returns its path and the commit.
func fixtureRepo(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"hello.c": helloC, "build.sh": buildSh} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	date := strconv.Itoa(commitTime) + " +0000"
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_AUTHOR_DATE="+date,
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_COMMITTER_DATE="+date)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-q", "-m", "release")
	git("tag", "-a", "-m", "v1.0", "v1.0")
	return dir, git("rev-parse", "HEAD")
}

// rebuildEnv is what every end-to-end rebuild test shares: the images in a
// loopback registry, the Docker engine, a private image cache.
type rebuildEnv struct {
	repo, commit string
	set          images.Set
	docker       *testenv.DockerEngine
	cache        string
	tmp          string // Options.TempDir: must be empty after every rebuild
	podman       bool   // podman is installed (see require)
}

func newRebuildEnv(t testing.TB) *rebuildEnv {
	t.Helper()
	testenv.RequireTools(t, "git", "runc")
	repo, commit := fixtureRepo(t)
	env := &rebuildEnv{
		repo: repo, commit: commit,
		set:    images.ForTest(t, testenv.Registry(t)),
		docker: testenv.Docker(t),
		cache:  t.TempDir(),
		tmp:    t.TempDir(),
	}
	env.podman = testenv.CheckTools("podman") == nil
	return env
}

// buildRuntimes are the runtimes the end-to-end rebuild tests run with,
// each in a subtest that starts with require.
var buildRuntimes = []string{"docker", "runc", "podman"}

// require skips t, or fails it when testenv.Required, unless runtime can
// run here (newRebuildEnv required docker and runc already).
func (e *rebuildEnv) require(t testing.TB, runtime string) {
	t.Helper()
	if runtime == "podman" {
		testenv.RequireTools(t, "podman")
	}
}

func (e *rebuildEnv) options(t testing.TB, runtime string) Options {
	docker, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	bin := ""
	if runtime == "docker" {
		bin = docker
	}
	return Options{
		Repo: e.repo, Tag: "v1.0", Commit: e.commit,
		Image:         e.set.Toolchain.Ref,
		ImageOptions:  ImageOptions{CacheDir: e.cache},
		Runtime:       runtime,
		RuntimeBinary: bin,
		RuntimeEnv:    e.docker.Env(),
		Command:       []string{"./build.sh", "1.0"},
		Artifacts:     []string{"dist/*"},
		OutDir:        filepath.Join(t.TempDir(), "out"),
		TempDir:       e.tmp,
		Timeout:       2 * time.Minute,
		Getenv:        func(string) string { return "" },
	}
}

// checkClean fails t if a rebuild left anything behind: work directories,
// containers, runc state, mounts.
func (e *rebuildEnv) checkClean(t *testing.T) {
	t.Helper()
	if left, _ := os.ReadDir(e.tmp); len(left) > 0 {
		t.Errorf("work directory left behind: %s", left[0].Name())
	}
	out, err := e.docker.Output(context.Background(), "ps", "--all", "--quiet", "--filter", "name=reproof-")
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("containers left behind: %q %v", out, err)
	}
	if e.podman {
		// Podman's containers are the host's: only this process's own.
		out, err := exec.Command("podman", "ps", "--all", "--quiet", "--filter", "label="+OwnerLabel+"="+owner.Self().String()).Output()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("podman containers left behind: %q %v", out, err)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), e.tmp) {
		t.Errorf("mounts left behind under %s", e.tmp)
	}
}

func TestRebuildSameArtifactsWithEveryRuntime(t *testing.T) {
	e := newRebuildEnv(t)
	ctx := context.Background()
	var first *Result
	// docker twice: the second rebuild takes the image from the cache.
	// podman last, since require ends the test where it cannot run.
	for _, runtime := range []string{"docker", "docker", "runc", "podman"} {
		e.require(t, runtime)
		opts := e.options(t, runtime)
		var log bytes.Buffer
		opts.Log = &log
		res, err := Rebuild(ctx, opts)
		if err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", runtime, err, log.String())
		}
		e.checkClean(t)
		if res.Runtime != runtime || res.RuntimeVersion == "" {
			t.Errorf("runtime %q %q", res.Runtime, res.RuntimeVersion)
		}
		if len(res.Artifacts) != 2 || res.Artifacts[0].Name != "buildinfo.txt" || res.Artifacts[1].Name != "hello" {
			t.Fatalf("%s: artifacts %+v", runtime, res.Artifacts)
		}
		info, _ := os.ReadFile(filepath.Join(res.OutDir, "buildinfo.txt"))
		for _, want := range []string{
			"uid=1000 gid=1000 user=reproof\n",
			"net=lo \n",
			"sde=1700000000 tz=UTC lc_all=C.UTF-8 home=/home/reproof umask=0022\n",
			"pwd=/src\n",
			"rootfs=read-only\n",
			"home+tmp=writable\n",
		} {
			if !strings.Contains(string(info), want) {
				t.Errorf("%s: build info lacks %q:\n%s", runtime, want, info)
			}
		}
		// The binary really is an ELF that prints its baked-in version.
		hello := filepath.Join(res.OutDir, "hello")
		if head, _ := os.ReadFile(hello); !bytes.HasPrefix(head, []byte("\x7fELF")) {
			t.Errorf("%s: hello is not an ELF", runtime)
		}
		// The output belongs to whoever ran reproof, not to the build user.
		for _, name := range []string{"hello", "buildinfo.txt", ProvenanceFile, LogFile, SHA256File} {
			fi, err := os.Stat(filepath.Join(res.OutDir, name))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid() {
				t.Errorf("%s: %s owned by %d:%d", runtime, name, st.Uid, st.Gid)
			}
		}
		sums, _ := os.ReadFile(filepath.Join(res.OutDir, SHA256File))
		if !strings.Contains(string(sums), res.Artifacts[1].SHA256+"  hello\n") {
			t.Errorf("SHA256SUMS:\n%s", sums)
		}
		checkProvenance(t, res, e)
		if first == nil {
			first = res
			continue
		}
		for i, a := range res.Artifacts {
			if a.SHA256 != first.Artifacts[i].SHA256 {
				t.Errorf("%s: %s differs from the first rebuild's (%s vs %s)", runtime, a.Name, a.SHA256, first.Artifacts[i].SHA256)
			}
		}
		if !res.Image.FromCache {
			t.Errorf("%s: the second rebuild pulled the image again", runtime)
		}
	}
}

func checkProvenance(t *testing.T, res *Result, e *rebuildEnv) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(res.OutDir, ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject []Subject
		Pred    SLSAProvenance `json:"predicate"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	ext := st.Pred.BuildDefinition.ExternalParameters
	if len(st.Subject) != 2 || st.Subject[1].Digest["sha512"] != res.Artifacts[1].SHA512 ||
		ext.Tag != "v1.0" || ext.SourceDateEpoch != commitTime || ext.Image != e.set.Toolchain.Ref ||
		st.Pred.BuildDefinition.ResolvedDependencies[0].Digest["gitCommit"] != e.commit ||
		st.Pred.BuildDefinition.ResolvedDependencies[2].Digest["sha256"] != strings.TrimPrefix(e.set.Toolchain.Digest, "sha256:") ||
		st.Pred.BuildDefinition.InternalParameters.Runtime != res.Runtime {
		t.Errorf("provenance:\n%s", raw)
	}
}

func TestRebuildFailures(t *testing.T) {
	e := newRebuildEnv(t)
	ctx := context.Background()
	for _, runtime := range buildRuntimes {
		t.Run(runtime, func(t *testing.T) {
			e.require(t, runtime)
			// A failing build: exit status, the log's tail and the lines
			// that explain it; the whole log kept in the output
			// directory, alone, and replaced by a later output.
			opts := e.options(t, runtime)
			opts.Command, opts.Shell = []string{"echo compiling; echo 'error: no rule to make target' >&2; seq 1 50; exit 3"}, true
			_, err := Rebuild(ctx, opts)
			var be *BuildError
			if !errors.As(err, &be) || be.ExitCode != 3 || !strings.Contains(be.LogTail, "50") ||
				!slices.Contains(be.Explain, "error: no rule to make target") || be.Hint != "" {
				t.Errorf("failing build: %v (%+v)", err, be)
			}
			if entries, _ := os.ReadDir(opts.OutDir); len(entries) != 1 || entries[0].Name() != FailedLogFile {
				t.Errorf("failing build left %v in its output directory, want only %s", entries, FailedLogFile)
			}
			if log, _ := os.ReadFile(filepath.Join(opts.OutDir, FailedLogFile)); !strings.Contains(string(log), "compiling") {
				t.Errorf("%s holds %q, want the whole log", FailedLogFile, log)
			}
			e.checkClean(t)

			// The same output directory takes a later build's output.
			again := opts
			again.Command, again.Shell = e.options(t, runtime).Command, false
			if _, err := Rebuild(ctx, again); err != nil {
				t.Errorf("rebuild into a failed build's output directory: %v", err)
			} else if _, err := os.Stat(filepath.Join(opts.OutDir, FailedLogFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed build's log survived a complete output")
			}
			e.checkClean(t)

			// A build reaching for the network it runs without gets a hint.
			opts = e.options(t, runtime)
			opts.Command, opts.Shell = []string{"busybox wget -q -O- http://deb.debian.org/ 2>&1; exit 1"}, true
			if _, err := Rebuild(ctx, opts); !errors.As(err, &be) || be.Hint != NetworkHint {
				t.Errorf("offline build: %v (explain %q, hint %q)", err, be.Explain, be.Hint)
			}
			e.checkClean(t)

			// A build that produces nothing the patterns match.
			opts = e.options(t, runtime)
			opts.Command = []string{"true"}
			if _, err := Rebuild(ctx, opts); !errors.Is(err, ErrNoArtifacts) {
				t.Errorf("no artifacts: %v", err)
			}
			e.checkClean(t)

			// A timeout stops the container promptly.
			opts = e.options(t, runtime)
			opts.Command, opts.Timeout = []string{"sleep", "600"}, 2*time.Second
			start := time.Now()
			if _, err := Rebuild(ctx, opts); !errors.Is(err, ErrTimeout) {
				t.Errorf("timeout: %v", err)
			}
			if took := time.Since(start); took > 90*time.Second {
				t.Errorf("a 2s timeout took %s", took)
			}
			e.checkClean(t)

			// Cancellation (Ctrl-C) the same way.
			opts = e.options(t, runtime)
			opts.Command = []string{"sleep", "600"}
			cctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(3*time.Second, cancel)
			if _, err := Rebuild(cctx, opts); !errors.Is(err, context.Canceled) {
				t.Errorf("cancel: %v", err)
			}
			e.checkClean(t)
		})
	}

	// Inputs refused before anything runs.
	opts := e.options(t, "runc")
	opts.Commit = strings.Repeat("0", 40)
	if _, err := Rebuild(ctx, opts); !errors.Is(err, ErrCommitMismatch) {
		t.Errorf("wrong commit: %v", err)
	}
	opts = e.options(t, "runc")
	opts.Image = e.set.Toolchain.Tagged
	var ue *UnpinnedError
	if _, err := Rebuild(ctx, opts); !errors.As(err, &ue) || ue.Digest != e.set.Toolchain.Digest {
		t.Errorf("unpinned image: %v", err)
	}
	opts = e.options(t, "runc")
	opts.Image = "127.0.0.1:1/nothing@" + e.set.Toolchain.Digest
	opts.ImageOptions.CacheDir = t.TempDir()
	if _, err := Rebuild(ctx, opts); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("registry down: %v", err)
	}
	e.checkClean(t)
}
