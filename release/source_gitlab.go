package release

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// GitLabSource is a GitLab release, read through the Releases API ("Get a
// release by a tag name"): its asset links, the source archives GitLab
// generates for the tag (named by the last element of their URL), and the
// release description. GitLab publishes no sizes or digests.
//
// GITLAB_TOKEN, when set, is sent as PRIVATE-TOKEN to the API origin and
// nowhere else.
type GitLabSource struct {
	spec, project, tag string
	api                string // API base URL, without a trailing "/"
	web                *web
}

func newGitLabSource(spec, project, tag string, opts SourceOptions) (*GitLabSource, error) {
	api, err := parseHTTPURL(opts.GitLabAPI)
	if err != nil {
		return nil, fmt.Errorf("GitLab API base URL: %w", err)
	}
	var cred *credential
	if token := opts.Getenv("GITLAB_TOKEN"); token != "" {
		cred = &credential{origin: origin(api), header: "PRIVATE-TOKEN", value: token}
	}
	return &GitLabSource{
		spec: spec, project: project, tag: tag,
		api: strings.TrimRight(api.String(), "/"),
		web: newWeb(opts, cred),
	}, nil
}

// The parts of GitLab's release object that reproof reads.
type gitlabRelease struct {
	TagName     string `json:"tag_name"`
	Description string `json:"description"`
	Assets      struct {
		Links []struct {
			Name           string `json:"name"`
			URL            string `json:"url"`
			DirectAssetURL string `json:"direct_asset_url"`
		} `json:"links"`
		Sources []struct {
			Format string `json:"format"`
			URL    string `json:"url"`
		} `json:"sources"`
	} `json:"assets"`
}

// List reads the release tagged s.tag.
func (s *GitLabSource) List(ctx context.Context) (*Listing, error) {
	u := s.api + "/projects/" + url.PathEscape(s.project) + "/releases/" + url.PathEscape(s.tag)
	var rel gitlabRelease
	if err := s.web.getJSON(ctx, u, nil, &rel); err != nil {
		return nil, fmt.Errorf("listing %s: reading the release from %s: %w", s.spec, redactURL(u), err)
	}
	if rel.TagName != s.tag {
		return nil, fmt.Errorf("listing %s: the API answered with the release tagged %q", s.spec, rel.TagName)
	}
	var assets []Asset
	for _, l := range rel.Assets.Links {
		link := l.URL
		if link == "" {
			link = l.DirectAssetURL
		}
		if err := checkAssetURL(l.Name, link); err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.spec, err)
		}
		assets = append(assets, Asset{Name: l.Name, URL: link, Size: -1})
	}
	for _, src := range rel.Assets.Sources {
		if err := checkAssetURL(src.Format+" source archive", src.URL); err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.spec, err)
		}
		u, _ := url.Parse(src.URL)
		assets = append(assets, Asset{Name: path.Base(u.Path), URL: src.URL, Size: -1})
	}
	assets, err := checkAssets(assets)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	return &Listing{Source: s.spec, Tag: rel.TagName, Body: rel.Description, BodyName: "release description", Assets: assets}, nil
}

// Open downloads the asset from its URL.
func (s *GitLabSource) Open(ctx context.Context, a Asset) (io.ReadCloser, error) {
	return openAsset(ctx, s.web, a, a.URL, nil)
}
