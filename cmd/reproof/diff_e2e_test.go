package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// diffFixtures packs one small tree several ways with the real tools: a
// reference, the same bytes, a metadata-only variant (mtimes, order, gzip
// level), a content change, and an extra file.
func diffFixtures(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "sh", "tar", "gzip")
	dir := t.TempDir()
	e2eShell(t, dir, nil, `
umask 022
mkdir -p p/sub
printf 'one\ntwo\nthree\n' >p/a.txt
printf 'x\n' >p/sub/b.txt
find p -exec touch -h -d @1600000000 {} +
tar --sort=name -cf - p | gzip -n >ref.tar.gz
cp ref.tar.gz same.tar.gz
find p -exec touch -h -d @1700000000 {} +
find p | sort -r >list
tar --no-recursion -T list -cf - | gzip -9 >meta.tar.gz
printf 'one\nTWO\nthree\n' >p/a.txt
tar --sort=name -czf content.tar.gz p
printf 'one\ntwo\nthree\n' >p/a.txt
touch -h -d @1600000000 p/a.txt
printf 'new\n' >p/new.txt
touch -h -d @1600000000 p/new.txt p
tar --sort=name -cf - p | gzip -n >extra.tar.gz
printf 'not a tarball' >garbage.tar.gz
`)
	return dir
}

func TestDiffExitCodes(t *testing.T) {
	t.Parallel()
	dir := diffFixtures(t)
	tests := []struct {
		b        string
		code     int
		contains string
	}{
		{"same.tar.gz", 0, "identical"},
		{"meta.tar.gz", 3, "in a different order"},
		{"content.tar.gz", 1, "+TWO"},
		{"extra.tar.gz", 1, "p/new.txt"},
	}
	for _, tt := range tests {
		r := reproof(t, invocation{dir: dir}, "diff", "ref.tar.gz", tt.b)
		if r.code != tt.code {
			t.Errorf("reproof diff ref.tar.gz %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.b, r.code, tt.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, tt.contains) {
			t.Errorf("reproof diff ref.tar.gz %s: stdout lacks %q:\n%s", tt.b, tt.contains, r.stdout)
		}
	}
	for _, args := range [][]string{
		{"diff", "ref.tar.gz", "garbage.tar.gz"}, // not an archive vs an archive: a type difference, not an error
	} {
		if r := reproof(t, invocation{dir: dir}, args...); r.code != 1 {
			t.Errorf("reproof %q: exit %d, want 1\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	r := reproof(t, invocation{dir: dir}, "diff", "ref.tar.gz", "nonexistent.tar.gz")
	if r.code != 2 || !strings.Contains(r.stderr, "nonexistent.tar.gz") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("reproof diff with a missing input: exit %d, stderr %q; want 2 and one line naming it", r.code, r.stderr)
	}
}

// TestDiffReportFiles writes every report format at once; each is
// byte-stable across time zones and locales.
func TestDiffReportFiles(t *testing.T) {
	t.Parallel()
	dir := diffFixtures(t)
	outputs := map[string]string{
		"--json": "r.json", "--markdown": "r.md", "--html": "r.html", "--diffoscope-json": "r.dj", "--text": "r.txt",
	}
	run := func(env []string, sub string) map[string][]byte {
		out := filepath.Join(dir, sub)
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"diff", "--format", "json"}
		for flag, name := range outputs {
			args = append(args, flag, filepath.Join(out, name))
		}
		args = append(args, "ref.tar.gz", "content.tar.gz")
		r := reproof(t, invocation{dir: dir, env: env}, args...)
		if r.code != 1 {
			t.Fatalf("reproof %q: exit %d\n%s", args, r.code, r.stderr)
		}
		got := map[string][]byte{"stdout": []byte(r.stdout)}
		for _, name := range outputs {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatalf("report %s not written: %v", name, err)
			}
			got[name] = b
		}
		return got
	}
	first := run([]string{"TZ=UTC", "LC_ALL=C"}, "one")
	second := run([]string{"TZ=Pacific/Kiritimati", "LC_ALL=C.UTF-8"}, "two")
	for name, b := range first {
		if string(second[name]) != string(b) {
			t.Errorf("report %s differs between two runs in different time zones and locales", name)
		}
	}
	var rep struct {
		Schema      string `json:"schema"`
		Status      string `json:"status"`
		Differences []struct {
			Paths []string `json:"paths"`
			Kind  string   `json:"kind"`
		} `json:"differences"`
	}
	if err := json.Unmarshal(first["stdout"], &rep); err != nil {
		t.Fatalf("--format json on stdout is not JSON: %v", err)
	}
	if rep.Schema != "reproof/diff/v1" || len(rep.Differences) == 0 {
		t.Errorf("JSON report: schema %q, %d differences; want reproof/diff/v1 with the content difference", rep.Schema, len(rep.Differences))
	}
	if string(first["stdout"]) != string(first["r.json"]) {
		t.Errorf("--format json on stdout and --json FILE differ")
	}
	html := string(first["r.html"])
	if !strings.Contains(html, "<html") || !strings.Contains(html, "p/a.txt") {
		t.Errorf("HTML report is not a page about the comparison")
	}
	for _, external := range []string{"<link", "<script", "src=", "@import", "url("} {
		if strings.Contains(html, external) {
			t.Errorf("HTML report has %q: it must be one self-contained file", external)
		}
	}
}

func TestDiffColor(t *testing.T) {
	t.Parallel()
	dir := diffFixtures(t)
	const esc = "\x1b["
	for _, tt := range []struct {
		args  []string
		env   []string
		color bool
	}{
		{[]string{"--color", "always"}, nil, true},
		{[]string{"--color", "never"}, nil, false},
		{nil, nil, false}, // auto, and stdout is not a terminal
		{[]string{"--color", "auto"}, []string{"NO_COLOR=1"}, false},
	} {
		args := append(append([]string{"diff"}, tt.args...), "ref.tar.gz", "content.tar.gz")
		r := reproof(t, invocation{dir: dir, env: tt.env}, args...)
		if got := strings.Contains(r.stdout, esc); got != tt.color {
			t.Errorf("reproof %q (env %q): colour %v, want %v", args, tt.env, got, tt.color)
		}
	}
}

func TestDiffDirectories(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "sh")
	dir := t.TempDir()
	e2eShell(t, dir, nil, `
mkdir -p a/d b/d
printf 'same\n' >a/d/s; printf 'same\n' >b/d/s
printf 'old\n' >a/f; printf 'new\n' >b/f
touch -d @1600000000 a/d/s a/f b/d/s b/f a/d b/d a b
`)
	r := reproof(t, invocation{dir: dir}, "diff", "a", "b")
	if r.code != 1 || !strings.Contains(r.stdout, "-old") || !strings.Contains(r.stdout, "+new") {
		t.Errorf("reproof diff a b (directories): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
