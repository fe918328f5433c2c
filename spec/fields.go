package spec

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// kind is the type a field takes, in TOML and on the command line.
type kind int

const (
	kindString  kind = iota
	kindBool         // true or false
	kindInt          // an integer
	kindEpoch        // an integer, or a date-time with an offset (TOML) or in RFC 3339 (flag)
	kindStrings      // an array of strings; a repeatable flag
	kindCommand      // an array of strings (argv) or a string (a /bin/sh -c script)
	kindSize         // an integer (bytes) or a string with a unit ("512MiB")
	kindNumber       // an integer, a float or a string holding one
)

// value is a field's value once its type is checked, whichever way it came.
type value struct {
	str  string
	strs []string
	b    bool
	n    int64
	argv bool // kindCommand: given as an array
	f    float64
	// sizeIsInt: a kindSize given as an integer (n); numIsSet: a
	// kindNumber given as a number (f).
	sizeIsInt, numIsSet bool
}

// field is one key of the [source], [build], [published] and [compare]
// tables, and its flag. The file and the flags set a field through the
// same set function, so both are held to the same rules.
type field struct {
	key   string // "build.timeout"
	flag  string // "timeout", used as --timeout
	kind  kind
	need  Need   // the least Need that requires the field; NeedNone: optional
	usage string // flag usage, pflag style: `WORD` names the value
	// set checks v strictly (an empty string is an error where the field
	// cannot be empty) and stores it, resolving a relative path against
	// base.
	set func(s *Spec, v value, base string) error
	// check re-checks the stored value for Validate. A zero value of an
	// optional field passes; presence is the business of present.
	check func(s *Spec) error
	// present reports whether a required field is set.
	present func(s *Spec) bool
}

