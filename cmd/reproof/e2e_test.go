package main_test

// End-to-end tests of `reproof normalize` through the built binary, with
// archives made by the real tools: the output does not depend on the
// environment, bad input fails the one documented way and leaves nothing
// behind, and the epoch and pass flags do what --help says.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// reproofBin is the binary under test, built once by TestMain.
var reproofBin string

func TestMain(m *testing.M) {
	dir, err := buildBinary()
	if err != nil {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, rerr)
		}
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	testenv.AtExit(func() error { return os.RemoveAll(dir) })
	testenv.Main(m) // stops the Docker engine the rebuild tests start
}

// buildBinary builds reproof into a new temporary directory.
func buildBinary() (string, error) {
	dir, err := os.MkdirTemp("", "reproof-e2e-bin-")
	if err != nil {
		return "", err
	}
	// go test puts its own toolchain first in PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		return dir, fmt.Errorf("the go command is not in PATH: %v", err)
	}
	reproofBin = filepath.Join(dir, "reproof")
	build := exec.Command(goTool, "build", "-o", reproofBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return dir, fmt.Errorf("go build: %v", err)
	}
	return dir, nil
}

// e2eShell runs script with sh -e in dir and returns its stdout; env is
// added to a C.UTF-8, UTC environment.
func e2eShell(t *testing.T, dir string, env []string, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-ec", script, "sh"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh -ec %q in %s: %v\n%s", script, dir, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

const (
	epochSecs = "1700000000" // --epoch of the tests: 2023-11-14 22:13:20 UTC
	epochTime = "2023-11-14 22:13:20"
	oldTime   = "2020-09-13 12:26:40" // mtime of the fixture, before the epoch
	lateTime  = "2027-01-15 08:00:00" // mtime of pkg/late.txt, after the epoch
)

// fixtures makes a small tree and packs it with the real tools. Every
// path has mtime oldTime except pkg/late.txt (lateTime); the tar archives
// are owned by 1234:5678 and in the order tar met the files.
func fixtures(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "sh", "tar", "gzip", "xz", "zip", "find", "touch")
	dir := t.TempDir()
	e2eShell(t, dir, nil, `
umask 022
mkdir -p pkg/bin pkg/empty
printf 'hello\n' >pkg/hello.txt
seq 1 2000 >pkg/numbers.txt
printf '#!/bin/sh\necho run\n' >pkg/bin/run.sh
chmod 755 pkg/bin/run.sh
ln pkg/bin/run.sh pkg/run-hardlink
ln -s hello.txt pkg/link
printf 'late\n' >pkg/late.txt
find pkg -exec touch -h -d @1600000000 {} +
touch -d @1800000000 pkg/late.txt
tar --owner=1234 --group=5678 -czf in.tar.gz pkg
tar --owner=1234 --group=5678 -cJf in.tar.xz pkg
TZ=Pacific/Kiritimati zip -q -r -y in.zip pkg
`)
	return dir
}

// invocation is how one run of the binary is made.
type invocation struct {
	dir   string   // working directory; default a new temporary one
	env   []string // added to PATH and HOME; TMPDIR is a new empty directory unless set
	umask string   // run under this umask, through sh
}

type result struct {
	code           int
	stdout, stderr string
}

