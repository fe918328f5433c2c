package rebuild

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/package-url/packageurl-go"
)

// In-toto and SLSA identifiers.
const (
	StatementType        = "https://in-toto.io/Statement/v1"
	ProvenancePredicate  = "https://slsa.dev/provenance/v1"
	RebuildBuildType     = "https://github.com/reproof/reproof/blob/main/docs/provenance.md#rebuild-v1"
	BuilderID            = "https://github.com/reproof/reproof"
	provenanceTimeFormat = time.RFC3339
)

// Statement is an in-toto v1 Statement.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     any       `json:"predicate"`
}

// Subject is one artifact an in-toto Statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAProvenance is the SLSA provenance v1 predicate.
type SLSAProvenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are the inputs the user chose: with them and the
// resolved dependencies, anyone can run the same rebuild.
type ExternalParameters struct {
	Repo            string   `json:"repo"`
	Tag             string   `json:"tag"`
	SourceDateEpoch int64    `json:"source_date_epoch"`
	Image           string   `json:"image"`
	Platform        string   `json:"platform"`
	Command         []string `json:"command"`
	Shell           bool     `json:"shell,omitempty"`
	Env             []string `json:"env"`
	// EnvSecrets names the variables passed to the build from reproof's
	// environment (--env-secret) whose values are not recorded.
	EnvSecrets []string `json:"env_secrets,omitempty"`
	User       string   `json:"user"`
	Network    bool     `json:"network"`
	Artifacts  []string `json:"artifacts"`
	// Limits are the build's limits, defaults resolved; absent from a
	// record made before reproof had them.
	Limits *LimitsRecord `json:"limits,omitempty"`
}

// LimitsRecord is Limits as the provenance records them (docs/limits.md).
type LimitsRecord struct {
	Pids        int64   `json:"pids"`
	MemoryBytes int64   `json:"memory_bytes"`
	CPUs        float64 `json:"cpus"`
	TmpfsBytes  int64   `json:"tmpfs_bytes"`
	OutputBytes int64   `json:"output_bytes"`
}

// InternalParameters are what reproof chose or found.
type InternalParameters struct {
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	Unpinned       bool   `json:"image_unpinned,omitempty"`
	// OutputLimit says how the output limit was held: "filesystem" (a
	// size-limited filesystem of its own) or "watched (WHY)".
	OutputLimit string `json:"output_limit,omitempty"`
}

type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Metadata   BuildMetadata        `json:"metadata"`
	Byproducts []ResourceDescriptor `json:"byproducts"`
}

type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version"`
}

type BuildMetadata struct {
	StartedOn  string `json:"startedOn"`
	FinishedOn string `json:"finishedOn"`
}

