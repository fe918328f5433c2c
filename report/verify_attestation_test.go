package report

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// decodedStatement mirrors an in-toto Statement v1 with the SLSA VSA v1
// predicate, as docs/report-json.md describes it.
type decodedStatement struct {
	raw     []byte
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
	Predicate     struct {
		Verifier struct {
			ID      string            `json:"id"`
			Version map[string]string `json:"version"`
		} `json:"verifier"`
		TimeVerified       string               `json:"timeVerified"`
		ResourceURI        string               `json:"resourceUri"`
		Policy             ResourceDescriptor   `json:"policy"`
		InputAttestations  []ResourceDescriptor `json:"inputAttestations"`
		VerificationResult string               `json:"verificationResult"`
		VerifiedLevels     []string             `json:"verifiedLevels"`
		DependencyLevels   map[string]int       `json:"dependencyLevels"`
		SLSAVersion        string               `json:"slsaVersion"`
		Extension          *struct {
			Schema     string   `json:"schema"`
			Artifact   string   `json:"artifact"`
			Status     Status   `json:"status"`
			Detail     string   `json:"detail"`
			ComparedBy string   `json:"compared_by"`
			Passes     []string `json:"normalizations"`
			Rebuilt    *struct {
				Name, SHA256, SHA512 string
			} `json:"rebuilt"`
			Source struct {
				Repo, Tag, Commit string
				SourceDateEpoch   int64 `json:"source_date_epoch"`
			} `json:"source"`
			Image struct {
				Ref, Digest, Platform string
			} `json:"image"`
			Verdict   Verdict `json:"verdict"`
			Reason    string  `json:"reason"`
			Published struct {
				Source string `json:"source"`
			} `json:"published"`
		} `json:"https://github.com/reproof/reproof/blob/main/docs/report-json.md#extension"`
	} `json:"predicate"`
}

// decodeBundle reads a bundle of unsigned envelopes, one per line, and
// decodes each statement.
func decodeBundle(t *testing.T, raw []byte) []decodedStatement {
	t.Helper()
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
		t.Errorf("the bundle does not end with a newline")
	}
	var out []decodedStatement
	for i, envLine := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if envLine == "" {
			continue
		}
		var env struct {
			PayloadType string            `json:"payloadType"`
			Payload     []byte            `json:"payload"`
			Signatures  []json.RawMessage `json:"signatures"`
		}
		dec := json.NewDecoder(strings.NewReader(envLine))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil {
			t.Fatalf("envelope %d: %v\n%s", i+1, err, envLine)
		}
		if env.PayloadType != "application/vnd.in-toto+json" || env.Signatures == nil || len(env.Signatures) != 0 {
			t.Errorf("envelope %d: payloadType %q, signatures %v; want an unsigned in-toto envelope", i+1, env.PayloadType, env.Signatures)
		}
		line := string(env.Payload)
		var st decodedStatement
		dec = json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, line)
		}
		st.raw = []byte(line)
		out = append(out, st)
	}
	return out
}

