package report

import (
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/exitcode"
)

// VerifySchema is the schema key of the verify report's JSON form.
const VerifySchema = "reproof/report/v1"

// Verdict is the overall outcome of a verification.
type Verdict string

// Verdicts, with the exit codes reproof verify gives them.
const (
	// VerdictReproducible: every compared artifact is identical to the
	// published one (exit 0).
	VerdictReproducible Verdict = "reproducible"
	// VerdictNormalized: equal only after normalization (exit 3, or 0
	// with --accept-normalized).
	VerdictNormalized Verdict = "reproducible-after-normalization"
	// VerdictNotReproducible: an artifact differs, is missing, or the
	// release disagrees with its own checksums (exit 1).
	VerdictNotReproducible Verdict = "not-reproducible"
	// VerdictBuildFailed: the build itself failed (exit 4).
	VerdictBuildFailed Verdict = "build-failed"
	// VerdictError: the verification could not be completed (exit 2).
	VerdictError Verdict = "error"
)

// Status is the outcome for one artifact.
type Status string

// Artifact statuses (see DESIGN.md's verdict model).
const (
	StatusIdentical        Status = "identical"
	StatusEquivalent       Status = "equivalent"
	StatusDifferent        Status = "different"
	StatusMissing          Status = "missing"
	StatusExtra            Status = "extra"
	StatusSkipped          Status = "skipped"
	StatusChecksumMismatch Status = "checksum-mismatch"
	// StatusError: this artifact could not be compared (a limit was
	// reached, an input was unreadable); the verdict is then error.
	StatusError Status = "error"
)

// Verification is the whole result of reproof verify: what was verified,
// with what, and what was found. It is what every verify report renders;
// its JSON form (schema reproof/report/v1) is documented in
// docs/report-json.md.
type Verification struct {
	Schema  string  `json:"schema"`
	Verdict Verdict `json:"verdict"`
	// Reason says in one sentence why the verdict is what it is.
	Reason string `json:"reason"`
	// Timestamp is when the verification finished, RFC 3339 UTC: the only
	// field that differs between two runs on the same inputs.
	Timestamp   string      `json:"timestamp"`
	Reproof     string      `json:"reproof_version"`
	Source      SourceInfo  `json:"source"`
	Environment Environment `json:"environment"`
	Published   Published   `json:"published"`
	Policy      Policy      `json:"policy"`
	Artifacts   []Artifact  `json:"artifacts"`
	// Warnings are things a reader must know that do not change the
	// verdict by themselves: an unpinned image, the network on, published
	// checksums naming nothing published.
	Warnings []string `json:"warnings"`
	// Error is the failure that ended the verification (verdict error or
	// build-failed); BuildLogTail the end of a failed build's log.
	Error        string `json:"error,omitempty"`
	BuildLogTail string `json:"build_log_tail,omitempty"`
	// BuildExplain are the lines of a failed build's log that usually say
	// why (errors, failed commands, unreachable hosts); BuildLogFile is
	// where the whole log was kept, when an output directory was given.
	BuildExplain []string `json:"build_explain,omitempty"`
	BuildLogFile string   `json:"build_log_file,omitempty"`
	// ProvenanceSHA256 is the digest of the provenance this run's rebuild
	// wrote (provenance.intoto.json in the output), "" if none.
	ProvenanceSHA256 string `json:"provenance_sha256,omitempty"`
}

// SourceInfo is the source that was rebuilt.
type SourceInfo struct {
	Repo            string `json:"repo"`
	Tag             string `json:"tag"`
	Commit          string `json:"commit,omitempty"`
	Tree            string `json:"tree,omitempty"`
	SourceDateEpoch int64  `json:"source_date_epoch"`
}

// Environment is where and how it was rebuilt.
type Environment struct {
	Image          string   `json:"image"`
	ImageDigest    string   `json:"image_digest,omitempty"`
	Platform       string   `json:"platform"`
	Runtime        string   `json:"runtime,omitempty"`
	RuntimeVersion string   `json:"runtime_version,omitempty"`
	User           string   `json:"user,omitempty"`
	Network        bool     `json:"network"`
	Command        []string `json:"command"`
	Unpinned       bool     `json:"image_unpinned,omitempty"`
}

// Published is the release compared against.
type Published struct {
	Source string `json:"source"`
	Tag    string `json:"tag,omitempty"`
	// Listing says how the release was listed ("nginx autoindex, 14
	// files", "GitHub release", "no listing: probed 3 names"): files a
	// source without a listing does not name were not checked.
	Listing   string     `json:"listing,omitempty"`
	Manifests []Manifest `json:"manifests"`
	Files     []File     `json:"files"`
}

// Manifest is a checksum manifest of the release.
type Manifest struct {
	Name      string `json:"name"`
	Layout    string `json:"layout"`
	Checksums int    `json:"checksums"`
	Signed    string `json:"signature,omitempty"` // "good", "bad", "" when unsigned or unchecked
}

