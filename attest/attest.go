// Package attest signs in-toto Statements into DSSE envelopes and checks
// them: the bundle format reproof writes for its verification summaries and
// provenance (docs/attestations.md).
//
// A bundle is JSON Lines: one DSSE envelope per line, payloadType
// application/vnd.in-toto+json, the payload an in-toto Statement v1. The
// envelopes come from the secure-systems-lab DSSE package and the keys are
// handled by sigstore's signature and cryptoutils packages, so that what
// cosign signs and verifies, reproof does too: ECDSA P-256 and ed25519
// keys in PEM, PKCS#8 (plain or cosign's encrypted form) or SEC 1.
//
// It is strict about what it accepts: an envelope must have the in-toto
// payload type, a payload that is an in-toto Statement v1 with at least one
// subject, and, to pass Verify, a signature by the given key over exactly
// that payload. An envelope without signatures is never verified; it is
// reported as unsigned.
package attest

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// PayloadType is the DSSE payload type of an in-toto Statement.
const PayloadType = "application/vnd.in-toto+json"

// StatementType is the _type of an in-toto Statement v1, what reproof
// writes. StatementTypeV01 is the earlier one cosign attest-blob still
// writes: read, never written.
const (
	StatementType    = "https://in-toto.io/Statement/v1"
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
)

// Limits on what Read accepts: a bundle is hostile input.
const (
	MaxBundleSize = 64 << 20 // bytes in a bundle
	MaxEnvelopes  = 100000   // envelopes in a bundle
)

// Envelope is a DSSE envelope (the secure-systems-lab type).
type Envelope = dsse.Envelope

// Errors Verify returns, for callers that branch on them. ErrUnsigned
// and ErrBadSignature say the envelope is well formed but not vouched for
// by the key; ErrMalformed that it is not an envelope reproof can check.
var (
	ErrUnsigned     = errors.New("unsigned: the envelope has no signature")
	ErrBadSignature = errors.New("no signature by the key verifies")
	ErrMalformed    = errors.New("malformed attestation")
)

// Signer signs Statements with one private key.
type Signer struct {
	sv    signature.SignerVerifier
	pub   crypto.PublicKey
	keyID string
}

// ParsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY"), or encrypted as cosign generate-key-pair writes it
// ("ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY"),
// decrypted with password (cosign allows an empty one). The key must be
// ECDSA P-256 or ed25519.
func ParsePrivateKey(pemBytes, password []byte) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("not a PEM private key")
	}
	if password == nil {
		password = []byte{}
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		if block.Type == string(cryptoutils.EncryptedSigstorePrivateKeyPEMType) || block.Type == "ENCRYPTED COSIGN PRIVATE KEY" {
			return nil, fmt.Errorf("decrypting the %s: %w (wrong password?)", block.Type, err)
		}
		return nil, fmt.Errorf("reading the %s: %w", block.Type, err)
	}
	var pub crypto.PublicKey
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("an ECDSA key on %s: only P-256 is supported", k.Curve.Params().Name)
		}
		pub = k.Public()
	case ed25519.PrivateKey:
		pub = k.Public()
	default:
		return nil, fmt.Errorf("a %T: only ECDSA P-256 and ed25519 keys are supported", priv)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, pub: pub, keyID: id}, nil
}

// ParsePublicKey reads a PEM public key ("PUBLIC KEY", as cosign writes
// cosign.pub): ECDSA P-256 or ed25519.
func ParsePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("an ECDSA key on %s: only P-256 is supported", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("a %T: only ECDSA P-256 and ed25519 keys are supported", pub)
	}
	return pub, nil
}

// KeyID is the key's DSSE keyid: the SHA-256 fingerprint of the public key
// as OpenSSH prints it ("SHA256:..."), which is what the DSSE package
// derives for a verifier without one, so cosign and reproof match it.
func KeyID(pub crypto.PublicKey) (string, error) {
	return dsse.SHA256KeyID(pub)
}

// KeyURI names a public key by the SHA-256 of its DER SubjectPublicKeyInfo
// as an RFC 6920 URI: ni:///sha-256;BASE64URL. It is the default verifier
// id of a signed attestation: the verifying instance is whoever holds the
// key.
func KeyURI(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "ni:///sha-256;" + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Public is the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// KeyID is the keyid the signer's signatures carry (see KeyID).
func (s *Signer) KeyID() string { return s.keyID }

// PublicPEM is the signer's public key in PEM, as cosign.pub holds it.
func (s *Signer) PublicPEM() ([]byte, error) { return cryptoutils.MarshalPublicKeyToPEM(s.pub) }

// dsseSigner adapts Signer to the DSSE package.
type dsseSigner struct{ s *Signer }

func (d dsseSigner) Sign(_ context.Context, data []byte) ([]byte, error) {
	return d.s.sv.SignMessage(bytes.NewReader(data))
}

func (d dsseSigner) KeyID() (string, error) { return d.s.keyID, nil }

// dsseVerifier adapts a public key to the DSSE package.
type dsseVerifier struct {
	v     signature.Verifier
	pub   crypto.PublicKey
	keyID string
}

func (d dsseVerifier) Verify(_ context.Context, data, sig []byte) error {
	return d.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data))
}

