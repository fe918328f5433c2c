package spec

import (
	"fmt"
	"strings"
)

// Need says which command a spec is validated for: the fields it requires.
type Need int

const (
	// NeedNone requires nothing: Validate checks only the values set.
	NeedNone Need = iota
	// NeedRebuild requires source.repo, source.tag, build.image,
	// build.command and build.artifacts.
	NeedRebuild
	// NeedVerify requires what NeedRebuild does and published.source.
	NeedVerify
)

// Validate checks the spec as a command will use it, once the file is
// parsed and the flags are set: every value, the rules as a whole, and
// that the fields need requires are present. A missing field is an error
// wrapping ErrMissing that names every missing field at once, with its
// key and its flag.
func (s *Spec) Validate(need Need) error {
	for _, f := range fields {
		if err := f.check(s); err != nil {
			return &Error{File: s.Path, Key: f.key, Err: err}
		}
	}
	if key, err := checkRules(s); err != nil {
		return &Error{File: s.Path, Key: key, Err: err}
	}
	var keys, flags []string
	for _, f := range fields {
		if f.need != NeedNone && f.need <= need && !f.present(s) {
			keys = append(keys, f.key)
			flags = append(flags, "--"+f.flag)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if s.Path == "" {
		return &Error{Err: fmt.Errorf("%w %s (give them as flags or in a spec file)", ErrMissing, and(flags))}
	}
	them := "it"
	if len(keys) > 1 {
		them = "them"
	}
	return &Error{File: s.Path, Err: fmt.Errorf("%w %s (set %s in the file or with %s)", ErrMissing, and(keys), them, and(flags))}
}

// and joins "a", "a and b", "a, b and c".
func and(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
