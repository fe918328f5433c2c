package check

import (
	"fmt"
	"strings"

	"github.com/reproof/reproof/compare"
)

// summarize says in a few words what differs in an artifact, from the
// engine's differences: "sections .rodata and .debug_line", "mtime of 3
// entries and order", "content of share/doc.txt".
func summarize(diffs []compare.Difference, status string, failed *failure) string {
	switch {
	case failed != nil:
		return "the build fails: " + failed.Error()
	case status == StatusIdentical:
		return "nothing (identical in this build)"
	case status == StatusMissing && len(diffs) > 0:
		return diffs[0].Detail
	case len(diffs) == 0:
		return "its bytes"
	}
	byKind := map[compare.Kind][]compare.Difference{}
	for _, d := range diffs {
		byKind[d.Kind] = append(byKind[d.Kind], d)
	}
	var parts []string
	for _, k := range compare.Kinds {
		ds := byKind[k]
		if len(ds) == 0 || k == compare.KindSize {
			continue
		}
		if k == compare.KindContent {
			parts = append(parts, contentParts(ds)...)
			continue
		}
		if len(ds) == 1 && ds[0].Path == "" {
			parts = append(parts, string(k))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s of %s", k, entries(ds)))
	}
	return joinAnd(parts)
}

// contentParts describes content differences: an ELF file by the
// sections that differ, others by path.
func contentParts(ds []compare.Difference) []string {
	var parts, plain []string
	for _, d := range ds {
		if d.Diff != nil && d.Diff.Format == "elf" && len(d.Diff.Sections) > 0 {
			var names []string
			for _, s := range d.Diff.Sections {
				name, _, _ := strings.Cut(s, " (")
				names = append(names, name)
			}
			what := "sections " + joinAnd(names)
			if len(names) == 1 {
				what = "section " + names[0]
			}
			if d.Path != "" {
				what += " of " + d.Path
			}
			parts = append(parts, what)
			continue
		}
		plain = append(plain, d.Path)
	}
	switch {
	case len(plain) == 1 && plain[0] == "":
		parts = append(parts, "content")
	case len(plain) > 0 && len(plain) <= 3:
		parts = append(parts, "content of "+joinAnd(plain))
	case len(plain) > 3:
		parts = append(parts, fmt.Sprintf("content of %d entries (%s, …)", len(plain), plain[0]))
	}
	return parts
}

// entries names the paths of ds: all of them up to 3, else a count and
// the first.
func entries(ds []compare.Difference) string {
	if len(ds) <= 2 {
		var ps []string
		for _, d := range ds {
			p := d.Path
			if p == "" {
				p = "the file"
			}
			ps = append(ps, p)
		}
		return joinAnd(ps)
	}
	return fmt.Sprintf("%d entries (%s, …)", len(ds), ds[0].Path)
}

// joinAnd joins words as a list in English: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
