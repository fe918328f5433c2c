package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/spec"
)

// NPMDefaults fills in what a spec verifying an npm package leaves out,
// from what the registry published of the version: source.repo from its
// "repository", source.commit from its "gitHead", and source.tag from the
// repository's own tags: the one of vVERSION, VERSION and NAME@VERSION
// (monorepos) that exists and, when the registry gives a gitHead, points
// at it. A user's value is never replaced: a --commit that differs from
// the gitHead is checked against the tag as usual, and a --tag that
// points elsewhere than the gitHead fails the checkout. build.artifacts
// defaults to "*.tgz", what npm pack writes.
//
// It returns one line per value it set, saying where it came from, for
// the user and the report. A spec whose published source is not npm: is
// left alone. An error names the package and what is missing: a version
// with no cloneable repository, or no tag of it at the published commit
// (a version published from a commit no release tag holds).
func NPMDefaults(ctx context.Context, s *spec.Spec, opts release.SourceOptions) ([]string, error) {
	if !strings.HasPrefix(s.Published.Source, "npm:") || (s.Source.Repo != "" && s.Source.Tag != "" && s.Source.Commit != "" && len(s.Build.Artifacts) > 0) {
		return nil, nil
	}
	src, err := release.NewNPMSource(s.Published.Source, opts)
	if err != nil {
		return nil, err
	}
	if _, err := src.List(ctx); err != nil {
		return nil, err
	}
	v := src.Version()
	pkg := s.Published.Source
	var notes []string
	set := func(flag, value, from string) error {
		if err := s.SetFlag(flag, value); err != nil {
			return fmt.Errorf("%s: %s %s: %w", pkg, from, value, err)
		}
		notes = append(notes, fmt.Sprintf("--%s %s (from %s's %s)", flag, value, pkg, from))
		return nil
	}
	if s.Source.Repo == "" {
		repo := v.RepositoryURL()
		if repo == "" {
			what := "no repository"
			if v.Repository != "" {
				what = fmt.Sprintf("repository %q, which is not a URL git can clone", v.Repository)
			}
			return nil, fmt.Errorf("%s publishes %s: give the repository with --repo", pkg, what)
		}
		if err := set("repo", repo, "repository"); err != nil {
			return nil, err
		}
	}
	commitFrom := "--commit"
	if s.Source.Commit == "" && v.GitHead != "" {
		commitFrom = "gitHead"
		if err := set("commit", v.GitHead, "gitHead"); err != nil {
			return nil, err
		}
	}
	if len(s.Build.Artifacts) == 0 {
		notes = append(notes, "--artifacts '*.tgz' (what npm pack writes)")
		if err := s.SetFlag("artifacts", "*.tgz"); err != nil {
			return nil, err
		}
	}
	if s.Source.Tag == "" {
		candidates := []string{"v" + v.Version, v.Version, v.Name + "@" + v.Version}
		found, err := rebuild.RemoteTags(ctx, s.Source.Repo, candidates)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pkg, err)
		}
		var existing []string
		tag := ""
		for _, c := range candidates {
			id, ok := found[c]
			if !ok {
				continue
			}
			existing = append(existing, fmt.Sprintf("%s at %s", c, shortID(id)))
			if tag == "" && (s.Source.Commit == "" || strings.HasPrefix(id, s.Source.Commit)) {
				tag = c
			}
		}
		switch {
		case tag != "":
			if err := set("tag", tag, "version, a tag of "+s.Source.Repo); err != nil {
				return nil, err
			}
		case len(existing) == 0:
			return nil, fmt.Errorf("%s: %s has no tag %s: give the release tag with --tag", pkg, s.Source.Repo, orList(candidates))
		default:
			if commitFrom == "gitHead" {
				return nil, fmt.Errorf("%s was published from commit %s (its gitHead), but %s has %s: no release tag holds the published commit",
					pkg, s.Source.Commit, s.Source.Repo, strings.Join(existing, ", "))
			}
			return nil, fmt.Errorf("%s: %s has %s, none at commit %s (--commit)", pkg, s.Source.Repo, strings.Join(existing, ", "), s.Source.Commit)
		}
	}
	return notes, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// orList joins "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
