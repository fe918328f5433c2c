package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	fx "github.com/reproof/reproof/fixtures"
)

// TestSumsAndVerifyAgree: `sums --published` and `verify` see the same
// release: the same files (artifacts, manifests and side files), the same
// manifests with the same signature state, and the same judgement of each
// file against the release's own checksums. The release is a plain
// directory served by Python's http.server with an honest SHA256SUMS, a
// detached signature (not checked: no keyring), an SBOM and a file for
// another platform (skipped in verify by a rule).
func TestSumsAndVerifyAgree(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(root, "rel")
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"app.tar.gz":       "app\n",
		"app-arm64.tar.gz": "another platform\n",
		"SHA256SUMS.asc":   "-----BEGIN PGP SIGNATURE-----\n",
		"app.spdx.json":    "{}\n",
	}
	files["SHA256SUMS"] = listingSHA256(files["app.tar.gz"]) + "  app.tar.gz\n" + listingSHA256(files["app-arm64.tar.gz"]) + "  app-arm64.tar.gz\n"
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(rel, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	source := serveDir(t, "python", root) + "/rel/"

	r := reproof(t, invocation{}, "sums", "--published", source, "--cache", t.TempDir())
	if r.code != 0 {
		t.Fatalf("sums --published: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	sumsSaw := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name, what, _ := strings.Cut(line, ": ")
		sumsSaw[name] = what
	}

	env := fx.NewEnv(t)
	inv := invocation{dir: t.TempDir(), env: engineEnv(t)}
	repo := filepath.Join(inv.dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, repo, "init", "-q")
	gitIn(t, repo, "commit", "-q", "--allow-empty", "-m", "1.0")
	gitIn(t, repo, "tag", "v1.0")
	r = reproof(t, inv, "verify", "--repo", repo, "--tag", "v1.0", "--image", env.Images.Toolchain.Ref, "--runtime", "runc",
		"--command", `printf 'app\n' > app.tar.gz`, "--artifacts", "app.tar.gz", "--published", source,
		"--skip", "app-arm64.tar.gz=built on arm64 runners", "--json", "report.json", "--format", "none")
	var rep struct {
		Verdict   string `json:"verdict"`
		Published struct {
			Manifests []struct {
				Name, Layout string
				Checksums    int
				Signature    string
			} `json:"manifests"`
			Files []struct {
				Name, SHA256 string
			} `json:"files"`
		} `json:"published"`
		Artifacts []struct{ Name, Status string } `json:"artifacts"`
	}
	raw, err := os.ReadFile(filepath.Join(inv.dir, "report.json"))
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || r.code != 0 {
		t.Fatalf("verify: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	var verifySaw []string
	for _, f := range rep.Published.Files {
		verifySaw = append(verifySaw, f.Name)
		if f.SHA256 != listingSHA256(files[f.Name]) {
			t.Errorf("verify: %s has sha256 %s, want %s", f.Name, f.SHA256, listingSHA256(files[f.Name]))
		}
	}
	for _, m := range rep.Published.Manifests {
		if !slices.Contains(verifySaw, m.Name) {
			verifySaw = append(verifySaw, m.Name)
		}
		if !strings.HasPrefix(sumsSaw[m.Name], m.Layout+" manifest") {
			t.Errorf("manifest %s: verify says %s, sums says %q", m.Name, m.Layout, sumsSaw[m.Name])
		}
	}
	var sumsNames []string
	for name := range sumsSaw {
		sumsNames = append(sumsNames, name)
	}
	sort.Strings(sumsNames)
	sort.Strings(verifySaw)
	if !reflect.DeepEqual(sumsNames, verifySaw) {
		t.Errorf("sums saw %q, verify saw %q", sumsNames, verifySaw)
	}
	status := map[string]string{}
	for _, a := range rep.Artifacts {
		status[a.Name] = a.Status
	}
	if status["app.tar.gz"] != "identical" || status["app-arm64.tar.gz"] != "skipped" || len(status) != 2 ||
		!strings.HasPrefix(sumsSaw["app.tar.gz"], "OK") || !strings.HasPrefix(sumsSaw["app-arm64.tar.gz"], "OK") {
		t.Errorf("verify artifacts %v, sums %v; want the tarball identical and OK, the other platform skipped and OK, side files in neither's artifacts", status, sumsSaw)
	}
}
