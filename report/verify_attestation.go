package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/reproof/reproof/attest"
)

// In-toto and SLSA identifiers of the verification summary attestation.
const (
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	VSAPredicateType    = "https://slsa.dev/verification_summary/v1"
	// VerifierID identifies reproof, the software, as the verifier of an
	// attestation whose options name no verifier and no signing key: it
	// says which program verified, not who ran it.
	VerifierID = "https://github.com/reproof/reproof"
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
// Verification, who made it and how it is signed.
type AttestationOptions struct {
	// Policy is the policy the artifacts were verified against: the
	// effective policy (spec.Spec.Canonical) by digest, with a name and,
	// when the operator publishes it, a URI. It must have a digest or a
	// URI; nothing is filled in for it.
	Policy ResourceDescriptor
	// InputAttestations are the attestations the verification rests on,
	// such as the rebuild's provenance with its digest and where it was
	// written. Each must have a digest.
	InputAttestations []ResourceDescriptor
	// VerifierID is the verifier.id: a URI naming the verifying instance.
	// Default: the signing key's URI (attest.KeyURI) when Signer is set,
	// else VerifierID (the software alone).
	VerifierID string
	// PublishedURL is the base URL a published directory's files are
	// served from (or will be): their resourceUri is PublishedURL joined
	// with their escaped names. Without it a file from a local directory
	// has a pkg:generic purl (see VerifyAttestation).
	PublishedURL string
	// Signer signs each statement; nil writes unsigned envelopes.
	Signer *attest.Signer
}

// ResourceDescriptor is an in-toto v1 resource descriptor, as far as the
// attestation uses one.
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// VerifyAttestation writes an in-toto attestation bundle (JSON Lines, the
// .intoto.jsonl format): one DSSE envelope (payloadType
// application/vnd.in-toto+json) per line, each holding one of the
// Statements VSAStatements makes, signed by opts.Signer or, without one,
// with an empty signature list (unsigned). docs/attestations.md says what
// every field claims.
func VerifyAttestation(w io.Writer, v *Verification, opts AttestationOptions) error {
	sts, err := VSAStatements(v, opts)
	if err != nil {
		return err
	}
	if err := attest.WriteBundle(context.Background(), w, sts, opts.Signer); err != nil {
		return fmt.Errorf("report: writing the attestation: %w", err)
	}
	return nil
}

// VSAStatements returns one in-toto Statement v1 per published artifact of
// v, each with the SLSA verification summary predicate
// (https://slsa.dev/verification_summary/v1), as compact JSON with
// non-printing characters escaped. The subject is the published file
// (name and digests); resourceUri its URL (for an npm package the
// package's purl; for a file of a local directory PublishedURL joined
// with its name, else a pkg:generic purl naming the file, the tag and the
// repository).
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
// so a bundle never looks empty for want of trying. dependencyLevels is
// left out: reproof makes no claim about the artifacts' dependencies.
//
// Statements are in the order of v.Artifacts (then v.Published.Files).
func VSAStatements(v *Verification, opts AttestationOptions) ([][]byte, error) {
	if v == nil {
		return nil, errNilVerification
	}
	if opts.Policy.URI == "" && len(opts.Policy.Digest) == 0 {
		return nil, errors.New("report: the attestation's policy has neither a digest nor a URI")
	}
	for i, in := range opts.InputAttestations {
		if len(in.Digest) == 0 {
			name := in.URI
			if name == "" {
				name = in.Name
			}
			return nil, fmt.Errorf("report: input attestation %d (%q) has no digest", i+1, name)
		}
	}
	if opts.VerifierID == "" {
		opts.VerifierID = VerifierID
		if opts.Signer != nil {
			id, err := attest.KeyURI(opts.Signer.Public())
			if err != nil {
				return nil, fmt.Errorf("report: naming the signing key: %w", err)
			}
			opts.VerifierID = id
		}
	}
	var out [][]byte
	for _, st := range vsaStatements(v, opts) {
		line, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("report: encoding attestation: %w", err)
		}
		out = append(out, EscapeNonPrinting(line))
	}
	return out, nil
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
	DependencyLevels   map[string]int       `json:"dependencyLevels,omitempty"`
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
	// PublishedImage is set for a container image: the reference, what
	// it resolved to and each platform's verdict (verify_image_attestation.go).
	PublishedImage *vsaPublishedImage `json:"published_image,omitempty"`
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
				Verifier:           vsaVerifier{ID: opts.VerifierID, Version: version},
				TimeVerified:       v.Timestamp,
				ResourceURI:        uri,
				Policy:             policy,
				InputAttestations:  opts.InputAttestations,
				VerificationResult: result,
				VerifiedLevels:     levels,
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
		if a.Image != nil {
			name, ext.PublishedImage = imageSubjectName(a.Image), vsaImageOf(a.Image)
		}
		for _, n := range a.Normalizations {
			ext.Passes = append(ext.Passes, n.Pass)
		}
		if r := a.Rebuilt; r != nil {
			ext.Rebuilt = &vsaDigest{Name: r.Name, SHA256: r.SHA256, SHA512: r.SHA512}
		}
		level, passed := artifactLevel(v, a)
		uri := resourceURI(v, opts, p.URL, name, digest)
		if a.Image != nil {
			uri = imageResourceURI(a.Image, p.SHA256)
		}
		out = append(out, base(name, digest, uri, ext, passed, level))
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
		out = append(out, base(f.Name, map[string]string{"sha256": f.SHA256}, resourceURI(v, opts, f.URL, f.Name, map[string]string{"sha256": f.SHA256}), ext, false, ""))
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

// resourceURI identifies the published file: its http(s) URL; for an npm
// package the package's purl; for a file of a local directory (a file://
// URL, or none) PublishedURL joined with its name, else a pkg:generic
// purl: the file's name (its directory as the namespace), the tag as the
// version, and the repository and commit as vcs_url.
func resourceURI(v *Verification, opts AttestationOptions, fileURL, name string, digest map[string]string) string {
	if strings.HasPrefix(v.Published.Source, "npm:") {
		if p, ok := npmPurl(strings.TrimPrefix(v.Published.Source, "npm:")); ok {
			return p
		}
	}
	if u, err := url.Parse(fileURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		return u.String()
	}
	base := opts.PublishedURL
	if base == "" && fileURL == "" {
		if u, err := url.Parse(v.Published.Source); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			base = v.Published.Source
		}
	}
	if base != "" {
		if joined, err := url.JoinPath(base, strings.Split(name, "/")...); err == nil {
			return joined
		}
	}
	dir, file := path.Split(name)
	q := packageurl.Qualifiers{}
	if repo := vcsURL(v.Source.Repo, v.Source.Commit); repo != "" {
		q = append(q, packageurl.Qualifier{Key: "vcs_url", Value: repo})
	}
	if d := digest["sha256"]; d != "" {
		q = append(q, packageurl.Qualifier{Key: "checksum", Value: "sha256:" + d})
	}
	return packageurl.NewPackageURL("generic", strings.TrimSuffix(dir, "/"), file, v.Source.Tag, q, "").ToString()
}

// npmPurl is the purl of "[@SCOPE/]NAME@VERSION".
func npmPurl(spec string) (string, bool) {
	at := strings.LastIndex(spec, "@")
	if at <= 0 {
		return "", false
	}
	name, version := spec[:at], spec[at+1:]
	ns := ""
	if strings.HasPrefix(name, "@") {
		var ok bool
		if ns, name, ok = strings.Cut(name, "/"); !ok {
			return "", false
		}
	}
	return packageurl.NewPackageURL("npm", ns, name, version, nil, "").ToString(), true
}

// vcsURL is the repository at the commit in the SPDX form purl's vcs_url
// takes (git+https://host/repo@COMMIT), for a remote https, http, ssh or
// git URL; "" for a local path, whose name means nothing elsewhere.
func vcsURL(repo, commit string) string {
	u, err := url.Parse(repo)
	if err != nil || u.Host == "" {
		return ""
	}
	switch u.Scheme {
	case "https", "http", "ssh", "git":
	default:
		return ""
	}
	u.User = nil
	s := "git+" + u.String()
	if commit != "" {
		s += "@" + commit
	}
	return s
}
