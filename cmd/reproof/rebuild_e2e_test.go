package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/testenv"
)

// rebuildProject is a git repository holding a C program compiled by the
// toolchain image's cc, tagged v2.0; it returns the directory and commit.
func rebuildProject(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "hello.c"), []byte("#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"))
	out := e2eShell(t, dir, []string{"GIT_CONFIG_NOSYSTEM=1", "HOME=" + dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_AUTHOR_DATE=1700000000 +0000",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_COMMITTER_DATE=1700000000 +0000"}, `
git init -q -b main && git add . && git commit -q -m release && git tag v2.0 && git rev-parse HEAD`)
	return strings.TrimSpace(string(out))
}

// TestRebuildCommand runs `reproof rebuild` from a spec file and from flags
// against a real Docker engine, runc and a loopback registry, and checks
// each exit code with its message.
func TestRebuildCommand(t *testing.T) {
	testenv.RequireTools(t, "git", "runc")
	docker := testenv.Docker(t)
	set := images.ForTest(t, testenv.Registry(t))
	dir := t.TempDir()
	commit := rebuildProject(t, filepath.Join(dir, "project"))
	writeFile(t, filepath.Join(dir, "reproof.toml"), []byte(`
[source]
repo = "project"
tag = "v2.0"
commit = "`+commit+`"

[build]
image = "`+set.Toolchain.Ref+`"
command = "mkdir -p dist && cc -o dist/hello hello.c"
artifacts = ["dist/*"]
`))
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	inv := invocation{dir: dir, env: append(docker.Env(),
		"PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"), // the engine's own client first
		"REPROOF_IMAGE_CACHE="+filepath.Join(dir, "cache"))}

	// From the spec file (found as reproof.toml), with docker (auto).
	r := reproof(t, inv, "rebuild")
	if r.code != 0 {
		t.Fatalf("rebuild: exit %d\n%s", r.code, r.stderr)
	}
	hello := fileSHA256(t, filepath.Join(dir, "rebuilt", "hello"))
	if !strings.Contains(r.stdout, hello+"  hello") || !strings.Contains(r.stdout, "with docker ") ||
		!strings.Contains(r.stderr, "reproof: runtime: docker") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	for _, f := range []string{"SHA256SUMS", "SHA512SUMS", "build.log", "provenance.intoto.json"} {
		if _, err := os.Stat(filepath.Join(dir, "rebuilt", f)); err != nil {
			t.Error(err)
		}
	}
	// The sums it wrote check out with coreutils.
	check := exec.Command("sh", "-c", "sha256sum -c SHA256SUMS && sha512sum -c SHA512SUMS")
	check.Dir = filepath.Join(dir, "rebuilt")
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}

	// Flags override the file: runc, another output directory; same bytes.
	r = reproof(t, inv, "rebuild", "--runtime", "runc", "--out", "again", "reproof.toml")
	if r.code != 0 || fileSHA256(t, filepath.Join(dir, "again", "hello")) != hello {
		t.Fatalf("rebuild with runc: exit %d\n%s", r.code, r.stderr)
	}

	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"failing build", []string{"--command", "echo compiling; echo 'hello.c:1: error' >&2; exit 7", "--out", "x1"}, 4,
			[]string{"reproof: build failed: the build command exited with status 7; the lines of its log that say why:", "  | hello.c:1: error",
				"the end of its log:", "the whole log: "}},
		{"no artifact", []string{"--command", "true", "--out", "x2"}, 4,
			[]string{`build failed: the build produced no artifact matching "dist/*"`}},
		{"unpinned image", []string{"--image", set.Toolchain.Tagged, "--out", "x3"}, 2,
			[]string{"is not pinned by digest; it resolves to " + set.Toolchain.Digest}},
		{"wrong commit", []string{"--commit", strings.Repeat("1", 40), "--out", "x4"}, 2,
			[]string{"tag does not point at the expected commit"}},
		{"output not empty", []string{"--out", "rebuilt"}, 2,
			[]string{"is not empty; remove it or choose another --out"}},
		{"bad flag value", []string{"--timeout", "2 hours"}, 2,
			[]string{`--timeout: invalid duration "2 hours"`, "hint: run 'reproof rebuild --help'"}},
	}
	for _, c := range cases {
		r := reproof(t, inv, append([]string{"rebuild"}, c.args...)...)
		if r.code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, r.code, c.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, r.stderr)
			}
		}
		switch out := filepath.Join(dir, c.args[len(c.args)-1]); c.name {
		case "output not empty":
		case "failing build": // the whole log is kept there, alone
			if entries, err := os.ReadDir(out); err != nil || len(entries) != 1 || entries[0].Name() != "build-failed.log" {
				t.Errorf("%s: left %v in the output directory (%v), want only build-failed.log", c.name, entries, err)
			}
		default:
			if _, err := os.Stat(out); err == nil && c.code != 0 {
				t.Errorf("%s: left an output directory", c.name)
			}
		}
	}

	// Without a spec file, the missing fields are named with their flags.
	r = reproof(t, invocation{env: inv.env}, "rebuild", "--tag", "v1")
	if r.code != 2 || !strings.Contains(r.stderr, "--repo") || !strings.Contains(r.stderr, "--image") {
		t.Errorf("missing fields: exit %d\n%s", r.code, r.stderr)
	}
}
