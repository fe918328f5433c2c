package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/reproof/reproof/internal/idle"
)

// Asset is one published file.
type Asset struct {
	// Name is how the release names the file. For a directory it is the
	// path relative to the directory, with "/" separators. It comes from
	// the publisher: it is never used as a path in the cache, and callers
	// that write files under it must clean it first.
	Name string
	// URL is where the bytes are; it keys the download cache.
	URL string
	// Size is the size the source publishes, -1 when unknown.
	Size int64
	// SHA256 is the lowercase hex digest the source publishes (GitHub's
	// asset "digest" field), "" when it publishes none.
	SHA256 string
}

// Listing is what a source publishes for one release.
type Listing struct {
	Source   string  // how the user named the source (passwords removed)
	Tag      string  // the release's tag, "" for a directory or a base URL
	Body     string  // release notes or description (Markdown), "" if none
	BodyName string  // what Body is called in messages, e.g. "release body"
	Assets   []Asset // sorted by Name, names unique
	// How says in a few words how the source was listed, for reports:
	// "nginx autoindex, 14 files", "directory, 3 files", "single file",
	// "JSON index, 4 files", or "no listing: WHY" for a base URL whose
	// assets are asked for by name. "" for a release API (GitHub, GitLab).
	How string
}

// Source is where a published release comes from: a directory, a base URL,
// a GitHub release or a GitLab release.
//
// Open makes a single attempt and bounds it by the per-request timeout; the
// Fetcher adds retries, size caps, verification and the cache, so callers
// that want the bytes of an asset should use a Fetcher.
type Source interface {
	List(ctx context.Context) (*Listing, error)
	Open(ctx context.Context, a Asset) (io.ReadCloser, error)
}

// SourceOptions configure sources and fetchers. A zero field takes its
// default.
type SourceOptions struct {
	GitHubAPI string // default "https://api.github.com"
	GitLabAPI string // default "https://gitlab.com/api/v4"
	// NPMRegistry is the registry of npm: sources; default: the
	// environment's npm_config_registry, else DefaultNPMRegistry.
	NPMRegistry string
	// Getenv reads GITHUB_TOKEN and GITLAB_TOKEN; nil means os.Getenv.
	Getenv func(string) string
	// HTTP is the client requests go through; nil means a plain client.
	// Its CheckRedirect is replaced by the package's redirect policy.
	HTTP *http.Client
	// Timeout bounds each request: the wait for the response headers and
	// every wait for the next bytes of the body. Default: the environment
	// variable REPROOF_HTTP_TIMEOUT (read with Getenv) if it holds a
	// positive Go duration such as "30s", else DefaultTimeout.
	Timeout time.Duration
	// Retries is how many attempts a transient failure (connection error,
	// reset, stall, truncated body, 5xx, 408, 429) gets in all. Default 3.
	Retries int
	// RetryBackoff is the wait after the first failed attempt; it doubles
	// after each further one, up to 5s. Default 200ms.
	RetryBackoff time.Duration
	// MaxSize caps the size of one asset. Default 16 GiB.
	MaxSize int64
	// Progress receives a one-line progress bar per download (drawn with
	// "\r", ended with "\n"); nil draws nothing.
	Progress io.Writer
}

// Defaults of SourceOptions.
const (
	DefaultGitHubAPI    = "https://api.github.com"
	DefaultGitLabAPI    = "https://gitlab.com/api/v4"
	DefaultTimeout      = 60 * time.Second
	DefaultRetries      = 3
	DefaultRetryBackoff = 200 * time.Millisecond
	DefaultMaxSize      = 16 << 30

	// TimeoutEnv names the environment variable that sets the default
	// Timeout.
	TimeoutEnv = idle.TimeoutEnv

	maxRetryDelay = 5 * time.Second
	maxRedirects  = 10
)

