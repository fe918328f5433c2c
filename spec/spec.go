package spec

import (
	"strconv"
	"strings"
	"time"
)

// Defaults for the fields that have one.
const (
	DefaultPlatform = "linux/amd64"
	DefaultRuntime  = "auto"
	DefaultTimeout  = 2 * time.Hour
	DefaultOut      = "rebuilt" // relative to the spec file's directory
	DefaultMaxDepth = 8
)

// DefaultPasses is compare.passes when the spec does not say: every
// normalize pass may establish equivalence.
var DefaultPasses = []string{"all"}

// Spec is a release to rebuild and verify: the source at a tag, how to build
// it, where it was published and how to compare. The zero value is not
// useful; start from Default or Load.
//
// Relative paths in a Spec (Source.Repo when it is a local path,
// Build.Out, Published.Source when it is a directory, Published.Keyring)
// are relative to the process's working directory: Parse joins the file's
// own relative paths to its base directory.
type Spec struct {
	Path string // the file it came from, as given to Load or Parse; "" if none
	Dir  string // the directory the file's relative paths were resolved against

	Source    Source
	Build     Build
	Published Published
	Compare   Compare
	Members   []MemberRule // [[member]] tables, in file order
	Skips     []SkipRule   // [[skip]] tables, in file order
	Images    []Image      // [[image]] tables, in file order (spec/image.go)
}

// Source is the [source] table: what to build.
type Source struct {
	// Repo is a git URL (https://, ssh://, git://, file://, or scp-like
	// host:path) or a local path.
	Repo string
	// Tag is the release tag, without refs/tags/.
	Tag string
	// Commit is the commit the tag must point at: 4 to 40 hex digits, or
	// 64 for a SHA-256 repository, lowercase. "" means no check.
	Commit string
	// SourceDateEpoch overrides the commit's committer time, in Unix
	// seconds. nil means "use the commit's time".
	SourceDateEpoch *int64
}

// Build is the [build] table: how to build it.
type Build struct {
	// Image is the base image reference, pinned by digest
	// (REPO[:TAG]@sha256:HEX) unless AllowUnpinned.
	Image         string
	AllowUnpinned bool
	// Platform resolves a multi-platform image: os/arch[/variant].
	Platform string
	// Runtime is auto, docker, podman or runc.
	Runtime string
	// Command is what the build runs.
	Command Command
	// Env holds extra KEY=VALUE entries for the build, in order.
	Env []string
	// User overrides the UID:GID the build runs as; nil means the host's.
	User *User
	// Network turns the build's network on.
	Network bool
	// Timeout bounds the build command; always positive.
	Timeout time.Duration
	// EngineTimeout bounds each wait for the container engine or runc to
	// answer; 0 means reproof's default (a minute, or Timeout if shorter).
	EngineTimeout time.Duration
	// The build's limits (docs/limits.md); 0 means reproof's default for
	// the host. PidsLimit counts processes and threads; Memory, TmpfsSize
	// (each of /tmp and HOME) and OutputLimit (the checkout with what the
	// build writes there) are bytes; CPUs is a number of CPUs.
	PidsLimit   int64
	Memory      int64
	CPUs        float64
	TmpfsSize   int64
	OutputLimit int64
	// Artifacts are doublestar globs over slash-separated paths relative to
	// the checkout: "*" stays within one directory, "**" crosses them.
	Artifacts []string
	// Out is the directory that receives the rebuilt artifacts.
	Out string
}

// Command is the build command: an argv run as is, or one string run by
// /bin/sh -c (Shell, with the script in Argv[0]).
type Command struct {
	Argv  []string
	Shell bool
}

// Args is the argv to execute: Argv, or /bin/sh -c SCRIPT.
func (c Command) Args() []string {
	if c.Shell && len(c.Argv) == 1 {
		return []string{"/bin/sh", "-c", c.Argv[0]}
	}
	return c.Argv
}

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 }

// String is the command for people: the script, or the argv with each
// argument quoted where it needs to be.
func (c Command) String() string {
	if c.Shell && len(c.Argv) == 1 {
		return c.Argv[0]
	}
	parts := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		parts[i] = a
		if a == "" || strings.ContainsFunc(a, needsQuote) {
			parts[i] = strconv.Quote(a)
		}
	}
	return strings.Join(parts, " ")
}

func needsQuote(r rune) bool {
	return r <= ' ' || r == '"' || r == '\'' || r == '\\' || r == '$' || r == '`' || r >= 0x7f
}

// User is a numeric UID:GID.
type User struct {
	UID, GID int
}

func (u User) String() string { return strconv.Itoa(u.UID) + ":" + strconv.Itoa(u.GID) }

// Published is the [published] table: where the release was published.
type Published struct {
	// Source is a directory, an http(s):// base URL, a file:// URL,
	// github:OWNER/REPO@TAG, gitlab:GROUP/PROJECT@TAG or
	// npm:[@SCOPE/]NAME@VERSION.
	Source string
	// Checksums names the checksum manifests among the release's files;
	// "body" is the release's Markdown description. Empty: every manifest,
	// sidecar and body checksum block the release has.
	Checksums []string
	// Keyring is a PGP keyring file for signed manifests and files
	// (clear-signed, or detached .asc/.sig/.gpg); "" for none.
	Keyring string
}

// Compare is the [compare] table: how rebuilt and published are compared.
type Compare struct {
	// Passes are the normalize passes that may establish equivalence, as
	// items of archive.ParsePasses: "all", "none", pass names and "-name".
	// strings.Join(Passes, ",") is a valid --passes value.
	Passes []string
	// AcceptNormalized makes "equivalent after normalization" exit 0.
	AcceptNormalized bool
	// MaxDepth is how deep nested archives are opened, 1 to MaxMaxDepth.
	MaxDepth int
}

// MemberRule is a [[member]] table: for the artifacts whose names match
// Artifact, the archive members matching Members are what must reproduce
// by content, not the archive's own bytes. Every other member is compared
// too (content and security metadata) unless Ignore names it.
type MemberRule struct {
	Artifact string   // glob over artifact names
	Members  []string // globs over member paths; empty means every member
	// Ignore are globs over member paths left out of the comparison
	// altogether; Reason is then required.
	Ignore []string
	// Consumer names the tool the artifact is made for, whose documented
	// extraction rules then judge which differences are harmless (one of
	// Consumers; "" for the strictest extractor, GNU tar as root).
	Consumer string
	Reason   string // why; optional unless Ignore is set
}

// Consumers are the tools whose extraction rules a [[member]] rule may
// name: "npm" (npm install: file modes (mode|0666)&^022, directories
// (mode|0777)&^022, owners the installing user's).
var Consumers = []string{"npm"}

// SkipRule is a [[skip]] table: the artifacts whose names match Artifact
// are known not to reproduce, for Reason.
type SkipRule struct {
	Artifact string // glob over artifact names
	Reason   string // never empty
}

// Default returns a spec holding only the defaults, for a run without a
// spec file (every required field then comes from flags). Out is relative
// to the working directory.
func Default() *Spec {
	return &Spec{
		Build: Build{
			Platform: DefaultPlatform,
			Runtime:  DefaultRuntime,
			Timeout:  DefaultTimeout,
			Out:      DefaultOut,
		},
		Compare: Compare{
			Passes:   append([]string(nil), DefaultPasses...),
			MaxDepth: DefaultMaxDepth,
		},
	}
}
