// Package intotocheck validates in-toto Statements the way a consumer
// does: with the in-toto attestation library (its Statement, resource
// descriptor and predicate types and their Validate methods), not with
// reproof's own types. Tests of every Statement reproof writes use it.
//
// It is stricter than the library where the library is silent: every URI
// in a Statement must parse as an absolute URI (a purl as a purl), and a
// verification summary must have the fields SLSA VSA v1 requires.
package intotocheck

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	provenance "github.com/in-toto/attestation/go/predicates/provenance/v1"
	vsa "github.com/in-toto/attestation/go/predicates/vsa/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/package-url/packageurl-go"
	"google.golang.org/protobuf/encoding/protojson"
)

// Predicate types Statement knows.
const (
	ProvenanceV1 = "https://slsa.dev/provenance/v1"
	VSAV1        = "https://slsa.dev/verification_summary/v1"
)

// Statement checks data, one in-toto Statement v1 in JSON, and returns
// its predicate type. The statement must decode into the library's
// Statement with no unknown field and pass its Validate, each subject
// must pass the resource descriptor's Validate, and a provenance or VSA
// predicate must pass the checks of Provenance or VSA.
func Statement(data []byte) (string, error) {
	var st intoto.Statement
	if err := protojson.Unmarshal(data, &st); err != nil {
		return "", fmt.Errorf("not an in-toto Statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return "", fmt.Errorf("Statement.Validate: %w", err)
	}
	for i, s := range st.GetSubject() {
		if err := s.Validate(); err != nil {
			return "", fmt.Errorf("subject %d: %w", i+1, err)
		}
	}
	pred, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return "", err
	}
	switch st.GetPredicateType() {
	case ProvenanceV1:
		return st.GetPredicateType(), Provenance(pred)
	case VSAV1:
		return st.GetPredicateType(), VSA(pred)
	}
	return st.GetPredicateType(), fmt.Errorf("predicate type %q: not one reproof writes", st.GetPredicateType())
}

// Provenance checks a SLSA provenance v1 predicate: it decodes into the
// library's Provenance with no unknown field, passes Validate, and every
// resource descriptor's URI parses.
func Provenance(pred []byte) error {
	var p provenance.Provenance
	if err := protojson.Unmarshal(pred, &p); err != nil {
		return fmt.Errorf("not a SLSA provenance v1 predicate: %w", err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("Provenance.Validate: %w", err)
	}
	var rds []*intoto.ResourceDescriptor
	rds = append(rds, p.GetBuildDefinition().GetResolvedDependencies()...)
	rds = append(rds, p.GetRunDetails().GetByproducts()...)
	for _, rd := range rds {
		if err := uri(rd.GetUri(), false); err != nil {
			return fmt.Errorf("resource %q: %w", rd.GetName(), err)
		}
	}
	if err := uri(p.GetRunDetails().GetBuilder().GetId(), true); err != nil {
		return fmt.Errorf("runDetails.builder.id: %w", err)
	}
	if err := uri(p.GetBuildDefinition().GetBuildType(), true); err != nil {
		return fmt.Errorf("buildDefinition.buildType: %w", err)
	}
	return nil
}

// VSA checks a SLSA verification summary v1 predicate. The library's
// VerificationSummary has no Validate and lags the spec (no verifier
// version, no names in policy), so it decodes the predicate ignoring what
// it does not model, and checks what the spec requires: verifier.id a URI,
// timeVerified, resourceUri a URI, policy a valid resource descriptor
// with a digest or URI, each input attestation one with both,
// verificationResult PASSED or FAILED, verifiedLevels not empty and no
// SLSA level with FAILED.
func VSA(pred []byte) error {
	var v vsa.VerificationSummary
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(pred, &v); err != nil {
		return fmt.Errorf("not a SLSA VSA v1 predicate: %w", err)
	}
	var raw struct {
		Policy            json.RawMessage   `json:"policy"`
		InputAttestations []json.RawMessage `json:"inputAttestations"`
	}
	if err := json.Unmarshal(pred, &raw); err != nil {
		return err
	}
	if err := uri(v.GetVerifier().GetId(), true); err != nil {
		return fmt.Errorf("verifier.id: %w", err)
	}
	if v.GetTimeVerified() == nil || v.GetTimeVerified().CheckValid() != nil {
		return fmt.Errorf("timeVerified is missing or invalid")
	}
	if err := uri(v.GetResourceUri(), true); err != nil {
		return fmt.Errorf("resourceUri: %w", err)
	}
	policy, err := descriptor(raw.Policy)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if policy.GetUri() == "" && len(policy.GetDigest()) == 0 {
		return fmt.Errorf("policy has neither uri nor digest")
	}
	for i, in := range raw.InputAttestations {
		rd, err := descriptor(in)
		if err != nil {
			return fmt.Errorf("inputAttestations[%d]: %w", i, err)
		}
		if rd.GetUri() == "" || len(rd.GetDigest()) == 0 {
			return fmt.Errorf("inputAttestations[%d] needs a uri and a digest", i)
		}
	}
	switch v.GetVerificationResult() {
	case "PASSED", "FAILED":
	default:
		return fmt.Errorf("verificationResult %q", v.GetVerificationResult())
	}
	if len(v.GetVerifiedLevels()) == 0 {
		return fmt.Errorf("verifiedLevels is empty")
	}
	for _, l := range v.GetVerifiedLevels() {
		if v.GetVerificationResult() == "FAILED" && strings.HasPrefix(l, "SLSA_") {
			return fmt.Errorf("a FAILED verification claims %s", l)
		}
	}
	if v.GetSlsaVersion() == "" {
		return fmt.Errorf("slsaVersion is missing")
	}
	return nil
}

// descriptor decodes and validates a resource descriptor, its URI
// included.
func descriptor(data []byte) (*intoto.ResourceDescriptor, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("missing")
	}
	var rd intoto.ResourceDescriptor
	if err := protojson.Unmarshal(data, &rd); err != nil {
		return nil, fmt.Errorf("not a resource descriptor: %w", err)
	}
	if err := rd.Validate(); err != nil {
		return nil, err
	}
	return &rd, uri(rd.GetUri(), false)
}

// uri checks that s is an absolute URI; a pkg: URI must parse as a purl.
// An empty s passes unless required.
func uri(s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("missing")
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", s, err)
	}
	if u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	if u.Scheme == "pkg" {
		if _, err := packageurl.FromString(s); err != nil {
			return fmt.Errorf("%q is not a purl: %w", s, err)
		}
	}
	if strings.ContainsAny(s, " ^{}\\") {
		return fmt.Errorf("%q holds characters a URI must escape", s)
	}
	return nil
}