// File is one published file with the digests computed from its bytes.
type File struct {
	Name   string `json:"name"`
	URL    string `json:"url,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Policy is what the verification allowed.
type Policy struct {
	// Passes are the normalize passes allowed to establish equivalence.
	Passes           []string `json:"passes"`
	AcceptNormalized bool     `json:"accept_normalized"`
	Members          []Rule   `json:"members,omitempty"`
	Skips            []Rule   `json:"skips,omitempty"`
}

// Rule is a member or skip rule of the spec.
type Rule struct {
	Artifact string   `json:"artifact"`
	Members  []string `json:"members,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// Artifact is the outcome for one artifact.
type Artifact struct {
	Name string `json:"name"`
	// Kind is "image" for a container image (a spec's [[image]]), empty
	// for a file.
	Kind   string `json:"kind,omitempty"`
	Status Status `json:"status"`
	// Detail explains the status in one line: what differs, what is
	// missing where, which checksum disagreed, why it was skipped.
	Detail    string      `json:"detail"`
	Rebuilt   *FileDigest `json:"rebuilt,omitempty"`
	Published *FileDigest `json:"published,omitempty"`
	// ComparedBy is "bytes", "normalized" (both sides normalized with the
	// allowed passes and the results compared byte for byte) or "members"
	// (a member rule: the members it names compared by content).
	ComparedBy string `json:"compared_by,omitempty"`
	// Consumer names the tool whose documented extraction rules judged
	// which differences are harmless ("npm"); empty for the strictest
	// extractor, GNU tar run as root.
	Consumer string `json:"consumer,omitempty"`
	// Unvouched is set on a published artifact that no published checksum
	// or signature covers (nor its members): its digest was computed here
	// and nothing the release publishes vouches for it.
	Unvouched bool `json:"unvouched,omitempty"`
	// Checksums are the release's own checksums for this artifact (or its
	// members), each with whether it matched the published bytes.
	Checksums []Checksum `json:"checksums,omitempty"`
	// Normalizations are the passes that made the artifact equal, each with
	// what it hid. Empty unless Status is equivalent.
	Normalizations []Normalization `json:"normalizations,omitempty"`
	// Differences are what the comparison engine found between rebuilt and
	// published (for equivalent artifacts: what normalization hid).
	Differences []compare.Difference `json:"differences,omitempty"`
	// Incomplete lists the limits the comparison reached.
	Incomplete []string `json:"incomplete,omitempty"`
	// Image describes a container image artifact (Kind "image"): the
	// published reference and what it resolved to, how the rebuilt image
	// was made, and the verdict of each platform.
	Image *ImageArtifact `json:"image,omitempty"`
}

// ImageArtifact is what a report says of a container image artifact. Its
// Published and Rebuilt FileDigests name the references, their SHA256 the
// digest of the manifest or index each resolved to.
type ImageArtifact struct {
	// Published is the published reference as the spec gives it;
	// PublishedDigest what it resolved to (an index or a manifest),
	// Pinned set when the reference names that digest itself.
	Published       string `json:"published"`
	PublishedDigest string `json:"published_digest,omitempty"`
	PublishedType   string `json:"published_media_type,omitempty"`
	Pinned          bool   `json:"pinned"`
	// TagDigest is, for a reference with both a tag and a digest, what
	// the tag resolves to now.
	TagDigest string `json:"tag_digest,omitempty"`
	// RebuiltBy says how the rebuilt image was made: "artifact" (the
	// build wrote it), "assemble" (reproof assembled it) or "dockerfile"
	// (buildah built it); Rebuilt is its reference (the artifact, or
	// oci:DIR in the output directory), RebuiltDigest its digest.
	RebuiltBy     string `json:"rebuilt_by"`
	Rebuilt       string `json:"rebuilt,omitempty"`
	RebuiltDigest string `json:"rebuilt_digest,omitempty"`
	// Base is the base of an assembled image, pinned by digest, or
	// scratch.
	Base string `json:"base,omitempty"`
	// Platforms are the platforms compared, each with its verdict,
	// both manifests and their layers, the layer pairs, the squashed
	// view and the normalizations (A is the rebuilt image, B the
	// published one).
	Platforms []compare.ImagePlatform `json:"platforms,omitempty"`
}

// FileDigest is one side of an artifact.
type FileDigest struct {
	Name   string `json:"name"` // the file name on that side
	URL    string `json:"url,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512,omitempty"`
}

// Checksum is a published checksum checked against published bytes.
type Checksum struct {
	Manifest  string `json:"manifest"`  // where it was published
	Name      string `json:"name"`      // the name it gives (a file, or a member inside an archive)
	Algorithm string `json:"algorithm"` // sha256, sha512, ...
	Expected  string `json:"expected"`
	Computed  string `json:"computed"`
	Match     bool   `json:"match"`
}

// Normalization is one pass that made an artifact equal, and what it hid.
type Normalization struct {
	Pass string `json:"pass"`
	// Changed counts what the pass altered on each side.
	ChangedRebuilt   int64 `json:"changed_rebuilt"`
	ChangedPublished int64 `json:"changed_published"`
	// Hid says what it hid, with examples.
	Hid []string `json:"hid"`
}

// ExitCode is the exit status of reproof verify for v.
func (v *Verification) ExitCode() int {
	switch v.Verdict {
	case VerdictReproducible:
		return exitcode.OK
	case VerdictNotReproducible:
		return exitcode.Differs
	case VerdictNormalized:
		if v.Policy.AcceptNormalized {
			return exitcode.OK
		}
		return exitcode.Normalized
	case VerdictBuildFailed:
		return exitcode.BuildFailed
	}
	return exitcode.Error
}
