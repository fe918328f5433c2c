package check

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/internal/testenv"
	"github.com/reproof/reproof/rebuild"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The test project: each artifact depends on one part of the environment
// (or two), and one on none.
const culpritsBuild = `#!/bin/sh
set -eu
mkdir -p dist m
pwd > dist/path.txt
id -u > dist/user.txt
date +%z > dist/tz.txt
echo hello > dist/stable.txt
# A tar whose modes follow the umask and whose owner is the build user;
# times are fixed.
echo data > m/f
touch -d "@$SOURCE_DATE_EPOCH" m/f m
tar -cf dist/modes.tar m
`

const stableBuild = `#!/bin/sh
set -eu
mkdir -p dist
echo hello > dist/hello.txt
printf 'built at %s\n' "$SOURCE_DATE_EPOCH" > dist/epoch.txt
`

// gitProject commits a build.sh in a new repository, tags it v1.0 and
// returns the repository.
func gitProject(t *testing.T, build string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "build.sh"), []byte(build), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "release"}, {"tag", "v1.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_COMMITTER_DATE=1700000000 +0000", "GIT_AUTHOR_DATE=1700000000 +0000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

type checkEnv struct {
	set    images.Set
	docker *testenv.DockerEngine
	cache  string
	tmp    string
}

func newCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	testenv.RequireTools(t, "git", "runc")
	return &checkEnv{set: images.ForTest(t, testenv.Registry(t)), docker: testenv.Docker(t), cache: t.TempDir(), tmp: t.TempDir()}
}

func (e *checkEnv) options(t *testing.T, runtime, repo string, vary []string) Options {
	t.Helper()
	bin := ""
	if runtime == "docker" {
		var err error
		if bin, err = testenv.DockerCLI(); err != nil {
			t.Fatal(err)
		}
	}
	return Options{
		Rebuild: rebuild.Options{
			Repo: repo, Tag: "v1.0",
			Image:         e.set.Busybox.Ref,
			ImageOptions:  rebuild.ImageOptions{CacheDir: e.cache},
			Runtime:       runtime,
			RuntimeBinary: bin,
			RuntimeEnv:    e.docker.Env(),
			Command:       []string{"./build.sh"},
			Artifacts:     []string{"dist/*"},
			TempDir:       e.tmp,
			Timeout:       2 * time.Minute,
			Getenv:        func(string) string { return "" },
		},
		Vary: vary,
		Jobs: 2,
	}
}

// checkClean fails t if the check left work directories or containers.
func (e *checkEnv) checkClean(t *testing.T) {
	t.Helper()
	if left, err := os.ReadDir(e.tmp); err != nil {
		t.Error(err)
	} else if len(left) > 0 {
		t.Errorf("work directory left behind: %s", left[0].Name())
	}
	out, err := e.docker.Output(context.Background(), "ps", "--all", "--quiet", "--filter", "name=reproof-")
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("containers left behind: %q %v", out, err)
	}
	// The disorderfs view's bind is in os.TempDir(), named by its owner.
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Error(err)
	}
	if strings.Contains(string(mounts), e.tmp) || strings.Contains(string(mounts), owner.Self().String()) {
		t.Errorf("mounts left behind")
	}
	if left, err := filepath.Glob(filepath.Join(os.TempDir(), "reproof-*"+owner.Self().String()+"*")); err != nil || len(left) > 0 {
		t.Errorf("left behind: %q %v", left, err)
	}
}

// TestCheckNamesCulprits: with docker and runc, a project whose artifacts
// each depend on the build path, the user, the umask or the time zone is
// not reproducible, and each artifact's culprits are named, with the
// engine's differences and hints; the stable artifact is identical.
func TestCheckNamesCulprits(t *testing.T) {
	e := newCheckEnv(t)
	repo := gitProject(t, culpritsBuild)
	vary := []string{"build-path", "user", "umask", "timezone", "hostname"}
	for _, rt := range []string{"docker", "runc"} {
		t.Run(rt, func(t *testing.T) {
			res, err := Check(context.Background(), e.options(t, rt, repo, vary))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			e.checkClean(t)
			var text bytes.Buffer
			if err := Text(&text, res); err != nil {
				t.Fatal(err)
			}
			t.Logf("report:\n%s", text.String())
			if res.Verdict != NotReproducible || res.ExitCode() != 1 {
				t.Errorf("verdict %s (exit %d), want not-reproducible (1)", res.Verdict, res.ExitCode())
			}
			want := map[string][]string{
				"path.txt":   {"build-path"},
				"user.txt":   {"user"},
				"tz.txt":     {"timezone"},
				"modes.tar":  {"user", "umask"},
				"stable.txt": nil,
			}
			for _, a := range res.Artifacts {
				w, ok := want[a.Name]
				if !ok {
					t.Errorf("unexpected artifact %s", a.Name)
					continue
				}
				if got := a.Culprits(); !slices.Equal(got, w) {
					t.Errorf("%s: culprits %q, want %q", a.Name, got, w)
				}
				if (a.Status == StatusIdentical) != (w == nil) {
					t.Errorf("%s: status %s", a.Name, a.Status)
				}
			}
			// The modes.tar findings carry the engine's differences: a mode
			// under umask, an owner under user.
			for _, a := range res.Artifacts {
				if a.Name != "modes.tar" {
					continue
				}
				kinds := map[string]string{}
				for _, f := range a.Findings {
					for _, d := range f.Differences {
						kinds[f.Variations[0]] += string(d.Kind) + " "
					}
				}
				if !strings.Contains(kinds["umask"], "mode") || !strings.Contains(kinds["user"], "owner") {
					t.Errorf("modes.tar differences by culprit: %q", kinds)
				}
			}
			for _, line := range []string{
				"not-reproducible: 4 of 5 artifacts differ",
				"build-path → path.txt differs in content",
				"timezone → tz.txt differs in content",
				"umask → modes.tar differs in mode of",
				"hint: file modes come from the umask",
				"hint: the checkout path is embedded",
				"identical: stable.txt",
				"applied: build-path: checkout at " + variedWorkDir,
			} {
				if !strings.Contains(text.String(), line) {
					t.Errorf("report lacks %q", line)
				}
			}
			if first, _, _ := strings.Cut(text.String(), "\n"); !strings.HasPrefix(first, "not-reproducible") {
				t.Errorf("first line %q: want the verdict", first)
			}
			// 5 singles and a control build after the first two.
			if res.Builds != 8 {
				t.Errorf("builds = %d, want 8", res.Builds)
			}
			checkJSON(t, res)
		})
	}
}

