package main_test

// End-to-end tests of `reproof check` on the fixture projects of
// fixtures/check: each is reproducible except for exactly one variation
// (or two, or none), and check must name exactly those, for the artifact
// they change, and call every other artifact identical. The side-by-side
// run with Debian's reprotest (TestCheckVersusReprotest) is the benchmark
// of bench/check.sh.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	checkfx "github.com/reproof/reproof/fixtures/check"
	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/testenv"
)

// checkAllEnv makes TestCheckFixtures run every fixture (make test-all);
// without it, a representative subset (checkQuick) runs.
const checkAllEnv = "REPROOF_TEST_CHECK_ALL"

// checkQuick are the fixtures `make test` checks: the reproducible one,
// a path embedded by the compiler, modes in an archive, directory order,
// the clock (libfaketime) and two causes at once.
var checkQuick = []string{"reproducible", "build-path", "umask", "file-order", "time", "build-path+time"}

// checkDocker are the fixtures checked with docker rather than runc.
var checkDocker = []string{"reproducible", "build-path+time"}

// variationNames are `reproof check --vary`'s names, in its order.
var variationNames = []string{"build-path", "user", "umask", "timezone", "locale", "hostname", "home",
	"environment", "cpus", "file-order", "kernel", "aslr", "time"}

// checkReport is the part of reproof/check/v1 the tests read.
type checkReport struct {
	Schema     string `json:"schema"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason"`
	Builds     int    `json:"builds"`
	Variations []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Reason string `json:"reason"`
		How    string `json:"how"`
	} `json:"variations"`
	Artifacts []struct {
		Name        string            `json:"name"`
		Status      string            `json:"status"`
		Culprits    []string          `json:"culprits"`
		Differences []json.RawMessage `json:"differences"`
		Hints       []json.RawMessage `json:"hints"`
	} `json:"artifacts"`
	Warnings []json.RawMessage `json:"warnings"`
}

// checkSetup is what every check of a fixture shares: the fixture images
// in a loopback registry, one image cache, and docker's environment.
type checkSetup struct {
	images images.Set
	cache  string
	docker *testenv.DockerEngine // nil until a fixture needs it
}

func newCheckSetup(t *testing.T) *checkSetup {
	t.Helper()
	testenv.RequireTools(t, "git", "runc", "disorderfs", "setarch")
	return &checkSetup{images: images.ForTest(t, testenv.Registry(t)), cache: t.TempDir()}
}

// checkRun is one `reproof check` of a fixture project.
type checkRun struct {
	result
	runtime string
	report  checkReport
	took    time.Duration
}

// check writes fixture f into a new directory and runs `reproof check`
// on it with runtime, args added; the JSON report must parse.
func (s *checkSetup) check(t *testing.T, f checkfx.Fixture, runtime string, args ...string) checkRun {
	t.Helper()
	dir := t.TempDir()
	p, err := checkfx.Write(filepath.Join(dir, "project"), f)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "reproof.toml"), p.Spec("project", s.images.Toolchain.Ref))
	// TMPDIR holds the builds' work directories: the build user must be
	// able to traverse it (disorderfs reads the checkout as that user),
	// which t.TempDir (0700) is not.
	tmp, err := os.MkdirTemp("", "reproof-check-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	inv := invocation{dir: dir, env: []string{"REPROOF_IMAGE_CACHE=" + s.cache, "TMPDIR=" + tmp}}
	if runtime == "docker" {
		if s.docker == nil {
			s.docker = testenv.Docker(t)
		}
		cli, err := testenv.DockerCLI()
		if err != nil {
			t.Fatal(err)
		}
		inv.env = append(inv.env, s.docker.Env()...)
		inv.env = append(inv.env, "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"))
	}
	start := time.Now()
	r := reproof(t, inv, append([]string{"check", "--runtime", runtime, "--json", "check.json"}, append(args, "reproof.toml")...)...)
	run := checkRun{result: r, runtime: runtime, took: time.Since(start)}
	t.Logf("reproof check %s (%s): exit %d in %s", f.Name, runtime, r.code, run.took.Round(time.Millisecond))
	data, err := os.ReadFile(filepath.Join(dir, "check.json"))
	if err != nil {
		t.Fatalf("reproof check wrote no JSON report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	if err := json.Unmarshal(data, &run.report); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, data)
	}
	// Nothing is left mounted (disorderfs) or in TMPDIR.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), " "+tmp) || strings.Contains(string(mounts), " "+dir) {
		t.Errorf("mounts left under %s or %s", tmp, dir)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("TMPDIR is not empty after reproof check: %v", left)
	}
	return run
}

