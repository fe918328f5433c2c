package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ from the renderers' output")

// renderers names every renderer and the extension of its golden files.
var renderers = []struct {
	ext    string
	render func(*bytes.Buffer, *compare.Result) error
}{
	{"txt", func(b *bytes.Buffer, r *compare.Result) error { return Text(b, r, TextOptions{}) }},
	{"color.txt", func(b *bytes.Buffer, r *compare.Result) error { return Text(b, r, TextOptions{Color: true}) }},
	{"md", func(b *bytes.Buffer, r *compare.Result) error { return Markdown(b, r) }},
	{"html", func(b *bytes.Buffer, r *compare.Result) error { return HTML(b, r) }},
	{"json", func(b *bytes.Buffer, r *compare.Result) error { return JSON(b, r) }},
	{"diffoscope.json", func(b *bytes.Buffer, r *compare.Result) error { return DiffoscopeJSON(b, r) }},
}

func render(t *testing.T, ext string, r *compare.Result) []byte {
	t.Helper()
	for _, x := range renderers {
		if x.ext == ext {
			var b bytes.Buffer
			if err := x.render(&b, r); err != nil {
				t.Fatalf("rendering %s: %v", ext, err)
			}
			return b.Bytes()
		}
	}
	t.Fatalf("no renderer for %q", ext)
	return nil
}

// TestGolden renders every fixture with every renderer and compares with
// testdata/<fixture>.<ext>; go test ./report -update rewrites them.
func TestGolden(t *testing.T) {
	for _, f := range fixtures {
		for _, x := range renderers {
			name := f.name + "." + x.ext
			t.Run(name, func(t *testing.T) {
				got := render(t, x.ext, f.result())
				path := filepath.Join("testdata", name)
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
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

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return "line " + itoa(i+1) + ":\n got: " + quoteLine(gl) + "\nwant: " + quoteLine(wl)
		}
	}
	return "(same lines, different bytes)"
}

func quoteLine(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return visible(s, false)
}

func itoa(n int) string { return formatInt(int64(n)) }