// checkJSON renders res as reproof/check/v1 and checks its shape.
func checkJSON(t *testing.T, res *Result) {
	t.Helper()
	var buf bytes.Buffer
	if err := JSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema     string
		Verdict    string
		Builds     int
		Variations []struct{ Name, Status, Reason, How string }
		Artifacts  []struct {
			Name, Status string
			Culprits     []string
			Differences  []struct {
				Paths []string
				Kind  string
			}
			Hints []string
		}
		Warnings []string
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, buf.String())
	}
	if doc.Schema != JSONSchema || doc.Verdict != res.Verdict || doc.Builds != res.Builds || len(doc.Artifacts) != len(res.Artifacts) || doc.Warnings == nil {
		t.Errorf("JSON document:\n%s", buf.String())
	}
	for _, a := range doc.Artifacts {
		if a.Status == StatusDiffers && (len(a.Differences) == 0 || len(a.Culprits) == 0 || len(a.Hints) == 0) {
			t.Errorf("JSON artifact %s: differs without differences, culprits or hints:\n%s", a.Name, buf.String())
		}
	}
	for _, v := range doc.Variations {
		if v.Status == "applied" && v.How == "" || v.Status == "skipped" && v.Reason == "" {
			t.Errorf("JSON variation %+v", v)
		}
	}
}

// TestCheckReproducible: a project that depends on nothing reproof varies
// is reproducible under every variation this host applies, in 2 builds;
// those it cannot apply are skipped with a reason (time: the test image
// has no libfaketime).
func TestCheckReproducible(t *testing.T) {
	e := newCheckEnv(t)
	repo := gitProject(t, stableBuild)
	res, err := Check(context.Background(), e.options(t, "runc", repo, Names()))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	e.checkClean(t)
	if res.Verdict != Reproducible || res.Builds != 2 || len(res.Artifacts) != 2 {
		t.Errorf("verdict %s in %d builds, %d artifacts: want reproducible in 2", res.Verdict, res.Builds, len(res.Artifacts))
	}
	if len(res.Variations) != len(Variations) {
		t.Errorf("%d variations reported, want all %d", len(res.Variations), len(Variations))
	}
	for _, v := range res.Variations {
		if v.Name == "time" && (v.Applied || !strings.Contains(v.Reason, "libfaketime")) {
			t.Errorf("time: %+v, want skipped for want of libfaketime", v)
		}
		if !v.Applied && v.Reason == "" {
			t.Errorf("%s skipped without a reason", v.Name)
		}
	}
	checkJSON(t, res)
}

// TestCheckBuildFailsUnderVariation: a build that fails with another
// umask is a build failure naming the variation, not "not reproducible".
func TestCheckBuildFailsUnderVariation(t *testing.T) {
	e := newCheckEnv(t)
	repo := gitProject(t, "#!/bin/sh\nset -eu\n[ \"$(umask)\" = 0022 ] || { echo wrong umask >&2; exit 3; }\nmkdir -p dist\necho ok > dist/ok.txt\n")
	res, err := Check(context.Background(), e.options(t, "docker", repo, []string{"umask", "timezone"}))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	e.checkClean(t)
	if res.Verdict != BuildFailed || res.ExitCode() != 4 || res.BuildFailure == nil || !slices.Equal(res.BuildFailure.Culprits(), []string{"umask"}) {
		t.Errorf("verdict %s (%s), build failure %+v: want build-failed under umask", res.Verdict, res.Reason, res.BuildFailure)
	}
	var text bytes.Buffer
	if err := Text(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"build-failed: the build fails under umask", "umask → the build fails: the build command exited with status 3", "log: wrong umask"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	checkJSON(t, res)
}
