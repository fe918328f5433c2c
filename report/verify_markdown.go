package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/reproof/reproof/compare"
)

// verifyMarkdownDiffBudget bounds the diff text of a verify Markdown
// report: a pull request comment holds 65,536 characters. Diffs past it are
// named, not shown; the HTML and JSON reports have them all.
const verifyMarkdownDiffBudget = 32 << 10

// VerifyMarkdown writes the verification as GitHub-flavoured Markdown for
// a job summary or a pull request comment: a heading with the verdict, its
// reason and exit status, a table of the inputs, the warnings, a table of
// the artifacts, then one collapsed <details> block per artifact with more
// to say (both sides with full digests, the release's checksums, the
// normalize passes and what each hid, the grouped differences with each
// content diff in a fenced block), and the error and build log last.
//
// Names and every other string from the inputs are escaped for where they
// appear: code spans and escaped prose in Markdown, HTML escaping in the
// <summary> lines, fences longer than any run of backticks in a diff or
// log. To fit a pull request comment, a group lists 100 differences, and
// diffs stop being shown after 32 KiB of them (the report says how many
// it left out).
func VerifyMarkdown(w io.Writer, v *Verification) error {
	if v == nil {
		return errNilVerification
	}
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("## reproof verify: %s\n\n", verdictLabel(v.Verdict))
	if v.Reason != "" {
		p("%s\n\n", mdText(sentence(v.Reason)))
	}
	p("**%s**; %s.\n\n", mdText(exitLine(v)), mdText(statusCounts(v.Artifacts)))

	p("| Input | Value |\n|:--|:--|\n")
	src := mdCodeOrNone(v.Source.Repo) + " at " + mdCodeOrNone(v.Source.Tag)
	p("| Source | %s |\n", src)
	if v.Source.Commit != "" {
		p("| Commit | %s |\n", mdCode(v.Source.Commit))
	}
	p("| SOURCE\\_DATE\\_EPOCH | %s |\n", mdText(epochLine(v.Source.SourceDateEpoch)))
	img := mdCodeOrNone(v.Environment.Image)
	if v.Environment.Unpinned {
		img += " **not pinned by digest**"
	}
	p("| Image | %s |\n", img)
	if v.Environment.ImageDigest != "" {
		p("| Image digest | %s |\n", mdCode(v.Environment.ImageDigest))
	}
	if v.Environment.Platform != "" {
		p("| Platform | %s |\n", mdCode(v.Environment.Platform))
	}
	p("| Runtime | %s |\n", mdText(runtimeLine(v.Environment)))
	pub := mdCodeOrNone(v.Published.Source)
	if v.Published.Tag != "" {
		pub += " at " + mdCode(v.Published.Tag)
	}
	p("| Published | %s (%s) |\n", pub, publishedCounts(v.Published))
	p("| reproof | %s, finished %s |\n", mdCode(orNone(v.Reproof)), mdText(orNone(v.Timestamp)))

	if len(v.Warnings) > 0 {
		p("\n### Warnings\n\n")
		for _, w := range v.Warnings {
			p("- %s\n", mdItem(mdText(w)))
		}
	}

	p("\n### Artifacts\n\n")
	if len(v.Artifacts) == 0 {
		p("No artifact was compared.\n")
	} else {
		p("| Artifact | Status | Rebuilt SHA-256 | Published SHA-256 | Compared by |\n|:--|:--|:--|:--|:--|\n")
		for _, a := range v.Artifacts {
			st := mdText(statusOf(a))
			if a.Status != StatusIdentical {
				st = "**" + st + "**"
			}
			p("| %s | %s | %s | %s | %s |\n", mdCode(displayPath(a.Name)), st,
				mdHash(sha256Of(a.Rebuilt)), mdHash(sha256Of(a.Published)), mdText(orDash(a.ComparedBy)))
		}
	}

	budget := verifyMarkdownDiffBudget
	for _, a := range v.Artifacts {
		if hasDetails(a) {
			p("\n")
			mdArtifact(bw, a, &budget)
		}
	}

	if errorNotInReason(v) {
		p("\n### Error\n\n%s\n", mdText(v.Error))
	}
	if len(v.BuildExplain) > 0 {
		p("\n### Why the build failed\n\n")
		lines := make([]string, len(v.BuildExplain))
		for i, l := range v.BuildExplain {
			lines[i] = visible(l, true)
		}
		mdFenced(bw, "text", strings.Join(lines, "\n"))
	}
	if v.BuildLogFile != "" {
		p("\nThe whole build log: %s\n", mdText(v.BuildLogFile))
	}
	if lines := diffLines(v.BuildLogTail); len(lines) > 0 {
		p("\n### Build log (last %s)\n\n", plural(len(lines), "line", "lines"))
		for i, l := range lines {
			lines[i] = visible(l, true)
		}
		mdFenced(bw, "text", strings.Join(lines, "\n"))
	}
	return bw.Flush()
}

