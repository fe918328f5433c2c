package dist

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ReleaseVersion is the form of a release tag: a semantic version with a
// v, as `go install module@VERSION` needs it (v1.2.3, v1.2.3-rc.1,
// v0.0.0-ci.0123456789ab).
var ReleaseVersion = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

var hexCommit = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// CheckoutVersion reads the commit and the release tag of the checkout at
// dir from its .git directory, without git (the build image has none):
// the commit is HEAD, which must be detached, as `reproof rebuild` leaves
// it; the version is the one tag the repository holds (rebuild fetches
// only the tag it builds), loose or packed. Zero tags, several, or a tag
// that is not a ReleaseVersion are errors naming what was found.
func CheckoutVersion(dir string) (version, commit string, err error) {
	gitDir := filepath.Join(dir, ".git")
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return "", "", fmt.Errorf("reading the checkout's commit: %w", err)
	}
	commit = strings.TrimSpace(string(head))
	if !hexCommit.MatchString(commit) {
		return "", "", fmt.Errorf("reading the checkout's commit: HEAD is %q, not a detached commit", commit)
	}
	tags := map[string]bool{}
	tagDir := filepath.Join(gitDir, "refs", "tags")
	err = filepath.WalkDir(tagDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(tagDir, p)
			if err != nil {
				return err
			}
			tags[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("listing the checkout's tags: %w", err)
	}
	packed, err := os.ReadFile(filepath.Join(gitDir, "packed-refs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("listing the checkout's tags: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		// "<hash> refs/tags/NAME"; "^<hash>" peels the line above.
		_, ref, ok := strings.Cut(sc.Text(), " ")
		if name, isTag := strings.CutPrefix(ref, "refs/tags/"); ok && isTag {
			tags[name] = true
		}
	}
	var names []string
	for n := range tags {
		names = append(names, n)
	}
	sort.Strings(names)
	switch {
	case len(names) == 0:
		return "", "", errors.New("the checkout has no tag: build a release with `reproof rebuild release.toml --tag vX.Y.Z`, which fetches that tag only")
	case len(names) > 1:
		return "", "", fmt.Errorf("the checkout has %d tags (%s), not the one that `reproof rebuild` fetches: give the version with --version", len(names), strings.Join(names, ", "))
	case !ReleaseVersion.MatchString(names[0]):
		return "", "", fmt.Errorf("tag %q is not a release version such as v1.2.3", names[0])
	}
	return names[0], commit, nil
}
