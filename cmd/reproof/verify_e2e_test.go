package main_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/attest"
	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/intotocheck"
	"github.com/reproof/reproof/internal/testenv"
)

// verifyJSON is what the tests read of the JSON report.
type verifyJSON struct {
	Schema    string `json:"schema"`
	Verdict   string `json:"verdict"`
	Reason    string `json:"reason"`
	Artifacts []struct {
		Name           string `json:"name"`
		Status         string `json:"status"`
		Detail         string `json:"detail"`
		ComparedBy     string `json:"compared_by"`
		Normalizations []struct {
			Pass string   `json:"pass"`
			Hid  []string `json:"hid"`
		} `json:"normalizations"`
	} `json:"artifacts"`
	Source struct {
		Commit          string `json:"commit"`
		SourceDateEpoch int64  `json:"source_date_epoch"`
	} `json:"source"`
	Environment struct {
		ImageDigest string `json:"image_digest"`
		Runtime     string `json:"runtime"`
	} `json:"environment"`
}

// TestVerifyFixtures runs `reproof verify` on every seed-shaped fixture,
// faithful and tampered, with real Docker or runc, and checks the verdict,
// the exit code and the status of every artifact against what an honest
// verifier must conclude (fixtures.Expectation). Not one tampered release
// may come out reproducible unless the spec's own member rule makes the
// tampering invisible by declaration (see docs/SECURITY.md).
func TestVerifyFixtures(t *testing.T) {
	env := fx.NewEnv(t)
	docker := testenv.Docker(t)
	cli, err := testenv.DockerCLI()
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, shape := range fx.Shapes() {
		for i, variant := range fx.Variants(shape) {
			t.Run(string(shape)+"/"+string(variant), func(t *testing.T) {
				f := env.Fixture(t, shape, variant)
				// Alternate the runtimes: each shape is verified with both.
				runtime := []string{"runc", "docker"}[i%2]
				inv := invocation{dir: f.Dir, env: append(docker.Env(),
					"PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"),
					"REPROOF_IMAGE_CACHE="+cache)}
				args := append([]string{"verify", "--runtime", runtime,
					"--json", "report.json", "--html", "report.html", "--markdown", "report.md",
					"--attestation", "vsa.intoto.jsonl"}, f.VerifyArgs()...)
				r := reproof(t, inv, args...)
				var rep verifyJSON
				raw, err := os.ReadFile(filepath.Join(f.Dir, "report.json"))
				if err != nil {
					t.Fatalf("exit %d, no JSON report: %v\n%s", r.code, err, r.stderr)
				}
				if err := json.Unmarshal(raw, &rep); err != nil {
					t.Fatal(err)
				}
				if r.code != f.Expect.Exit || rep.Verdict != f.Expect.Verdict {
					t.Errorf("%s: exit %d verdict %s (%s), want exit %d verdict %s\nstdout:\n%s\nstderr:\n%s",
						f.Published.Change, r.code, rep.Verdict, rep.Reason, f.Expect.Exit, f.Expect.Verdict, r.stdout, r.stderr)
				}
				got := map[string]string{}
				for _, a := range rep.Artifacts {
					got[a.Name] = a.Status
				}
				for name, want := range f.Expect.Status {
					if got[name] != want {
						t.Errorf("artifact %s: %s, want %s", name, got[name], want)
					}
				}
				for _, a := range rep.Artifacts {
					if _, ok := f.Expect.Status[a.Name]; !ok && a.Status != "extra" {
						t.Errorf("unexpected artifact %s: %s (%s)", a.Name, a.Status, a.Detail)
					}
					if a.Status == "equivalent" && len(a.Normalizations) == 0 {
						t.Errorf("artifact %s is equivalent without naming a normalization", a.Name)
					}
				}
				if rep.Schema != "reproof/report/v1" || rep.Source.Commit != f.Project.Commit ||
					rep.Environment.Runtime != runtime || !strings.HasPrefix(rep.Environment.ImageDigest, "sha256:") {
					t.Errorf("report inputs: %+v", rep)
				}
				// The text report starts with the verdict.
				if first, _, _ := strings.Cut(r.stdout, "\n"); !strings.Contains(strings.ToLower(first), strings.ReplaceAll(rep.Verdict, "-", " ")) {
					t.Errorf("stdout does not start with the verdict: %q", first)
				}
				checkAttestations(t, filepath.Join(f.Dir, "vsa.intoto.jsonl"), got)
				for _, name := range []string{"report.html", "report.md", filepath.Join("rebuilt", "provenance.intoto.json")} {
					if fi, err := os.Stat(filepath.Join(f.Dir, name)); err != nil || fi.Size() == 0 {
						t.Errorf("%s not written: %v", name, err)
					}
				}
			})
		}
	}
}

