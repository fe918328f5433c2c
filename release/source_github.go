package release

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// GitHubSource is a GitHub release, read through the REST API ("Get a
// release by tag name"): its assets, with their sizes and, where GitHub
// publishes them, their SHA-256 digests, and the release body.
//
// GITHUB_TOKEN, when set, is sent as a bearer token to the API origin and
// nowhere else; with it, assets are downloaded through the API (which also
// serves private releases).
type GitHubSource struct {
	spec, owner, repo, tag string
	api                    string // API base URL, without a trailing "/"
	token                  bool
	web                    *web

	mu       sync.Mutex
	apiAsset map[string]string // browser_download_url -> the asset's API URL
}

func newGitHubSource(spec, owner, repo, tag string, opts SourceOptions) (*GitHubSource, error) {
	api, err := parseHTTPURL(opts.GitHubAPI)
	if err != nil {
		return nil, fmt.Errorf("GitHub API base URL: %w", err)
	}
	s := &GitHubSource{
		spec: spec, owner: owner, repo: repo, tag: tag,
		api:      strings.TrimRight(api.String(), "/"),
		apiAsset: map[string]string{},
	}
	var cred *credential
	if token := opts.Getenv("GITHUB_TOKEN"); token != "" {
		cred = &credential{origin: origin(api), header: "Authorization", value: "Bearer " + token}
		s.token = true
	}
	s.web = newWeb(opts, cred)
	return s, nil
}

// The parts of GitHub's release object that reproof reads.
type githubRelease struct {
	TagName string        `json:"tag_name"`
	Body    string        `json:"body"`
	Assets  []githubAsset `json:"assets"`
}

type githubAsset struct {
	URL                string `json:"url"`
	BrowserDownloadURL string `json:"browser_download_url"`
	Name               string `json:"name"`
	State              string `json:"state"`
	Size               int64  `json:"size"`
	Digest             string `json:"digest"` // "sha256:<hex>", absent on older assets
}

func (s *GitHubSource) header(accept string) http.Header {
	return http.Header{
		"Accept":               {accept},
		"X-Github-Api-Version": {"2022-11-28"},
	}
}

// List reads the release tagged s.tag.
func (s *GitHubSource) List(ctx context.Context) (*Listing, error) {
	u := s.api + "/repos/" + url.PathEscape(s.owner) + "/" + url.PathEscape(s.repo) +
		"/releases/tags/" + url.PathEscape(s.tag)
	var rel githubRelease
	if err := s.web.getJSON(ctx, u, s.header("application/vnd.github+json"), &rel); err != nil {
		return nil, fmt.Errorf("listing %s: reading the release from %s: %w", s.spec, redactURL(u), err)
	}
	if rel.TagName != s.tag {
		return nil, fmt.Errorf("listing %s: the API answered with the release tagged %q", s.spec, rel.TagName)
	}
	var assets []Asset
	apiAsset := map[string]string{}
	for _, ga := range rel.Assets {
		if ga.State != "" && ga.State != "uploaded" {
			continue // an upload that never finished: nothing to download
		}
		a, err := ga.asset()
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.spec, err)
		}
		assets = append(assets, a)
		if ga.URL != "" {
			apiAsset[a.URL] = ga.URL
		}
	}
	assets, err := checkAssets(assets)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	s.mu.Lock()
	for k, v := range apiAsset {
		s.apiAsset[k] = v
	}
	s.mu.Unlock()
	return &Listing{Source: s.spec, Tag: rel.TagName, Body: rel.Body, BodyName: "release body", Assets: assets}, nil
}

func (ga githubAsset) asset() (Asset, error) {
	if err := checkAssetURL(ga.Name, ga.BrowserDownloadURL); err != nil {
		return Asset{}, err
	}
	if ga.Size < 0 {
		return Asset{}, fmt.Errorf("asset %q: negative size %d", ga.Name, ga.Size)
	}
	a := Asset{Name: ga.Name, URL: ga.BrowserDownloadURL, Size: ga.Size}
	if algo, hex, ok := strings.Cut(ga.Digest, ":"); ok && strings.EqualFold(algo, "sha256") {
		hex = strings.ToLower(hex)
		if !isHexDigest(hex) {
			return Asset{}, fmt.Errorf("asset %q: malformed digest %q", ga.Name, ga.Digest)
		}
		a.SHA256 = hex
	}
	return a, nil
}

// Open downloads the asset: through the API when a token is set and the
// asset came from List (GitHub then redirects to storage, without the
// token), else from its browser_download_url.
func (s *GitHubSource) Open(ctx context.Context, a Asset) (io.ReadCloser, error) {
	s.mu.Lock()
	apiURL := s.apiAsset[a.URL]
	s.mu.Unlock()
	if s.token && apiURL != "" {
		return openAsset(ctx, s.web, a, apiURL, s.header("application/octet-stream"))
	}
	return openAsset(ctx, s.web, a, a.URL, nil)
}
