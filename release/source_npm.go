package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
)

// DefaultNPMRegistry is the registry npm: sources read when neither
// SourceOptions.NPMRegistry nor npm_config_registry names one.
const DefaultNPMRegistry = "https://registry.npmjs.org"

// maxPackument caps a whole packument: those of big packages, with
// thousands of versions, are tens of megabytes.
const maxPackument = 64 << 20

// NPMSource is one version of a package in an npm registry
// (npm:NAME@VERSION, npm:@SCOPE/NAME@VERSION): a one-file release, the
// tarball the registry's metadata names (dist.tarball), vouched for by the
// metadata's dist.integrity (SRI; the strongest hash is used) and
// dist.shasum (sha1). List carries those digests as a checksum block in
// the listing's Body (BodyName "npm registry metadata of NAME@VERSION"),
// which CheckPublished reads like a release body, so a tarball that
// disagrees with them is a StatusMismatch.
//
// The metadata is read from the version document REGISTRY/NAME/VERSION,
// small and served by the public registry; a registry that answers 404
// for it is asked for the whole packument REGISTRY/NAME (up to 64 MiB).
// The abbreviated packument (Accept: application/vnd.npm.install-v1+json)
// is never used: it carries neither gitHead nor repository.
// Scoped names are escaped as npm escapes them: "@scope%2fname".
//
// A token (NPM_TOKEN, else npm_config__authToken) is sent as a bearer
// token to the registry's origin and nowhere else: a tarball on another
// host never sees it.
type NPMSource struct {
	spec, name, version string
	registry            string // base URL, without a trailing "/"
	web                 *web

	mu   sync.Mutex
	meta *NPMVersion
}

// NPMVersion is what a registry publishes of one package version and
// reproof reads.
type NPMVersion struct {
	Name    string
	Version string
	// GitHead is the commit the version was published from ("gitHead"),
	// "" when the registry does not say.
	GitHead string
	// Repository is the package's "repository" as published: a URL or a
	// shorthand ("jshttp/statuses", "github:user/repo"); "" if none.
	Repository string
	// RepositoryDirectory is repository.directory (a package in a
	// monorepo), "" if none.
	RepositoryDirectory string
	Tarball             string // dist.tarball
	Integrity           string // dist.integrity, "" if none
	Shasum              string // dist.shasum, lowercase hex, "" if none
}

// NewNPMSource returns the source spec names: "npm:NAME@VERSION" or
// "npm:@SCOPE/NAME@VERSION". The registry is opts.NPMRegistry, else the
// environment's npm_config_registry (read with opts.Getenv), else
// DefaultNPMRegistry.
func NewNPMSource(spec string, opts SourceOptions) (*NPMSource, error) {
	opts = opts.withDefaults()
	name, version, err := parseNPMSpec(spec)
	if err != nil {
		return nil, err
	}
	registry := opts.NPMRegistry
	if registry == "" {
		registry = firstEnv(opts.Getenv, "npm_config_registry", "NPM_CONFIG_REGISTRY")
	}
	if registry == "" {
		registry = DefaultNPMRegistry
	}
	u, err := parseHTTPURL(registry)
	if err != nil {
		return nil, fmt.Errorf("published source %s: npm registry: %w", spec, err)
	}
	s := &NPMSource{spec: spec, name: name, version: version, registry: strings.TrimRight(u.String(), "/")}
	var cred *credential
	if token := firstEnv(opts.Getenv, "NPM_TOKEN", "npm_config__authToken", "NPM_CONFIG__AUTHTOKEN"); token != "" {
		cred = &credential{origin: origin(u), header: "Authorization", value: "Bearer " + token}
	}
	s.web = newWeb(opts, cred)
	return s, nil
}