// Provenance is the in-toto Statement with the SLSA provenance v1 predicate
// for a finished rebuild: each artifact's sha256 and sha512 as subjects,
// the source, its tree, the image (and its index) and the submodules as
// resolved dependencies, each URI one that parses (docs/provenance.md):
// git+URL@refs/tags/TAG (and git+URL@COMMIT for submodules) in SPDX's
// VCS form, the image
// as a pkg:oci purl whose version is the digest the entry carries.
// Values of the variables named in res.SecretEnv are not in it.
func Provenance(res *Result, version string) *Statement {
	subjects := make([]Subject, 0, len(res.Artifacts))
	for _, a := range res.Artifacts {
		subjects = append(subjects, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256, "sha512": a.SHA512}})
	}
	src, img := res.Source, res.Image
	gitDigest := map[string]string{"gitCommit": src.Commit}
	if src.TagObject != "" {
		gitDigest["gitTag"] = src.TagObject
	}
	repo := GitURI(src.Repo)
	deps := []ResourceDescriptor{
		{Name: "source", URI: repo + "@" + escapePath("refs/tags/"+src.Tag), Digest: gitDigest},
		// The tree has no URI of its own a consumer could parse (git's
		// COMMIT^{tree} is revision syntax, not a URI): its digest is it.
		{Name: "source-tree", Digest: map[string]string{"gitTree": src.Tree}},
		{Name: "image", URI: ImagePurl(img.Ref, img.Digest, img.Platform), Digest: digestMap(img.Digest)},
	}
	if img.IndexDigest != "" {
		deps = append(deps, ResourceDescriptor{Name: "image-index", URI: ImagePurl(img.Ref, img.IndexDigest, ""), Digest: digestMap(img.IndexDigest)})
	}
	for _, sub := range src.Submodules {
		d := ResourceDescriptor{Name: "submodule:" + sub.Path, Digest: map[string]string{"gitCommit": sub.Commit}}
		if sub.URL != "" {
			d.URI = GitURI(sub.URL) + "@" + sub.Commit
		}
		deps = append(deps, d)
	}
	if version == "" {
		version = "(devel)"
	}
	cmd := res.Command
	if cmd == nil {
		cmd = []string{}
	}
	return &Statement{
		Type:          StatementType,
		Subject:       subjects,
		PredicateType: ProvenancePredicate,
		Predicate: SLSAProvenance{
			BuildDefinition: BuildDefinition{
				BuildType: RebuildBuildType,
				ExternalParameters: ExternalParameters{
					Repo: RedactRepo(src.Repo), Tag: src.Tag, SourceDateEpoch: src.SourceDateEpoch,
					Image: img.Ref, Platform: img.Platform,
					Command: cmd, Shell: res.Shell, Env: res.Env, EnvSecrets: res.SecretEnv,
					User: res.User.String(), Network: res.Network, Artifacts: res.Patterns,
					Limits: limitsRecord(res.Limits),
				},
				InternalParameters: InternalParameters{Runtime: res.Runtime, RuntimeVersion: res.RuntimeVersion,
					Unpinned: img.Unpinned, OutputLimit: res.OutputLimit},
				ResolvedDependencies: deps,
			},
			RunDetails: RunDetails{
				Builder:    Builder{ID: BuilderID, Version: map[string]string{"reproof": version}},
				Metadata:   BuildMetadata{StartedOn: res.StartedOn.Format(provenanceTimeFormat), FinishedOn: res.FinishedOn.Format(provenanceTimeFormat)},
				Byproducts: []ResourceDescriptor{{Name: LogFile, Digest: map[string]string{"sha256": res.LogSHA256}}},
			},
		},
	}
}