// TestVerifyAttestation checks the statements of every fixture: one per
// published artifact, the subject the published file, PASSED only where an
// equality was computed and the policy accepts it.
func TestVerifyAttestation(t *testing.T) {
	type want struct {
		vsaSubject, result, level string
	}
	cases := []struct {
		name   string
		v      func() *Verification
		accept bool
		want   []want
	}{
		{"reproducible", reproducibleVerification, false, []want{
			{"lix-2.91.1-x86_64-linux.tar.xz", "PASSED", LevelReproducible},
			{"lix-2.91.1.tar.gz", "PASSED", LevelReproducible},
		}},
		{"normalized", normalizedVerification, false, []want{
			{"base-20240101.0.12345.tar.zst", "FAILED", LevelFailed},
			{"base-devel-20240101.0.12345.tar.zst", "FAILED", LevelFailed}, // skipped: nothing was verified
		}},
		{"normalized, accepted", normalizedVerification, true, []want{
			{"base-20240101.0.12345.tar.zst", "PASSED", LevelReproducibleNormalized},
			{"base-devel-20240101.0.12345.tar.zst", "FAILED", LevelFailed},
		}},
		{"not-reproducible", notReproducibleVerification, false, []want{
			// the extra artifact was never published: no statement
			{"nimbus-eth2_Linux_amd64_24.1.0_1a2b3c4d.tar.gz", "FAILED", LevelFailed},
			{"nimbus-eth2_Linux_arm64v8_24.1.0_1a2b3c4d.tar.gz", "FAILED", LevelFailed},
			{"nimbus-eth2_Windows_amd64_24.1.0_1a2b3c4d.tar.gz", "FAILED", LevelFailed},
		}},
		{"build-failed", buildFailedVerification, false, []want{
			{"x86_64-unknown-linux-musl/garage", "FAILED", LevelFailed},
			{"aarch64-unknown-linux-musl/garage", "FAILED", LevelFailed},
		}},
		{"error", errorVerification, false, []want{
			{"lix-2.91.1-x86_64-linux.tar.xz", "FAILED", LevelFailed},
			{"lix-2.91.1.tar.gz", "PASSED", LevelReproducible}, // its equality was computed
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.v()
			v.Policy.AcceptNormalized = c.accept
			opts := fixtureAttestationOptions(v)
			var b bytes.Buffer
			if err := VerifyAttestation(&b, v, opts); err != nil {
				t.Fatal(err)
			}
			sts := decodeBundle(t, b.Bytes())
			if len(sts) != len(c.want) {
				t.Fatalf("%d statements, want %d", len(sts), len(c.want))
			}
			published := map[string]File{}
			for _, f := range v.Published.Files {
				published[f.Name] = f
			}
			for i, st := range sts {
				w := c.want[i]
				p := st.Predicate
				if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType != "https://slsa.dev/verification_summary/v1" {
					t.Errorf("statement %d: _type %q, predicateType %q", i, st.Type, st.PredicateType)
				}
				if len(st.Subject) != 1 || st.Subject[0].Name != w.vsaSubject {
					t.Fatalf("statement %d: subject %+v, want %q", i, st.Subject, w.vsaSubject)
				}
				if f := published[w.vsaSubject]; st.Subject[0].Digest["sha256"] != f.SHA256 || f.SHA256 == "" {
					t.Errorf("statement %d: subject sha256 %q, want the published file's %q", i, st.Subject[0].Digest["sha256"], f.SHA256)
				}
				if f := published[w.vsaSubject]; p.ResourceURI != f.URL {
					t.Errorf("statement %d: resourceUri %q, want %q", i, p.ResourceURI, f.URL)
				}
				if p.VerificationResult != w.result || !reflect.DeepEqual(p.VerifiedLevels, []string{w.level}) {
					t.Errorf("statement %d (%s): %s %q, want %s %q", i, w.vsaSubject, p.VerificationResult, p.VerifiedLevels, w.result, w.level)
				}
				for _, l := range p.VerifiedLevels {
					if strings.HasPrefix(l, "SLSA_") {
						t.Errorf("statement %d claims the SLSA level %q: a rebuild check is no SLSA build level", i, l)
					}
				}
				if p.Verifier.ID != VerifierID || p.Verifier.Version["reproof"] != v.Reproof {
					t.Errorf("statement %d: verifier %+v", i, p.Verifier)
				}
				if p.TimeVerified != v.Timestamp || p.SLSAVersion != "1.0" || p.DependencyLevels != nil {
					t.Errorf("statement %d: timeVerified %q, slsaVersion %q, dependencyLevels %v", i, p.TimeVerified, p.SLSAVersion, p.DependencyLevels)
				}
				if !reflect.DeepEqual(p.Policy, opts.Policy) || !reflect.DeepEqual(p.InputAttestations, opts.InputAttestations) {
					t.Errorf("statement %d: policy %+v, inputAttestations %+v", i, p.Policy, p.InputAttestations)
				}
				ext := p.Extension
				if ext == nil {
					t.Fatalf("statement %d has no reproof extension", i)
				}
				if ext.Schema != VerifySchema || ext.Verdict != v.Verdict || ext.Source.Commit != v.Source.Commit ||
					ext.Image.Digest != v.Environment.ImageDigest || ext.Published.Source != v.Published.Source {
					t.Errorf("statement %d: extension %+v", i, *ext)
				}
			}
		})
	}
}