func firstEnv(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// npmNamePart is what a package name or scope may hold: npm's rules
// (URL-safe characters, no leading "." or "_") loosened to upper case,
// which old packages have.
var npmNamePart = regexp.MustCompile(`^[A-Za-z0-9~-][A-Za-z0-9._~-]*$`)

// npmVersion is a semantic version, as registries key versions.
var npmVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$`)

// parseNPMSpec splits "npm:NAME@VERSION" and checks both parts.
func parseNPMSpec(spec string) (name, version string, err error) {
	rest, ok := strings.CutPrefix(spec, "npm:")
	i := strings.LastIndex(rest, "@")
	if !ok || i <= 0 {
		return "", "", fmt.Errorf("published source %q: want npm:NAME@VERSION or npm:@SCOPE/NAME@VERSION", spec)
	}
	name, version = rest[:i], rest[i+1:]
	bad := func(what string) (string, string, error) {
		return "", "", fmt.Errorf("published source %q: %s", spec, what)
	}
	if !npmVersion.MatchString(version) {
		return bad(fmt.Sprintf("version %q is not an exact version such as 1.2.3 (a tag or range names no one tarball)", version))
	}
	if len(name) > 214 {
		return bad("the package name is longer than npm's 214 characters")
	}
	parts := strings.Split(name, "/")
	switch {
	case strings.HasPrefix(name, "@") && len(parts) == 2 && npmNamePart.MatchString(parts[0][1:]) && npmNamePart.MatchString(parts[1]):
	case !strings.HasPrefix(name, "@") && len(parts) == 1 && npmNamePart.MatchString(name):
	default:
		return bad(fmt.Sprintf("%q is not an npm package name (NAME or @SCOPE/NAME)", name))
	}
	return name, version, nil
}

// escapedName is the package name as a registry path segment: npm sends
// "@scope/name" as "@scope%2fname".
func (s *NPMSource) escapedName() string {
	if scope, name, ok := strings.Cut(s.name, "/"); ok {
		return scope + "%2f" + name
	}
	return s.name
}

// Registry returns the registry's base URL, without a password.
func (s *NPMSource) Registry() string { return redactURL(s.registry) }

// Package returns the package name and version the source names.
func (s *NPMSource) Package() (name, version string) { return s.name, s.version }

// Version returns what the registry published of the version, read by
// List; nil before List has succeeded. Callers default --repo from
// RepositoryURL and --commit from GitHead.
func (s *NPMSource) Version() *NPMVersion {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meta == nil {
		return nil
	}
	v := *s.meta
	return &v
}

// The parts of a version document that reproof reads.
type npmVersionDoc struct {
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	GitHead    string          `json:"gitHead"`
	Repository json.RawMessage `json:"repository"`
	Dist       struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	} `json:"dist"`
}

// List reads the version's metadata and lists its tarball.
func (s *NPMSource) List(ctx context.Context) (*Listing, error) {
	doc, err := s.versionDoc(ctx)
	if err != nil {
		return nil, err
	}
	meta, err := doc.version(s.name, s.version)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	a, body, err := meta.asset()
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	assets, err := checkAssets([]Asset{a})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	s.mu.Lock()
	s.meta = meta
	s.mu.Unlock()
	return &Listing{Source: s.spec, Tag: s.version, Body: body, BodyName: meta.BodyName(), Assets: assets}, nil
}

// versionDoc reads the version document, or the version out of the whole
// packument when the registry serves no version documents.
func (s *NPMSource) versionDoc(ctx context.Context) (*npmVersionDoc, error) {
	base := s.registry + "/" + s.escapedName()
	accept := http.Header{"Accept": {"application/json"}}
	vurl := base + "/" + url.PathEscape(s.version)
	var doc npmVersionDoc
	err := s.web.getJSON(ctx, vurl, accept, &doc)
	if err == nil {
		return &doc, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("listing %s: reading %s: %w", s.spec, redactURL(vurl), err)
	}
	// A 404: no such version, or a registry without version documents.
	// The whole packument tells which.
	data, err := s.getPackument(ctx, base)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("listing %s: the registry %s has no package %q (or it needs a token: NPM_TOKEN)", s.spec, s.Registry(), s.name)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: reading %s: %w", s.spec, redactURL(base), err)
	}
	var pack struct {
		Name     string                     `json:"name"`
		DistTags map[string]string          `json:"dist-tags"`
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal(data, &pack); err != nil {
		return nil, fmt.Errorf("listing %s: %s is not an npm packument: %v", s.spec, redactURL(base), err)
	}
	raw, ok := pack.Versions[s.version]
	if !ok {
		latest := ""
		if l := pack.DistTags["latest"]; l != "" {
			latest = fmt.Sprintf(" (latest is %s)", l)
		}
		return nil, fmt.Errorf("listing %s: the registry %s has no version %s of %s%s", s.spec, s.Registry(), s.version, s.name, latest)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("listing %s: versions[%q] of %s is not a version document: %v", s.spec, s.version, redactURL(base), err)
	}
	return &doc, nil
}

// getPackument GETs a whole packument, with retries, up to maxPackument.
func (s *NPMSource) getPackument(ctx context.Context, rawURL string) ([]byte, error) {
	var data []byte
	attempts, err := retry(ctx, s.web.retries, s.web.backoff, func() error {
		body, err := s.web.get(ctx, rawURL, http.Header{"Accept": {"application/json"}}, false)
		if err != nil {
			return err
		}
		defer body.Close()
		if body.size > maxPackument {
			return fmt.Errorf("%w: the packument is %d bytes, more than the cap of %d", ErrTooLarge, body.size, maxPackument)
		}
		data, err = io.ReadAll(io.LimitReader(body, maxPackument+1))
		if err != nil {
			return err
		}
		if len(data) > maxPackument {
			return fmt.Errorf("%w: the packument is larger than %d bytes", ErrTooLarge, maxPackument)
		}
		return nil
	})
	return data, withAttempts(err, attempts)
}

// version checks a version document against the name and version asked
// for and reads it.
func (d *npmVersionDoc) version(name, version string) (*NPMVersion, error) {
	if d.Name != name || d.Version != version {
		return nil, fmt.Errorf("the registry answered with %s@%s", d.Name, d.Version)
	}
	v := &NPMVersion{
		Name: d.Name, Version: d.Version, GitHead: d.GitHead,
		Tarball: d.Dist.Tarball, Integrity: strings.TrimSpace(d.Dist.Integrity), Shasum: strings.ToLower(d.Dist.Shasum),
	}
	if hasControl(v.GitHead) || (v.GitHead != "" && !hexDigest.MatchString(v.GitHead)) {
		return nil, fmt.Errorf("gitHead %q is not a commit id", v.GitHead)
	}
	if len(d.Repository) > 0 && string(d.Repository) != "null" {
		var repo struct {
			URL       string `json:"url"`
			Directory string `json:"directory"`
		}
		if err := json.Unmarshal(d.Repository, &v.Repository); err != nil {
			if err := json.Unmarshal(d.Repository, &repo); err != nil {
				return nil, fmt.Errorf("repository is neither a string nor {type, url}: %s", clipSRI(string(d.Repository)))
			}
			v.Repository, v.RepositoryDirectory = repo.URL, repo.Directory
		}
		if hasControl(v.Repository) || hasControl(v.RepositoryDirectory) {
			return nil, errors.New("control characters in repository")
		}
	}
	return v, nil
}

// BodyName is what the registry's checksums are called in reports.
func (v *NPMVersion) BodyName() string {
	return "npm registry metadata of " + v.Name + "@" + v.Version
}

// TarballName is the file name of the tarball: the last segment of its URL
// ("statuses-2.0.2.tgz").
func (v *NPMVersion) TarballName() (string, error) {
	if v.Tarball == "" {
		return "", errors.New("the registry's metadata has no dist.tarball")
	}
	u, err := parseHTTPURL(v.Tarball)
	if err != nil {
		return "", fmt.Errorf("dist.tarball: %w", err)
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		return "", fmt.Errorf("dist.tarball %s names no file", u.Redacted())
	}
	if err := checkAssetName(name); err != nil {
		return "", fmt.Errorf("dist.tarball: %w", err)
	}
	return name, nil
}

// Checksums returns the digests the metadata publishes for the tarball:
// the strongest hash of dist.integrity and dist.shasum (sha1), each with
// Source BodyName() and no line. A malformed one is an error.
func (v *NPMVersion) Checksums() ([]Checksum, error) {
	name, err := v.TarballName()
	if err != nil {
		return nil, err
	}
	var out []Checksum
	if v.Integrity != "" {
		hs, err := ParseSRI(v.Integrity)
		if err != nil {
			return nil, fmt.Errorf("dist.%w", err)
		}
		h, _ := StrongestSRI(hs)
		out = append(out, Checksum{Name: name, Algorithm: h.Algorithm, Digest: h.Digest, Source: v.BodyName()})
	}
	if v.Shasum != "" {
		if len(v.Shasum) != SHA1.HexLen() || !hexDigest.MatchString(v.Shasum) {
			return nil, fmt.Errorf("dist.shasum %q is not a sha1 digest", clipSRI(v.Shasum))
		}
		out = append(out, Checksum{Name: name, Algorithm: SHA1, Digest: v.Shasum, Source: v.BodyName()})
	}
	return out, nil
}

// asset is the tarball, and a Markdown body with its checksums in a fenced
// block, for CheckPublished. Asset.SHA256 stays empty even for a sha256
// integrity: a tarball that disagrees must be a StatusMismatch in the
// report, not a failed download.
func (v *NPMVersion) asset() (Asset, string, error) {
	name, err := v.TarballName()
	if err != nil {
		return Asset{}, "", err
	}
	sums, err := v.Checksums()
	if err != nil {
		return Asset{}, "", err
	}
	a := Asset{Name: name, URL: v.Tarball, Size: -1}
	var b strings.Builder
	fmt.Fprintf(&b, "npm registry metadata of %s@%s: dist.integrity and dist.shasum of dist.tarball\n\n```\n", v.Name, v.Version)
	for _, c := range sums {
		fmt.Fprintf(&b, "%s  %s\n", c.Digest, c.Name)
	}
	b.WriteString("```\n")
	if len(sums) == 0 {
		return a, "", nil
	}
	return a, b.String(), nil
}