func (d dsseVerifier) KeyID() (string, error)   { return d.keyID, nil }
func (d dsseVerifier) Public() crypto.PublicKey { return d.pub }

// Seal wraps a Statement into an envelope: signed by s, or with an empty
// signature list when s is nil (an unsigned envelope, which Verify
// reports as such). The statement is checked first (see Statement).
func Seal(ctx context.Context, statement []byte, s *Signer) (*Envelope, error) {
	if _, err := parseStatement(statement); err != nil {
		return nil, err
	}
	if s == nil {
		return &Envelope{
			PayloadType: PayloadType,
			Payload:     base64.StdEncoding.EncodeToString(statement),
			Signatures:  []dsse.Signature{},
		}, nil
	}
	es, err := dsse.NewEnvelopeSigner(dsseSigner{s})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, PayloadType, statement)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return env, nil
}

// WriteBundle writes each Statement as an envelope (Seal), one compact
// JSON object per line.
func WriteBundle(ctx context.Context, w io.Writer, statements [][]byte, s *Signer) error {
	bw := bufio.NewWriter(w)
	for i, st := range statements {
		env, err := Seal(ctx, st, s)
		if err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
		line, err := json.Marshal(env)
		if err != nil {
			return err
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ReadBundle reads the envelopes of a bundle: JSON Lines, or any sequence
// of JSON objects (one pretty-printed envelope, as a .dsse or .intoto.json
// file holds, is a bundle of one). It refuses more than MaxBundleSize
// bytes or MaxEnvelopes envelopes, and anything that is not an envelope.
// Errors wrap ErrMalformed.
func ReadBundle(r io.Reader) ([]*Envelope, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBundleSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrMalformed, MaxBundleSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out []*Envelope
	for {
		var env Envelope
		err := dec.Decode(&env)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: envelope %d: %v", ErrMalformed, len(out)+1, err)
		}
		if len(out) == MaxEnvelopes {
			return nil, fmt.Errorf("%w: more than %d envelopes", ErrMalformed, MaxEnvelopes)
		}
		out = append(out, &env)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no envelope", ErrMalformed)
	}
	return out, nil
}

// Statement is what a consumer needs to know of an in-toto Statement v1
// before trusting it with its predicate.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is one artifact a Statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// parseStatement checks that data is an in-toto Statement (v1, or v0.1
// whose fields are the same): the _type,
// at least one subject each with a digest, a predicate type.
func parseStatement(data []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%w: the payload is not a JSON in-toto Statement: %v", ErrMalformed, err)
	}
	switch {
	case st.Type != StatementType && st.Type != StatementTypeV01:
		return nil, fmt.Errorf("%w: _type %q, want %q", ErrMalformed, st.Type, StatementType)
	case len(st.Subject) == 0:
		return nil, fmt.Errorf("%w: the statement has no subject", ErrMalformed)
	case st.PredicateType == "":
		return nil, fmt.Errorf("%w: the statement has no predicateType", ErrMalformed)
	}
	for i, s := range st.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %d (%q) has no digest", ErrMalformed, i+1, s.Name)
		}
	}
	return &st, nil
}

// Open returns the Statement an envelope carries without checking any
// signature: for showing what an unsigned or unverifiable envelope says.
func Open(env *Envelope) (*Statement, error) {
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payloadType %q, want %q", ErrMalformed, env.PayloadType, PayloadType)
	}
	body, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: the payload is not base64: %v", ErrMalformed, err)
	}
	return parseStatement(body)
}

// Verify checks that env is a well-formed in-toto envelope signed by pub
// and returns its Statement. An envelope without signatures is
// ErrUnsigned, one whose signatures all fail ErrBadSignature (with the
// Statement, for showing), one that is not well formed ErrMalformed.
func Verify(ctx context.Context, env *Envelope, pub crypto.PublicKey) (*Statement, error) {
	st, err := Open(env)
	if err != nil {
		return nil, err
	}
	for i, s := range env.Signatures {
		if _, err := decodeBase64(s.Sig); err != nil {
			return nil, fmt.Errorf("%w: signature %d is not base64: %v", ErrMalformed, i+1, err)
		}
	}
	if len(env.Signatures) == 0 {
		return st, ErrUnsigned
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	ev, err := dsse.NewEnvelopeVerifier(dsseVerifier{v: v, pub: pub, keyID: id})
	if err != nil {
		return nil, err
	}
	if _, err := ev.Verify(ctx, env); err != nil {
		return st, ErrBadSignature
	}
	return st, nil
}

// decodeBase64 decodes standard or URL-safe base64, as DSSE allows.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err2 := base64.URLEncoding.DecodeString(s); err2 == nil {
			return b, nil
		}
	}
	return b, err
}
