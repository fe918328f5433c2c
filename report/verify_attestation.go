package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// In-toto and SLSA identifiers of the verification summary attestation.
const (
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	VSAPredicateType    = "https://slsa.dev/verification_summary/v1"
	// VerifierID identifies reproof as the verifier.
	VerifierID = "https://github.com/reproof/reproof"
	// DefaultPolicyURI names reproof's verification policy when no spec
	// file URI is given: docs/report-json.md says what PASSED means.
	DefaultPolicyURI = "https://github.com/reproof/reproof/blob/main/docs/report-json.md#what-passed-means"
	// VSAExtension is the key of reproof's own field in the predicate (a
	// URI, as the VSA parsing rules require of extension fields).
	VSAExtension = "https://github.com/reproof/reproof/blob/main/docs/report-json.md#extension"
)

// Verified levels: SLSA allows values of one's own, not starting with
// "SLSA_", next to "FAILED". A reproducibility check is not a SLSA build
// level, so reproof reports its own, one per statement.
const (
	// LevelReproducible: the rebuilt artifact is the published one, bit
	// for bit.
	LevelReproducible = "REPROOF_REPRODUCIBLE"
	// LevelReproducibleMembers: the members a member rule names are bit
	// for bit those of the published archive; the archive's own bytes may
	// differ.
	LevelReproducibleMembers = "REPROOF_REPRODUCIBLE_MEMBERS"
	// LevelReproducibleNormalized: equal after the normalize passes the
	// policy allows, and the policy accepts normalized equality.
	LevelReproducibleNormalized = "REPROOF_REPRODUCIBLE_NORMALIZED"
	// LevelFailed: the artifact did not pass.
	LevelFailed = "FAILED"
)

// AttestationOptions says what the attestation cites besides the
// Verification.
type AttestationOptions struct {
	// Policy is the policy the artifacts were verified against: the spec
	// file, by name and digest, and a URI where it can be read. URI
	// defaults to DefaultPolicyURI.
	Policy ResourceDescriptor
	// InputAttestations are the attestations the verification rests on,
	// such as the rebuild's provenance with its digest. Each must have a
	// digest.
	InputAttestations []ResourceDescriptor
}

