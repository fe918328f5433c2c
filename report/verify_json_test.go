package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestVerifyJSONRoundTrip decodes the JSON of every verify fixture into a
// Verification, rejecting keys the model does not have: it must give the
// fixture back, differences in report order.
func TestVerifyJSONRoundTrip(t *testing.T) {
	for _, f := range verifyFixtures {
		t.Run(f.name, func(t *testing.T) {
			v := f.v()
			raw := renderVerify(t, "json", v)
			if !bytes.HasSuffix(raw, []byte("}\n")) || bytes.HasSuffix(raw, []byte("\n\n")) {
				t.Errorf("the document does not end with one newline")
			}
			var got Verification
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if want := jsonVerification(v); !reflect.DeepEqual(&got, want) {
				t.Errorf("decoded document differs from the Verification:\n got %+v\nwant %+v", got, *want)
			}
			if got.Schema != "reproof/report/v1" {
				t.Errorf("schema = %q, want reproof/report/v1", got.Schema)
			}
		})
	}
}

// TestVerifyJSONEmptyLists: every list of the model is [] when it is
// empty or nil, never null, and the keys come in the model's order.
func TestVerifyJSONEmptyLists(t *testing.T) {
	v := &Verification{
		Verdict:   VerdictError,
		Reason:    "the published release could not be fetched",
		Error:     "fetching https://example.org/release: 503 Service Unavailable",
		Artifacts: []Artifact{{Name: "a", Status: StatusEquivalent, Normalizations: []Normalization{{Pass: "tar-mtime"}}}},
	}
	var b bytes.Buffer
	if err := VerifyJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	lists := map[string]any{
		"warnings":                           doc["warnings"],
		"environment.command":                doc["environment"].(map[string]any)["command"],
		"published.manifests":                doc["published"].(map[string]any)["manifests"],
		"published.files":                    doc["published"].(map[string]any)["files"],
		"policy.passes":                      doc["policy"].(map[string]any)["passes"],
		"artifacts[0].normalizations[0].hid": doc["artifacts"].([]any)[0].(map[string]any)["normalizations"].([]any)[0].(map[string]any)["hid"],
	}
	for name, l := range lists {
		if s, ok := l.([]any); !ok || len(s) != 0 {
			t.Errorf("%s = %#v, want []", name, l)
		}
	}
	if doc["schema"] != VerifySchema {
		t.Errorf("schema = %v, want %q even when the model leaves it empty", doc["schema"], VerifySchema)
	}
	v.Artifacts = nil
	b.Reset()
	if err := VerifyJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"artifacts": [],`) {
		t.Errorf("nil artifacts not written as []:\n%s", b.String())
	}

	keys, err := topLevelKeys(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"schema", "verdict", "reason", "timestamp", "reproof_version", "source", "environment",
		"published", "policy", "artifacts", "warnings", "error"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("top-level keys = %q, want %q", keys, want)
	}
}

// TestVerifyJSONHostile: names that would drive a terminal or an HTML page
// are escaped in the document and decode to the same strings.
func TestVerifyJSONHostile(t *testing.T) {
	raw := renderVerify(t, "json", notReproducibleVerification())
	for _, bad := range []string{"\x1b", "\u202e", "<img", "\x07"} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("the JSON holds %q unescaped", bad)
		}
	}
	for _, want := range []string{`\u001b[31mevil`, `\u202e`, `\u003cimg`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the JSON lacks %q", want)
		}
	}
}

// TestVerifyDocsExamples keeps docs/examples/ the renderers' output for the
// not-reproducible fixture: report.json its JSON report, attestation.json
// the first statement of its attestation bundle, indented. go test
// ./report -update rewrites them.
func TestVerifyDocsExamples(t *testing.T) {
	v := notReproducibleVerification()
	bundle := renderVerify(t, "intoto.jsonl", v)
	first, _, _ := bytes.Cut(bundle, []byte("\n"))
	var vsaStatement bytes.Buffer
	if err := json.Indent(&vsaStatement, first, "", "  "); err != nil {
		t.Fatal(err)
	}
	vsaStatement.WriteByte('\n')
	for _, ex := range []struct {
		path string
		got  []byte
	}{
		{filepath.Join("..", "docs", "examples", "report.json"), renderVerify(t, "json", v)},
		{filepath.Join("..", "docs", "examples", "attestation.json"), vsaStatement.Bytes()},
	} {
		if *update {
			if err := os.MkdirAll(filepath.Dir(ex.path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ex.path, ex.got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(ex.path)
		if err != nil {
			t.Fatalf("%v (run go test ./report -update to create it)", err)
		}
		if !bytes.Equal(ex.got, want) {
			t.Errorf("%s is not the renderer's output (go test ./report -update rewrites it):\n%s", ex.path, firstDifference(ex.got, want))
		}
	}
}
