package spec

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FlagKind says how a flag takes its value.
type FlagKind int

const (
	// FlagString takes one value: --tag v1.2.3.
	FlagString FlagKind = iota
	// FlagBool is a switch: --network, or --network=false to turn off
	// what the file turned on.
	FlagBool
	// FlagList is repeatable: --artifacts A --artifacts B. The values,
	// together, replace the file's list (they do not add to it).
	FlagList
)

// Flag is the command-line flag of a spec field.
type Flag struct {
	Name       string   // without the dashes: "timeout"
	Key        string   // the field it overrides: "build.timeout"; "member" and "skip" for the rule flags
	Kind       FlagKind // how it takes its value
	Usage      string   // one line for --help; a `WORD` in backquotes names the value, as pflag reads it
	VerifyOnly bool     // only reproof verify takes it (published, compare, member and skip)
}

// Flags lists the flags of every spec field, in the order the reference
// documents them. reproof rebuild takes those that are not VerifyOnly;
// reproof verify takes them all.
func Flags() []Flag {
	flags := make([]Flag, 0, len(fields)+2)
	for _, f := range fields {
		kind := FlagString
		switch f.kind {
		case kindBool:
			kind = FlagBool
		case kindStrings:
			kind = FlagList
		}
		flags = append(flags, Flag{
			Name:       f.flag,
			Key:        f.key,
			Kind:       kind,
			Usage:      f.usage,
			VerifyOnly: strings.HasPrefix(f.key, "published.") || strings.HasPrefix(f.key, "compare."),
		})
	}
	return append(flags,
		Flag{Name: "member", Key: "member", Kind: FlagList, VerifyOnly: true,
			Usage: "compare the members matching MEMBER_GLOB of the artifacts matching `ARTIFACT_GLOB[:MEMBER_GLOB]`, not their bytes (repeatable)"},
		Flag{Name: "skip", Key: "skip", Kind: FlagList, VerifyOnly: true,
			Usage: "declare the artifacts matching GLOB not reproducible, for REASON: `GLOB=REASON` (repeatable)"},
		Flag{Name: "published-image", Key: "image", Kind: FlagList, VerifyOnly: true,
			Usage: "verify the published container image `REF[=ARTIFACT]` (docker://…; docs/images.md): ARTIFACT is the rebuilt image the build writes (oci-archive or docker-archive); a bare REF takes the recipe of the spec's one [[image]] (repeatable; replaces the [[image]] tables)"},
	)
}

// SetFlag sets the field of the flag called name (without dashes) from its
// values on the command line, checked by the same rules as the file. Call
// it for each flag the user gave (pflag's Changed), after Load and before
// Validate: a flag overrides the file.
//
// A FlagString or FlagBool flag takes exactly one value ("true" or "false"
// for a switch). A FlagList flag takes all its values at once and replaces
// the file's list; --passes values may also be comma-separated lists.
// Relative paths are left relative to the working directory. --command is
// run with /bin/sh -c. Errors name the flag: `--timeout: invalid duration
// "2 hours" (use Go syntax such as 90m or 2h)`.
func (s *Spec) SetFlag(name string, values ...string) error {
	fail := func(err error) error { return &Error{Key: "--" + name, Err: err} }
	switch name {
	case "published-image":
		if err := s.setPublishedImages(values); err != nil {
			return fail(err)
		}
		return nil
	case "member", "skip":
		t := *s
		var err error
		if name == "member" {
			t.Members, err = memberFlags(values)
		} else {
			t.Skips, err = skipFlags(values)
		}
		if err != nil {
			return fail(err)
		}
		if key, err := checkRules(&t); err != nil {
			return fail(fmt.Errorf("%s: %w", key, err))
		}
		s.Members, s.Skips = t.Members, t.Skips
		return nil
	}
	i := slices.IndexFunc(fields, func(f field) bool { return f.flag == name })
	if i < 0 {
		return &Error{Err: fmt.Errorf("%s is not a spec flag", quote("--"+name))}
	}
	f := fields[i]
	v, err := valueFromFlag(f, values)
	if err != nil {
		return fail(err)
	}
	if err := f.set(s, v, ""); err != nil {
		return fail(err)
	}
	return nil
}