// checkAttestations reads the JSON Lines bundle: one unsigned DSSE
// envelope per published artifact, each an in-toto statement the in-toto
// attestation library validates, a SLSA verification summary that PASSED
// only if that artifact was found identical (no --accept-normalized here).
func checkAttestations(t *testing.T, path string, status map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		// No published artifact was compared, so there is no subject
		// to attest: every one is missing or extra.
		for name, st := range status {
			if st != "missing" && st != "extra" {
				t.Errorf("empty attestation bundle, but %s was compared (%s)", name, st)
			}
		}
		return
	}
	envs, err := attest.ReadBundle(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		if len(env.Signatures) != 0 {
			t.Errorf("an envelope without --signing-key has signatures: %+v", env.Signatures)
		}
		st, err := attest.Open(env)
		if err != nil {
			t.Fatal(err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatalf("decoding the payload: %v", err)
		}
		if pt, err := intotocheck.Statement(body); err != nil || pt != "https://slsa.dev/verification_summary/v1" || len(st.Subject) != 1 {
			t.Fatalf("attestation (%s): %v\n%s", pt, err, body)
		}
		var pred struct {
			VerificationResult string `json:"verificationResult"`
		}
		if err := json.Unmarshal(st.Predicate, &pred); err != nil {
			t.Fatal(err)
		}
		name := st.Subject[0].Name
		if passed := pred.VerificationResult == "PASSED"; passed != (status[name] == "identical") {
			t.Errorf("attestation for %s (%s): %s", name, status[name], pred.VerificationResult)
		}
	}
}

// TestVerifyPolicyAndFailures checks what the spec's policy changes and how
// failures end: a pass the policy forbids makes a difference count as
// different, --accept-normalized turns exit 3 into 0, a failed build is
// build-failed (exit 4, never "not reproducible"), and a release that cannot
// be fetched is an error (exit 2).
func TestVerifyPolicyAndFailures(t *testing.T) {
	env := fx.NewEnv(t)
	f := env.Fixture(t, fx.Lix, fx.MetadataRepack)
	inv := invocation{dir: f.Dir, env: engineEnv(t)}
	run := func(extra ...string) (result, verifyJSON) {
		t.Helper()
		if err := os.Remove(filepath.Join(f.Dir, "report.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		args := append([]string{"verify", "--runtime", "runc", "--format", "none", "--json", "report.json"}, extra...)
		r := reproof(t, inv, append(args, f.VerifyArgs()...)...)
		var rep verifyJSON
		raw, err := os.ReadFile(filepath.Join(f.Dir, "report.json"))
		if err == nil {
			err = json.Unmarshal(raw, &rep)
		}
		if err != nil {
			t.Fatalf("exit %d, no JSON report: %v\n%s", r.code, err, r.stderr)
		}
		return r, rep
	}

	r, rep := run()
	if r.code != 3 || rep.Verdict != "reproducible-after-normalization" {
		t.Errorf("default passes: exit %d %s", r.code, rep.Verdict)
	}
	var passes []string
	for _, a := range rep.Artifacts {
		for _, n := range a.Normalizations {
			passes = append(passes, n.Pass)
		}
	}
	if !strings.Contains(strings.Join(passes, " "), "tar-order") || !strings.Contains(strings.Join(passes, " "), "tar-mtime") {
		t.Errorf("the normalizations that made it equal are not named: %v", passes)
	}
	if r, rep := run("--accept-normalized"); r.code != 0 || rep.Verdict != "reproducible-after-normalization" {
		t.Errorf("--accept-normalized: exit %d %s", r.code, rep.Verdict)
	}
	r, rep = run("--passes", "all,-tar-order")
	if r.code != 1 || rep.Verdict != "not-reproducible" {
		t.Errorf("tar-order forbidden: exit %d %s", r.code, rep.Verdict)
	}
	found := false
	for _, a := range rep.Artifacts {
		if a.Status == "different" && strings.Contains(a.Detail, "passes the policy does not allow would be needed: tar-order") {
			found = true
		}
	}
	if !found {
		t.Errorf("the forbidden pass is not named: %+v", rep.Artifacts)
	}

	for _, limit := range [][]string{{"--max-entries", "1"}, {"--max-bytes", "100"}, {"--max-name", "5"}} {
		r, rep := run(limit...)
		var details []string
		for _, a := range rep.Artifacts {
			if a.Status == "error" {
				details = append(details, a.Detail)
			}
		}
		if r.code != 2 || rep.Verdict != "error" || !strings.Contains(strings.Join(details, "\n"), "("+limit[0]+")") {
			t.Errorf("%s %s: exit %d %s, errors %q, want the cap named", limit[0], limit[1], r.code, rep.Verdict, details)
		}
	}

	// The build's output reaches the terminal prefixed, escape sequences
	// shown, never run.
	if r, rep := run("--command", `printf '\033]0;pwned\007cc: error\n' >&2; exit 2`); r.code != 4 || rep.Verdict != "build-failed" ||
		!strings.Contains(r.stderr, "build-failed") || !strings.Contains(r.stderr, `build: \x1b]0;pwned\acc: error`) ||
		strings.ContainsAny(r.stderr, "\x1b\x07") {
		t.Errorf("failed build: exit %d %s\n%q", r.code, rep.Verdict, r.stderr)
	}
	if r, rep := run("--published", filepath.Join(f.Dir, "no-such-release")); r.code != 2 || rep.Verdict != "error" {
		t.Errorf("unreadable release: exit %d %s\n%s", r.code, rep.Verdict, r.stderr)
	}
}
