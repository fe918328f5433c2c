package attest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// cosignVerify runs cosign verify-blob-attestation on one envelope file,
// checking the claims: the predicate type and the subject's digest against
// the blob. Without a transparency log: the key is the trust root.
func cosignVerify(t *testing.T, dir, pub, envelope, predicateType, blob string) ([]byte, error) {
	t.Helper()
	cmd := testenv.CosignCommand(t, dir, nil, "verify-blob-attestation", "--key", pub, "--signature", envelope,
		"--type", predicateType, "--insecure-ignore-tlog=true", "--private-infrastructure=true", blob)
	return cmd.CombinedOutput()
}

// writeEnvelope writes one envelope as a file of its own: cosign reads one
// envelope per file, not a JSON Lines bundle.
func writeEnvelope(t *testing.T, dir, name string, env *Envelope) string {
	t.Helper()
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCosign: envelopes reproof signs with a key from cosign
// generate-key-pair (encrypted, ECDSA P-256) and with an ed25519 key verify
// in cosign verify-blob-attestation, claims checked against the blob; a
// flipped payload byte and another key's signature fail in cosign and in
// Verify; and an envelope cosign attest-blob signs verifies in Verify.
func TestCosign(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cosignKey, cosignPub := testenv.CosignKeyPair(t, dir, "correct horse")
	keyPEM, err := os.ReadFile(cosignKey)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := ParsePrivateKey(keyPEM, []byte("correct horse"))
	if err != nil {
		t.Fatalf("ParsePrivateKey(cosign.key) = %v", err)
	}
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	edSigner, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	edPubPEM, err := edSigner.PublicPEM()
	if err != nil {
		t.Fatal(err)
	}
	edPub := filepath.Join(dir, "ed25519.pub")
	if err := os.WriteFile(edPub, edPubPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	blob := filepath.Join(dir, "release.tar.gz")
	content := []byte("the published artifact\n")
	if err := os.WriteFile(blob, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	statement := func(predicateType string) []byte {
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"release.tar.gz","digest":{"sha256":"` + digest +
			`"}}],"predicateType":"` + predicateType + `","predicate":{"verificationResult":"PASSED","n":12345}}`)
	}

	for _, k := range []struct {
		name   string
		signer *Signer
		pub    string
		other  *Signer
	}{
		{"cosign ecdsa", ecSigner, cosignPub, edSigner},
		{"ed25519", edSigner, edPub, ecSigner},
	} {
		for _, pt := range []string{"https://slsa.dev/verification_summary/v1", "https://slsa.dev/provenance/v1"} {
			t.Run(k.name+"/"+pt, func(t *testing.T) {
				var b bytes.Buffer
				if err := WriteBundle(ctx, &b, [][]byte{statement(pt)}, k.signer); err != nil {
					t.Fatal(err)
				}
				envs, err := ReadBundle(&b)
				if err != nil {
					t.Fatal(err)
				}
				good := writeEnvelope(t, t.TempDir(), "good.intoto.json", envs[0])
				if out, err := cosignVerify(t, dir, k.pub, good, pt, blob); err != nil {
					t.Fatalf("cosign rejects reproof's envelope: %v\n%s", err, out)
				}

				body, err := base64.StdEncoding.DecodeString(envs[0].Payload)
				if err != nil {
					t.Fatalf("decoding the payload: %v", err)
				}
				flipped := *envs[0]
				flipped.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("12345"), []byte("12346"), 1))
				other, err := Seal(ctx, statement(pt), k.other)
				if err != nil {
					t.Fatal(err)
				}
				swapped := *envs[0]
				swapped.Signatures = other.Signatures
				pubPEM, err := os.ReadFile(k.pub)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := ParsePublicKey(pubPEM)
				if err != nil {
					t.Fatal(err)
				}
				for name, env := range map[string]*Envelope{"payload byte flipped": &flipped, "another key's signature": &swapped} {
					p := writeEnvelope(t, t.TempDir(), "bad.intoto.json", env)
					if out, err := cosignVerify(t, dir, k.pub, p, pt, blob); err == nil {
						t.Errorf("%s: cosign verifies it:\n%s", name, out)
					}
					if _, err := Verify(ctx, env, pub); !errors.Is(err, ErrBadSignature) {
						t.Errorf("%s: Verify = %v, want ErrBadSignature", name, err)
					}
				}
			})
		}
	}

	// The other way round: what cosign signs, reproof verifies.
	pred := filepath.Join(dir, "predicate.json")
	if err := os.WriteFile(pred, []byte(`{"verificationResult":"PASSED"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(dir, "cosign.intoto.json")
	cmd := testenv.CosignCommand(t, dir, []string{"COSIGN_PASSWORD=correct horse"}, "attest-blob", "--key", cosignKey,
		"--predicate", pred, "--type", "https://slsa.dev/verification_summary/v1", "--tlog-upload=false", "--yes",
		"--output-signature", sig, blob)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign attest-blob: %v\n%s", err, out)
	}
	f, err := os.Open(sig)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	envs, err := ReadBundle(f)
	if err != nil {
		t.Fatalf("ReadBundle(cosign's envelope) = %v", err)
	}
	st, err := Verify(ctx, envs[0], ecSigner.Public())
	if err != nil || st.Subject[0].Digest["sha256"] != digest || !strings.Contains(st.PredicateType, "verification_summary") {
		t.Errorf("Verify(cosign's envelope) = %+v, %v", st, err)
	}
}
