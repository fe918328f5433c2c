package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/dist"
	"github.com/reproof/reproof/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// snapshot copies the working tree's files (tracked and untracked, not
// ignored) into each of dirs: trees no one edits while the test builds
// from them.
func snapshot(t *testing.T, root string, dirs ...string) {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted, or a symlink no build reads
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, dir := range dirs {
			dst := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReleaseBuild builds the release of a snapshot of the working tree
// twice, from two copies under different paths, into two output
// directories, with two temporary directories: the same bytes. The binary in the archive says the stamped version, is static,
// and records -trimpath and no VCS; the archive holds the docs, the
// completions and the man page; the image archive is an OCI layout.
func TestReleaseBuild(t *testing.T) {
	testenv.RequireTools(t, "go", "tar")
	tree, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	copyA := filepath.Join(t.TempDir(), "a")
	copyB := filepath.Join(t.TempDir(), "another", "path", "b")
	snapshot(t, tree, copyA, copyB)
	const version, commit = "v1.2.3", "0123456789abcdef0123456789abcdef01234567"
	epoch := time.Unix(1700000000, 0).UTC()
	// Every platform under `make test-all`; the first only in `make
	// test`, whose .ci/run also runs `make release-check`: both
	// platforms rebuilt in a container and verified bit for bit.
	platforms := dist.ReleasePlatforms[:1]
	if os.Getenv("REPROOF_TEST_ALL") != "" {
		platforms = dist.ReleasePlatforms
	}
	build := func(root, out, tmp string) []string {
		t.Helper()
		t.Setenv("TMPDIR", tmp)
		var stderr bytes.Buffer
		b := builder{dir: root, out: out, goCmd: "go", version: version, commit: commit,
			platforms: platforms, epoch: epoch, stderr: &stderr}
		names, err := b.build(context.Background())
		if err != nil {
			t.Fatalf("release-build: %v\n%s", err, stderr.String())
		}
		return names
	}
	outA, outB := t.TempDir(), t.TempDir()
	namesA := build(copyA, outA, t.TempDir())
	build(copyB, outB, t.TempDir())
	var want []string
	for _, p := range platforms {
		want = append(want, dist.ArchiveName(version, p))
	}
	want = append(want, dist.OCIArchiveName(version))
	if len(namesA) != len(want) {
		t.Fatalf("release-build wrote %q, want %q", namesA, want)
	}
	for i, n := range want {
		if filepath.Base(namesA[i]) != n {
			t.Errorf("output %d = %s, want %s", i, namesA[i], n)
		}
		a, errA := os.ReadFile(filepath.Join(outA, n))
		b, errB := os.ReadFile(filepath.Join(outB, n))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds (%v, %v)", n, errA, errB)
		}
	}

	// What is in the amd64 archive, as GNU tar lists it.
	archive := filepath.Join(outA, want[0])
	top := dist.ArchiveDir(version, dist.ReleasePlatforms[0])
	list, err := exec.Command("tar", "--list", "--verbose", "--numeric-owner", "--full-time", "-f", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("tar --list: %v\n%s", err, list)
	}
	for _, name := range []string{"reproof", "LICENSE", "README.md", "CHANGELOG.md", "completions/reproof.bash", "completions/_reproof", "completions/reproof.fish", "man/man1/reproof.1"} {
		if !strings.Contains(string(list), " "+top+"/"+name+"\n") {
			t.Errorf("%s lacks %s/%s:\n%s", want[0], top, name, list)
		}
	}
	if strings.Count(string(list), "2023-11-14 22:13:20") != strings.Count(string(list), "\n") || strings.Contains(string(list), " 1000/") {
		t.Errorf("not every entry is 0/0 at SOURCE_DATE_EPOCH:\n%s", list)
	}
	x := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", archive, "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	bin := filepath.Join(x, top, "reproof")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "reproof v1.2.3 0123456789ab" {
		t.Errorf("reproof --version = %q, %v; want reproof v1.2.3 0123456789ab", out, err)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	for _, w := range []string{"build\t-trimpath=true", "build\tCGO_ENABLED=0"} {
		if !strings.Contains(string(info), w) {
			t.Errorf("go version -m lacks %q:\n%s", w, info)
		}
	}
	if strings.Contains(string(info), "vcs.revision") || strings.Contains(string(info), copyA) {
		t.Errorf("the binary records VCS data or the checkout path %s:\n%s", copyA, info)
	}
	if out, err := exec.Command("file", bin).Output(); err == nil && !strings.Contains(string(out), "statically linked") {
		t.Errorf("file %s = %s, want statically linked", bin, out)
	}
	page, err := os.ReadFile(filepath.Join(x, top, "man/man1/reproof.1"))
	if err != nil || !bytes.Contains(page, []byte(`"2023\-11\-14" "reproof v1.2.3 0123456789ab"`)) {
		t.Errorf("the man page is not dated by SOURCE_DATE_EPOCH and versioned: %.300q", page)
	}

	// The image archive is an OCI layout naming the image.
	ix := t.TempDir()
	if out, err := exec.Command("tar", "-xf", filepath.Join(outA, want[len(want)-1]), "-C", ix).CombinedOutput(); err != nil {
		t.Fatalf("tar -x: %v\n%s", err, out)
	}
	index, err := os.ReadFile(filepath.Join(ix, "index.json"))
	var idx struct {
		Manifests []struct{ Annotations map[string]string }
	}
	if err == nil {
		err = json.Unmarshal(index, &idx)
	}
	if err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Annotations[dist.RefNameAnnotation] != "reproof:v1.2.3" {
		t.Errorf("index.json = %s, %v; want one image named reproof:v1.2.3", index, err)
	}
}

func TestRunUsage(t *testing.T) {
	env := func(k string) string { return map[string]string{"SOURCE_DATE_EPOCH": "x"}[k] }
	for _, args := range [][]string{{"extra"}, {"--platforms", "linux"}, {"--nope"}, {}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &stderr, env); code != 2 || stderr.Len() == 0 {
			t.Errorf("release-build %q = %d, %q; want 2 with a message", args, code, stderr.String())
		}
	}
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, io.Discard, env); code != 0 || !strings.Contains(stdout.String(), "--platforms") {
		t.Errorf("release-build --help = %d, %q", code, stdout.String())
	}
}
