package dist

import (
	"fmt"
	"strings"
)

// Platform is a target of the release: GOOS and GOARCH.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ReleasePlatforms are the platforms a release is built for.
var ReleasePlatforms = []Platform{{"linux", "amd64"}, {"linux", "arm64"}}

// ParsePlatforms parses a comma-separated list of os/arch.
func ParsePlatforms(s string) ([]Platform, error) {
	var ps []Platform
	seen := map[Platform]bool{}
	for _, f := range strings.Split(s, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(f), "/")
		p := Platform{goos, goarch}
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return nil, fmt.Errorf("platform %q: want OS/ARCH such as linux/arm64", f)
		}
		if seen[p] {
			return nil, fmt.Errorf("platform %s given twice", p)
		}
		seen[p] = true
		ps = append(ps, p)
	}
	return ps, nil
}

// ArchiveName is the name of a platform's release archive:
// reproof-v1.2.3-linux-amd64.tar.gz. Its files are under a directory of
// the same name without .tar.gz.
func ArchiveName(version string, p Platform) string {
	return ArchiveDir(version, p) + ".tar.gz"
}

// ArchiveDir is the top directory inside a platform's release archive.
func ArchiveDir(version string, p Platform) string {
	return "reproof-" + version + "-" + p.OS + "-" + p.Arch
}

// OCIArchiveName is the name of the release's container image, an OCI
// layout in a tar: reproof-v1.2.3-oci.tar.
func OCIArchiveName(version string) string { return "reproof-" + version + "-oci.tar" }

// ProvenanceName is the name the release publishes its provenance under,
// one JSON document per line: reproof-v1.2.3.intoto.jsonl.
func ProvenanceName(version string) string { return "reproof-" + version + ".intoto.jsonl" }

// LDFlags are the linker flags of a release binary: no symbol table or
// DWARF, the version and commit stamped into cmd/reproof.
func LDFlags(version, commit string) string {
	return "-s -w -X main.stampedVersion=" + version + " -X main.stampedCommit=" + commit
}

// SourceURL is the repository the release is built from, a label of the
// container image.
const SourceURL = "https://github.com/reproof/reproof"

// ImageRefName is the name of the container image in its OCI layout's
// index.json (the org.opencontainers.image.ref.name annotation), which
// podman load and skopeo take as its reference: reproof:v1.2.3.
func ImageRefName(version string) string { return "reproof:" + version }
