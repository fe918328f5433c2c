package main_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	fx "github.com/reproof/reproof/fixtures"
)

// TestTwoRunsOneDirectory: two verifications of one release running at
// the same time in one directory, with the same --out, each cite in their
// attestation the provenance their own rebuild wrote (by the digest in
// their own report), not whatever provenance file the other run left
// there; the provenance in --out is one of the two, whole.
func TestTwoRunsOneDirectory(t *testing.T) {
	env := fx.NewEnv(t)
	f := env.Fixture(t, fx.Nimbus, fx.Faithful)
	inv := invocation{dir: f.Dir, env: engineEnv(t)}
	// Two epochs: two different provenances.
	epochs := []string{"1700000000", "1700000001"}
	var wg sync.WaitGroup
	results := make([]result, len(epochs))
	for i, epoch := range epochs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"verify", "--runtime", "runc", "--format", "none", "--source-date-epoch", epoch,
				"--json", "report-" + epoch + ".json", "--attestation", "vsa-" + epoch + ".jsonl"}, f.VerifyArgs()...)
			results[i] = reproof(t, inv, args...)
		}()
	}
	wg.Wait()
	digests := map[string]bool{}
	for i, epoch := range epochs {
		var rep struct {
			Verdict    string `json:"verdict"`
			Provenance string `json:"provenance_sha256"`
		}
		raw, err := os.ReadFile(filepath.Join(f.Dir, "report-"+epoch+".json"))
		if err == nil {
			err = json.Unmarshal(raw, &rep)
		}
		if err != nil || rep.Provenance == "" {
			t.Fatalf("run %s: exit %d, report %+v, %v\nstderr:\n%s", epoch, results[i].code, rep, err, results[i].stderr)
		}
		digests[rep.Provenance] = true
		for _, cited := range citedProvenance(t, filepath.Join(f.Dir, "vsa-"+epoch+".jsonl")) {
			if cited != rep.Provenance {
				t.Errorf("run %s: its attestation cites provenance %s, its report says it wrote %s", epoch, cited, rep.Provenance)
			}
		}
	}
	if len(digests) != 2 {
		t.Errorf("the two runs report the same provenance %v, want two (their epochs differ)", digests)
	}
	prov, err := os.ReadFile(filepath.Join(f.Dir, "rebuilt", "provenance.intoto.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(prov)
	if !digests[hex.EncodeToString(sum[:])] {
		t.Errorf("rebuilt/provenance.intoto.json (sha256 %x) is neither run's provenance %v", sum, digests)
	}
}

// citedProvenance returns the sha256 of every input attestation named
// provenance.intoto.json in a JSON Lines bundle of DSSE envelopes or
// statements.
func citedProvenance(t *testing.T, path string) []string {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close() //nolint:errcheck // opened read-only
	var out []string
	sc := bufio.NewScanner(file)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var env struct {
			Payload string `json:"payload"`
		}
		if json.Unmarshal(line, &env) == nil && env.Payload != "" {
			if line, err = base64.StdEncoding.DecodeString(env.Payload); err != nil {
				t.Fatal(err)
			}
		}
		var st struct {
			Predicate struct {
				InputAttestations []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"inputAttestations"`
			} `json:"predicate"`
		}
		if err := json.Unmarshal(line, &st); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, in := range st.Predicate.InputAttestations {
			if in.Name == "provenance.intoto.json" {
				out = append(out, in.Digest["sha256"])
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s cites no provenance", path)
	}
	return out
}
