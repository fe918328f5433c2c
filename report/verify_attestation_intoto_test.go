package report

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/internal/intotocheck"
)

// TestVerifyAttestationInToto: every statement of every fixture, with the
// options reproof's CLI gives and with the least it accepts, passes the
// in-toto attestation library's validation (internal/intotocheck), and a
// signed bundle verifies with the signer's key and names the key as the
// verifier.
func TestVerifyAttestationInToto(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := attest.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyURI, err := attest.KeyURI(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range verifyFixtures {
		for name, opts := range map[string]func(v *Verification) AttestationOptions{
			"cli": func(v *Verification) AttestationOptions {
				return fixtureAttestationOptions(v)
			},
			"least": func(*Verification) AttestationOptions {
				return AttestationOptions{Policy: ResourceDescriptor{Digest: map[string]string{"sha256": fixtureSHA256("policy")}}}
			},
			"directory": func(v *Verification) AttestationOptions {
				v.Published.Source = "/srv/release dir"
				for i := range v.Published.Files {
					v.Published.Files[i].URL = "file:///srv/release%20dir/" + v.Published.Files[i].Name
				}
				for _, a := range v.Artifacts {
					if a.Published != nil {
						a.Published.URL = "file:///srv/release%20dir/" + a.Published.Name
					}
				}
				return AttestationOptions{Policy: ResourceDescriptor{URI: "https://example.org/policy.toml"}}
			},
		} {
			t.Run(f.name+"/"+name, func(t *testing.T) {
				v := f.v()
				sts, err := VSAStatements(v, opts(v))
				if err != nil {
					t.Fatal(err)
				}
				if len(sts) == 0 {
					t.Fatal("no statement")
				}
				for i, st := range sts {
					if pt, err := intotocheck.Statement(st); err != nil || pt != VSAPredicateType {
						t.Errorf("statement %d: %s: %v\n%s", i+1, pt, err, st)
					}
				}
			})
		}
	}

	v := reproducibleVerification()
	opts := fixtureAttestationOptions(v)
	opts.Signer = signer
	var b bytes.Buffer
	if err := VerifyAttestation(&b, v, opts); err != nil {
		t.Fatal(err)
	}
	envs, err := attest.ReadBundle(&b)
	if err != nil {
		t.Fatal(err)
	}
	for i, env := range envs {
		st, err := attest.Verify(context.Background(), env, signer.Public())
		if err != nil {
			t.Fatalf("envelope %d: %v", i+1, err)
		}
		if err := intotocheck.VSA(st.Predicate); err != nil {
			t.Errorf("envelope %d: %v", i+1, err)
		}
		if !bytes.Contains(st.Predicate, []byte(`"verifier":{"id":"`+keyURI+`"`)) {
			t.Errorf("envelope %d: the verifier is not the key %s:\n%s", i+1, keyURI, st.Predicate)
		}
	}
}
