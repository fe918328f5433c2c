package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/reproof/reproof/compare"
)

// markdownMaxList is how many names a grouped kind lists in Markdown.
const markdownMaxList = 100

// Markdown writes the report as GitHub-flavoured Markdown: the status and
// the inputs, a table of counts per kind, then a section per group with
// every listed difference and its diff in a fenced block. Names are shown
// in code spans and prose is escaped, so nothing from the inputs is read
// as Markdown or HTML.
func Markdown(w io.Writer, r *compare.Result) error {
	if r == nil {
		return errNilResult
	}
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	st := r.Status()
	p("# %s\n\n", statusLine(st))
	p("- **A**: %s\n", mdInput(r.A))
	p("- **B**: %s\n", mdInput(r.B))
	p("- **Entries**: %s in A, %s in B\n", formatInt(r.EntriesA), formatInt(r.EntriesB))
	if lines := imageLines(r.Image); len(lines) > 0 {
		p("\n## Images\n\n```\n%s\n```\n", strings.ReplaceAll(strings.Join(lines, "\n"), "```", "` ` `"))
	}
	if len(r.Incomplete) > 0 {
		p("\n")
		for _, note := range r.Incomplete {
			p("> **INCOMPLETE**: %s\n>\n", mdText(note))
		}
		p("> The comparison stopped short: the differences below may not be all of them.\n")
	}

	counts := kindCounts(r.Differences)
	if len(counts) == 0 {
		return bw.Flush()
	}
	p("\n## Summary\n\n| Kind | Differences | Counts as |\n|:--|--:|:--|\n")
	for _, c := range kindCountsWithClass(r.Differences, counts) {
		p("| %s | %s | %s |\n", mdText(string(c.kind)), formatInt(int64(c.count)), c.class)
	}

	for _, g := range Summarize(r) {
		p("\n### %s%s\n\n", mdText(g.Title()), mdShared(g))
		switch {
		case g.Kind == compare.KindOrder:
			for _, d := range g.Differences {
				p("- %s\n", mdItem(orderLine(d, mdCode, mdText)))
			}
		case g.Kind == compare.KindCompression:
			for _, d := range g.Differences {
				p("- %s\n", mdItem(compressionLine(d, mdCode, mdText)))
			}
		case !g.Listed:
			items := firstPerPath(g)
			for i, d := range items {
				if i == markdownMaxList {
					p("- … and %s more (the JSON report lists every one)\n", formatInt(int64(len(items)-i)))
					break
				}
				p("- %s", mdCode(displayPath(d.Path)))
				if v := values(d); v != "" && !namesOnly(g) {
					p(": %s", mdText(v))
				}
				p("\n")
			}
		default:
			withDiffs := false
			for _, d := range g.Differences {
				withDiffs = withDiffs || d.Diff != nil
			}
			for i, d := range g.Differences {
				if !withDiffs {
					p("- %s", mdCode(displayPath(d.Path)))
					if v := values(d); v != "" {
						p(": %s", mdText(v))
					}
					p("\n")
					continue
				}
				if i > 0 {
					p("\n")
				}
				p("#### %s\n", mdCode(displayPath(d.Path)))
				if v := values(d); v != "" {
					p("\n%s\n", mdText(v))
				}
				mdDiff(bw, d.Diff, "")
			}
		}
	}
	return bw.Flush()
}

func mdInput(in compare.Input) string {
	s := mdCode(displayPath(in.Path))
	var parts []string
	if in.Kind != "" {
		parts = append(parts, mdText(in.Kind))
	}
	if in.Format != "" {
		parts = append(parts, mdText(in.Format))
	}
	parts = append(parts, plural64(in.Size, "byte", "bytes"))
	if in.SHA256 != "" {
		parts = append(parts, "sha256 "+mdCode(in.SHA256))
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// mdShared is " (`old` → `new`)" for a grouped kind whose differences
// share their values; listed kinds show each difference's own.
func mdShared(g Group) string {
	if g.Listed || (g.Old == "" && g.New == "") {
		return ""
	}
	show := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return mdCode(s)
	}
	return " (" + show(g.Old) + " → " + show(g.New) + ")"
}

// mdText escapes prose for Markdown: control characters shown escaped, and
// a backslash before every character that could start inline markup or
// HTML. Callers never put it at the start of a line.
func mdText(s string) string {
	s = visible(s, false)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("\\`*_[]<>&!~|#", s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mdItem makes the text of a list item, already escaped inline, unable to
// open a block of its own: a leading "-", "+" or "=" (a nested list, a
// rule, a heading underline) or "1." or "1)" (an ordered list) is
// escaped, and leading spaces (a code block), which Markdown would not
// show anyway, are dropped. Names and details from strangers can start so.
func mdItem(t string) string {
	t = strings.TrimLeft(t, " ")
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	switch {
	case t != "" && strings.IndexByte("-+=", t[0]) >= 0:
		return `\` + t
	case digits > 0 && digits < len(t) && (t[digits] == '.' || t[digits] == ')'):
		return t[:digits] + `\` + t[digits:]
	}
	return t
}

// mdCode puts s in a code span whose delimiter no run of backticks inside
// s can close; nothing inside a code span is read as Markdown or HTML. A
// pipe is escaped so a span can sit in a table cell.
func mdCode(s string) string {
	s = visible(s, false)
	s = strings.ReplaceAll(s, "|", `\|`)
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
