package main_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/attest"
	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/intotocheck"
	"github.com/reproof/reproof/internal/testenv"
)

// TestSignedAttestationsCosign runs a real `reproof verify` of the Lix
// fixture signed with a key from `cosign generate-key-pair`, then checks
// what it wrote with the consumers' tools: cosign verify-blob-attestation
// verifies every VSA envelope against the published file it names (claims
// checked) and the signed provenance against a rebuilt artifact; the
// in-toto library validates every statement; `reproof attest verify`
// agrees; the effective policy beside the bundle has the digest the VSA
// records. A flipped payload byte fails in cosign and reproof.
func TestSignedAttestationsCosign(t *testing.T) {
	env := fx.NewEnv(t)
	f := env.Fixture(t, fx.Lix, fx.Faithful)
	key, pub := testenv.CosignKeyPair(t, f.Dir, "s3cret")
	inv := invocation{dir: f.Dir, env: engineEnv(t, "COSIGN_PASSWORD=s3cret", "BUILD_TOKEN=do-not-record-me")}
	args := append([]string{"verify", "--runtime", "docker", "--signing-key", key, "--env-secret", "BUILD_TOKEN",
		"--policy-uri", "https://example.org/policies/lix.toml", "--attestation", "vsa.intoto.jsonl"}, f.VerifyArgs()...)
	r := reproof(t, inv, args...)
	if r.code != f.Expect.Exit {
		t.Fatalf("verify: exit %d, want %d\n%s", r.code, f.Expect.Exit, r.stderr)
	}
	if !strings.Contains(r.stderr, "signed by key SHA256:") {
		t.Errorf("stderr does not say the attestation is signed:\n%s", r.stderr)
	}

	vsa := filepath.Join(f.Dir, "vsa.intoto.jsonl")
	prov := filepath.Join(f.Dir, "rebuilt", "provenance.intoto.jsonl")
	if r := reproof(t, inv, "attest", "verify", "--key", pub, vsa, prov); r.code != 0 || !strings.Contains(r.stdout, "verified: https://slsa.dev/provenance/v1") {
		t.Errorf("attest verify: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, file := range []string{vsa, prov, filepath.Join(f.Dir, "rebuilt", "provenance.intoto.json")} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "do-not-record-me") || (strings.HasSuffix(file, ".json") && !strings.Contains(string(raw), `"BUILD_TOKEN"`)) {
			t.Errorf("%s records the secret's value, or not its name", file)
		}
	}

	policy, err := os.ReadFile(filepath.Join(f.Dir, "vsa.policy.toml"))
	if err != nil {
		t.Fatal(err)
	}
	envs := readEnvelopes(t, vsa)
	envs = append(envs, readEnvelopes(t, prov)...)
	for i, env := range envs {
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := intotocheck.Statement(body)
		if err != nil {
			t.Errorf("envelope %d: %v\n%s", i+1, err, body)
		}
		var st struct {
			Subject []struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
			Predicate struct {
				ResourceURI string `json:"resourceUri"`
				Policy      struct {
					URI    string            `json:"uri"`
					Digest map[string]string `json:"digest"`
				} `json:"policy"`
			} `json:"predicate"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		// The blob cosign checks the claims against: the published file
		// (found by its digest in the published tree), or the rebuilt
		// artifact.
		var blob string
		if pt == intotocheck.VSAV1 {
			if st.Predicate.Policy.URI != "https://example.org/policies/lix.toml" || st.Predicate.Policy.Digest["sha256"] != sha256Hex(policy) {
				t.Errorf("envelope %d: policy %+v, want the --policy-uri and the digest of vsa.policy.toml", i+1, st.Predicate.Policy)
			}
			blob = findBlob(t, f.Dir, st.Subject[0].Digest["sha256"])
		} else {
			blob = filepath.Join(f.Dir, "rebuilt", st.Subject[0].Name)
		}
		one := filepath.Join(t.TempDir(), "envelope.json")
		line, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(one, line, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := testenv.CosignCommand(t, f.Dir, nil, "verify-blob-attestation", "--key", pub, "--signature", one,
			"--type", pt, "--insecure-ignore-tlog=true", "--private-infrastructure=true", blob)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("envelope %d (%s, %s): cosign: %v\n%s", i+1, pt, st.Subject[0].Name, err, out)
		}
		if i > 0 {
			continue
		}
		// One tampered copy: a byte of the payload flipped.
		tampered := *env
		flipped := []byte(strings.Replace(string(body), `"PASSED"`, `"PASSEE"`, 1))
		tampered.Payload = base64.StdEncoding.EncodeToString(flipped)
		line, err = json.Marshal(&tampered)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(one, line, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = testenv.CosignCommand(t, f.Dir, nil, "verify-blob-attestation", "--key", pub, "--signature", one,
			"--type", pt, "--insecure-ignore-tlog=true", "--private-infrastructure=true", blob)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("cosign verifies a tampered envelope:\n%s", out)
		}
		if r := reproof(t, inv, "attest", "verify", "--key", pub, one); r.code != 1 || !strings.Contains(r.stdout, "BAD SIGNATURE") {
			t.Errorf("attest verify of a tampered envelope: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
}

func readEnvelopes(t *testing.T, path string) []*attest.Envelope {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	envs, err := attest.ReadBundle(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

// findBlob is the file under dir (the published tree) with the sha256.
func findBlob(t *testing.T, dir, sum string) string {
	t.Helper()
	var found string
	err := filepath.WalkDir(filepath.Join(dir, "published"), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || found != "" {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && sha256Hex(data) == sum {
			found = p
		}
		return err
	})
	if err != nil || found == "" {
		t.Fatalf("no published file with sha256 %s: %v", sum, err)
	}
	return found
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
