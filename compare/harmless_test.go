package compare_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
)

// TestPassesHideOnlyHarmlessKinds holds every normalize pass to the closed
// list: a pass may only make harmless kinds of difference disappear.
func TestPassesHideOnlyHarmlessKinds(t *testing.T) {
	for _, p := range archive.Passes {
		for _, k := range p.Hides {
			if !slices.Contains(compare.HarmlessKinds, compare.Kind(k)) {
				t.Errorf("pass %s hides %q, which is not on compare.HarmlessKinds %v", p.Name, k, compare.HarmlessKinds)
			}
		}
	}
}

// TestHarmlessListDocumented holds docs/SECURITY.md's closed list and
// compare.HarmlessKinds together: the line that starts "Harmless kinds:"
// names exactly the kinds of the list, in its order.
func TestHarmlessListDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?m)^Harmless kinds: (.*)$").FindSubmatch(doc)
	if m == nil {
		t.Fatal(`docs/SECURITY.md has no line starting "Harmless kinds: "`)
	}
	var documented []string
	for _, f := range strings.Split(strings.TrimSuffix(string(m[1]), "."), ",") {
		documented = append(documented, strings.Trim(strings.TrimSpace(f), "`"))
	}
	var want []string
	for _, k := range compare.HarmlessKinds {
		want = append(want, string(k))
	}
	if !slices.Equal(documented, want) {
		t.Errorf("docs/SECURITY.md lists harmless kinds %q, compare.HarmlessKinds is %q", documented, want)
	}
}

// TestPassesDocumented holds docs/SECURITY.md's table of passes to the
// passes' own values: a row per pass, naming exactly the kinds it hides.
func TestPassesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range archive.Passes {
		m := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(p.Name) + "` \\| ([^|]*) \\|").FindSubmatch(doc)
		if m == nil {
			t.Errorf("docs/SECURITY.md has no row for pass %s", p.Name)
			continue
		}
		want := strings.Join(p.Hides, ", ")
		if want == "" {
			want = "—"
		}
		if got := strings.TrimSpace(string(m[1])); got != want {
			t.Errorf("docs/SECURITY.md says pass %s may hide %q, its value says %q", p.Name, got, want)
		}
	}
}