var fields = []field{
	{
		key: "source.repo", flag: "repo", kind: kindString, need: NeedRebuild,
		usage: "git `URL` or local path of the repository to rebuild",
		set: func(s *Spec, v value, base string) error {
			if err := checkRepo(v.str); err != nil {
				return err
			}
			s.Source.Repo = resolveRepo(base, v.str)
			return nil
		},
		check:   func(s *Spec) error { return unlessEmpty(s.Source.Repo, checkRepo) },
		present: func(s *Spec) bool { return s.Source.Repo != "" },
	},
	{
		key: "source.tag", flag: "tag", kind: kindString, need: NeedRebuild,
		usage: "the release `TAG`",
		set: func(s *Spec, v value, _ string) error {
			if err := checkTag(v.str); err != nil {
				return err
			}
			s.Source.Tag = v.str
			return nil
		},
		check:   func(s *Spec) error { return unlessEmpty(s.Source.Tag, checkTag) },
		present: func(s *Spec) bool { return s.Source.Tag != "" },
	},
	{
		key: "source.commit", flag: "commit", kind: kindString,
		usage: "refuse unless the tag points at this `COMMIT` (4 to 40 hex digits, or 64)",
		set: func(s *Spec, v value, _ string) error {
			c := strings.ToLower(v.str)
			if err := checkCommit(c); err != nil {
				return err
			}
			s.Source.Commit = c
			return nil
		},
		check: func(s *Spec) error { return unlessEmpty(s.Source.Commit, checkCommit) },
	},
	{
		key: "source.source_date_epoch", flag: "source-date-epoch", kind: kindEpoch,
		usage: "SOURCE_DATE_EPOCH in Unix `SECONDS` or RFC 3339 (default: the commit's committer time)",
		set: func(s *Spec, v value, _ string) error {
			if err := checkEpoch(v.n); err != nil {
				return err
			}
			n := v.n
			s.Source.SourceDateEpoch = &n
			return nil
		},
		check: func(s *Spec) error {
			if s.Source.SourceDateEpoch == nil {
				return nil
			}
			return checkEpoch(*s.Source.SourceDateEpoch)
		},
	},
	{
		key: "build.image", flag: "image", kind: kindString, need: NeedRebuild,
		usage: "base image `REF`, pinned by digest (REPO[:TAG]@sha256:HEX)",
		set: func(s *Spec, v value, _ string) error {
			if err := checkImage(v.str); err != nil {
				return err
			}
			s.Build.Image = v.str
			return nil
		},
		check:   func(s *Spec) error { return unlessEmpty(s.Build.Image, checkImage) },
		present: func(s *Spec) bool { return s.Build.Image != "" },
	},
	{
		key: "build.allow_unpinned", flag: "allow-unpinned", kind: kindBool,
		usage: "accept an image without a digest (the resolved digest is recorded and the report warns)",
		set: func(s *Spec, v value, _ string) error {
			s.Build.AllowUnpinned = v.b
			return nil
		},
		check: func(*Spec) error { return nil },
	},
	{
		key: "build.platform", flag: "platform", kind: kindString,
		usage: "resolve multi-platform images to `OS/ARCH[/VARIANT]` (default " + DefaultPlatform + ")",
		set: func(s *Spec, v value, _ string) error {
			if err := checkPlatform(v.str); err != nil {
				return err
			}
			s.Build.Platform = v.str
			return nil
		},
		check: func(s *Spec) error { return checkPlatform(s.Build.Platform) },
	},
	{
		key: "build.runtime", flag: "runtime", kind: kindString,
		usage: "container `RUNTIME`: auto, docker, podman or runc (default " + DefaultRuntime + ")",
		set: func(s *Spec, v value, _ string) error {
			if err := checkRuntime(v.str); err != nil {
				return err
			}
			s.Build.Runtime = v.str
			return nil
		},
		check: func(s *Spec) error { return checkRuntime(s.Build.Runtime) },
	},
	{
		key: "build.command", flag: "command", kind: kindCommand, need: NeedRebuild,
		usage: "the build `COMMAND`, run with /bin/sh -c in the checkout",
		set: func(s *Spec, v value, _ string) error {
			c := Command{Argv: v.strs}
			if !v.argv {
				c = Command{Argv: []string{v.str}, Shell: true}
			}
			if err := checkCommand(c); err != nil {
				return err
			}
			s.Build.Command = c
			return nil
		},
		check: func(s *Spec) error {
			if s.Build.Command.IsZero() && !s.Build.Command.Shell {
				return nil
			}
			return checkCommand(s.Build.Command)
		},
		present: func(s *Spec) bool { return !s.Build.Command.IsZero() },
	},
	{
		key: "build.env", flag: "env", kind: kindStrings,
		usage: "add `KEY=VALUE` to the build's environment (repeatable)",
		set: func(s *Spec, v value, _ string) error {
			if err := checkEnv(v.strs); err != nil {
				return err
			}
			s.Build.Env = v.strs
			return nil
		},
		check: func(s *Spec) error { return checkEnv(s.Build.Env) },
	},
	{
		key: "build.user", flag: "user", kind: kindString,
		usage: "build as `UID:GID` (numeric) instead of the host's user",
		set: func(s *Spec, v value, _ string) error {
			u, err := parseUser(v.str)
			if err != nil {
				return err
			}
			s.Build.User = u
			return nil
		},
		check: func(s *Spec) error { return checkUser(s.Build.User) },
	},
	{
		key: "build.network", flag: "network", kind: kindBool,
		usage: "give the build the network (recorded; the report warns)",
		set: func(s *Spec, v value, _ string) error {
			s.Build.Network = v.b
			return nil
		},
		check: func(*Spec) error { return nil },
	},
	{
		key: "build.timeout", flag: "timeout", kind: kindString,
		usage: "stop the build after `DURATION`, such as 90m or 2h (default 2h)",
		set: func(s *Spec, v value, _ string) error {
			d, err := time.ParseDuration(v.str)
			if err != nil {
				return fmt.Errorf("invalid duration %s (use Go syntax such as 90m or 2h)", quote(v.str))
			}
			if err := checkTimeout(d); err != nil {
				return err
			}
			s.Build.Timeout = d
			return nil
		},
		check: func(s *Spec) error { return checkTimeout(s.Build.Timeout) },
	},
	{
		key: "build.engine_timeout", flag: "engine-timeout", kind: kindString,
		usage: "wait at most `DURATION` for the container engine or runc to answer each call (default 1m, or --timeout if shorter, at least 10s)",
		set: func(s *Spec, v value, _ string) error {
			d, err := time.ParseDuration(v.str)
			if err != nil {
				return fmt.Errorf("invalid duration %s (use Go syntax such as 30s or 2m)", quote(v.str))
			}
			if d == 0 {
				return fmt.Errorf("%s is not positive", quote(v.str))
			}
			if err := checkEngineTimeout(d); err != nil {
				return err
			}
			s.Build.EngineTimeout = d
			return nil
		},
		check: func(s *Spec) error { return checkEngineTimeout(s.Build.EngineTimeout) },
	},
	{
		key: "build.pids_limit", flag: "pids-limit", kind: kindInt,
		usage: fmt.Sprintf("stop the build when it reaches `N` processes and threads at once (default 4096; %d to %d)", MinPidsLimit, MaxPidsLimit),
		set: func(s *Spec, v value, _ string) error {
			if v.n == 0 {
				return errors.New("0 is out of range; leave it out for the default")
			}
			if err := checkPidsLimit(v.n); err != nil {
				return err
			}
			s.Build.PidsLimit = v.n
			return nil
		},
		check: func(s *Spec) error { return checkPidsLimit(s.Build.PidsLimit) },
	},
	{
		key: "build.memory", flag: "memory", kind: kindSize,
		usage: "stop the build when it uses `SIZE` of memory, tmpfs included, no swap, such as 4GiB (default 8GiB or half the host's, whichever is less)",
		set: func(s *Spec, v value, _ string) error {
			n, err := positiveSize(v)
			if err != nil {
				return err
			}
			if err := checkSize("a memory limit", n, MinMemory); err != nil {
				return err
			}
			s.Build.Memory = n
			return nil
		},
		check: func(s *Spec) error { return checkSize("a memory limit", s.Build.Memory, MinMemory) },
	},
	{
		key: "build.cpus", flag: "cpus", kind: kindNumber,
		usage: "give the build `N` CPUs' worth of time, such as 2 or 1.5 (default: all of the host's)",
		set: func(s *Spec, v value, _ string) error {
			f, err := cpusValue(v)
			if err != nil {
				return err
			}
			if f == 0 {
				return errors.New("0 is out of range; leave it out for the default")
			}
			if err := checkCPUs(f); err != nil {
				return err
			}
			s.Build.CPUs = f
			return nil
		},
		check: func(s *Spec) error { return checkCPUs(s.Build.CPUs) },
	},
	{
		key: "build.tmpfs_size", flag: "tmpfs-size", kind: kindSize,
		usage: "size of each of the build's tmpfs mounts, /tmp and HOME: `SIZE` such as 1GiB (default 2GiB or the memory limit, whichever is less)",
		set: func(s *Spec, v value, _ string) error {
			n, err := positiveSize(v)
			if err != nil {
				return err
			}
			if err := checkSize("a tmpfs size", n, MinTmpfsSize); err != nil {
				return err
			}
			s.Build.TmpfsSize = n
			return nil
		},
		check: func(s *Spec) error { return checkSize("a tmpfs size", s.Build.TmpfsSize, MinTmpfsSize) },
	},
	{
		key: "build.output_limit", flag: "output-limit", kind: kindSize,
		usage: "stop the build when the checkout with its output reaches `SIZE`, such as 20GiB (default 16GiB or half the free space, whichever is less)",
		set: func(s *Spec, v value, _ string) error {
			n, err := positiveSize(v)
			if err != nil {
				return err
			}
			if err := checkSize("an output limit", n, MinOutput); err != nil {
				return err
			}
			s.Build.OutputLimit = n
			return nil
		},
		check: func(s *Spec) error { return checkSize("an output limit", s.Build.OutputLimit, MinOutput) },
	},
	{
		key: "build.artifacts", flag: "artifacts", kind: kindStrings, need: NeedRebuild,
		usage: "`GLOB` of build outputs relative to the checkout, ** allowed (repeatable)",
		set: func(s *Spec, v value, _ string) error {
			globs := make([]string, len(v.strs))
			for i, g := range v.strs {
				globs[i] = trimDotSlash(g)
			}
			if len(globs) == 0 {
				return errors.New("empty list; name at least one glob such as \"dist/*.tar.gz\"")
			}
			if err := checkArtifactGlobs(globs); err != nil {
				return err
			}
			s.Build.Artifacts = globs
			return nil
		},
		check:   func(s *Spec) error { return checkArtifactGlobs(s.Build.Artifacts) },
		present: func(s *Spec) bool { return len(s.Build.Artifacts) > 0 },
	},
	{
		key: "build.out", flag: "out", kind: kindString,
		usage: "write rebuilt artifacts and provenance to `DIR` (default " + DefaultOut + ")",
		set: func(s *Spec, v value, base string) error {
			if err := checkPath(v.str); err != nil {
				return err
			}
			s.Build.Out = resolvePath(base, v.str)
			return nil
		},
		check: func(s *Spec) error { return checkPath(s.Build.Out) },
	},
	{
		key: "published.source", flag: "published", kind: kindString, need: NeedVerify,
		usage: "the published release: a `DIR` or file, an http(s) URL, github:OWNER/REPO@TAG, gitlab:GROUP/PROJECT@TAG or npm:[@SCOPE/]NAME@VERSION",
		set: func(s *Spec, v value, base string) error {
			if err := checkPublishedSource(v.str); err != nil {
				return err
			}
			s.Published.Source = resolvePublished(base, v.str)
			return nil
		},
		check:   func(s *Spec) error { return unlessEmpty(s.Published.Source, checkPublishedSource) },
		present: func(s *Spec) bool { return s.Published.Source != "" },
	},
	{
		key: "published.checksums", flag: "checksums", kind: kindStrings,
		usage: "checksum manifest `NAME` in the release, or \"body\" for the release description (repeatable; default: all found)",
		set: func(s *Spec, v value, _ string) error {
			if err := checkChecksums(v.strs); err != nil {
				return err
			}
			s.Published.Checksums = v.strs
			return nil
		},
		check: func(s *Spec) error { return checkChecksums(s.Published.Checksums) },
	},
	{
		key: "published.keyring", flag: "keyring", kind: kindString,
		usage: "verify PGP signatures of manifests and files (clear-signed, or detached .asc/.sig/.gpg) with the keyring `FILE`",
		set: func(s *Spec, v value, base string) error {
			if err := checkPath(v.str); err != nil {
				return err
			}
			s.Published.Keyring = resolvePath(base, v.str)
			return nil
		},
		check: func(s *Spec) error { return unlessEmpty(s.Published.Keyring, checkPath) },
	},
	{
		key: "compare.passes", flag: "passes", kind: kindStrings,
		usage: "normalize passes that may establish equivalence: `LIST` of all, none, pass names, -name (default all)",
		set: func(s *Spec, v value, _ string) error {
			if err := checkPasses(v.strs); err != nil {
				return err
			}
			s.Compare.Passes = v.strs
			return nil
		},
		check: func(s *Spec) error { return checkPasses(s.Compare.Passes) },
	},
	{
		key: "compare.accept_normalized", flag: "accept-normalized", kind: kindBool,
		usage: "exit 0, not 3, when the release is reproducible only after normalization",
		set: func(s *Spec, v value, _ string) error {
			s.Compare.AcceptNormalized = v.b
			return nil
		},
		check: func(*Spec) error { return nil },
	},
	{
		key: "compare.max_depth", flag: "max-depth", kind: kindInt,
		usage: fmt.Sprintf("open nested archives up to `N` levels deep, 1 to %d (default %d)", MaxMaxDepth, DefaultMaxDepth),
		set: func(s *Spec, v value, _ string) error {
			if err := checkMaxDepth(v.n); err != nil {
				return err
			}
			s.Compare.MaxDepth = int(v.n)
			return nil
		},
		check: func(s *Spec) error { return checkMaxDepth(int64(s.Compare.MaxDepth)) },
	},
}

