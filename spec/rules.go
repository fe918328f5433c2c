package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Globs are doublestar patterns over slash-separated names: "*" and "?"
// stay within one path component, "**" spans any number of them, [abc],
// [^a-z] and {a,b} as in a shell; "\" escapes. A glob matches the whole
// name.

// Matches reports whether the rule is for the artifact called name (the
// name in the published release and the out directory).
func (r MemberRule) Matches(name string) bool { return match(r.Artifact, name) }

// MatchesMember reports whether the archive member at path is one that
// must reproduce: every member when the rule lists none. A leading "./" or
// "/" and a trailing "/" are ignored, so "build/*" matches "./build/x".
func (r MemberRule) MatchesMember(path string) bool {
	if len(r.Members) == 0 {
		return true
	}
	path = memberPath(path)
	for _, g := range r.Members {
		if match(g, path) {
			return true
		}
	}
	return false
}

// Ignores reports whether the archive member at path is left out of the
// comparison by the rule's ignore globs (matched as MatchesMember does).
func (r MemberRule) Ignores(path string) bool {
	path = memberPath(path)
	for _, g := range r.Ignore {
		if match(g, path) {
			return true
		}
	}
	return false
}

// Matches reports whether the rule skips the artifact called name.
func (r SkipRule) Matches(name string) bool { return match(r.Artifact, name) }

// MatchesArtifact reports whether path, slash-separated and relative to
// the checkout, is matched by one of the artifact globs.
func (b Build) MatchesArtifact(path string) bool {
	path = trimDotSlash(path)
	for _, g := range b.Artifacts {
		if match(g, path) {
			return true
		}
	}
	return false
}

// MemberRuleFor returns the first [[member]] rule for the artifact called
// name, in file order.
func (s *Spec) MemberRuleFor(name string) (MemberRule, bool) {
	for _, r := range s.Members {
		if r.Matches(name) {
			return r, true
		}
	}
	return MemberRule{}, false
}

// SkipFor returns the first [[skip]] rule for the artifact called name, in
// file order. An artifact that is skipped is not compared, whatever the
// member rules say.
func (s *Spec) SkipFor(name string) (SkipRule, bool) {
	for _, r := range s.Skips {
		if r.Matches(name) {
			return r, true
		}
	}
	return SkipRule{}, false
}

func match(glob, name string) bool {
	ok, err := doublestar.Match(glob, name)
	return err == nil && ok
}

func memberPath(p string) string {
	for {
		switch {
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		default:
			return strings.TrimSuffix(p, "/")
		}
	}
}

// checkRules checks the [[member]] and [[skip]] tables as a whole. It
// returns the key to blame ("member #2") with the error.
func checkRules(s *Spec) (string, error) {
	members := make(map[string]int, len(s.Members)) // artifact glob -> 1-based index
	for i, r := range s.Members {
		key := fmt.Sprintf("member #%d", i+1)
		if r.Artifact == "" {
			return key, errors.New(`missing "artifact", the glob over artifact names the rule is for`)
		}
		if err := checkGlob(r.Artifact); err != nil {
			return key + ": artifact", err
		}
		for _, g := range r.Members {
			if err := checkGlob(g); err != nil {
				return key + ": members", err
			}
		}
		for _, g := range r.Ignore {
			if err := checkGlob(g); err != nil {
				return key + ": ignore", err
			}
		}
		if r.Consumer != "" && !slices.Contains(Consumers, r.Consumer) {
			return key + ": consumer", fmt.Errorf("unknown consumer %s; known: %s", quote(r.Consumer), strings.Join(Consumers, ", "))
		}
		if len(r.Ignore) > 0 && strings.TrimSpace(r.Reason) == "" {
			return key, errors.New(`"ignore" needs a "reason": say why those members do not reproduce`)
		}
		if err := checkReason(r.Reason); err != nil {
			return key + ": reason", err
		}
		if j, ok := members[r.Artifact]; ok {
			return key, fmt.Errorf("artifact %s repeats member #%d's; give both member lists in one table", quote(r.Artifact), j)
		}
		members[r.Artifact] = i + 1
	}
	skips := make(map[string]int, len(s.Skips))
	for i, r := range s.Skips {
		key := fmt.Sprintf("skip #%d", i+1)
		if r.Artifact == "" {
			return key, errors.New(`missing "artifact", the glob over artifact names the rule is for`)
		}
		if err := checkGlob(r.Artifact); err != nil {
			return key + ": artifact", err
		}
		if strings.TrimSpace(r.Reason) == "" {
			return key, errors.New(`missing "reason": say why the artifact does not reproduce`)
		}
		if err := checkReason(r.Reason); err != nil {
			return key + ": reason", err
		}
		if j, ok := skips[r.Artifact]; ok {
			return key, fmt.Errorf("artifact %s repeats skip #%d's", quote(r.Artifact), j)
		}
		skips[r.Artifact] = i + 1
		if j, ok := members[r.Artifact]; ok {
			return key, fmt.Errorf("artifact %s is also member #%d's; an artifact is either skipped or compared", quote(r.Artifact), j)
		}
	}
	return checkImages(s)
}