// ResourceDescriptor is an in-toto v1 resource descriptor, as far as the
// attestation uses one.
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// VerifyAttestation writes an in-toto attestation bundle (JSON Lines, the
// .intoto.jsonl format): one unsigned in-toto Statement v1 per published
// artifact of v, each with the SLSA verification summary predicate
// (https://slsa.dev/verification_summary/v1). The subject is the
// published file (name and digests), resourceUri its URL.
//
// verificationResult is PASSED only for an artifact whose equality was
// computed: identical (by its bytes, or by the members a member rule
// names), or equivalent when the policy accepts normalization; with every
// published checksum of it matching and the comparison complete. Every
// other artifact, skipped ones included, is FAILED. The statement also
// carries the overall verdict, so a consumer can require both. Artifacts
// without a published side (extra ones) get no statement. When the build
// failed or the verification stopped before any artifact was paired, each
// published file that is not a checksum manifest gets a FAILED statement,
// so a bundle never looks empty for want of trying.
//
// Statements are in the order of v.Artifacts (then v.Published.Files);
// each line is compact JSON with non-printing characters escaped.
func VerifyAttestation(w io.Writer, v *Verification, opts AttestationOptions) error {
	if v == nil {
		return errNilVerification
	}
	for i, in := range opts.InputAttestations {
		if len(in.Digest) == 0 {
			name := in.URI
			if name == "" {
				name = in.Name
			}
			return fmt.Errorf("report: input attestation %d (%q) has no digest", i+1, name)
		}
	}
	bw := bufio.NewWriter(w)
	for _, st := range vsaStatements(v, opts) {
		line, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("report: encoding attestation: %w", err)
		}
		bw.Write(escapeNonPrinting(line))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

type vsaStatement struct {
	Type          string       `json:"_type"`
	Subject       []vsaSubject `json:"subject"`
	PredicateType string       `json:"predicateType"`
	Predicate     vsaPredicate `json:"predicate"`
}

type vsaSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type vsaPredicate struct {
	Verifier           vsaVerifier          `json:"verifier"`
	TimeVerified       string               `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	DependencyLevels   map[string]int       `json:"dependencyLevels"`
	SLSAVersion        string               `json:"slsaVersion"`
	// Reproof is keyed VSAExtension (a test keeps the two the same).
	Reproof vsaExtension `json:"https://github.com/reproof/reproof/blob/main/docs/report-json.md#extension"`
}

type vsaVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// vsaExtension is what reproof adds to the predicate: what the artifact
// was compared with and how, and the verdict on the whole release.
type vsaExtension struct {
	Schema     string       `json:"schema"`
	Artifact   string       `json:"artifact"`
	Status     Status       `json:"status,omitempty"`
	Detail     string       `json:"detail"`
	ComparedBy string       `json:"compared_by,omitempty"`
	Consumer   string       `json:"consumer,omitempty"`
	Unvouched  bool         `json:"unvouched,omitempty"`
	Passes     []string     `json:"normalizations,omitempty"`
	Rebuilt    *vsaDigest   `json:"rebuilt,omitempty"`
	Source     vsaSource    `json:"source"`
	Image      vsaImage     `json:"image"`
	Verdict    Verdict      `json:"verdict"`
	Reason     string       `json:"reason"`
	Published  vsaPublished `json:"published"`
}

type vsaDigest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512,omitempty"`
}

type vsaSource struct {
	Repo            string `json:"repo"`
	Tag             string `json:"tag"`
	Commit          string `json:"commit,omitempty"`
	SourceDateEpoch int64  `json:"source_date_epoch"`
}

type vsaImage struct {
	Ref      string `json:"ref"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform"`
}

type vsaPublished struct {
	Source string `json:"source"`
}

func vsaStatements(v *Verification, opts AttestationOptions) []vsaStatement {
	policy := opts.Policy
	if policy.URI == "" {
		policy.URI = DefaultPolicyURI
	}
	var version map[string]string
	if v.Reproof != "" {
		version = map[string]string{"reproof": v.Reproof}
	}
	base := func(name string, digest map[string]string, uri string, ext vsaExtension, passed bool, level string) vsaStatement {
		result, levels := "FAILED", []string{LevelFailed}
		if passed {
			result, levels = "PASSED", []string{level}
		}
		ext.Schema = VerifySchema
		ext.Source = vsaSource{Repo: v.Source.Repo, Tag: v.Source.Tag, Commit: v.Source.Commit, SourceDateEpoch: v.Source.SourceDateEpoch}
		ext.Image = vsaImage{Ref: v.Environment.Image, Digest: v.Environment.ImageDigest, Platform: v.Environment.Platform}
		ext.Verdict, ext.Reason = v.Verdict, v.Reason
		ext.Published = vsaPublished{Source: v.Published.Source}
		return vsaStatement{
			Type:          InTotoStatementType,
			Subject:       []vsaSubject{{Name: name, Digest: digest}},
			PredicateType: VSAPredicateType,
			Predicate: vsaPredicate{
				Verifier:           vsaVerifier{ID: VerifierID, Version: version},
				TimeVerified:       v.Timestamp,
				ResourceURI:        uri,
				Policy:             policy,
				InputAttestations:  opts.InputAttestations,
				VerificationResult: result,
				VerifiedLevels:     levels,
				DependencyLevels:   map[string]int{},
				SLSAVersion:        "1.0",
				Reproof:            ext,
			},
		}
	}

	var out []vsaStatement
	for _, a := range v.Artifacts {
		p := a.Published
		if p == nil || p.SHA256 == "" {
			continue // rebuilt only (extra), or never read: nothing published to attest
		}
		digest := map[string]string{"sha256": p.SHA256}
		if p.SHA512 != "" {
			digest["sha512"] = p.SHA512
		}
		name := p.Name
		if name == "" {
			name = a.Name
		}
		ext := vsaExtension{Artifact: a.Name, Status: a.Status, Detail: a.Detail, ComparedBy: a.ComparedBy, Consumer: a.Consumer, Unvouched: a.Unvouched}
		for _, n := range a.Normalizations {
			ext.Passes = append(ext.Passes, n.Pass)
		}
		if r := a.Rebuilt; r != nil {
			ext.Rebuilt = &vsaDigest{Name: r.Name, SHA256: r.SHA256, SHA512: r.SHA512}
		}
		level, passed := artifactLevel(v, a)
		out = append(out, base(name, digest, resourceURI(v, p.URL, name), ext, passed, level))
	}
	if len(v.Artifacts) > 0 || (v.Verdict != VerdictBuildFailed && v.Verdict != VerdictError) {
		return out
	}
	manifests := map[string]bool{}
	for _, m := range v.Published.Manifests {
		manifests[m.Name] = true
	}
	for _, f := range v.Published.Files {
		if manifests[f.Name] || f.SHA256 == "" {
			continue
		}
		ext := vsaExtension{Artifact: f.Name, Detail: "not verified: " + v.Reason}
		out = append(out, base(f.Name, map[string]string{"sha256": f.SHA256}, resourceURI(v, f.URL, f.Name), ext, false, ""))
	}
	return out
}

// artifactLevel decides whether an artifact passed, and at which level.
func artifactLevel(v *Verification, a Artifact) (string, bool) {
	if v.Verdict == VerdictBuildFailed || len(a.Incomplete) > 0 || a.Published == nil {
		return "", false
	}
	for _, c := range a.Checksums {
		if !c.Match {
			return "", false
		}
	}
	switch {
	case a.Status == StatusIdentical && a.ComparedBy == "members":
		return LevelReproducibleMembers, true
	case a.Status == StatusIdentical:
		return LevelReproducible, true
	case a.Status == StatusEquivalent && v.Policy.AcceptNormalized:
		return LevelReproducibleNormalized, true
	}
	return "", false
}

// resourceURI is the published file's URL, else the release's source
// with the file's name.
func resourceURI(v *Verification, url, name string) string {
	if url != "" {
		return url
	}
	src := v.Published.Source
	if src == "" {
		return name
	}
	if strings.HasSuffix(src, "/") {
		return src + name
	}
	return src + "/" + name
}