// valueFromFlag reads a flag's values as the field's kind.
func valueFromFlag(f field, values []string) (value, error) {
	if len(values) == 0 {
		return value{}, errors.New("no value given")
	}
	if f.kind != kindStrings && len(values) > 1 {
		return value{}, fmt.Errorf("given %d times; it takes one value", len(values))
	}
	one := values[0]
	switch f.kind {
	case kindString:
		return value{str: one}, nil
	case kindCommand, kindSize, kindNumber:
		return value{str: one}, nil
	case kindBool:
		b, err := strconv.ParseBool(one)
		if err != nil {
			return value{}, fmt.Errorf("%s is not true or false", quote(one))
		}
		return value{b: b}, nil
	case kindInt:
		n, err := strconv.ParseInt(one, 10, 64)
		if err != nil {
			return value{}, fmt.Errorf("%s is not an integer", quote(one))
		}
		return value{n: n}, nil
	case kindEpoch:
		if n, err := strconv.ParseInt(one, 10, 64); err == nil {
			return value{n: n}, nil
		}
		t, err := time.Parse(time.RFC3339, one)
		if err != nil {
			return value{}, fmt.Errorf("%s is neither Unix seconds nor an RFC 3339 date-time such as 2024-01-01T00:00:00Z", quote(one))
		}
		return value{n: t.Unix()}, nil
	case kindStrings:
		if f.key == "compare.passes" {
			var items []string
			for _, v := range values {
				items = append(items, strings.Split(v, ",")...)
			}
			for i := range items {
				items[i] = strings.TrimSpace(items[i])
			}
			return value{strs: items}, nil
		}
		return value{strs: slices.Clone(values)}, nil
	}
	return value{}, fmt.Errorf("unsupported field kind %d", f.kind)
}

// memberFlags reads --member ARTIFACT_GLOB[:MEMBER_GLOB] values into rules,
// one per artifact glob, in the order the globs first appear. Without
// ":MEMBER_GLOB" every member of the artifact counts.
func memberFlags(values []string) ([]MemberRule, error) {
	var rules []MemberRule
	all := map[string]bool{} // artifact globs given without a member glob
	for _, v := range values {
		artifact, member, hasMember := strings.Cut(v, ":")
		if err := checkGlob(artifact); err != nil {
			return nil, fmt.Errorf("%s: %w (want ARTIFACT_GLOB[:MEMBER_GLOB])", quote(v), err)
		}
		if hasMember {
			if err := checkGlob(member); err != nil {
				return nil, fmt.Errorf("%s: %w (want ARTIFACT_GLOB[:MEMBER_GLOB])", quote(v), err)
			}
		}
		i := slices.IndexFunc(rules, func(r MemberRule) bool { return r.Artifact == artifact })
		if i < 0 {
			rules = append(rules, MemberRule{Artifact: artifact})
			i = len(rules) - 1
		}
		if !hasMember {
			all[artifact] = true
		} else if !slices.Contains(rules[i].Members, member) {
			rules[i].Members = append(rules[i].Members, member)
		}
	}
	for i := range rules {
		if all[rules[i].Artifact] {
			rules[i].Members = nil // every member, whatever else was listed
		}
	}
	return rules, nil
}

// skipFlags reads --skip GLOB=REASON values.
func skipFlags(values []string) ([]SkipRule, error) {
	var rules []SkipRule
	for _, v := range values {
		artifact, reason, _ := strings.Cut(v, "=")
		if err := checkGlob(artifact); err != nil {
			return nil, fmt.Errorf("%s: %w (want GLOB=REASON)", quote(v), err)
		}
		if strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s: no reason (want GLOB=REASON; say why it does not reproduce)", quote(v))
		}
		rules = append(rules, SkipRule{Artifact: artifact, Reason: reason})
	}
	return rules, nil
}
