package report

import (
	"sort"
	"strings"

	"github.com/reproof/reproof/compare"
)

// Group gathers the differences of one kind, the unit every human report
// is written in. Summarize makes them.
type Group struct {
	// Kind of every difference in the group. Link differences make two
	// groups: targets that differ (Content) and hardlinks against copies of
	// the same bytes (not Content).
	Kind compare.Kind
	// Content reports whether the group's differences count as content
	// (exit status 1) rather than metadata, order or compression (3); see
	// compare.Difference.IsContent.
	Content bool
	// SameContent is set on a link group whose entries hold the same
	// bytes on both sides: a hardlink on one, a copy on the other.
	SameContent bool
	// Listed says each difference is shown on its own line, with its diff
	// when it has one: type, duplicate, content, link targets, order and
	// compression, and any kind this package does not know. Otherwise the
	// group is one line with a sample of Paths.
	Listed bool
	// Count is the number of differences in the group.
	Count int
	// Old and New are the values every difference of the group shares
	// ("2024-01-01T00:00:00Z" → "2020-01-01T00:00:00Z"); both empty when
	// the differences do not all share one non-empty pair.
	Old, New string
	// Only is set when no path of the group has a difference of another
	// kind: "500 entries differ only in mtime". Metadata kinds (size, link
	// structure, mode, owner, mtime, xattr, pax) are split on it: the
	// entries that differ only in mtime make one group, those that also
	// differ otherwise ("1 entry also differs in mtime") another.
	Only bool
	// Paths lists the group's distinct paths, sorted bytewise.
	Paths []string
	// Differences lists the group's differences in report order (path,
	// then kind), each with its Detail, values and diff.
	Differences []compare.Difference
}

// groupKey tells groups apart: a kind, split by IsContent, for links by
// whether the content is the same, and by "only" for metadata kinds.
type groupKey struct {
	kind      compare.Kind
	content   bool
	only      bool
	structure bool // a link difference with the same content
}

func keyOf(d compare.Difference) groupKey {
	return groupKey{kind: d.Kind, content: d.IsContent(), structure: d.Kind == compare.KindLink && d.SameContent}
}

// splitsOnOnly reports whether a kind's group is split by Only.
func splitsOnOnly(k groupKey) bool {
	return !isListed(k) && k.kind != compare.KindMissing && k.kind != compare.KindExtra
}

// listedKinds are shown one difference per line; every other known kind is
// grouped into one line with a sample of names.
var listedKinds = map[compare.Kind]bool{
	compare.KindAmbiguous:   true,
	compare.KindType:        true,
	compare.KindDuplicate:   true,
	compare.KindContent:     true,
	compare.KindOrder:       true,
	compare.KindCompression: true,
}

var groupedKinds = map[compare.Kind]bool{
	compare.KindMissing: true,
	compare.KindExtra:   true,
	compare.KindSize:    true,
	compare.KindMode:    true,
	compare.KindOwner:   true,
	compare.KindMtime:   true,
	compare.KindXattr:   true,
	compare.KindPax:     true,
}

func isListed(k groupKey) bool {
	if k.kind == compare.KindLink {
		return !k.structure // a target that differs is shown with its values
	}
	if listedKinds[k.kind] {
		return true
	}
	return !groupedKinds[k.kind] // never hide a kind we do not know
}

