package rebuild

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/reproof/reproof/internal/intotocheck"
)

// provenanceResult is a finished rebuild as Rebuild fills it, with real
// digest lengths, an index, submodules and a secret.
func provenanceResult(repo string) *Result {
	h := func(c string, n int) string { return strings.Repeat(c, n) }
	return &Result{
		Source: &Source{Repo: repo, Tag: "release/v1.0#rc", Commit: h("a", 40), Tree: h("b", 40), TagObject: h("e", 40),
			SourceDateEpoch: 1700000000,
			Submodules: []Submodule{
				{Path: "third party/lib", Commit: h("1", 40), URL: "https://example.org/lib.git"},
				{Path: "vendor/x", Commit: h("2", 40), URL: "git@example.org:x/y.git"},
			}},
		Image: &PulledImage{Ref: "docker.io/library/debian:12@sha256:" + h("c", 64), Digest: "sha256:" + h("d", 64),
			IndexDigest: "sha256:" + h("c", 64), Platform: "linux/arm64/v8"},
		Runtime: "docker", RuntimeVersion: "20.10.24",
		User:    User{UID: 1000, GID: 1000},
		Command: []string{"make", "dist"},
		Env:     []string{"PATH=/bin", "SOURCE_DATE_EPOCH=1700000000"}, SecretEnv: []string{"TOKEN"},
		Patterns:  []string{"dist/*"},
		Artifacts: []Artifact{{Name: "app.tar.gz", Path: "dist/app.tar.gz", Size: 6, SHA256: h("f", 64), SHA512: h("f", 128)}},
		StartedOn: time.Unix(10, 0).UTC(), FinishedOn: time.Unix(20, 0).UTC(),
		LogSHA256: h("0", 64),
	}
}

// TestProvenanceInToto: the provenance of every form of repository passes
// the in-toto attestation library's validation, every URI in it parses,
// and the image entries' purls carry the digest their entry has.
func TestProvenanceInToto(t *testing.T) {
	for _, repo := range []string{
		"https://token@example.org/project.git",
		"ssh://git@example.org:2222/project.git",
		"git@example.org:project/x.git",
		"/srv/git/my project",
	} {
		t.Run(repo, func(t *testing.T) {
			raw, err := json.Marshal(Provenance(provenanceResult(repo), "v0.1.0"))
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := intotocheck.Statement(raw); err != nil || pt != ProvenancePredicate {
				t.Fatalf("intotocheck.Statement = %s, %v\n%s", pt, err, raw)
			}
			if strings.Contains(string(raw), "token") {
				t.Errorf("the provenance holds the URL's credentials:\n%s", raw)
			}
			var st struct {
				Predicate SLSAProvenance `json:"predicate"`
			}
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatal(err)
			}
			deps := map[string]ResourceDescriptor{}
			for _, d := range st.Predicate.BuildDefinition.ResolvedDependencies {
				deps[d.Name] = d
			}
			for _, name := range []string{"image", "image-index"} {
				d := deps[name]
				p, err := packageurl.FromString(d.URI)
				if err != nil {
					t.Fatalf("%s: %q: %v", name, d.URI, err)
				}
				if p.Type != "oci" || p.Name != "debian" || p.Version != "sha256:"+d.Digest["sha256"] ||
					p.Qualifiers.Map()["repository_url"] != "docker.io/library/debian" || p.Qualifiers.Map()["tag"] != "12" {
					t.Errorf("%s: purl %+v does not name the entry's digest %v", name, p, d.Digest)
				}
			}
			if got := deps["source"].URI; !strings.HasSuffix(got, "@refs/tags/release/v1.0%23rc") || !strings.HasPrefix(got, "git+") {
				t.Errorf("source uri = %q", got)
			}
			for _, sub := range []string{"submodule:third party/lib", "submodule:vendor/x"} {
				if d, ok := deps[sub]; !ok || len(d.Digest["gitCommit"]) != 40 || !strings.HasPrefix(d.URI, "git+") {
					t.Errorf("%s = %+v", sub, d)
				}
			}
			ext := st.Predicate.BuildDefinition.ExternalParameters
			if len(ext.EnvSecrets) != 1 || ext.EnvSecrets[0] != "TOKEN" {
				t.Errorf("env_secrets = %q, want [TOKEN]", ext.EnvSecrets)
			}
		})
	}
}

