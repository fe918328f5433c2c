package report

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/compare"
)

// TestDeterministic renders every fixture with every renderer twice, then
// again in another time zone and locale, and with the differences given in
// reverse order: the bytes must not change.
func TestDeterministic(t *testing.T) {
	first := map[string][]byte{}
	for _, f := range fixtures {
		for _, x := range renderers {
			first[f.name+"."+x.ext] = render(t, x.ext, f.result())
		}
	}
	check := func(t *testing.T, how string, mutate func(*compare.Result)) {
		t.Helper()
		for _, f := range fixtures {
			for _, x := range renderers {
				r := f.result()
				mutate(r)
				if got := render(t, x.ext, r); !bytes.Equal(got, first[f.name+"."+x.ext]) {
					t.Errorf("%s.%s %s: output changed:\n%s", f.name, x.ext, how, firstDifference(got, first[f.name+"."+x.ext]))
				}
			}
		}
	}
	check(t, "rendered twice", func(*compare.Result) {})

	local := time.Local
	t.Cleanup(func() { time.Local = local })
	time.Local = time.FixedZone("X-1330", 13*3600+30*60)
	t.Setenv("TZ", "Pacific/Chatham")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	t.Setenv("LANG", "de_DE.UTF-8")
	check(t, "with TZ and locale changed", func(*compare.Result) {})

	check(t, "with the differences reversed", func(r *compare.Result) {
		ds := r.Differences
		for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
			ds[i], ds[j] = ds[j], ds[i]
		}
	})
}

// TestNoClock keeps the time and randomness out of the renderers: no
// non-test file of the package imports them.
func TestNoClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{"time": true, "math/rand": true, "math/rand/v2": true, "os": true}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				t.Fatalf("%s: import %s: %v", name, imp.Path.Value, err)
			}
			if forbidden[path] {
				t.Errorf("%s imports %q: reports must not depend on the clock, randomness or the environment", name, path)
			}
		}
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Errorf("package doc: %v", err)
	}
}
