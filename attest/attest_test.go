package attest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

const testStatement = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a.tar.gz","digest":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}}],"predicateType":"https://slsa.dev/verification_summary/v1","predicate":{}}`

// testKeys are private keys in every form ParsePrivateKey reads.
func testKeys(t *testing.T) map[string][]byte {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	encrypted, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("s3cret")))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"ecdsa pkcs8":     pkcs8(ec),
		"ecdsa sec1":      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"ed25519 pkcs8":   pkcs8(ed),
		"ecdsa encrypted": encrypted,
	}
}

// TestSealVerify: a bundle signed with each kind of key verifies with its
// public key, and fails with another key, after a payload byte is
// flipped, and when unsigned.
func TestSealVerify(t *testing.T) {
	ctx := context.Background()
	keys := testKeys(t)
	other, err := ParsePrivateKey(testKeys(t)["ed25519 pkcs8"], nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			s, err := ParsePrivateKey(key, []byte("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			pubPEM, err := s.PublicPEM()
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKey(pubPEM)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := WriteBundle(ctx, &b, [][]byte{[]byte(testStatement), []byte(testStatement)}, s); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(b.String(), "\n"); n != 2 {
				t.Fatalf("the bundle has %d lines, want 2", n)
			}
			envs, err := ReadBundle(&b)
			if err != nil {
				t.Fatal(err)
			}
			for _, env := range envs {
				if env.PayloadType != PayloadType || len(env.Signatures) != 1 || env.Signatures[0].KeyID != s.KeyID() {
					t.Errorf("envelope %+v", env)
				}
				st, err := Verify(ctx, env, pub)
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				if st.Subject[0].Name != "a.tar.gz" || st.PredicateType != "https://slsa.dev/verification_summary/v1" {
					t.Errorf("statement %+v", st)
				}
				if _, err := Verify(ctx, env, other.Public()); !errors.Is(err, ErrBadSignature) {
					t.Errorf("Verify with another key = %v, want ErrBadSignature", err)
				}
			}
			// A flipped byte in the payload: the statement still parses
			// (a digit of the digest changes) but no signature holds.
			body, err := base64.StdEncoding.DecodeString(envs[0].Payload)
			if err != nil {
				t.Fatalf("decoding the payload: %v", err)
			}
			body = bytes.Replace(body, []byte(`"0000`), []byte(`"1000`), 1)
			tampered := *envs[0]
			tampered.Payload = base64.StdEncoding.EncodeToString(body)
			if _, err := Verify(ctx, &tampered, pub); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify of a tampered payload = %v, want ErrBadSignature", err)
			}
			// The signature of another key in place of the right one.
			var ob bytes.Buffer
			if err := WriteBundle(ctx, &ob, [][]byte{[]byte(testStatement)}, other); err != nil {
				t.Fatal(err)
			}
			oenvs, err := ReadBundle(&ob)
			if err != nil {
				t.Fatalf("ReadBundle of the other key's bundle: %v", err)
			}
			swapped := *envs[0]
			swapped.Signatures = oenvs[0].Signatures
			if _, err := Verify(ctx, &swapped, pub); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify with another key's signature = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestUnsigned: without a signer the envelope has an empty signature list
// and Verify says unsigned, with the statement.
func TestUnsigned(t *testing.T) {
	ctx := context.Background()
	var b bytes.Buffer
	if err := WriteBundle(ctx, &b, [][]byte{[]byte(testStatement)}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"signatures":[]`) {
		t.Errorf("unsigned envelope %s, want an empty signature list", b.String())
	}
	envs, err := ReadBundle(&b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParsePrivateKey(testKeys(t)["ed25519 pkcs8"], nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Verify(ctx, envs[0], s.Public())
	if !errors.Is(err, ErrUnsigned) || st == nil {
		t.Errorf("Verify(unsigned) = %v, %v; want the statement and ErrUnsigned", st, err)
	}
}

// TestMalformed: what is not an in-toto envelope is refused as malformed,
// both when sealing and when verifying.
func TestMalformed(t *testing.T) {
	ctx := context.Background()
	s, err := ParsePrivateKey(testKeys(t)["ed25519 pkcs8"], nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{
		`not json`,
		`{"_type":"https://in-toto.io/Statement/v2","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"x","predicate":{}}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"x","predicate":{}}`,
		`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicate":{}}`,
	} {
		if _, err := Seal(ctx, []byte(st), s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Seal(%q) = %v, want ErrMalformed", st, err)
		}
	}
	good, err := Seal(ctx, []byte(testStatement), s)
	if err != nil {
		t.Fatal(err)
	}
	bare, err := json.Marshal(json.RawMessage(testStatement))
	if err != nil {
		t.Fatal(err)
	}
	for name, bundle := range map[string]string{
		"empty":          "",
		"bare statement": string(bare),
		"not json":       "{",
	} {
		if _, err := ReadBundle(strings.NewReader(bundle)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ReadBundle(%s) = %v, want ErrMalformed", name, err)
		}
	}
	wrongType := *good
	wrongType.PayloadType = "application/json"
	if _, err := Verify(ctx, &wrongType, s.Public()); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify with payloadType %q = %v, want ErrMalformed", wrongType.PayloadType, err)
	}
	notBase64 := *good
	notBase64.Payload = "%%%"
	if _, err := Verify(ctx, &notBase64, s.Public()); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify with a payload that is not base64 = %v, want ErrMalformed", err)
	}
}

// TestParseKeys: wrong passwords, unsupported curves and junk are errors
// that say so.
func TestParseKeys(t *testing.T) {
	keys := testKeys(t)
	if _, err := ParsePrivateKey(keys["ecdsa encrypted"], []byte("wrong")); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("a wrong password: err = %v, want one naming the password", err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Errorf("a P-384 key: err = %v, want one naming P-256", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(p384.Public())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err == nil {
		t.Errorf("a P-384 public key: err = nil")
	}
	if _, err := ParsePrivateKey([]byte("not a key"), nil); err == nil {
		t.Errorf("junk: err = nil")
	}
	s, err := ParsePrivateKey(keys["ed25519 pkcs8"], nil)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := KeyURI(s.Public())
	if err != nil || !strings.HasPrefix(uri, "ni:///sha-256;") || len(uri) != len("ni:///sha-256;")+43 {
		t.Errorf("KeyURI = %q, %v", uri, err)
	}
}
