package release

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var lowerHex = regexp.MustCompile(`^[0-9a-f]+$`)

// FuzzParseManifest feeds ParseManifest arbitrary names and bytes, seeded
// with a manifest of every layout written by the real tools, the committed
// samples and every malformed variant. It must never panic; an error is
// always a *ParseError wrapping ErrMalformed that names the input; a
// success lists digests of the right length, in lowercase hex, with names
// and lines inside the input; and parsing twice gives the same result.
func FuzzParseManifest(f *testing.F) {
	requireTools(f, "sh", "sed", "cut", "sha256sum", "sha512sum", "b2sum")
	dir := makeSamples(f)
	key := newSigningKey(f, "Reproof Fuzz Signer <fuzz@example.org>")
	for _, tc := range realToolCases {
		f.Add(tc.manifest, writeManifest(f, dir, key, tc))
	}
	for _, name := range []string{"nimbus-release-body.md", "garage-releases.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "manifests", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	for _, tc := range malformedCases(f, dir, key) {
		if len(tc.data) <= 64<<10 { // the huge and the depth bomb only slow the fuzzer
			f.Add(tc.source, tc.data)
		}
	}

	f.Fuzz(func(t *testing.T, source string, data []byte) {
		m, err := ParseManifest(source, data)
		again, errAgain := ParseManifest(source, data)
		if !reflect.DeepEqual(m, again) || (err == nil) != (errAgain == nil) || (err != nil && err.Error() != errAgain.Error()) {
			t.Fatalf("ParseManifest(%q) is not deterministic: %+v, %v then %+v, %v", source, m, err, again, errAgain)
		}
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("ParseManifest(%q) error %T %v is not a *ParseError wrapping ErrMalformed", source, err, err)
			}
			if pe.Source != source || pe.Line < 0 || pe.Line > lines {
				t.Fatalf("ParseManifest(%q) error at %q line %d of %d", source, pe.Source, pe.Line, lines)
			}
			return
		}
		if m.Layout == LayoutJSONIndex {
			if len(m.Indexed) == 0 || len(m.Checksums) != 0 {
				t.Fatalf("ParseManifest(%q): a JSON index with %d artifacts and %d checksums", source, len(m.Indexed), len(m.Checksums))
			}
			return
		}
		if len(m.Checksums) == 0 {
			t.Fatalf("ParseManifest(%q) succeeded with no checksum", source)
		}
		for _, c := range m.Checksums {
			if n := c.Algorithm.HexLen(); n == 0 || len(c.Digest) != n || !lowerHex.MatchString(c.Digest) {
				t.Fatalf("ParseManifest(%q): checksum %+v: digest is not %d lowercase hex digits", source, c, n)
			}
			if c.Name == "" || c.Source != source || c.Line < 1 || c.Line > lines {
				t.Fatalf("ParseManifest(%q): checksum %+v: empty name, wrong source or line outside 1..%d", source, c, lines)
			}
		}
	})
}
