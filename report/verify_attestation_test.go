package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// decodedStatement mirrors an in-toto Statement v1 with the SLSA VSA v1
// predicate, as docs/report-json.md describes it.
type decodedStatement struct {
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

func decodeBundle(t *testing.T, raw []byte) []decodedStatement {
	t.Helper()
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
		t.Errorf("the bundle does not end with a newline")
	}
	var out []decodedStatement
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if line == "" {
			continue
		}
		var st decodedStatement
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, line)
		}
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
				if p.TimeVerified != v.Timestamp || p.SLSAVersion != "1.0" || p.DependencyLevels == nil || len(p.DependencyLevels) != 0 {
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

// TestVerifyAttestationOptions: the default policy URI, the extension's key,
// and input attestations without a digest refused.
func TestVerifyAttestationOptions(t *testing.T) {
	v := reproducibleVerification()
	var b bytes.Buffer
	if err := VerifyAttestation(&b, v, AttestationOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := decodeBundle(t, b.Bytes())
	if got := sts[0].Predicate.Policy; got.URI != DefaultPolicyURI || got.Digest != nil {
		t.Errorf("policy = %+v, want the default URI alone", got)
	}
	if sts[0].Predicate.InputAttestations != nil {
		t.Errorf("inputAttestations = %+v, want absent", sts[0].Predicate.InputAttestations)
	}
	if !strings.Contains(b.String(), `"`+VSAExtension+`":{`) {
		t.Errorf("the extension is not keyed %q", VSAExtension)
	}

	err := VerifyAttestation(&b, v, AttestationOptions{InputAttestations: []ResourceDescriptor{{URI: "https://example.org/provenance.json"}}})
	if err == nil || !strings.Contains(err.Error(), "no digest") {
		t.Errorf("an input attestation without a digest: err = %v, want one saying so", err)
	}
	if err := VerifyAttestation(&b, nil, AttestationOptions{}); err == nil {
		t.Errorf("VerifyAttestation(nil) = nil, want an error")
	}
}

// TestVerifyAttestationResourceURI: without a URL, the resource is the
// file's name under the published source.
func TestVerifyAttestationResourceURI(t *testing.T) {
	v := reproducibleVerification()
	for i := range v.Artifacts {
		v.Artifacts[i].Published.URL = ""
	}
	var b bytes.Buffer
	if err := VerifyAttestation(&b, v, AttestationOptions{}); err != nil {
		t.Fatal(err)
	}
	sts := decodeBundle(t, b.Bytes())
	if got, want := sts[1].Predicate.ResourceURI, "https://releases.example.org/lix/lix-2.91.1/lix-2.91.1.tar.gz"; got != want {
		t.Errorf("resourceUri = %q, want %q", got, want)
	}
}
