package check

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

// sampleResult is a check result as Check makes it, with an artifact name
// a hostile build chose.
func sampleResult() *Result {
	return &Result{
		Verdict: NotReproducible, Reason: "2 of 3 artifacts differ between the reference build and one under 2 variations", Builds: 5,
		Variations: []VariationStatus{{Name: "build-path", Applied: true, How: "checkout at /x instead of /src"}, {Name: "time", Reason: "the image has no libfaketime"}},
		Artifacts: []Artifact{
			{Name: "app", Status: StatusDiffers, Differences: []compare.Difference{{Kind: compare.KindContent, Diff: &compare.ContentDiff{Format: "elf", Sections: []string{".rodata (10 → 12 bytes)", ".debug_line (1 → 2 bytes)"}}}},
				Findings: []Finding{{Culprit: Culprit{Variations: []string{"build-path"}}, Summary: "sections .rodata and .debug_line", Hints: []string{"the checkout path is embedded"},
					Differences: []compare.Difference{{Kind: compare.KindContent}}}}},
			{Name: "evil|\x1b[2J\u202e.txt", Status: StatusDiffers, Nondeterministic: true, Differences: []compare.Difference{{Kind: compare.KindContent}}},
			{Name: "README", Status: StatusIdentical},
		},
		Warnings: []string{},
		Runtime:  "runc", Image: "reg/img@sha256:00", ImageDigest: "sha256:00",
	}
}

func TestReportsAreSafeAndComplete(t *testing.T) {
	r := sampleResult()
	var text, md, js bytes.Buffer
	if err := Text(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String(), "json": js.String()} {
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s report holds a control character from an artifact name:\n%s", name, out)
		}
	}
	first, _, _ := strings.Cut(text.String(), "\n")
	if !strings.HasPrefix(first, "not-reproducible: ") {
		t.Errorf("text: first line %q, want the verdict", first)
	}
	for _, want := range []string{"build-path → app differs in sections .rodata and .debug_line", "  hint: the checkout path is embedded",
		"(no variation) → evil|", "identical: README", "skipped: time: the image has no libfaketime", "builds: 5, with runc in sha256:00"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), `evil\|`) || !strings.Contains(md.String(), "| build-path | `app` | sections .rodata and .debug\\_line |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("json: %v", err)
	}
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(js.Bytes()))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("json: %v", err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("json: %v", err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("json: %v", err)
		}
	}
	if got := strings.Join(keys, " "); got != "schema verdict reason exit_code builds environment variations artifacts warnings" {
		t.Errorf("json keys: %s", got)
	}
	arts := doc["artifacts"].([]any)
	app := arts[0].(map[string]any)
	if app["name"] != "app" || app["culprits"].([]any)[0] != "build-path" || len(app["differences"].([]any)) != 1 || len(app["findings"].([]any)) != 1 {
		t.Errorf("json artifact: %v", app)
	}
	if evil := arts[1].(map[string]any); evil["name"] != "evil|\x1b[2J\u202e.txt" || evil["nondeterministic"] != true {
		t.Errorf("json: the hostile name does not decode to itself: %q", evil["name"])
	}
	// Byte-stable: the same result, the same bytes.
	var again bytes.Buffer
	if err := JSON(&again, sampleResult()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), js.Bytes()) {
		t.Error("two renderings of the same result differ")
	}
}
