package report

import (
	"fmt"

	"github.com/reproof/reproof/compare"
)

// The wording every human report shares: status lines, values, counts.

// statusLine is the report's first line: the status and the exit code
// reproof diff returns for it.
func statusLine(st compare.Status) string {
	return fmt.Sprintf("reproof diff: %s (exit status %d)", st, int(st))
}

type kindCount struct {
	kind  compare.Kind
	count int
}

// kindCounts counts differences per kind, in the order of compare.Kinds,
// unknown kinds last in order of first appearance.
func kindCounts(ds []compare.Difference) []kindCount {
	n := make(map[compare.Kind]int)
	var unknown []compare.Kind
	for _, d := range sorted(ds) {
		if n[d.Kind] == 0 && rank(d.Kind) == len(compare.Kinds) {
			unknown = append(unknown, d.Kind)
		}
		n[d.Kind]++
	}
	var out []kindCount
	for _, k := range append(append([]compare.Kind(nil), compare.Kinds...), unknown...) {
		if n[k] > 0 {
			out = append(out, kindCount{k, n[k]})
		}
	}
	return out
}

// values is what a difference changed, in one line: its Detail, or
// "old → new" when it has no Detail.
func values(d compare.Difference) string {
	if d.Detail != "" {
		return d.Detail
	}
	if d.Old != "" || d.New != "" {
		return arrow(d.Old, d.New)
	}
	return ""
}

// arrow shows two values: "0644 → 0755", "(none)" for an empty one.
func arrow(old, new string) string {
	return orNone(old) + " → " + orNone(new)
}

// namesOnly reports whether a grouped kind is shown as bare names: its
// Detail would only repeat what the headline says.
func namesOnly(g Group) bool {
	return g.Kind == compare.KindMissing || g.Kind == compare.KindExtra || sharedValues(g) != ""
}

// firstPerPath returns the first difference of each path of the group, in
// the order of g.Paths.
func firstPerPath(g Group) []compare.Difference {
	first := make(map[string]compare.Difference, len(g.Paths))
	for _, d := range g.Differences {
		if _, ok := first[d.Path]; !ok {
			first[d.Path] = d
		}
	}
	out := make([]compare.Difference, len(g.Paths))
	for i, p := range g.Paths {
		out[i] = first[p]
	}
	return out
}

// compressionLine is the one line a compression difference is shown as.
func compressionLine(d compare.Difference, path, text func(string) string) string {
	s := "compressed stream differs"
	if d.Path != "" {
		s = path(d.Path) + ": " + s
	}
	if v := values(d); v != "" {
		s += ": " + text(v)
	}
	return s
}

// buildIDs returns the GNU build IDs of A and B, ok when either is known.
func buildIDs(cd *compare.ContentDiff) (a, b string, ok bool) {
	if len(cd.BuildID) > 0 {
		a = cd.BuildID[0]
	}
	if len(cd.BuildID) > 1 {
		b = cd.BuildID[1]
	}
	return a, b, a != "" || b != ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type classCount struct {
	kindCount
	class string // "content (exit 1)" or "metadata (exit 3)"
}

// kindCountsWithClass says for each kind whether its differences count as
// content or metadata; a kind with both (link) says both.
func kindCountsWithClass(ds []compare.Difference, counts []kindCount) []classCount {
	content := make(map[compare.Kind]int)
	for _, d := range ds {
		if d.IsContent() {
			content[d.Kind]++
		}
	}
	out := make([]classCount, len(counts))
	for i, c := range counts {
		class := "metadata (exit 3)"
		switch n := content[c.kind]; {
		case n == c.count:
			class = "content (exit 1)"
		case n > 0:
			class = fmt.Sprintf("content (exit 1): %s; metadata (exit 3): %s", formatInt(int64(n)), formatInt(int64(c.count-n)))
		}
		out[i] = classCount{c, class}
	}
	return out
}

// orderLine is the one line an order difference is shown as:
// "12,802 entries in a different order", prefixed with the archive it
// concerns when that is not the top level. path and text escape a name and
// prose for the output format.
func orderLine(d compare.Difference, path, text func(string) string) string {
	detail := text(groupLeadingNumber(d.Detail))
	if d.Detail == "" {
		detail = "entries in a different order"
	}
	if d.Path == "" {
		return detail
	}
	return path(d.Path) + ": " + detail
}
