package rebuild

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/reproof/reproof/internal/owner"
)

// RemoteTags asks the repository which of the tags it has, with git
// ls-remote in the same fixed environment as CheckoutSource, and returns
// the commit each one that exists points at (peeled through annotated
// tags), by tag name.
func RemoteTags(ctx context.Context, repo string, tags []string) (map[string]string, error) {
	loc, err := repoLocation(repo)
	if err != nil {
		return nil, fmt.Errorf("asking %q for its tags: %s", repo, oneLine(err))
	}
	home, err := owner.TempDir("", "reproof-git-home-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	g := &gitRun{git: "git", home: home}
	if g.env, err = gitEnv(home); err != nil {
		return nil, err
	}
	args := []string{"ls-remote", "--tags", "--", loc}
	for _, t := range tags {
		args = append(args, "refs/tags/"+t, "refs/tags/"+t+"^{}")
	}
	out, err := g.run(ctx, home, args...)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("asking %q for its tags: %w", repo, ctxErr)
		}
		return nil, fmt.Errorf("asking %q for its tags: %s", repo, oneLine(err))
	}
	found := map[string]string{}
	peeled := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		id, ref, ok := strings.Cut(line, "\t")
		if !ok || !isHex(id, 40, 64) {
			continue
		}
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		if base, isPeeled := strings.CutSuffix(name, "^{}"); isPeeled {
			found[base], peeled[base] = id, true
		} else if !peeled[name] {
			found[name] = id
		}
	}
	for name := range found {
		if !slices.Contains(tags, name) {
			delete(found, name)
		}
	}
	return found, nil
}