// mdHash is a digest's first 12 hex digits in a code span, "-" for none.
func mdHash(h string) string {
	if h == "" {
		return "-"
	}
	return mdCode(shortHash(h))
}

// mdCodeOrNone is mdCode, or "(none)" for the empty string (an empty
// code span is not one).
func mdCodeOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return mdCode(s)
}

// htmlText escapes s for HTML inside Markdown (a <summary> line): control
// characters shown escaped, then HTML-escaped.
func htmlText(s string) string {
	return html.EscapeString(visible(s, false))
}

func mdArtifact(w *bufio.Writer, a Artifact, budget *int) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	summary := "<code>" + htmlText(displayPath(a.Name)) + "</code>: <b>" + htmlText(statusOf(a)) + "</b>"
	if a.Detail != "" {
		summary += " — " + htmlText(a.Detail)
	}
	p("<details><summary>%s</summary>\n\n", summary)
	for _, l := range verifyImageLines(a) {
		p("- %s\n", mdItem(mdText(strings.TrimLeft(l, " "))))
	}

	if a.Published != nil {
		p("- **Published**: %s\n", mdSide(a.Published))
	}
	if a.Rebuilt != nil {
		p("- **Rebuilt**: %s\n", mdSide(a.Rebuilt))
	}
	if a.ComparedBy != "" {
		p("- **Compared by**: %s\n", mdText(comparedByOf(a)))
	}
	for _, note := range a.Incomplete {
		p("- **INCOMPLETE**: %s\n", mdText(note))
	}

	if len(a.Checksums) > 0 {
		p("\n**Published checksums**\n\n| Result | Algorithm | Name | Manifest | Expected | Computed |\n|:--|:--|:--|:--|:--|:--|\n")
		for _, c := range a.Checksums {
			res := "ok"
			if !c.Match {
				res = "**MISMATCH**"
			}
			p("| %s | %s | %s | %s | %s | %s |\n", res, mdText(c.Algorithm), mdCode(displayPath(c.Name)),
				mdCode(displayPath(c.Manifest)), mdCode(orNone(c.Expected)), mdCode(orNone(c.Computed)))
		}
	}

	if len(a.Normalizations) > 0 {
		p("\n**Normalized by**\n\n")
		for _, n := range a.Normalizations {
			p("- %s: %s\n", mdCode(n.Pass), mdText(normalizationCounts(n)))
			for _, h := range n.Hid {
				p("  - %s\n", mdItem(mdText(groupLeadingNumber(h))))
			}
		}
	}

	if groups := Summarize(artifactResult(a)); len(groups) > 0 {
		title := "Differences"
		if a.Status == StatusEquivalent {
			title = "Differences the normalization hid"
		}
		p("\n**%s** (%s)\n\n", title, mdText(differencesLegend))
		for i, g := range groups {
			mdVerifyGroup(w, g, i == 0, budget)
		}
	}
	p("\n</details>\n")
}

func mdSide(d *FileDigest) string {
	s := mdCode(displayPath(d.Name))
	if d.URL != "" {
		s += " at " + mdCode(d.URL)
	}
	s += ", " + plural64(d.Size, "byte", "bytes")
	if d.SHA256 != "" {
		s += ", sha256 " + mdCode(d.SHA256)
	}
	return s
}