// reproof runs the binary with args. Its environment is PATH and HOME
// only, plus inv.env: nothing of the test's own environment leaks in.
func reproof(t *testing.T, inv invocation, args ...string) result {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if !slices.ContainsFunc(inv.env, func(s string) bool { return strings.HasPrefix(s, "TMPDIR=") }) {
		env = append(env, "TMPDIR="+t.TempDir())
	}
	if !slices.ContainsFunc(inv.env, func(s string) bool { return strings.HasPrefix(s, "XDG_CACHE_HOME=") }) {
		env = append(env, "XDG_CACHE_HOME="+t.TempDir()) // never the real download cache
	}
	env = append(env, inv.env...)
	var cmd *exec.Cmd
	if inv.umask != "" {
		cmd = exec.Command("sh", append([]string{"-c", `umask "$0"; exec "$@"`, inv.umask, reproofBin}, args...)...)
	} else {
		cmd = exec.Command(reproofBin, args...)
	}
	cmd.Env = env
	cmd.Dir = inv.dir
	if cmd.Dir == "" {
		cmd.Dir = t.TempDir()
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running reproof %q: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestNormalizeEnvironmentIndependent runs the same normalization under
// different time zones, locales, CPU counts and umasks: the output bytes
// and the summary on stderr are the same.
func TestNormalizeEnvironmentIndependent(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "date")
	// A missing zoneinfo makes TZ a silent no-op, and this test vacuous.
	if got := strings.TrimSpace(string(e2eShell(t, t.TempDir(), []string{"TZ=Pacific/Kiritimati"}, `date +%z`))); got != "+1400" {
		t.Fatalf("TZ=Pacific/Kiritimati date +%%z = %q, want +1400; install the Debian package \"tzdata\"", got)
	}
	dir := fixtures(t)
	baseline := invocation{env: []string{"TZ=UTC", "LC_ALL=C", "GOMAXPROCS=1"}, umask: "022"}
	variants := []struct {
		name string
		inv  invocation
	}{
		{"TZ=Pacific/Kiritimati", invocation{env: []string{"TZ=Pacific/Kiritimati", "LC_ALL=C", "GOMAXPROCS=1"}, umask: "022"}},
		{"TZ=America/St_Johns", invocation{env: []string{"TZ=America/St_Johns", "LC_ALL=C", "GOMAXPROCS=1"}, umask: "022"}},
		{"LC_ALL=C.UTF-8", invocation{env: []string{"TZ=UTC", "LC_ALL=C.UTF-8", "GOMAXPROCS=1"}, umask: "022"}},
		{"GOMAXPROCS=2", invocation{env: []string{"TZ=UTC", "LC_ALL=C", "GOMAXPROCS=2"}, umask: "022"}},
		{"umask 0000", invocation{env: []string{"TZ=UTC", "LC_ALL=C", "GOMAXPROCS=1"}, umask: "0000"}},
		{"umask 0077", invocation{env: []string{"TZ=UTC", "LC_ALL=C", "GOMAXPROCS=1"}, umask: "0077"}},
	}
	for _, in := range []string{"in.tar.gz", "in.tar.xz", "in.zip"} {
		for _, flags := range [][]string{{"--epoch", epochSecs}, {"--epoch", epochSecs, "--clamp"}} {
			args := append([]string{"normalize", filepath.Join(dir, in), "-o", "out"}, flags...)
			t.Run(in+" "+strings.Join(flags, " "), func(t *testing.T) {
				want, wantSummary := normalizeIn(t, baseline, args)
				for _, v := range variants {
					got, summary := normalizeIn(t, v.inv, args)
					if !bytes.Equal(got, want) {
						t.Errorf("reproof %s under %s wrote different bytes than under TZ=UTC LC_ALL=C GOMAXPROCS=1 umask 022",
							strings.Join(args, " "), v.name)
					}
					if summary != wantSummary {
						t.Errorf("reproof %s under %s printed\n%s\nwant\n%s", strings.Join(args, " "), v.name, summary, wantSummary)
					}
				}
			})
		}
	}
}

// normalizeIn runs args (which write to "out") in a new directory under
// inv and returns the output and stderr.
func normalizeIn(t *testing.T, inv invocation, args []string) ([]byte, string) {
	t.Helper()
	inv.dir = t.TempDir()
	r := reproof(t, inv, args...)
	if r.code != 0 {
		t.Fatalf("reproof %s (env %q, umask %s) = exit %d, want 0; stderr:\n%s", strings.Join(args, " "), inv.env, inv.umask, r.code, r.stderr)
	}
	out, err := os.ReadFile(filepath.Join(inv.dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	return out, r.stderr
}

// checkFailedCleanly fails the test unless r is the one way reproof
// fails: exit 2, nothing on stdout, one "reproof: " line that contains
// mention (the input's path, or what was wrong) and matches detail, if
// set; optionally one "hint: " line.
func checkFailedCleanly(t *testing.T, r result, mention string, detail *regexp.Regexp) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	switch {
	case len(lines) > 2 || len(lines) == 0:
		t.Errorf("stderr has %d lines, want one error line and at most one hint:\n%s", len(lines), r.stderr)
	case !strings.HasPrefix(lines[0], "reproof: "):
		t.Errorf("stderr line %q does not start with \"reproof: \"", lines[0])
	case !strings.Contains(lines[0], mention):
		t.Errorf("error %q does not mention %q", lines[0], mention)
	case detail != nil && !detail.MatchString(lines[0]):
		t.Errorf("error %q does not match %q", lines[0], detail)
	case len(lines) == 2 && !strings.HasPrefix(lines[1], "hint: "):
		t.Errorf("second stderr line %q is not a \"hint: \" line", lines[1])
	}
}

// inputState is what must not change about an input.
type inputState struct {
	exists bool
	sha256 string
	mode   os.FileMode
	mtime  time.Time
}

func stateOf(t *testing.T, path string) inputState {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return inputState{}
	}
	if err != nil {
		t.Fatal(err)
	}
	s := inputState{exists: true, mode: fi.Mode(), mtime: fi.ModTime()}
	if fi.Mode().IsRegular() {
		s.sha256 = fileSHA256(t, path)
	}
	return s
}

// checkEmptyDir fails the test if dir holds anything.
func checkEmptyDir(t *testing.T, what, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s: %q left behind in %s", what, e.Name(), dir)
	}
}

