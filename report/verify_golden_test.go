package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// verifyRenderers names every verify renderer and the extension of its
// golden files under testdata/verify/.
var verifyRenderers = []struct {
	ext    string
	render func(*bytes.Buffer, *Verification) error
}{
	{"txt", func(b *bytes.Buffer, v *Verification) error { return VerifyText(b, v, TextOptions{}) }},
	{"color.txt", func(b *bytes.Buffer, v *Verification) error { return VerifyText(b, v, TextOptions{Color: true}) }},
	{"md", func(b *bytes.Buffer, v *Verification) error { return VerifyMarkdown(b, v) }},
	{"html", func(b *bytes.Buffer, v *Verification) error { return VerifyHTML(b, v) }},
	{"json", func(b *bytes.Buffer, v *Verification) error { return VerifyJSON(b, v) }},
	// The statements, not their envelopes: base64 would hide what changed.
	{"intoto.jsonl", func(b *bytes.Buffer, v *Verification) error {
		sts, err := VSAStatements(v, fixtureAttestationOptions(v))
		for _, st := range sts {
			b.Write(st)
			b.WriteByte('\n')
		}
		return err
	}},
}

func renderVerify(t *testing.T, ext string, v *Verification) []byte {
	t.Helper()
	for _, x := range verifyRenderers {
		if x.ext == ext {
			var b bytes.Buffer
			if err := x.render(&b, v); err != nil {
				t.Fatalf("rendering %s: %v", ext, err)
			}
			return b.Bytes()
		}
	}
	t.Fatalf("no verify renderer for %q", ext)
	return nil
}

// TestVerifyGolden renders every verify fixture in every format and
// compares with testdata/verify/<fixture>.<ext>; go test ./report -update
// rewrites them. The JSON of not-reproducible is also docs/examples/report.json
// and its attestation docs/examples/attestation.intoto.jsonl (see
// TestVerifyDocsExamples).
func TestVerifyGolden(t *testing.T) {
	dir := filepath.Join("testdata", "verify")
	for _, f := range verifyFixtures {
		for _, x := range verifyRenderers {
			name := f.name + "." + x.ext
			t.Run(name, func(t *testing.T) {
				got := renderVerify(t, x.ext, f.v())
				path := filepath.Join(dir, name)
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./report -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s (go test ./report -update rewrites it):\n%s", x.ext, path, firstDifference(got, want))
				}
			})
		}
	}
}
