package main

import (
	"runtime/debug"
	"strings"
)

// The release build stamps these with -ldflags -X (internal/dist's
// LDFlags, run by release.toml's build command); other builds leave them
// empty and version falls back to the build info.
var (
	stampedVersion string // "v1.2.3"
	stampedCommit  string // the full commit hash
)

// version is what --version prints and provenance records: the stamped
// release version, else the module version from the build info ("v1.2.3"
// for `go install github.com/reproof/reproof/cmd/reproof@v1.2.3`,
// "(devel)" for a build in a checkout), followed by the first 12 digits of
// the commit when one is known (stamped, or vcs.revision from a build with
// VCS stamping; "+dirty" when that tree had changes).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionOf(stampedVersion, stampedCommit, bi)
}

// versionOf is version with its inputs given.
func versionOf(stampVersion, stampCommit string, bi *debug.BuildInfo) string {
	v, commit, dirty := stampVersion, stampCommit, false
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		if commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
		}
	}
	switch {
	case v == "" && bi == nil:
		v = "(unknown)"
	case v == "":
		v = "(devel)"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	out := v
	if commit != "" && !strings.Contains(v, commit) {
		out += " " + commit
		if dirty {
			out += "+dirty"
		}
	}
	return out
}