func (o SourceOptions) withDefaults() SourceOptions {
	if o.GitHubAPI == "" {
		o.GitHubAPI = DefaultGitHubAPI
	}
	if o.GitLabAPI == "" {
		o.GitLabAPI = DefaultGitLabAPI
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	if o.Timeout <= 0 {
		o.Timeout = idle.TimeoutFromEnv(o.Getenv, DefaultTimeout)
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	return o
}

// ErrNotFound is wrapped when a server answers 404: no such release or
// asset, or no access to it.
var ErrNotFound = errors.New("not found")

// ErrDigestMismatch is wrapped when a download's SHA-256 differs from the
// digest the source publishes for it.
var ErrDigestMismatch = errors.New("digest mismatch")

// ErrTooLarge is wrapped when an asset is larger than it may be: larger
// than SourceOptions.MaxSize or than the size the source publishes.
var ErrTooLarge = errors.New("too large")

// StatusError is a server's answer other than 200 OK.
type StatusError struct {
	Code int
	// RetryAfter is the server's Retry-After, 0 if none.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	if text := http.StatusText(e.Code); text != "" {
		return fmt.Sprintf("server answered %d %s", e.Code, text)
	}
	return fmt.Sprintf("server answered status %d", e.Code)
}

// Unwrap makes a 404 match ErrNotFound.
func (e *StatusError) Unwrap() error {
	if e.Code == http.StatusNotFound {
		return ErrNotFound
	}
	return nil
}

func (e *StatusError) transient() bool {
	return e.Code >= 500 || e.Code == http.StatusTooManyRequests || e.Code == http.StatusRequestTimeout
}

// NewSource returns the source a --published value names:
//
//	dist/                        a local directory
//	dist/pkg.tgz                 a local file: a one-file release
//	https://host/path/           a base URL (also http://): its listing page, or name assets with HTTPSource.Asset
//	https://host/path/pkg.tgz    one file, when it answers with something other than HTML
//	github:OWNER/REPO@TAG        a GitHub release (token: GITHUB_TOKEN)
//	gitlab:GROUP/PROJECT@TAG     a GitLab release (token: GITLAB_TOKEN)
//	npm:[@SCOPE/]NAME@VERSION    an npm package version (registry: SourceOptions.NPMRegistry, npm_config_registry; token: NPM_TOKEN)
//
// A file:// URL is a local directory too.
func NewSource(spec string, opts SourceOptions) (Source, error) {
	opts = opts.withDefaults()
	switch {
	case strings.HasPrefix(spec, "github:"):
		project, tag, err := splitProjectTag(spec, "github:")
		if err != nil {
			return nil, err
		}
		owner, repo, ok := strings.Cut(project, "/")
		if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
			return nil, fmt.Errorf("published source %q: want github:OWNER/REPO@TAG", spec)
		}
		return newGitHubSource(spec, owner, repo, tag, opts)
	case strings.HasPrefix(spec, "gitlab:"):
		project, tag, err := splitProjectTag(spec, "gitlab:")
		if err != nil {
			return nil, err
		}
		if slices.Contains(strings.Split(project, "/"), "") {
			return nil, fmt.Errorf("published source %q: want gitlab:GROUP/PROJECT@TAG", spec)
		}
		return newGitLabSource(spec, project, tag, opts)
	case strings.HasPrefix(spec, "npm:"):
		return NewNPMSource(spec, opts)
	case strings.HasPrefix(spec, "file://"):
		u, err := url.Parse(spec)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("published source %q: want file:///ABSOLUTE/PATH", spec)
		}
		return NewDirSource(u.Path)
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		return NewHTTPSource(spec, opts)
	case strings.Contains(spec, "://"):
		return nil, fmt.Errorf("published source %q: unsupported URL scheme (want http, https or file)", redactURL(spec))
	}
	return NewDirSource(spec)
}

// splitProjectTag splits "PREFIX:PROJECT@TAG" at the first "@": project
// paths cannot hold one, tags can ("pkg@1.0").
func splitProjectTag(spec, prefix string) (project, tag string, err error) {
	project, tag, ok := strings.Cut(strings.TrimPrefix(spec, prefix), "@")
	if !ok || project == "" || tag == "" {
		return "", "", fmt.Errorf("published source %q: want %sPROJECT@TAG", spec, prefix)
	}
	if hasControl(project) || hasControl(tag) {
		return "", "", fmt.Errorf("published source %q: control characters in the project or tag", spec)
	}
	return project, tag, nil
}

// redactURL is how URLs appear in errors, listings and the cache: without
// a password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// maxListedAssets caps the assets of one release: each is downloaded and
// hashed. GitHub allows 1000 per release.
const maxListedAssets = 10000

// ManifestAsset resolves a manifest named by the user (--checksums NAME,
// CheckOptions.Manifests) against the source: the listed asset of that
// name; else, for a source that can name what it does not list (a base
// URL), the file of that name under it, unless name is an explicit local
// path (absolute, or starting with "./" or "../"). ok is false when name
// is a local file: for a directory source, a release API, or an explicit
// path.
func ManifestAsset(src Source, listed map[string]Asset, name string) (a Asset, ok bool) {
	if a, ok := listed[name]; ok {
		return a, true
	}
	if filepath.IsAbs(name) || strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") {
		return Asset{}, false
	}
	if hs, isHTTP := src.(*HTTPSource); isHTTP && checkAssetName(name) == nil {
		return hs.Asset(name), true
	}
	return Asset{}, false
}

// checkAssets sorts a listing's assets by name and rejects names that are
// empty, hold control characters, climb out with "..", are absolute, or
// repeat, and listings of more than maxListedAssets.
func checkAssets(assets []Asset) ([]Asset, error) {
	if len(assets) > maxListedAssets {
		return nil, fmt.Errorf("the release lists %d assets, more than the %d reproof downloads", len(assets), maxListedAssets)
	}
	for _, a := range assets {
		if err := checkAssetName(a.Name); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(assets, func(a, b Asset) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(assets); i++ {
		if assets[i].Name == assets[i-1].Name {
			return nil, fmt.Errorf("the release lists two assets named %q", assets[i].Name)
		}
	}
	if assets == nil {
		assets = []Asset{}
	}
	return assets, nil
}

func checkAssetName(name string) error {
	switch {
	case name == "":
		return errors.New("the release lists an asset without a name")
	case name == ".":
		return errors.New(`the release lists an asset named "."`)
	case hasControl(name):
		return fmt.Errorf("asset name %q holds control characters", name)
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`):
		return fmt.Errorf("asset name %q is not a relative slash-separated name", name)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return fmt.Errorf("asset name %q climbs out with \"..\"", name)
	}
	return nil
}
