package main_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/testenv"
)

// TestCheckWorkingTree: without a tag, check builds the working tree's
// current commit, refusing a tree with uncommitted changes; reports go to
// stdout and to files.
func TestCheckWorkingTree(t *testing.T) {
	testenv.RequireTools(t, "git", "runc")
	set := images.ForTest(t, testenv.Registry(t))
	dir := t.TempDir()
	e2eShell(t, dir, []string{"GIT_CONFIG_NOSYSTEM=1", "HOME=" + dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org"}, `
mkdir project && cd project
git init -q -b main
printf '#!/bin/sh\nset -eu\nmkdir -p dist\necho "release $SOURCE_DATE_EPOCH" >dist/notes.txt\n' >build.sh
chmod 755 build.sh
cat >reproof.toml <<EOT
[source]
repo = "."
[build]
image = "$1"
runtime = "runc"
command = "./build.sh"
artifacts = ["dist/*"]
EOT
git add . && git commit -q -m "unreleased work"
`, set.Busybox.Ref)
	project := filepath.Join(dir, "project")
	inv := invocation{dir: project, env: []string{"REPROOF_IMAGE_CACHE=" + filepath.Join(dir, "cache")}}

	if err := os.WriteFile(filepath.Join(project, "untracked.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := reproof(t, inv, "check", "--vary", "umask,timezone")
	if r.code != 2 || !strings.Contains(r.stderr, "is not clean") {
		t.Errorf("check of a dirty tree: exit %d, stderr %q; want 2, not clean", r.code, r.stderr)
	}
	if err := os.Remove(filepath.Join(project, "untracked.txt")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}

	r = reproof(t, inv, "check", "--vary", "umask,timezone", "--format", "json", "--markdown", filepath.Join(dir, "summary.md"))
	if r.code != 0 {
		t.Fatalf("check: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Schema, Verdict string
		Builds          int
		Source          struct{ Repo, Tag, Commit string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, r.stdout)
	}
	head, err := exec.Command("git", "-C", project, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "reproof/check/v1" || doc.Verdict != "reproducible" || doc.Builds != 2 || doc.Source.Commit != strings.TrimSpace(string(head)) || doc.Source.Tag != "" {
		t.Errorf("JSON report: %+v, want reproducible in 2 builds of %s", doc, head)
	}
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil || !strings.Contains(string(md), "## reproof check: ✅ reproducible") {
		t.Errorf("Markdown report: %v\n%s", err, md)
	}
	if tags, err := exec.Command("git", "-C", project, "tag").Output(); err != nil || len(tags) > 0 {
		t.Errorf("check tagged the user's repository: %s (%v)", tags, err)
	}
}
