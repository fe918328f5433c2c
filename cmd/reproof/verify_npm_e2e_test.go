package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/testenv"
)

// gitIn runs git in dir with a fixed identity and returns its output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z", "GIT_AUTHOR_DATE=2024-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %q: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestVerifyNPMDefaults: `reproof verify npm:NAME@VERSION --image IMG
// --command CMD` needs nothing else: the repository comes from the
// version's "repository" (here a real git repository served over HTTP by
// nginx), the commit from its gitHead, and the tag is the repository's
// vVERSION at that commit. A version whose gitHead no release tag holds
// (published from an untagged commit), or that names no repository, is
// an error naming the package before anything is built.
func TestVerifyNPMDefaults(t *testing.T) {
	statuses := testenv.NPMFixture(t, "statuses", "2.0.2", "sha512-DvEy55V3DB7uknRo+4iOGT5fP1slR8wQohVdknigZPMpMstaKJQWhwiYBACJE3Ul2pTnATihhBYnRhZQHGBiRw==")
	// The package's repository: the published files at the top, tagged
	// v2.0.2, then one more commit that no tag holds.
	work := t.TempDir()
	src := filepath.Join(work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(work, "pkg.tgz")
	if err := os.WriteFile(tgz, statuses.Tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-xzf", tgz, "-C", src, "--strip-components=1").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	gitIn(t, src, "init", "-q")
	gitIn(t, src, "add", "-A")
	gitIn(t, src, "commit", "-q", "-m", "2.0.2")
	gitIn(t, src, "tag", "-a", "-m", "2.0.2", "v2.0.2")
	tagged := gitIn(t, src, "rev-parse", "HEAD")
	gitIn(t, src, "commit", "-q", "--allow-empty", "-m", "after the release")
	untagged := gitIn(t, src, "rev-parse", "HEAD")
	served := filepath.Join(work, "www")
	if err := os.MkdirAll(served, 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, work, "clone", "-q", "--bare", src, filepath.Join(served, "statuses.git"))
	gitIn(t, filepath.Join(served, "statuses.git"), "update-server-info")
	repoURL := serveDir(t, "nginx", served) + "/statuses.git"

	reg := testenv.StartNPMRegistry(t, false, statuses)
	publish := func(gitHead string, repository any) {
		reg.Edit(func(_ string, doc map[string]any) {
			doc["gitHead"] = gitHead
			if repository == nil {
				delete(doc, "repository")
			} else {
				doc["repository"] = repository
			}
		})
	}
	env := fx.NewEnv(t)
	inv := invocation{dir: t.TempDir(), env: engineEnv(t)}
	// The build packs the checkout as npm does (files under package/).
	build := `d=$PWD; mkdir -p /tmp/p/package && cp * /tmp/p/package/ && cd /tmp/p && tar -czf "$d/statuses-2.0.2.tgz" package/*`
	args := []string{"verify", "npm:statuses@2.0.2", "--npm-registry", reg.URL, "--image", env.Images.Toolchain.Ref,
		"--runtime", "runc", "--command", build, "--json", "report.json", "--format", "none"}

	publish(tagged, map[string]any{"type": "git", "url": "git+" + repoURL})
	r := reproof(t, inv, args...)
	var rep struct {
		Verdict string `json:"verdict"`
		Source  struct {
			Repo   string `json:"repo"`
			Tag    string `json:"tag"`
			Commit string `json:"commit"`
		} `json:"source"`
		Artifacts []struct {
			Name, Status string
		} `json:"artifacts"`
	}
	raw, err := os.ReadFile(filepath.Join(inv.dir, "report.json"))
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil {
		t.Fatalf("verify with npm defaults: exit %d, no JSON report: %v\nstderr:\n%s", r.code, err, r.stderr)
	}
	for _, want := range []string{
		"using --repo " + repoURL + " (from npm:statuses@2.0.2's repository)",
		"using --commit " + tagged + " (from npm:statuses@2.0.2's gitHead)",
		"using --tag v2.0.2 (from npm:statuses@2.0.2's version, a tag of " + repoURL + ")",
		"using --artifacts '*.tgz' (what npm pack writes)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("verify with npm defaults: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if rep.Source.Commit != tagged || rep.Source.Tag != "v2.0.2" || rep.Verdict == "error" || rep.Verdict == "build-failed" ||
		len(rep.Artifacts) != 1 || rep.Artifacts[0].Name != "statuses-2.0.2.tgz" {
		t.Errorf("verify with npm defaults: exit %d, report %+v; want the tagged commit rebuilt and its tarball judged\nstderr:\n%s", r.code, rep, r.stderr)
	}

	t.Logf("verify npm:statuses@2.0.2 with npm defaults: exit %d, verdict %s, artifacts %+v", r.code, rep.Verdict, rep.Artifacts)

	for _, tt := range []struct {
		name       string
		gitHead    string
		repository any
		want       string
	}{
		{"untagged gitHead", untagged, "git+" + repoURL,
			"npm:statuses@2.0.2 was published from commit " + untagged + " (its gitHead), but " + repoURL + " has v2.0.2 at " + tagged[:12] + ": no release tag holds the published commit"},
		{"no repository", tagged, nil, "npm:statuses@2.0.2 publishes no repository: give the repository with --repo"},
		{"repository not cloneable", tagged, "file:///etc", `npm:statuses@2.0.2 publishes repository "file:///etc", which is not a URL git can clone`},
	} {
		publish(tt.gitHead, tt.repository)
		r := reproof(t, invocation{dir: t.TempDir(), env: inv.env}, args...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "building") {
			t.Errorf("%s: exit %d, want 2 with %q before any build\nstderr:\n%s", tt.name, r.code, tt.want, r.stderr)
		}
	}
}