// mdVerifyGroup writes one group: a list item for order, compression and
// grouped kinds (with a sample of names), a bold title and one entry per
// difference, each with its diff while the budget lasts, for listed kinds.
// Listed entries are "*" items and the one-line groups "-" items, so that
// a one-line group after a listed one starts a list of its own.
func mdVerifyGroup(w *bufio.Writer, g Group, first bool, budget *int) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	switch {
	case g.Kind == compare.KindOrder:
		for _, d := range g.Differences {
			p("- %s\n", mdItem(orderLine(d, mdCode, mdText)))
		}
		return
	case g.Kind == compare.KindCompression:
		for _, d := range g.Differences {
			p("- %s\n", mdItem(compressionLine(d, mdCode, mdText)))
		}
		return
	case !g.Listed:
		items := firstPerPath(g)
		names := make([]string, 0, defaultMaxList)
		for i, d := range items {
			if i == defaultMaxList {
				break
			}
			name := mdCode(displayPath(d.Path))
			if v := values(d); v != "" && !namesOnly(g) {
				name += " (" + mdText(v) + ")"
			}
			names = append(names, name)
		}
		line := "**" + mdText(verifyGroupTitle(g)) + "**" + mdShared(g)
		if len(items) <= defaultMaxList {
			p("- %s: %s\n", line, strings.Join(names, ", "))
		} else {
			p("- %s, e.g. %s and %s more\n", line, strings.Join(names, ", "), formatInt(int64(len(items)-len(names))))
		}
		return
	}
	if !first {
		p("\n")
	}
	p("**%s**\n\n", mdText(verifyGroupTitle(g)))
	leftOut := 0
	for i, d := range g.Differences {
		if i == markdownMaxList {
			p("* … and %s more (the HTML and JSON reports list every one)\n", formatInt(int64(len(g.Differences)-i)))
			break
		}
		p("* %s", mdCode(displayPath(d.Path)))
		if v := values(d); v != "" {
			p(": %s", mdText(v))
		}
		p("\n")
		if d.Diff == nil {
			continue
		}
		if size := len(d.Diff.Unified); size <= *budget {
			*budget -= size
			if mdDiff(w, d.Diff, "  ") {
				w.WriteString("\n")
			}
		} else if d.Diff.Unified != "" {
			leftOut++
		}
	}
	if leftOut > 0 {
		p("\n%s left out to keep this summary short: the HTML and JSON reports have them.\n",
			plural(leftOut, "diff", "diffs"))
	}
}

// mdDiff writes a content diff as a fenced block at indent (two spaces
// inside a list item), with its ELF sections and build IDs, and tells
// whether it wrote the block.
func mdDiff(w *bufio.Writer, cd *compare.ContentDiff, indent string) bool {
	if cd == nil {
		return false
	}
	if len(cd.Sections) > 0 {
		secs := make([]string, len(cd.Sections))
		for i, s := range cd.Sections {
			secs[i] = mdCode(s)
		}
		fmt.Fprintf(w, "\n%sSections: %s\n", indent, strings.Join(secs, ", "))
	}
	if a, b, ok := buildIDs(cd); ok {
		fmt.Fprintf(w, "\n%sBuild ID: %s → %s\n", indent, mdCode(orNone(a)), mdCode(orNone(b)))
	}
	lines := diffLines(cd.Unified)
	if len(lines) == 0 {
		return false
	}
	for i, l := range lines {
		lines[i] = visible(l, true)
	}
	w.WriteString("\n")
	mdFencedIndent(w, "diff", strings.Join(lines, "\n"), indent)
	return true
}

// mdFenced writes body in a fenced code block whose fence no run of
// backticks in body can close.
func mdFenced(w *bufio.Writer, info, body string) {
	mdFencedIndent(w, info, body, "")
}

func mdFencedIndent(w *bufio.Writer, info, body, indent string) {
	fence := strings.Repeat("`", max(3, longestRun(body, '`')+1))
	w.WriteString(indent + fence + info + "\n")
	for _, l := range strings.Split(body, "\n") {
		w.WriteString(indent + l + "\n")
	}
	w.WriteString(indent + fence + "\n")
}
