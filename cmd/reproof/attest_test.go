package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/report"
)

// TestAttestVerify: `reproof attest verify` exits 0 for a bundle signed by
// the key and prints each statement's predicate type and subjects; 1 for
// an unsigned envelope, a flipped payload byte or another key's
// signature; 2 for a file that is not a bundle.
func TestAttestVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newKey := func(name string) (*attest.Signer, string) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		s, err := attest.ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := s.PublicPEM()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".pub")
		if err := os.WriteFile(p, pub, 0o644); err != nil {
			t.Fatal(err)
		}
		return s, p
	}
	signer, pub := newKey("signer")
	other, _ := newKey("other")
	digest := strings.Repeat("ab", 32)
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app-1.0.tar.gz","digest":{"sha256":"` + digest +
		`"}}],"predicateType":"` + report.VSAPredicateType + `","predicate":{"verificationResult":"PASSED"}}`)
	bundle := func(name string, s *attest.Signer, edit func(*attest.Envelope)) string {
		env, err := attest.Seal(ctx, statement, s)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(env)
		}
		good, err := attest.Seal(ctx, statement, signer)
		if err != nil {
			t.Fatal(err)
		}
		var lines [2][]byte
		for i, e := range []*attest.Envelope{good, env} {
			if lines[i], err = json.Marshal(e); err != nil {
				t.Fatal(err)
			}
		}
		first, line := lines[0], lines[1]
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, append(append(append(first, '\n'), line...), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	otherSig, err := attest.Seal(ctx, statement, other)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		file   string
		code   int
		stdout string
	}{
		{"signed", bundle("signed.jsonl", signer, nil), 0, ":2: verified: " + report.VSAPredicateType + "\n  sha256:" + digest + "  app-1.0.tar.gz\n"},
		{"unsigned", bundle("unsigned.jsonl", nil, nil), 1, ":2: UNSIGNED: "},
		{"payload flipped", bundle("flipped.jsonl", signer, func(e *attest.Envelope) {
			body, err := base64.StdEncoding.DecodeString(e.Payload)
			if err != nil {
				t.Fatal(err)
			}
			e.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("PASSED"), []byte("PASSEE"), 1))
		}), 1, ":2: BAD SIGNATURE: "},
		{"another key's signature", bundle("other.jsonl", signer, func(e *attest.Envelope) { e.Signatures = otherSig.Signatures }), 1, ":2: BAD SIGNATURE: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, ctx, nil, "attest", "verify", "--key", pub, c.file)
			if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stdout, ":1: verified: ") {
				t.Errorf("attest verify %s: exit %d, want %d; stdout:\n%s\nwant it to hold %q\nstderr:\n%s", c.name, code, c.code, stdout, c.stdout, stderr)
			}
		})
	}
	bare := filepath.Join(dir, "bare.jsonl")
	if err := os.WriteFile(bare, append(statement, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, ctx, nil, "attest", "verify", "--key", pub, bare); code != 2 || !strings.Contains(stderr, "malformed") {
		t.Errorf("attest verify of bare statements: exit %d, stderr %q; want 2 naming it malformed", code, stderr)
	}
	if code, _, _ := runCLI(t, ctx, nil, "attest", "verify", cases[0].file); code != 2 {
		t.Errorf("attest verify without --key: exit %d, want 2", code)
	}
}