// RepositoryURL returns the repository as a URL git can clone, from the
// forms package.json allows: "git+https://host/x.git" (the "git+" is
// dropped), "git://github.com/x/y" (as https), "git@github.com:x/y.git",
// and the shorthands "user/repo", "github:user/repo", "gitlab:user/repo",
// "bitbucket:user/repo". "" when there is no repository or its form is
// not one of those.
func (v *NPMVersion) RepositoryURL() string {
	r := strings.TrimSpace(v.Repository)
	hosts := map[string]string{"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}
	if prefix, rest, ok := strings.Cut(r, ":"); ok && hosts[prefix] != "" && !strings.HasPrefix(rest, "//") {
		return shorthandRepo(hosts[prefix], rest)
	}
	if !strings.Contains(r, ":") {
		return shorthandRepo("github.com", r)
	}
	if rest, ok := strings.CutPrefix(r, "git@"); ok {
		host, p, ok := strings.Cut(rest, ":")
		if !ok || host == "" || p == "" {
			return ""
		}
		r = "ssh://git@" + host + "/" + p
	}
	r = strings.TrimPrefix(r, "git+")
	u, err := url.Parse(r)
	if err != nil || u.Host == "" {
		return ""
	}
	switch u.Scheme {
	case "git":
		u.Scheme = "https"
	case "https", "http", "ssh":
	default:
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

func shorthandRepo(host, p string) string {
	p, _, _ = strings.Cut(p, "#")
	parts := strings.Split(p, "/")
	if len(parts) != 2 || !npmNamePart.MatchString(parts[0]) || !npmNamePart.MatchString(parts[1]) {
		return ""
	}
	return "https://" + host + "/" + p
}

// Open downloads the tarball.
func (s *NPMSource) Open(ctx context.Context, a Asset) (io.ReadCloser, error) {
	return openAsset(ctx, s.web, a, a.URL, nil)
}
