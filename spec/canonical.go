package spec

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CanonicalHeader is the first line of Canonical's output.
const CanonicalHeader = "# reproof effective policy (canonical form: docs/attestations.md)\n"

// canonicalOmitted are the fields Canonical leaves out: where the rebuilt
// artifacts are written is the operator's business, not the policy's.
var canonicalOmitted = map[string]bool{"build.out": true}

// Canonical renders the effective policy: every field of s as a spec file
// that Parse reads back to the same values, in one fixed form, so that the
// same policy always has the same bytes and its digest can stand for it in
// an attestation. Flags and defaults are already in s, so the rendering is
// the spec as applied, not the file as written.
//
// The form: a header comment; the tables [source], [build], [published]
// and [compare] in that order, each key in the order of the spec reference
// (docs/spec.md); a key is written when it is set (booleans always);
// strings are TOML basic strings with every control character escaped as
// \uXXXX; durations as Go durations ("2h0m0s"); sizes as integers (bytes);
// then the [[member]] and [[skip]] tables in file order. Build.Out is left
// out (where the output goes is not policy), and so are Path and Dir.
//
// A value TOML cannot hold (invalid UTF-8) is an error.
func (s *Spec) Canonical() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(CanonicalHeader)
	table := ""
	for _, f := range fields {
		if canonicalOmitted[f.key] {
			continue
		}
		val, set, err := canonicalValue(s, f.key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.key, err)
		}
		if !set {
			continue
		}
		t, key, _ := strings.Cut(f.key, ".")
		if t != table {
			if table != "" {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "[%s]\n", t)
			table = t
		}
		fmt.Fprintf(&b, "%s = %s\n", key, val)
	}
	for _, r := range s.Members {
		b.WriteString("\n[[member]]\n")
		if err := canonicalRule(&b, []ruleKey{
			{"artifact", r.Artifact, nil}, {"members", "", r.Members}, {"ignore", "", r.Ignore},
			{"consumer", r.Consumer, nil}, {"reason", r.Reason, nil},
		}); err != nil {
			return nil, fmt.Errorf("member %s: %w", quote(r.Artifact), err)
		}
	}
	for _, r := range s.Skips {
		b.WriteString("\n[[skip]]\n")
		if err := canonicalRule(&b, []ruleKey{{"artifact", r.Artifact, nil}, {"reason", r.Reason, nil}}); err != nil {
			return nil, fmt.Errorf("skip %s: %w", quote(r.Artifact), err)
		}
	}
	images, err := canonicalImages(s)
	if err != nil {
		return nil, err
	}
	b.WriteString(images)
	return b.Bytes(), nil
}

type ruleKey struct {
	key  string
	str  string
	strs []string
}

func canonicalRule(b *bytes.Buffer, keys []ruleKey) error {
	for _, k := range keys {
		var val string
		var err error
		switch {
		case k.strs != nil:
			val, err = tomlStrings(k.strs)
		case k.str != "":
			val, err = tomlString(k.str)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k.key, err)
		}
		fmt.Fprintf(b, "%s = %s\n", k.key, val)
	}
	return nil
}

// canonicalValue is the TOML value of the field key in s, and whether it
// is set. A key it does not know is an error, so that a field added to
// fields without a rendering here fails the tests.
func canonicalValue(s *Spec, key string) (string, bool, error) {
	str := func(v string) (string, bool, error) {
		if v == "" {
			return "", false, nil
		}
		t, err := tomlString(v)
		return t, true, err
	}
	strs := func(v []string) (string, bool, error) {
		if len(v) == 0 {
			return "", false, nil
		}
		t, err := tomlStrings(v)
		return t, true, err
	}
	boolean := func(v bool) (string, bool, error) { return strconv.FormatBool(v), true, nil }
	integer := func(n int64) (string, bool, error) {
		if n == 0 {
			return "", false, nil
		}
		return strconv.FormatInt(n, 10), true, nil
	}
	switch key {
	case "source.repo":
		return str(s.Source.Repo)
	case "source.tag":
		return str(s.Source.Tag)
	case "source.commit":
		return str(s.Source.Commit)
	case "source.source_date_epoch":
		if s.Source.SourceDateEpoch == nil {
			return "", false, nil
		}
		return strconv.FormatInt(*s.Source.SourceDateEpoch, 10), true, nil
	case "build.image":
		return str(s.Build.Image)
	case "build.allow_unpinned":
		return boolean(s.Build.AllowUnpinned)
	case "build.platform":
		return str(s.Build.Platform)
	case "build.runtime":
		return str(s.Build.Runtime)
	case "build.command":
		c := s.Build.Command
		if c.IsZero() {
			return "", false, nil
		}
		if c.Shell && len(c.Argv) == 1 {
			return str(c.Argv[0])
		}
		t, err := tomlStrings(c.Argv)
		return t, true, err
	case "build.env":
		return strs(s.Build.Env)
	case "build.user":
		if s.Build.User == nil {
			return "", false, nil
		}
		return str(s.Build.User.String())
	case "build.network":
		return boolean(s.Build.Network)
	case "build.timeout":
		if s.Build.Timeout == 0 {
			return "", false, nil
		}
		return str(s.Build.Timeout.String())
	case "build.engine_timeout":
		if s.Build.EngineTimeout == 0 {
			return "", false, nil
		}
		return str(s.Build.EngineTimeout.String())
	case "build.pids_limit":
		return integer(s.Build.PidsLimit)
	case "build.memory":
		return integer(s.Build.Memory)
	case "build.cpus":
		if s.Build.CPUs == 0 {
			return "", false, nil
		}
		return strconv.FormatFloat(s.Build.CPUs, 'g', -1, 64), true, nil
	case "build.tmpfs_size":
		return integer(s.Build.TmpfsSize)
	case "build.output_limit":
		return integer(s.Build.OutputLimit)
	case "build.artifacts":
		return strs(s.Build.Artifacts)
	case "build.out":
		return str(s.Build.Out)
	case "published.source":
		return str(s.Published.Source)
	case "published.checksums":
		return strs(s.Published.Checksums)
	case "published.keyring":
		return str(s.Published.Keyring)
	case "compare.passes":
		return strs(s.Compare.Passes)
	case "compare.accept_normalized":
		return boolean(s.Compare.AcceptNormalized)
	case "compare.max_depth":
		return integer(int64(s.Compare.MaxDepth))
	}
	return "", false, fmt.Errorf("no canonical form for the field %s", quote(key))
}

// TOMLString is s as a TOML basic string: quotes and backslashes
// escaped, every control character as \uXXXX, everything else as is. It
// is how the canonical form writes strings, for whoever writes spec files
// (the fixtures do).
func TOMLString(s string) (string, error) { return tomlString(s) }

func tomlString(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s is not valid UTF-8", quote(s))
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// tomlStrings is a TOML array of basic strings, on one line.
func tomlStrings(list []string) (string, error) {
	parts := make([]string, len(list))
	for i, s := range list {
		t, err := tomlString(s)
		if err != nil {
			return "", err
		}
		parts[i] = t
	}
	return "[" + strings.Join(parts, ", ") + "]", nil
}
