package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// HeadTag is the tag check gives the working tree's current commit in its
// own clone (the user's repository is never touched).
const HeadTag = "reproof-check-head"

// cloneHead makes a clone of the git working tree at dir in work, with
// HeadTag on its current commit, so that a rebuild can check that commit
// out as it checks out a release tag. The tree must be clean: what is
// checked is a commit, and uncommitted changes would not be in it.
func cloneHead(ctx context.Context, dir, work string) (repo, commit string, err error) {
	git := func(dir string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && len(ee.Stderr) > 0 {
				return "", fmt.Errorf("git %s: %s", args[0], strings.Join(strings.Fields(string(ee.Stderr)), " "))
			}
			return "", fmt.Errorf("git %s: %w", args[0], err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", err
	}
	if commit, err = git(dir, "rev-parse", "--verify", "HEAD^{commit}"); err != nil {
		return "", "", fmt.Errorf("the working tree %q: %w", dir, err)
	}
	status, err := git(dir, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return "", "", fmt.Errorf("the working tree %q: %w", dir, err)
	}
	if status != "" {
		first, _, _ := strings.Cut(status, "\n")
		return "", "", fmt.Errorf("the working tree %q is not clean (%s): commit or stash the changes; check builds the current commit", dir, strings.TrimSpace(first))
	}
	repo = filepath.Join(work, "head.git")
	if _, err := git(work, "clone", "--quiet", "--bare", "--no-hardlinks", "--", dir, repo); err != nil {
		return "", "", fmt.Errorf("cloning the working tree %q: %w", dir, err)
	}
	if _, err := git(repo, "tag", HeadTag, commit); err != nil {
		return "", "", fmt.Errorf("tagging the working tree's commit: %w", err)
	}
	return repo, commit, nil
}
