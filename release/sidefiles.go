package release

import (
	"path"
	"strings"
)

// SideKind is what a side file of a release is: evidence about other
// files (a signature, a certificate, an attestation, an SBOM), never an
// artifact to rebuild and never a checksum manifest.
type SideKind string

// Side file kinds.
const (
	SideSignature   SideKind = "signature"       // a detached signature of the file it is named after
	SideSigstore    SideKind = "sigstore-bundle" // a sigstore bundle (signature, certificate, log entry)
	SideAttestation SideKind = "attestation"     // in-toto statements (SLSA provenance)
	SideCertificate SideKind = "certificate"     // a certificate (cosign keyless signing)
	SideSBOM        SideKind = "sbom"            // a software bill of materials
)

// SideFilePattern is one row of the side file table: a name ending (case
// does not matter) and what a file so named is.
type SideFilePattern struct {
	Suffix string
	Kind   SideKind
}

// SideFilePatterns is the one table of side file names, used by
// CheckPublished and by callers that sort a release's files. The suffix
// is matched at the end of the base name, case-insensitively; a name that
// only contains it ("app.pem.tar.gz") is an artifact.
var SideFilePatterns = []SideFilePattern{
	{".asc", SideSignature},
	{".sig", SideSignature},
	{".gpg", SideSignature},
	{".minisig", SideSignature},
	{".sigstore.json", SideSigstore},
	{".sigstore", SideSigstore},
	{".bundle", SideSigstore},
	{".intoto.jsonl", SideAttestation},
	{".pem", SideCertificate},
	{".cert", SideCertificate},
	{".crt", SideCertificate},
	{".spdx.json", SideSBOM},
	{".spdx", SideSBOM},
	{".cdx.json", SideSBOM},
	{".cdx.xml", SideSBOM},
	{"bom.json", SideSBOM}, // sbom.json, app.sbom.json, app.bom.json (goreleaser, syft)
}

// SideFileKind returns what kind of side file a published file's name
// says it is, or "" for a file that is not a side file (an artifact or a
// checksum manifest).
func SideFileKind(name string) SideKind {
	base := strings.ToLower(path.Base(name))
	for _, p := range SideFilePatterns {
		// ".asc" alone is a hidden file, not a signature of ""; a
		// suffix with no dot ("bom.json") may be the whole name.
		if strings.HasSuffix(base, p.Suffix) && (len(base) > len(p.Suffix) || p.Suffix[0] != '.') {
			return p.Kind
		}
	}
	return ""
}

// IsSideFile reports whether a published file is a side file: a
// signature, sigstore bundle, attestation, certificate or SBOM. Side
// files are never artifacts and never manifests.
func IsSideFile(name string) bool { return SideFileKind(name) != "" }

// signatureTarget returns the file a detached signature is named after
// (the name minus its signature suffix), and whether name is a
// signature at all.
func signatureTarget(name string) (string, bool) {
	if SideFileKind(name) != SideSignature {
		return "", false
	}
	dot := strings.LastIndexByte(name, '.')
	return name[:dot], true
}

// ManifestPattern is one row of the manifest name table: a glob over the
// lower-cased base name (path.Match syntax) and who publishes such files.
type ManifestPattern struct {
	Glob    string
	Example string
}

// ManifestPatterns is the one table of checksum manifest names (also in
// docs/guide.md, "Which files are checksum manifests"). A side file is
// never a manifest, whatever its name; a manifest that matches no pattern
// can still be named with CheckOptions.Manifests (--checksums).
var ManifestPatterns = []ManifestPattern{
	{"sha*sums", "SHA256SUMS, SHA512SUMS (Debian, Bitcoin Core, coreutils)"},
	{"sha*sums.txt", "SHA256SUMS.txt"},
	{"shasums*.txt", "SHASUMS256.txt (Node.js)"},
	{"md5sums", "MD5SUMS (old releases; md5 is weak)"},
	{"*checksums*.txt", "checksums.txt, app_1.2.3_checksums.txt (goreleaser)"},
	{"checksums*", "CHECKSUMS, CHECKSUMS.sha256"},
	{"*.sha256", "app.tar.gz.sha256: a sidecar of one file"},
	{"*.sha512", "app.tar.gz.sha512"},
	{"*.sha384", "app.tar.gz.sha384"},
	{"*.sha224", "app.tar.gz.sha224"},
	{"*.sha1", "app.tar.gz.sha1 (weak)"},
	{"*.md5", "app.tar.gz.md5 (weak)"},
	{"*.sha256sum", "app.tar.gz.sha256sum"},
	{"*.sha512sum", "app.tar.gz.sha512sum"},
	{"*.sha384sum", "app.tar.gz.sha384sum"},
	{"*.sha224sum", "app.tar.gz.sha224sum"},
	{"*.sha1sum", "app.tar.gz.sha1sum (weak)"},
	{"*.md5sum", "app.tar.gz.md5sum (weak)"},
}

// IsManifestName reports whether a published file's name says it is a
// checksum manifest (ManifestPatterns, case-insensitive). Side files
// (SideFilePatterns) never are: a clear-signed SHA256SUMS.asc is found by
// its content, not its name.
func IsManifestName(name string) bool {
	if IsSideFile(name) {
		return false
	}
	base := strings.ToLower(path.Base(name))
	for _, p := range ManifestPatterns {
		if ok, _ := path.Match(p.Glob, base); ok {
			return true
		}
	}
	return false
}