// TestCheckFixtures runs `reproof check` on the fixture projects (a
// representative subset unless REPROOF_TEST_CHECK_ALL is set): the
// reproducible one exits 0; every other one exits 1 and names exactly
// its culprits for the artifact they change, every other artifact
// identical; every variation is applied (this host has disorderfs,
// setarch and FUSE, and the image libfaketime), but aslr with docker.
func TestCheckFixtures(t *testing.T) {
	s := newCheckSetup(t)
	all := os.Getenv(checkAllEnv) != ""
	start := time.Now()
	for _, f := range checkfx.Fixtures() {
		if !all && !slices.Contains(checkQuick, f.Name) {
			continue
		}
		runtime := "runc"
		if slices.Contains(checkDocker, f.Name) {
			runtime = "docker"
		}
		t.Run(f.Name+"/"+runtime, func(t *testing.T) {
			run := s.check(t, f, runtime, "--vary", "all")
			checkVerdict(t, f, run)
		})
	}
	t.Logf("checked the fixtures (all: %v) in %s", all, time.Since(start).Round(time.Second))
}

// hinted are the fixtures whose cause is in the table of known causes:
// their differing artifact must come with a hint.
var hinted = []string{"build-path", "umask", "locale", "hostname"}

// checkVerdict checks run's exit code and report against what fixture f
// is known to do.
func checkVerdict(t *testing.T, f checkfx.Fixture, run checkRun) {
	t.Helper()
	rep := run.report
	failf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format+"\nstdout:\n%s\nstderr:\n%s", append(append([]any{f.Name}, args...), run.stdout, lastLines(run.stderr, 30))...)
	}
	if rep.Schema != "reproof/check/v1" {
		failf("schema %q, want reproof/check/v1", rep.Schema)
	}
	wantCode, wantVerdict := 1, "not-reproducible"
	if len(f.Culprits) == 0 {
		wantCode, wantVerdict = 0, "reproducible"
	}
	if run.code != wantCode || rep.Verdict != wantVerdict {
		failf("exit %d, verdict %q (%s); want exit %d, %q", run.code, rep.Verdict, rep.Reason, wantCode, wantVerdict)
	}
	if rep.Builds < 2 {
		failf("%d builds, want at least 2", rep.Builds)
	}

	var names []string
	for _, v := range rep.Variations {
		names = append(names, v.Name)
		switch {
		case v.Status == "skipped" && v.Reason == "":
			failf("variation %s skipped without a reason", v.Name)
		case v.Status == "skipped" && v.Name == "aslr" && run.runtime == "docker":
			// docker's seccomp profile refuses personality(ADDR_NO_RANDOMIZE).
		case v.Status == "skipped":
			failf("variation %s skipped on a host that has everything it needs: %s", v.Name, v.Reason)
		case v.Status != "applied":
			failf("variation %s: status %q", v.Name, v.Status)
		case v.How == "":
			failf("variation %s: no description of how it was applied", v.Name)
		}
	}
	if !slices.Equal(names, variationNames) {
		failf("variations %q, want %q", names, variationNames)
	}

	causes := f.Causes()
	var artifacts []string
	for _, a := range rep.Artifacts {
		// Artifacts are named as rebuild names them (the file name), or by
		// their path in the checkout.
		name := strings.TrimPrefix(a.Name, "dist/")
		artifacts = append(artifacts, name)
		want, differs := causes[name]
		got := slices.Clone(a.Culprits)
		slices.Sort(got)
		switch {
		case !differs && a.Status != "identical":
			failf("artifact %s: %s (culprits %q), want identical", a.Name, a.Status, a.Culprits)
		case !differs && len(a.Culprits) > 0:
			failf("artifact %s is identical but has culprits %q", a.Name, a.Culprits)
		case differs && a.Status != "differs":
			failf("artifact %s: %s, want differs", a.Name, a.Status)
		case differs && !slices.Equal(got, want):
			failf("artifact %s: culprits %q, want %q", a.Name, a.Culprits, want)
		case differs && len(a.Differences) == 0:
			failf("artifact %s differs with no differences reported", a.Name)
		case differs && slices.Contains(hinted, f.Name) && len(a.Hints) == 0:
			failf("artifact %s: no hint for a known cause (%s)", a.Name, f.Name)
		}
		if differs && !strings.Contains(run.stdout, a.Name) {
			failf("the text report does not name %s", a.Name)
		}
	}
	slices.Sort(artifacts)
	if !slices.Equal(artifacts, f.Artifacts) {
		failf("artifacts %q, want %q", artifacts, f.Artifacts)
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkBenchEnv names the file TestCheckVersusReprotest writes its
// figures to (bench/check.sh sets it); unset, the test is skipped.
const checkBenchEnv = "REPROOF_CHECK_BENCH"

// reprotestNames are reprotest's variation names for reproof's.
var reprotestNames = map[string]string{
	"build_path": "build-path", "user_group": "user", "umask": "umask", "timezone": "timezone",
	"locales": "locale", "domain_host": "hostname", "home": "home", "environment": "environment",
	"num_cpus": "cpus", "fileordering": "file-order", "kernel": "kernel", "aslr": "aslr", "time": "time",
	"exec_path": "exec-path",
}

// BenchRow is one fixture's line of the check-versus-reprotest table, as
// TestCheckVersusReprotest writes it (JSON lines) for bench/check.sh.
type BenchRow struct {
	Fixture string   `json:"fixture"`
	Want    []string `json:"want"` // the culprits
	// Reproof's: found the nondeterminism, the culprits named, builds,
	// wall seconds, exit code.
	ReproofFound    bool     `json:"reproof_found"`
	ReproofCulprits []string `json:"reproof_culprits"`
	ReproofBuilds   int      `json:"reproof_builds"`
	ReproofSeconds  float64  `json:"reproof_seconds"`
	ReproofExit     int      `json:"reproof_exit"`
	ReproofJobs     int      `json:"reproof_jobs"`
	// Reprotest's (--auto-build, null server, on the host).
	ReprotestFound    bool     `json:"reprotest_found"`
	ReprotestCulprits []string `json:"reprotest_culprits"`
	ReprotestSeconds  float64  `json:"reprotest_seconds"`
	ReprotestExit     int      `json:"reprotest_exit"`
	ReprotestVaried   string   `json:"reprotest_varied"`
}

// reprotestCulprits reads the variations `reprotest --auto-build` blames
// from its output: the names (one line, space-separated) after "Observed
// unreproducibility when varying each of the following:", mapped to
// reproof's names.
func reprotestCulprits(out string) []string {
	var names []string
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "Observed unreproducibility when varying each of the following:" {
			continue
		}
		for _, next := range lines[i+1:] {
			if strings.HasPrefix(next, "The build") || strings.HasPrefix(next, "Not reproducible") {
				break
			}
			for _, n := range strings.Fields(next) {
				ours, ok := reprotestNames[n]
				if ok && !slices.Contains(names, ours) {
					names = append(names, ours)
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// reprotestVariations are the variations reprotest runs with: all but
// user_group, which fails here (reprotest 0.7.23 runs the build through
// sudo with an option sudo 1.9 refuses: "a remote host may only be
// specified when listing privileges").
const reprotestVariations = "+all,-user_group"

// TestCheckVersusReprotest runs, for every fixture, Debian's reprotest
// (--auto-build, its null server: the build on this host, in /tmp) and
// `reproof check` (runc, --jobs the number of CPUs), and writes a BenchRow per fixture to the file
// REPROOF_CHECK_BENCH names. It fails where reproof misses what
// reprotest finds, or does not name the fixture's culprits where reprotest
// names one.
func TestCheckVersusReprotest(t *testing.T) {
	out := os.Getenv(checkBenchEnv)
	if out == "" {
		t.Skipf("set %s=FILE to run the benchmark (bench/check.sh does)", checkBenchEnv)
	}
	testenv.RequireTools(t, "reprotest", "faketime", "diffoscope", "cc")
	s := newCheckSetup(t)
	vary := reprotestVariations
	var rows []BenchRow
	for _, f := range checkfx.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			row := BenchRow{Fixture: f.Name, Want: slices.Sorted(slices.Values(f.Culprits)), ReprotestVaried: vary}

			p, err := checkfx.Write(filepath.Join(t.TempDir(), f.Name), f)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("reprotest", "--auto-build", "--verbosity", "0", "--variations", vary,
				fmt.Sprintf("SOURCE_DATE_EPOCH=%d %s", p.SourceDateEpoch, checkfx.BuildCommand), checkfx.Artifacts)
			cmd.Dir = p.Dir
			cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
			start := time.Now()
			text, err := cmd.CombinedOutput()
			row.ReprotestSeconds = time.Since(start).Seconds()
			row.ReprotestExit = cmd.ProcessState.ExitCode()
			if err != nil && row.ReprotestExit != 1 {
				t.Fatalf("reprotest: %v\n%s", err, lastLines(string(text), 40))
			}
			row.ReprotestFound = row.ReprotestExit == 1
			row.ReprotestCulprits = reprotestCulprits(string(text))

			// Builds in parallel as the machine allows; reprotest builds one
			// at a time.
			row.ReproofJobs = goruntime.NumCPU()
			run := s.check(t, f, "runc", "--vary", "all", "--jobs", strconv.Itoa(row.ReproofJobs))
			row.ReproofSeconds, row.ReproofExit, row.ReproofBuilds = run.took.Seconds(), run.code, run.report.Builds
			row.ReproofFound = run.report.Verdict == "not-reproducible"
			for _, a := range run.report.Artifacts {
				for _, c := range a.Culprits {
					if !slices.Contains(row.ReproofCulprits, c) {
						row.ReproofCulprits = append(row.ReproofCulprits, c)
					}
				}
			}
			slices.Sort(row.ReproofCulprits)
			t.Logf("%s: reprotest found %v %q in %.1fs; reproof found %v %q in %.1fs (%d builds)", f.Name,
				row.ReprotestFound, row.ReprotestCulprits, row.ReprotestSeconds,
				row.ReproofFound, row.ReproofCulprits, row.ReproofSeconds, row.ReproofBuilds)
			if row.ReprotestFound && !row.ReproofFound {
				t.Errorf("reprotest finds the nondeterminism, reproof check does not")
			}
			// Where reprotest names a culprit of the fixture, reproof must
			// name exactly the fixture's. (reprotest may blame more: its
			// control build's HOME is the build path, so a HOME leak also
			// shows when only the build path is varied.)
			if slices.ContainsFunc(row.ReprotestCulprits, func(c string) bool { return slices.Contains(row.Want, c) }) &&
				!slices.Equal(row.ReproofCulprits, row.Want) {
				t.Errorf("reprotest names %q, reproof check %q; the culprits are %q", row.ReprotestCulprits, row.ReproofCulprits, row.Want)
			}
			rows = append(rows, row)
		})
	}
	var b strings.Builder
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReprotestCulprits reads reprotest --auto-build's conclusions as
// reprotest 0.7.23 prints them.
func TestReprotestCulprits(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{"WARNING:reprotest:x\nObserved unreproducibility when varying each of the following:\nhome build_path\nThe build is probably reproducible when varying other things.\n", []string{"build-path", "home"}},
		{"Observed unreproducibility when varying each of the following:\nnum_cpus\nThe build is probably reproducible when varying other things.\n", []string{"cpus"}},
		{"--- a\n+++ b\nNot reproducible, even when fixing as much as reprotest knows how to. :(\n", nil},
		{"=======================\nReproduction successful\n=======================\n", nil},
	} {
		if got := reprotestCulprits(tc.out); !slices.Equal(got, tc.want) {
			t.Errorf("reprotestCulprits(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}