// TestVerifyAttestationOptions: no policy URI is made up, the extension's
// key, the verifier id, and options refused.
func TestVerifyAttestationOptions(t *testing.T) {
	v := reproducibleVerification()
	policy := ResourceDescriptor{Name: "policy.toml", Digest: map[string]string{"sha256": fixtureSHA256("policy")}}
	var b bytes.Buffer
	if err := VerifyAttestation(&b, v, AttestationOptions{Policy: policy}); err != nil {
		t.Fatal(err)
	}
	sts := decodeBundle(t, b.Bytes())
	if got := sts[0].Predicate.Policy; !reflect.DeepEqual(got, policy) {
		t.Errorf("policy = %+v, want %+v (no URI added)", got, policy)
	}
	if sts[0].Predicate.InputAttestations != nil {
		t.Errorf("inputAttestations = %+v, want absent", sts[0].Predicate.InputAttestations)
	}
	if got := sts[0].Predicate.Verifier.ID; got != VerifierID {
		t.Errorf("verifier.id = %q, want %q without a key or --verifier-id", got, VerifierID)
	}
	if !strings.Contains(string(sts[0].raw), `"`+VSAExtension+`":{`) {
		t.Errorf("the extension is not keyed %q", VSAExtension)
	}
	if strings.Contains(string(sts[0].raw), "dependencyLevels") {
		t.Errorf("dependencyLevels is present: it would claim the artifact has no dependencies")
	}

	b.Reset()
	if err := VerifyAttestation(&b, v, AttestationOptions{Policy: policy, VerifierID: "https://auditor.example.org/reproof"}); err != nil {
		t.Fatal(err)
	}
	if got := decodeBundle(t, b.Bytes())[0].Predicate.Verifier.ID; got != "https://auditor.example.org/reproof" {
		t.Errorf("verifier.id = %q, want the one given", got)
	}

	err := VerifyAttestation(&b, v, AttestationOptions{Policy: policy, InputAttestations: []ResourceDescriptor{{URI: "https://example.org/provenance.json"}}})
	if err == nil || !strings.Contains(err.Error(), "no digest") {
		t.Errorf("an input attestation without a digest: err = %v, want one saying so", err)
	}
	if err := VerifyAttestation(&b, v, AttestationOptions{}); err == nil || !strings.Contains(err.Error(), "policy") {
		t.Errorf("no policy: err = %v, want one naming the policy", err)
	}
	if err := VerifyAttestation(&b, nil, AttestationOptions{Policy: policy}); err == nil {
		t.Errorf("VerifyAttestation(nil) = nil, want an error")
	}
}

// TestVerifyAttestationResourceURI: every resourceUri parses as a URI: an
// http(s) URL as published, escaped when joined; a purl for npm packages
// and for files of a local directory with no --published-url.
func TestVerifyAttestationResourceURI(t *testing.T) {
	policy := ResourceDescriptor{Digest: map[string]string{"sha256": fixtureSHA256("policy")}}
	cases := []struct {
		name string
		edit func(v *Verification)
		opts AttestationOptions
		want string // of the second artifact, lix-2.91.1.tar.gz
	}{
		{"published URL", func(*Verification) {}, AttestationOptions{},
			"https://releases.example.org/lix/lix-2.91.1/lix-2.91.1.tar.gz"},
		{"no URL: joined with the source, escaped", func(v *Verification) {
			v.Published.Source = "https://releases.example.org/lix/2.91 final/"
			for i := range v.Artifacts {
				v.Artifacts[i].Published.URL = ""
			}
		}, AttestationOptions{}, "https://releases.example.org/lix/2.91%20final/lix-2.91.1.tar.gz"},
		{"directory, no --published-url: a purl", func(v *Verification) {
			v.Published.Source = "/srv/release dir"
			for i := range v.Artifacts {
				v.Artifacts[i].Published.URL = "file:///srv/release%20dir/" + v.Artifacts[i].Published.Name
			}
		}, AttestationOptions{},
			"pkg:generic/lix-2.91.1.tar.gz@2.91.1?checksum=sha256:" + reproducibleVerification().Artifacts[1].Published.SHA256 +
				"&vcs_url=git%2Bhttps:%2F%2Fgit.example.org%2Flix-project%2Flix.git%40" + reproducibleVerification().Source.Commit},
		{"directory with --published-url", func(v *Verification) {
			v.Published.Source = "/srv/release"
			for i := range v.Artifacts {
				v.Artifacts[i].Published.URL = "file:///srv/release/" + v.Artifacts[i].Published.Name
			}
		}, AttestationOptions{PublishedURL: "https://example.org/dl/v 1/"}, "https://example.org/dl/v%201/lix-2.91.1.tar.gz"},
		{"npm", func(v *Verification) {
			v.Published.Source = "npm:@scope/pkg@1.2.3"
		}, AttestationOptions{}, "pkg:npm/%40scope/pkg@1.2.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := reproducibleVerification()
			c.edit(v)
			c.opts.Policy = policy
			var b bytes.Buffer
			if err := VerifyAttestation(&b, v, c.opts); err != nil {
				t.Fatal(err)
			}
			sts := decodeBundle(t, b.Bytes())
			got := sts[1].Predicate.ResourceURI
			if got != c.want {
				t.Errorf("resourceUri = %q, want %q", got, c.want)
			}
			if u, err := url.Parse(got); err != nil || u.Scheme == "" {
				t.Errorf("resourceUri %q does not parse as an absolute URI: %v", got, err)
			}
		})
	}
}
