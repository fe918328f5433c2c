package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// signingFlags are the flags of a command that signs what it attests
// (verify, rebuild).
type signingFlags struct {
	key         string
	passwordEnv string
	envSecrets  []string
}

func addSigningFlags(fs *pflag.FlagSet, f *signingFlags) {
	fs.StringVar(&f.key, "signing-key", "", "sign attestations and provenance with the PEM private `KEY` (ECDSA P-256 or ed25519; PKCS#8, or cosign's encrypted key)")
	fs.StringVar(&f.passwordEnv, "signing-key-password-env", "COSIGN_PASSWORD", "environment `VARIABLE` holding the password of an encrypted --signing-key")
	fs.StringArrayVar(&f.envSecrets, "env-secret", nil, "pass the variable `NAME` from reproof's environment to the build without recording its value (repeatable)")
}

// signer loads --signing-key; nil without one.
func (f *signingFlags) signer(std streams, cmd string) (*attest.Signer, error) {
	if f.key == "" {
		return nil, nil
	}
	data, err := os.ReadFile(f.key)
	if err != nil {
		return nil, fmt.Errorf("%s: --signing-key: %w", cmd, err)
	}
	s, err := attest.ParsePrivateKey(data, []byte(std.getenv(f.passwordEnv)))
	if err != nil {
		return nil, &hinted{err: fmt.Errorf("%s: --signing-key %q: %w", cmd, f.key, err),
			hint: "set $" + f.passwordEnv + " to the key's password (--signing-key-password-env names another variable)"}
	}
	return s, nil
}

// attestFlags are verify's flags for the attestation.
type attestFlags struct {
	verifierID   string
	policyURI    string
	policyOut    string
	publishedURL string
}

func addAttestFlags(fs *pflag.FlagSet, f *attestFlags) {
	fs.StringVar(&f.verifierID, "verifier-id", "", "the attestation's verifier.id: a `URI` naming this verifying instance (default: the --signing-key's ni: URI)")
	fs.StringVar(&f.policyURI, "policy-uri", "", "the attestation's policy.uri: where the effective policy is published (`URI`)")
	fs.StringVar(&f.policyOut, "policy-out", "", "write the effective policy the attestation's digest covers to `FILE` (default: beside --attestation, NAME.policy.toml)")
	fs.StringVar(&f.publishedURL, "published-url", "", "base `URL` a published directory's files are served from, for the attestation's resourceUri")
}

// policyPath is where the effective policy goes beside the attestation:
// --policy-out, else the attestation's name with .policy.toml for its
// .intoto.jsonl, .jsonl or .json.
func (f *attestFlags) policyPath(attestation string) string {
	if f.policyOut != "" || attestation == "" {
		return f.policyOut
	}
	base := attestation
	for _, ext := range []string{".intoto.jsonl", ".jsonl", ".json"} {
		if strings.HasSuffix(base, ext) {
			base = strings.TrimSuffix(base, ext)
			break
		}
	}
	return base + ".policy.toml"
}

// attestation returns the attestation's options and the effective
// policy's bytes: the spec after flags in canonical form, whose digest the
// attestation records. The provenance this run's rebuild wrote is cited by
// the digest it had when written and its file URL.
func (f *attestFlags) attestation(s *spec.Spec, v *report.Verification, signer *attest.Signer, policyPath string) (report.AttestationOptions, []byte, error) {
	policy, err := s.Canonical()
	if err != nil {
		return report.AttestationOptions{}, nil, fmt.Errorf("verify: the effective policy: %w", err)
	}
	sum := sha256.Sum256(policy)
	name := "policy.toml"
	if policyPath != "" {
		name = filepath.Base(policyPath)
	}
	opts := report.AttestationOptions{
		Policy:       report.ResourceDescriptor{Name: name, URI: f.policyURI, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}},
		VerifierID:   f.verifierID,
		PublishedURL: f.publishedURL,
		Signer:       signer,
	}
	if v.ProvenanceSHA256 != "" {
		in := report.ResourceDescriptor{Name: rebuild.ProvenanceFile, Digest: map[string]string{"sha256": v.ProvenanceSHA256}}
		if abs, err := filepath.Abs(filepath.Join(s.Build.Out, rebuild.ProvenanceFile)); err == nil {
			in.URI = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
		}
		opts.InputAttestations = []report.ResourceDescriptor{in}
	}
	return opts, policy, nil
}

// checkURIFlags refuses a --verifier-id, --policy-uri or --published-url
// that is not an absolute URI.
func (f *attestFlags) check() error {
	for flag, v := range map[string]string{"verifier-id": f.verifierID, "policy-uri": f.policyURI, "published-url": f.publishedURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || u.Scheme == "" {
			return fmt.Errorf("--%s: %q is not an absolute URI", flag, v)
		}
	}
	return nil
}

// verifyAttestationOutputs are the files --attestation writes: the bundle
// and the effective policy beside it. It says on stderr whether the
// bundle is signed.
func verifyAttestationOutputs(std streams, path string, f *attestFlags, s *spec.Spec, v *report.Verification, signer *attest.Signer) ([]output, error) {
	if path == "" {
		return nil, nil
	}
	policyPath := f.policyPath(path)
	opts, policy, err := f.attestation(s, v, signer, policyPath)
	if err != nil {
		return nil, err
	}
	if signer == nil {
		fmt.Fprintf(std.stderr, "reproof: attestation %s is unsigned (no --signing-key): its envelopes carry no signature\n", path)
	} else {
		fmt.Fprintf(std.stderr, "reproof: attestation %s signed by key %s\n", path, signer.KeyID())
	}
	return []output{
		{path, func(w io.Writer) error { return report.VerifyAttestation(w, v, opts) }},
		{policyPath, func(w io.Writer) error { _, err := w.Write(policy); return err }},
	}, nil
}