// positiveSize is a size field's value, refusing 0 (leave the field out
// for the default) and negative numbers.
func positiveSize(v value) (int64, error) {
	n, err := sizeValue(v)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, errors.New("want a positive size; leave it out for the default")
	}
	return n, nil
}

func fieldByKey(key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// tableKeys lists the keys of one table, for suggestions.
func tableKeys(table string) []string {
	var keys []string
	for _, f := range fields {
		if t, k, _ := strings.Cut(f.key, "."); t == table {
			keys = append(keys, k)
		}
	}
	return keys
}

func unlessEmpty(s string, check func(string) error) error {
	if s == "" {
		return nil
	}
	return check(s)
}

// valueFromTOML checks a TOML value's type against the field's kind.
func valueFromTOML(k kind, data any) (value, error) {
	switch k {
	case kindString:
		if s, ok := data.(string); ok {
			return value{str: s}, nil
		}
		return value{}, fmt.Errorf("want a string, got %s", tomlType(data))
	case kindBool:
		if b, ok := data.(bool); ok {
			return value{b: b}, nil
		}
		return value{}, fmt.Errorf("want true or false, got %s", tomlType(data))
	case kindInt:
		if n, ok := data.(int64); ok {
			return value{n: n}, nil
		}
		return value{}, fmt.Errorf("want an integer, got %s", tomlType(data))
	case kindEpoch:
		switch v := data.(type) {
		case int64:
			return value{n: v}, nil
		case time.Time:
			if isLocalTime(v) {
				return value{}, errors.New("a date-time needs an offset here (add Z for UTC: 2024-01-01T00:00:00Z)")
			}
			return value{n: v.Unix()}, nil
		}
		return value{}, fmt.Errorf("want Unix seconds or a date-time such as 2024-01-01T00:00:00Z, got %s", tomlType(data))
	case kindStrings:
		strs, ok := stringArray(data)
		if !ok {
			return value{}, fmt.Errorf(`want an array of strings such as ["a", "b"], got %s`, tomlType(data))
		}
		return value{strs: strs}, nil
	case kindSize:
		switch v := data.(type) {
		case int64:
			return value{n: v, sizeIsInt: true}, nil
		case string:
			return value{str: v}, nil
		}
		return value{}, fmt.Errorf("want a size such as \"512MiB\" or a number of bytes, got %s", tomlType(data))
	case kindNumber:
		switch v := data.(type) {
		case int64:
			return value{f: float64(v), numIsSet: true}, nil
		case float64:
			return value{f: v, numIsSet: true}, nil
		case string:
			return value{str: v}, nil
		}
		return value{}, fmt.Errorf("want a number, got %s", tomlType(data))
	case kindCommand:
		if s, ok := data.(string); ok {
			return value{str: s}, nil
		}
		if strs, ok := stringArray(data); ok {
			return value{strs: strs, argv: true}, nil
		}
		return value{}, fmt.Errorf(`want an array of strings (argv, such as ["make", "dist"]) or a string (run with /bin/sh -c), got %s`, tomlType(data))
	}
	return value{}, fmt.Errorf("unsupported field kind %d", k)
}

func stringArray(data any) ([]string, bool) {
	arr, ok := data.([]any)
	if !ok {
		return nil, false
	}
	strs := make([]string, len(arr))
	for i, e := range arr {
		if strs[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return strs, true
}

// isLocalTime reports a TOML local date-time, date or time: the library
// gives those a location of its own, and they name no instant.
func isLocalTime(t time.Time) bool {
	switch t.Location().String() {
	case "datetime-local", "date-local", "time-local":
		return true
	}
	return false
}

// tomlType names a decoded TOML value's type for messages.
func tomlType(data any) string {
	switch v := data.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		if isLocalTime(v) {
			return "a local date-time"
		}
		return "a date-time"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		for _, e := range v {
			switch e.(type) {
			case string:
			case []any, []map[string]any:
				return "an array of arrays" // not recursive: nesting can be deep
			default:
				return "an array with " + tomlType(e) + " in it"
			}
		}
		return "an array"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a %T", data)
}