// TestGitURI: each form of repository becomes a git+ URI that parses.
func TestGitURI(t *testing.T) {
	for _, c := range []struct{ repo, want string }{
		{"https://example.org/p.git", "git+https://example.org/p.git"},
		{"https://user:token@example.org/p.git", "git+https://example.org/p.git"},
		{"ssh://git:secret@example.org/p.git", "git+ssh://git@example.org/p.git"},
		{"git@github.com:org/p.git", "git+ssh://git@github.com/org/p.git"},
		{"example.org:p.git", "git+ssh://example.org/p.git"},
		{"/srv/git/a b", "git+file:///srv/git/a%20b"},
		{"file:///srv/git/p", "git+file:///srv/git/p"},
	} {
		got := GitURI(c.repo)
		if got != c.want {
			t.Errorf("GitURI(%q) = %q, want %q", c.repo, got, c.want)
		}
		if _, err := url.Parse(got); err != nil {
			t.Errorf("GitURI(%q) = %q does not parse: %v", c.repo, got, err)
		}
	}
}

// TestImagePurl: the purl's version is the digest given; registry, tag
// and platform are qualifiers.
func TestImagePurl(t *testing.T) {
	d := "sha256:" + strings.Repeat("d", 64)
	for _, c := range []struct{ ref, platform, want string }{
		{"debian:12@" + d, "linux/amd64", "pkg:oci/debian@" + d + "?arch=amd64&os=linux&repository_url=docker.io%2Flibrary%2Fdebian&tag=12"},
		{"127.0.0.1:5000/team/img@" + d, "", "pkg:oci/img@" + d + "?repository_url=127.0.0.1:5000%2Fteam%2Fimg"},
		{"ghcr.io/o/i:v1", "linux/arm/v7", "pkg:oci/i@" + d + "?arch=arm%2Fv7&os=linux&repository_url=ghcr.io%2Fo%2Fi&tag=v1"},
	} {
		got := ImagePurl(c.ref, d, c.platform)
		if got != c.want {
			t.Errorf("ImagePurl(%q, %q) = %q, want %q", c.ref, c.platform, got, c.want)
		}
		if p, err := packageurl.FromString(got); err != nil || p.Version != d {
			t.Errorf("ImagePurl(%q) = %q: parsed %+v, %v", c.ref, got, p, err)
		}
	}
}

// TestSecretEnv: a secret's value comes from reproof's environment and
// is not in the recorded environment; bad names are refused.
func TestSecretEnv(t *testing.T) {
	getenv := func(k string) string {
		if k == "TOKEN" {
			return "hunter2"
		}
		return ""
	}
	got, err := SecretEnv([]string{"TOKEN"}, []string{"A=1"}, getenv)
	if err != nil || len(got) != 1 || got[0] != "TOKEN=hunter2" {
		t.Errorf("SecretEnv = %q, %v", got, err)
	}
	for _, c := range []struct {
		names, env []string
	}{
		{[]string{"UNSET"}, nil},
		{[]string{"TOKEN"}, []string{"TOKEN=recorded"}},
		{[]string{"HOME"}, nil},
		{[]string{"A B"}, nil},
	} {
		if _, err := SecretEnv(c.names, c.env, getenv); err == nil {
			t.Errorf("SecretEnv(%q, %q) = nil error", c.names, c.env)
		}
	}
	if env := withoutKeys([]string{"A=1", "TOKEN=hunter2", "B=2"}, []string{"TOKEN"}); strings.Join(env, " ") != "A=1 B=2" {
		t.Errorf("withoutKeys = %q", env)
	}
}
