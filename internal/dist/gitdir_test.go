package dist

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// gitIn runs git in dir with a fixed identity and returns its output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// checkoutOf makes a repository with the given tags on one commit and
// checks it out as reproof rebuild does: a fresh repository that fetches
// only the tags given in fetch, HEAD detached at the commit.
func checkoutOf(t *testing.T, tags []string, fetch []string, annotated bool) (dir, commit string) {
	t.Helper()
	origin := t.TempDir()
	gitIn(t, origin, "init", "--quiet")
	if err := os.WriteFile(filepath.Join(origin, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, origin, "add", "f")
	gitIn(t, origin, "commit", "--quiet", "-m", "c")
	commit = gitIn(t, origin, "rev-parse", "HEAD")
	for _, tag := range tags {
		if annotated {
			gitIn(t, origin, "tag", "-a", "-m", tag, tag)
		} else {
			gitIn(t, origin, "tag", tag)
		}
	}
	dir = t.TempDir()
	gitIn(t, dir, "init", "--quiet")
	gitIn(t, dir, "remote", "add", "origin", origin)
	gitIn(t, dir, "fetch", "--quiet", "--no-tags", "origin", "HEAD")
	for _, tag := range fetch {
		gitIn(t, dir, "fetch", "--quiet", "--no-tags", "origin", "+refs/tags/"+tag+":refs/tags/"+tag)
	}
	gitIn(t, dir, "checkout", "--quiet", "--detach", commit)
	return dir, commit
}

func TestCheckoutVersion(t *testing.T) {
	testenv.RequireTools(t, "git")
	for _, annotated := range []bool{false, true} {
		dir, commit := checkoutOf(t, []string{"v1.2.3", "v1.2.4"}, []string{"v1.2.3"}, annotated)
		v, c, err := CheckoutVersion(dir)
		if err != nil || v != "v1.2.3" || c != commit {
			t.Errorf("annotated %v: CheckoutVersion = %q, %q, %v; want v1.2.3, %s", annotated, v, c, err, commit)
		}
		gitIn(t, dir, "pack-refs", "--all")
		if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "tags", "v1.2.3")); err == nil {
			t.Fatal("git pack-refs --all left the loose tag")
		}
		if v, c, err = CheckoutVersion(dir); err != nil || v != "v1.2.3" || c != commit {
			t.Errorf("annotated %v, packed: CheckoutVersion = %q, %q, %v; want v1.2.3, %s", annotated, v, c, err, commit)
		}
	}
	for _, tc := range []struct {
		name       string
		tags       []string
		fetch      []string
		wantErrHas string
	}{
		{"no tag", []string{"v1.0.0"}, nil, "no tag"},
		{"two tags", []string{"v1.0.0", "v1.0.1"}, []string{"v1.0.0", "v1.0.1"}, "2 tags (v1.0.0, v1.0.1)"},
		{"not a version", []string{"release-1"}, []string{"release-1"}, "not a release version"},
	} {
		dir, _ := checkoutOf(t, tc.tags, tc.fetch, false)
		if _, _, err := CheckoutVersion(dir); err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
			t.Errorf("%s: CheckoutVersion error = %v, want one saying %q", tc.name, err, tc.wantErrHas)
		}
	}
	dir, _ := checkoutOf(t, []string{"v1.0.0"}, []string{"v1.0.0"}, false)
	gitIn(t, dir, "checkout", "--quiet", "-b", "branch")
	if _, _, err := CheckoutVersion(dir); err == nil || !strings.Contains(err.Error(), "not a detached commit") {
		t.Errorf("on a branch: CheckoutVersion error = %v, want 'not a detached commit'", err)
	}
}

func TestReleaseVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.0.0-ci.0123456789ab": true, "v1.2.3-rc.1+build.5": true, "v10.20.30": true,
		"1.2.3": false, "v1.2": false, "v01.2.3": false, "v1.2.3 ": false, "v1.2.3-": false, "v1.2.3;rm": false,
	} {
		if got := ReleaseVersion.MatchString(v); got != want {
			t.Errorf("ReleaseVersion.MatchString(%q) = %v, want %v", v, got, want)
		}
	}
}