// Summarize groups the differences of r by kind, in the order of
// compare.Kinds (kinds it does not know come last, in order of first
// appearance). It returns nil for a nil or identical result.
func Summarize(r *compare.Result) []Group {
	if r == nil {
		return nil
	}
	diffs := sorted(r.Differences)

	// The kinds each path has, to decide Only.
	kindsAt := make(map[string][]groupKey)
	for _, d := range diffs {
		k := keyOf(d)
		if !hasKey(kindsAt[d.Path], k) {
			kindsAt[d.Path] = append(kindsAt[d.Path], k)
		}
	}
	byKey := make(map[groupKey][]compare.Difference)
	var unknown []groupKey
	for _, d := range diffs {
		k := keyOf(d)
		if splitsOnOnly(k) {
			k.only = len(kindsAt[d.Path]) == 1
		}
		if _, seen := byKey[k]; !seen && rank(d.Kind) == len(compare.Kinds) {
			unknown = append(unknown, k)
		}
		byKey[k] = append(byKey[k], d)
	}

	// Per kind: a link target that differs before a link structure that
	// does not change the content; entries that differ only in this kind
	// before those that also differ otherwise.
	var order []groupKey
	for _, kind := range compare.Kinds {
		for _, content := range []bool{true, false} {
			for _, structure := range []bool{false, true} {
				order = append(order, groupKey{kind, content, true, structure}, groupKey{kind, content, false, structure})
			}
		}
	}
	order = append(order, unknown...)

	var groups []Group
	for _, k := range order {
		ds := byKey[k]
		if len(ds) == 0 {
			continue
		}
		g := Group{
			Kind:        k.kind,
			Content:     k.content,
			SameContent: k.structure,
			Listed:      isListed(k),
			Count:       len(ds),
			Only:        true,
			Differences: ds,
		}
		g.Old, g.New = ds[0].Old, ds[0].New
		seen := make(map[string]bool, len(ds))
		for _, d := range ds {
			if d.Old != g.Old || d.New != g.New {
				g.Old, g.New = "", ""
			}
			if !seen[d.Path] {
				seen[d.Path] = true
				g.Paths = append(g.Paths, d.Path)
				if len(kindsAt[d.Path]) > 1 {
					g.Only = false
				}
			}
		}
		sort.Strings(g.Paths)
		groups = append(groups, g)
	}
	return groups
}

func hasKey(ks []groupKey, k groupKey) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// rank is the position of k in compare.Kinds, len(compare.Kinds) when k is
// not there.
func rank(k compare.Kind) int {
	for i, x := range compare.Kinds {
		if x == k {
			return i
		}
	}
	return len(compare.Kinds)
}

// sorted returns a copy of ds in report order: path bytewise, then kind in
// the order of compare.Kinds. A Result from package compare is already in
// that order; sorting again makes every report depend on nothing else.
func sorted(ds []compare.Difference) []compare.Difference {
	out := append([]compare.Difference(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return rank(out[i].Kind) < rank(out[j].Kind)
	})
	return out
}

// Title is the group's headline, free of any name from the inputs:
// "500 entries differ only in mtime", "2 entries missing from B",
// "3 entries differ in content". "only" is said of metadata groups alone.
func (g Group) Title() string {
	n := g.Count
	if !g.Listed {
		n = len(g.Paths)
	}
	entries := plural(n, "entry", "entries")
	verb := " differ in "
	if n == 1 {
		verb = " differs in "
	}
	if splitsOnOnly(groupKey{kind: g.Kind, content: g.Content}) {
		if g.Only {
			verb = strings.Replace(verb, " in ", " only in ", 1)
		} else {
			verb = " also" + verb
		}
	}
	switch g.Kind {
	case compare.KindType:
		return entries + " changed type"
	case compare.KindMissing:
		return entries + " missing from B"
	case compare.KindExtra:
		return plural(n, "extra entry", "extra entries") + " in B"
	case compare.KindDuplicate:
		return entries + " stored more than once"
	case compare.KindAmbiguous:
		return plural(n, "ambiguous construct", "ambiguous constructs") + " (extractors read them differently)"
	case compare.KindLink:
		if !g.SameContent {
			return entries + verb + "link target"
		}
		return entries + verb + "link structure (hardlink vs copy, same bytes)"
	case compare.KindOrder:
		return plural(n, "archive", "archives") + " with entries in a different order"
	case compare.KindCompression:
		return plural(n, "compressed stream differs", "compressed streams differ") + " (same payload)"
	}
	return entries + verb + kindNoun(g.Kind)
}

// kindNoun names what a metadata kind is about.
func kindNoun(k compare.Kind) string {
	switch k {
	case compare.KindXattr:
		return "extended attributes"
	case compare.KindPax:
		return "pax records"
	}
	return visible(string(k), false)
}