// GitURI is a repository as SPDX and SLSA name one, without a revision:
// git+ and a URL. An https, http, ssh, git or file URL keeps its form (its
// user info dropped: it may hold a token); an scp-like host:path becomes
// git+ssh://host/path (user kept: "git@" is part of the address); a local
// path git+file:// and the absolute path, escaped.
func GitURI(repo string) string {
	if strings.Contains(repo, "://") {
		if r := RedactRepo(repo); r != "" {
			if _, err := url.Parse(r); err == nil {
				return "git+" + r
			}
		}
	}
	if colon := strings.IndexByte(repo, ':'); colon > 0 && !filepath.IsAbs(repo) {
		if slash := strings.IndexByte(repo, '/'); slash < 0 || colon < slash {
			userHost, p := repo[:colon], repo[colon+1:]
			u := &url.URL{Scheme: "ssh", Host: userHost, Path: "/" + strings.TrimPrefix(p, "/")}
			if user, host, ok := strings.Cut(userHost, "@"); ok {
				u.User, u.Host = url.User(user), host
			}
			return "git+" + u.String()
		}
	}
	abs, err := filepath.Abs(repo)
	if err != nil {
		abs = repo
	}
	return "git+" + (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// RedactRepo is a repository URL without what may be a credential: the
// user info of an http(s) URL (a token), the password of any other. A
// repository that is not a URL is returned as is.
func RedactRepo(repo string) string {
	if !strings.Contains(repo, "://") {
		return repo
	}
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return repo
	}
	if u.Scheme == "https" || u.Scheme == "http" {
		u.User = nil
	} else {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// escapePath escapes a slash-separated path for a URI: each segment
// percent-encoded where it must be, the slashes kept.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// ImagePurl is an image as a pkg:oci purl: the repository's last element
// as the name, digest as the version, repository_url the registry and
// repository (docker.io for Docker Hub), the tag and, when platform is
// given, arch (and os) as qualifiers. A reference that does not parse is
// kept as a repository_url qualifier as given.
func ImagePurl(ref, digest, platform string) string {
	var q packageurl.Qualifiers
	repoURL, pkgName, tag := ref, ref, ""
	if r, err := name.ParseReference(ref); err == nil {
		repo := r.Context()
		registry := repo.RegistryStr()
		if registry == name.DefaultRegistry {
			registry = "docker.io"
		}
		repoURL = registry + "/" + repo.RepositoryStr()
		pkgName = path.Base(repo.RepositoryStr())
		if t, ok := r.(name.Tag); ok {
			tag = t.TagStr()
		} else if at := strings.LastIndex(ref, "@"); at > 0 {
			if t, err := name.NewTag(ref[:at]); err == nil && strings.Contains(ref[:at], ":"+t.TagStr()) {
				tag = t.TagStr()
			}
		}
	}
	if platform != "" {
		parts := strings.Split(platform, "/")
		if len(parts) >= 2 {
			arch := parts[1]
			if len(parts) == 3 {
				arch += "/" + parts[2]
			}
			q = append(q, packageurl.Qualifier{Key: "arch", Value: arch}, packageurl.Qualifier{Key: "os", Value: parts[0]})
		}
	}
	q = append(q, packageurl.Qualifier{Key: "repository_url", Value: repoURL})
	if tag != "" {
		q = append(q, packageurl.Qualifier{Key: "tag", Value: tag})
	}
	slices.SortFunc(q, func(a, b packageurl.Qualifier) int { return strings.Compare(a.Key, b.Key) })
	return packageurl.NewPackageURL("oci", "", strings.ToLower(pkgName), digest, q, "").ToString()
}

// SecretEnv resolves the variables named by names from getenv for the
// build's environment, and checks each name. A name that is unset (or
// empty) in reproof's environment, not a valid key, reserved, or also set
// by env is an error.
func SecretEnv(names, env []string, getenv func(string) string) ([]string, error) {
	var out []string
	for _, n := range names {
		if err := CheckEnv(n + "=x"); err != nil {
			return nil, fmt.Errorf("--env-secret %q: not a variable name reproof may set", n)
		}
		for _, e := range env {
			if k, _, _ := strings.Cut(e, "="); k == n {
				return nil, fmt.Errorf("--env-secret %s: the build environment also sets it to a recorded value", n)
			}
		}
		v := getenv(n)
		if v == "" {
			return nil, fmt.Errorf("--env-secret %s: %s is not set in reproof's environment", n, n)
		}
		out = append(out, n+"="+v)
	}
	return out, nil
}

// withoutKeys is env less the entries whose keys are in keys.
func withoutKeys(env, keys []string) []string {
	if len(keys) == 0 {
		return env
	}
	return slices.DeleteFunc(slices.Clone(env), func(e string) bool {
		k, _, _ := strings.Cut(e, "=")
		return slices.Contains(keys, k)
	})
}

// limitsRecord is l for the provenance, nil for no limits at all.
func limitsRecord(l Limits) *LimitsRecord {
	if l == (Limits{}) {
		return nil
	}
	return &LimitsRecord{Pids: l.Pids, MemoryBytes: l.Memory, CPUs: l.CPUs, TmpfsBytes: l.TmpfsSize, OutputBytes: l.OutputSize}
}

// digestMap turns "sha256:hex" into {"sha256": "hex"}.
func digestMap(d string) map[string]string {
	alg, hexDigest, ok := strings.Cut(d, ":")
	if !ok {
		return map[string]string{}
	}
	return map[string]string{alg: hexDigest}
}