// corruptPattern is what an error about a corrupt archive must say: where.
var corruptPattern = regexp.MustCompile(`offset \d+|entry "`)

// TestNormalizeBadInput feeds the binary truncated, corrupt, lying and
// non-archive inputs: each fails with exit 2 and one error line naming the
// input (and, for corrupt archives, the offset or entry), leaves no output
// and no temporary file, and does not touch the input.
func TestNormalizeBadInput(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	good, err := os.ReadFile(filepath.Join(dir, "in.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	plainTar := e2eShell(t, dir, nil, `gzip -dc in.tar.gz`)

	type badInput struct {
		name    string
		make    func(t *testing.T, path string) // writes the input at path
		corrupt bool                            // the error must say where
	}
	var cases []badInput
	for _, cut := range []int{5, 10, 30, len(good) / 3, len(good) / 2, len(good) - 8, len(good) - 1} {
		cases = append(cases, badInput{fmt.Sprintf("tar.gz cut at %d of %d bytes", cut, len(good)),
			func(t *testing.T, path string) { writeFile(t, path, good[:cut]) }, true})
	}
	for _, at := range []int{len(good) / 2, len(good) - 6} { // inside the deflate data; inside the CRC-32
		cases = append(cases, badInput{fmt.Sprintf("tar.gz with byte %d flipped", at),
			func(t *testing.T, path string) {
				b := bytes.Clone(good)
				b[at] ^= 0xff
				writeFile(t, path, b)
				if out, err := exec.Command("gzip", "-t", path).CombinedOutput(); err == nil {
					t.Fatalf("gzip -t accepts the corrupted %s; the case proves nothing (%s)", path, out)
				}
			}, true})
	}
	cases = append(cases,
		badInput{"tar whose header claims more than the file holds", func(t *testing.T, path string) {
			writeFile(t, path, lieAboutSize(t, plainTar, "pkg/numbers.txt", 1<<20))
		}, true},
		badInput{"tar whose header claims less than the entry holds", func(t *testing.T, path string) {
			writeFile(t, path, lieAboutSize(t, plainTar, "pkg/numbers.txt", 100))
		}, true},
		badInput{"tar.gz whose header claims more than the file holds", func(t *testing.T, path string) {
			writeFile(t, path, lieAboutSize(t, plainTar, "pkg/numbers.txt", 1<<20))
			e2eShell(t, filepath.Dir(path), nil, `gzip -n <"$1" >"$1.gz" && mv "$1.gz" "$1"`, path)
		}, true},
		badInput{"garbage named .tar.gz", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("this is not an archive\n"), 100))
		}, false},
		badInput{"empty file", func(t *testing.T, path string) { writeFile(t, path, nil) }, false},
		badInput{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		badInput{"nonexistent file", func(t *testing.T, path string) {}, false},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := filepath.Join(t.TempDir(), "in.tar.gz")
			tc.make(t, in)
			before := stateOf(t, in)
			outDir, tmpDir := t.TempDir(), t.TempDir()
			out := filepath.Join(outDir, "out.tar.gz")
			r := reproof(t, invocation{env: []string{"TMPDIR=" + tmpDir}}, "normalize", in, "-o", out, "--epoch", epochSecs)
			var detail *regexp.Regexp
			if tc.corrupt {
				detail = corruptPattern
			}
			checkFailedCleanly(t, r, in, detail)
			checkEmptyDir(t, "output directory", outDir)
			checkEmptyDir(t, "TMPDIR", tmpDir)
			if after := stateOf(t, in); after != before {
				t.Errorf("input changed: %+v, was %+v", after, before)
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lieAboutSize returns the tar with the size field of the named entry's
// header set to size and its checksum fixed: a well-formed header that
// lies about what follows it.
func lieAboutSize(t *testing.T, tarball []byte, name string, size int64) []byte {
	t.Helper()
	for off := 0; off+512 <= len(tarball); off += 512 {
		hdr := tarball[off : off+512]
		if string(bytes.TrimRight(hdr[:100], "\x00")) != name {
			continue
		}
		b := bytes.Clone(tarball)
		hdr = b[off : off+512]
		copy(hdr[124:136], fmt.Sprintf("%011o\x00", size))
		copy(hdr[148:156], "        ")
		sum := 0
		for _, c := range hdr {
			sum += int(c)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		if bytes.Equal(b, tarball) {
			t.Fatalf("entry %q already has size %d", name, size)
		}
		return b
	}
	t.Fatalf("no tar header named %q", name)
	return nil
}

// TestNormalizeRefusesToOverwriteInput points -o at the input, by the
// same path, another spelling, a symlink and a hardlink: exit 2, and the
// input is untouched.
func TestNormalizeRefusesToOverwriteInput(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	for _, tc := range []struct {
		name string
		out  func(dir string) string // makes the -o argument
	}{
		{"same path", func(dir string) string { return filepath.Join(dir, "in.tar.gz") }},
		{"relative path", func(dir string) string { return "./in.tar.gz" }},
		{"symlink to the input", func(dir string) string {
			link := filepath.Join(dir, "link.tar.gz")
			if err := os.Symlink("in.tar.gz", link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{"hardlink of the input", func(dir string) string {
			link := filepath.Join(dir, "hard.tar.gz")
			if err := os.Link(filepath.Join(dir, "in.tar.gz"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			in := filepath.Join(work, "in.tar.gz")
			e2eShell(t, dir, nil, `cp -p in.tar.gz "$1"`, in)
			out := tc.out(work)
			before := stateOf(t, in)
			namesBefore := dirNames(t, work)
			r := reproof(t, invocation{dir: work}, "normalize", in, "-o", out, "--epoch", epochSecs)
			checkFailedCleanly(t, r, out, nil)
			if after := stateOf(t, in); after != before {
				t.Errorf("input changed: %+v, was %+v", after, before)
			}
			if names := dirNames(t, work); !slices.Equal(names, namesBefore) {
				t.Errorf("directory holds %q after the refusal, want %q", names, namesBefore)
			}
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// tarEntry is one line of `tar --full-time -tv`.
type tarEntry struct {
	mode, owner, time, name string
}

// listTar lists a tar with the real tar, in UTC, with numeric owners.
func listTar(t *testing.T, path string) []tarEntry {
	t.Helper()
	out := e2eShell(t, filepath.Dir(path), nil, `tar --numeric-owner --full-time -tvf "$1"`, path)
	var entries []tarEntry
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// -rw-r--r-- 1234/5678 6 2020-09-13 12:26:40 pkg/hello.txt
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("tar -tv line %q has too few fields", line)
		}
		name := strings.Join(f[5:], " ")
		name, _, _ = strings.Cut(name, " -> ")
		name, _, _ = strings.Cut(name, " link to ")
		entries = append(entries, tarEntry{mode: f[0], owner: f[1], time: f[3] + " " + f[4], name: name})
	}
	return entries
}

func entryNames(entries []tarEntry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.name)
	}
	return names
}

// TestNormalizeEpoch checks where the epoch comes from and what --clamp
// does, reading the result with the real tar.
func TestNormalizeEpoch(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	in := filepath.Join(dir, "in.tar.gz")

	t.Run("none given", func(t *testing.T) {
		work := t.TempDir()
		r := reproof(t, invocation{dir: work}, "normalize", in, "-o", "out.tar.gz")
		checkFailedCleanly(t, r, "SOURCE_DATE_EPOCH", nil)
		if !strings.Contains(r.stderr, "\nhint: ") {
			t.Errorf("stderr has no hint:\n%s", r.stderr)
		}
		checkEmptyDir(t, "working directory", work)
	})

	work := t.TempDir()
	run := func(name string, inv invocation, args ...string) string {
		t.Helper()
		inv.dir = work
		out := filepath.Join(work, name)
		r := reproof(t, inv, append([]string{"normalize", in, "-o", out}, args...)...)
		if r.code != 0 {
			t.Fatalf("reproof normalize %q = exit %d, want 0; stderr:\n%s", args, r.code, r.stderr)
		}
		return out
	}
	flag := run("flag.tar.gz", invocation{}, "--epoch", epochSecs)
	env := run("env.tar.gz", invocation{env: []string{"SOURCE_DATE_EPOCH=" + epochSecs}})
	both := run("both.tar.gz", invocation{env: []string{"SOURCE_DATE_EPOCH=1"}}, "--epoch", epochSecs)
	if fileSHA256(t, env) != fileSHA256(t, flag) {
		t.Errorf("SOURCE_DATE_EPOCH=%s gives different bytes than --epoch %s", epochSecs, epochSecs)
	}
	if fileSHA256(t, both) != fileSHA256(t, flag) {
		t.Errorf("--epoch %s with SOURCE_DATE_EPOCH=1 gives different bytes than --epoch alone", epochSecs)
	}
	for _, e := range listTar(t, env) {
		if e.time != epochTime {
			t.Errorf("SOURCE_DATE_EPOCH=%s: %s has mtime %s, want %s", epochSecs, e.name, e.time, epochTime)
		}
	}

	clamped := run("clamp.tar.gz", invocation{}, "--epoch", epochSecs, "--clamp")
	inTimes := map[string]string{}
	for _, e := range listTar(t, in) {
		inTimes[e.name] = e.time
	}
	if inTimes["pkg/late.txt"] != lateTime || inTimes["pkg/hello.txt"] != oldTime {
		t.Fatalf("fixture mtimes %q, want pkg/late.txt at %s and the rest at %s", inTimes, lateTime, oldTime)
	}
	for _, e := range listTar(t, clamped) {
		want := oldTime
		if e.name == "pkg/late.txt" {
			want = epochTime
		}
		if e.time != want {
			t.Errorf("--clamp: %s has mtime %s, want %s (was %s)", e.name, e.time, want, inTimes[e.name])
		}
	}
}

// TestNormalizePassSelection checks that --passes turns passes off, seen
// through the real tar's listing.
func TestNormalizePassSelection(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	in := filepath.Join(dir, "in.tar.gz")
	inList := listTar(t, in)
	if len(inList) < 2 || inList[0].owner != "1234/5678" {
		t.Fatalf("fixture listing %v, want entries owned by 1234/5678", inList)
	}
	work := t.TempDir()

	t.Run("none", func(t *testing.T) {
		out := filepath.Join(work, "none.tar.gz")
		r := reproof(t, invocation{dir: work}, "normalize", in, "-o", out, "--passes", "none")
		if r.code != 0 {
			t.Fatalf("--passes none = exit %d, want 0 (no epoch needed); stderr:\n%s", r.code, r.stderr)
		}
		if got := listTar(t, out); !slices.Equal(got, inList) {
			t.Errorf("--passes none changed the listing:\n%v\nwant\n%v", got, inList)
		}
	})

	t.Run("all but tar-mtime", func(t *testing.T) {
		out := filepath.Join(work, "no-mtime.tar.gz")
		r := reproof(t, invocation{dir: work}, "normalize", in, "-o", out, "--passes", "-tar-mtime", "--epoch", epochSecs)
		if r.code != 0 {
			t.Fatalf("--passes -tar-mtime = exit %d, want 0; stderr:\n%s", r.code, r.stderr)
		}
		inTimes := map[string]string{}
		for _, e := range inList {
			inTimes[e.name] = e.time
		}
		got := listTar(t, out)
		for _, e := range got {
			if e.time != inTimes[e.name] {
				t.Errorf("--passes -tar-mtime: %s has mtime %s, want the input's %s", e.name, e.time, inTimes[e.name])
			}
			if e.owner != "0/0" {
				t.Errorf("--passes -tar-mtime: %s is owned by %s, want 0/0", e.name, e.owner)
			}
		}
		if names := entryNames(got); !slices.IsSorted(names) || len(names) != len(inList) {
			t.Errorf("--passes -tar-mtime: entries %q, want the input's %d entries sorted", names, len(inList))
		}
	})

	t.Run("unknown pass", func(t *testing.T) {
		out := filepath.Join(work, "unknown.tar.gz")
		r := reproof(t, invocation{dir: work}, "normalize", in, "-o", out, "--passes", "tar-mtime,no-such-pass", "--epoch", epochSecs)
		checkFailedCleanly(t, r, "no-such-pass", nil)
		if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("output %s exists after a usage error", out)
		}
	})
}

// TestNormalizeOutputExtracts checks the binary's output with the real
// tools: they test and extract it, and the content is the input's.
func TestNormalizeOutputExtracts(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "unzip")
	dir := fixtures(t)
	for _, tc := range []struct{ in, check, extract string }{
		{"in.tar.gz", `gzip -t "$1"`, `tar -xzf "$1" -C "$2"`},
		{"in.tar.xz", `xz -t "$1"`, `tar -xJf "$1" -C "$2"`},
		{"in.zip", `unzip -tq "$1"`, `unzip -q "$1" -d "$2"`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			work := t.TempDir()
			out := filepath.Join(work, "out-"+tc.in)
			r := reproof(t, invocation{dir: work}, "normalize", filepath.Join(dir, tc.in), "-o", out, "--epoch", epochSecs)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			dest := t.TempDir()
			e2eShell(t, work, nil, tc.check, out)
			e2eShell(t, work, nil, tc.extract, out, dest)
			for _, f := range []string{"pkg/hello.txt", "pkg/numbers.txt", "pkg/bin/run.sh", "pkg/run-hardlink", "pkg/late.txt"} {
				if got, want := fileSHA256(t, filepath.Join(dest, f)), fileSHA256(t, filepath.Join(dir, f)); got != want {
					t.Errorf("%s: sha256 %s after extraction, want %s", f, got, want)
				}
			}
			if target, err := os.Readlink(filepath.Join(dest, "pkg/link")); err != nil || target != "hello.txt" {
				t.Errorf("pkg/link -> %q (%v), want hello.txt", target, err)
			}
			if fi, err := os.Stat(filepath.Join(dest, "pkg/bin/run.sh")); err != nil {
				t.Error(err)
			} else if fi.Mode().Perm() != 0o755 {
				t.Errorf("pkg/bin/run.sh has mode %v after extraction, want 0755", fi.Mode())
			}
			if fi, err := os.Stat(filepath.Join(dest, "pkg/empty")); err != nil || !fi.IsDir() {
				t.Errorf("pkg/empty is not an empty directory after extraction: %v", err)
			}
		})
	}
}

// engineEnv is the environment a test's reproof runs with to build: the
// test process's private Docker engine (its socket, and its own docker
// client first on PATH), an image cache of the test's own, then extra.
func engineEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	docker := testenv.Docker(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	env := append(docker.Env(), "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"), "REPROOF_IMAGE_CACHE="+t.TempDir())
	return append(env, extra...)
}
