package report

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/reproof/reproof/compare"
)

const ansiMagenta = "\x1b[35m"

// VerifyText writes the verification for a terminal. The verdict comes
// first, on one line with its reason, then the exit status and the count
// of artifacts per status; then the inputs in brief, the warnings, a table
// of artifacts (name, status, rebuilt and published SHA-256 prefixes, how
// they were compared), and the details of every artifact that has more to
// say: its detail, both sides with full digests, the release's checksums
// (expected and computed when they disagree), the normalize passes that
// made it equal and what each hid, and its differences grouped as the
// diff report groups them, each content difference with its diff. The
// error and the tail of a failed build's log come last.
//
// Every name, URL, detail and log line is escaped (see package doc)
// whether or not opts.Color is set.
func VerifyText(w io.Writer, v *Verification, opts TextOptions) error {
	if v == nil {
		return errNilVerification
	}
	if opts.MaxList <= 0 {
		opts.MaxList = defaultMaxList
	}
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw, opts: opts}

	head := t.paint(ansiBold+verdictANSI(v.Verdict), verdictLabel(v.Verdict))
	if v.Reason != "" {
		head += ": " + visible(v.Reason, false)
	}
	t.line(head)
	t.line("  " + exitLine(v) + "; " + statusCounts(v.Artifacts))

	t.blank()
	t.line(t.paint(ansiBold, "Inputs"))
	rows := [][2]string{
		{"source", sourceLine(v.Source)},
		{"epoch", "SOURCE_DATE_EPOCH " + epochLine(v.Source.SourceDateEpoch)},
		{"image", imageLine(v.Environment)},
		{"runtime", runtimeLine(v.Environment)},
		{"published", publishedLine(v.Published)},
		{"reproof", orNone(visible(v.Reproof, false)) + ", finished " + orNone(visible(v.Timestamp, false))},
	}
	for _, r := range rows {
		t.line("  " + padCell(r[0], 10) + r[1])
	}

	if len(v.Warnings) > 0 {
		t.blank()
		t.line(t.paint(ansiBold+ansiYellow, "Warnings"))
		for _, w := range v.Warnings {
			t.line("  " + t.paint(ansiYellow, "!") + " " + visible(w, false))
		}
	}

	t.blank()
	if len(v.Artifacts) == 0 {
		t.line(t.paint(ansiBold, "Artifacts") + ": none compared")
	} else {
		t.line(t.paint(ansiBold, "Artifacts"))
		t.artifactTable(v.Artifacts)
	}

	for _, a := range v.Artifacts {
		if hasDetails(a) {
			t.blank()
			t.artifactDetails(a)
		}
	}

	if errorNotInReason(v) {
		t.blank()
		t.line(t.paint(ansiBold+verdictANSI(v.Verdict), "Error") + ": " + visible(v.Error, false))
	}
	if len(v.BuildExplain) > 0 {
		t.blank()
		t.line(t.paint(ansiBold, "Why the build failed") + " (the lines of its log that say so)")
		for _, l := range v.BuildExplain {
			t.line("  | " + visible(l, true))
		}
	}
	if v.BuildLogFile != "" {
		t.line("The whole build log: " + visible(v.BuildLogFile, false))
	}
	if lines := diffLines(v.BuildLogTail); len(lines) > 0 {
		t.blank()
		t.line(t.paint(ansiBold, "Build log") + " (last " + plural(len(lines), "line", "lines") + ")")
		for _, l := range lines {
			t.line("  | " + visible(l, true))
		}
	}
	return bw.Flush() // bufio keeps the first write error
}

// verdictANSI is the colour of a verdict.
func verdictANSI(v Verdict) string {
	return classANSI(verdictClass(v))
}

// classANSI is the colour of a verdict or status class.
func classANSI(class string) string {
	switch class {
	case "good":
		return ansiGreen
	case "normalized":
		return ansiYellow
	case "bad", "build-failed":
		return ansiRed
	case "info":
		return ansiCyan
	case "skipped":
		return ""
	}
	return ansiMagenta
}

// maxNameColumn caps the width of the name column; a longer name pushes
// its row's other columns to the right.
const maxNameColumn = 56

func (t *textWriter) artifactTable(arts []Artifact) {
	header := []string{"NAME", "STATUS", "REBUILT", "PUBLISHED", "COMPARED BY"}
	rows := make([][]string, len(arts))
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for i, a := range arts {
		rows[i] = []string{
			displayPath(a.Name), statusOf(a),
			shortHash(sha256Of(a.Rebuilt)), shortHash(sha256Of(a.Published)), orDash(visible(a.ComparedBy, false)),
		}
		for j, c := range rows[i] {
			widths[j] = max(widths[j], min(utf8.RuneCountInString(c), maxNameColumn))
		}
	}
	t.line("  " + strings.TrimRight(joinPadded(header, widths, nil), " "))
	for i, r := range rows {
		status := func(j int, s string) string {
			if j == 1 {
				return t.paint(classANSI(artifactClass(arts[i].Status)), s)
			}
			return s
		}
		t.line("  " + strings.TrimRight(joinPadded(r, widths, status), " "))
	}
}

// joinPadded pads each cell to its column's width, two spaces apart; the
// last is not padded. paint, when given, colours a cell after padding is
// measured.
func joinPadded(cells []string, widths []int, paint func(int, string) string) string {
	var b strings.Builder
	for j, c := range cells {
		padded := c
		if j < len(cells)-1 {
			padded = padCell(c, widths[j]+2)
		}
		if paint != nil {
			trimmed := strings.TrimRight(padded, " ")
			padded = paint(j, trimmed) + padded[len(trimmed):]
		}
		b.WriteString(padded)
	}
	return b.String()
}

// padCell fills s with spaces to n runes, or adds one space if it is longer.
func padCell(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s + " "
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (t *textWriter) artifactDetails(a Artifact) {
	class := artifactClass(a.Status)
	t.line(t.paint(ansiBold, displayPath(a.Name)) + ": " + t.paint(ansiBold+classANSI(class), statusOf(a)))
	if a.Detail != "" {
		t.line("  " + visible(a.Detail, false))
	}
	for _, l := range verifyImageLines(a) {
		t.line("  " + l)
	}
	if a.Published != nil {
		t.line("  published  " + sideLine(a.Published))
	}
	if a.Rebuilt != nil {
		t.line("  rebuilt    " + sideLine(a.Rebuilt))
	}
	if a.ComparedBy != "" {
		t.line("  compared by " + comparedByOf(a))
	}
	if len(a.Checksums) > 0 {
		t.line("  published checksums")
		for _, c := range a.Checksums {
			if c.Match {
				t.line("    " + t.paint(ansiGreen, "ok      ") + "  " + checksumLine(c))
				continue
			}
			t.line("    " + t.paint(ansiBold+ansiRed, "MISMATCH") + "  " + checksumLine(c))
			t.line("              expected " + orNone(visible(c.Expected, false)))
			t.line("              computed " + orNone(visible(c.Computed, false)))
		}
	}
	for _, note := range a.Incomplete {
		t.line("  " + t.paint(ansiBold+ansiMagenta, "INCOMPLETE: ") + visible(note, false))
	}
	if len(a.Normalizations) > 0 {
		t.line("  normalized by")
		for _, n := range a.Normalizations {
			t.line("    " + t.paint(ansiBold, visible(n.Pass, false)) + ": " + normalizationCounts(n))
			for _, h := range n.Hid {
				t.line("      - " + visible(groupLeadingNumber(h), false))
			}
		}
	}
	groups := Summarize(artifactResult(a))
	if len(groups) == 0 {
		return
	}
	title := "differences"
	if a.Status == StatusEquivalent {
		title = "differences the normalization hid"
	}
	t.line("  " + title + " (" + differencesLegend + ")")
	for _, g := range groups {
		t.verifyGroup(g)
	}
}

// normalizationCounts is "changed 500 entries rebuilt, 0 published".
func normalizationCounts(n Normalization) string {
	return "changed " + formatInt(n.ChangedRebuilt) + " rebuilt, " + formatInt(n.ChangedPublished) + " published"
}

// verifyGroup writes one group of an artifact's differences, indented
// under the artifact: one line for order, compression and grouped kinds,
// a heading and one line per difference (with its diff) for listed kinds.
func (t *textWriter) verifyGroup(g Group) {
	const indent = "    "
	text := func(s string) string { return visible(s, false) }
	switch {
	case g.Kind == compare.KindOrder:
		for _, d := range g.Differences {
			t.line(indent + orderLine(d, displayPath, text))
		}
		return
	case g.Kind == compare.KindCompression:
		for _, d := range g.Differences {
			t.line(indent + compressionLine(d, displayPath, text))
		}
		return
	case !g.Listed:
		t.line(indent + t.groupedLine(g, verifyGroupTitle(g)))
		return
	}
	t.line(indent + t.paint(ansiBold, verifyGroupTitle(g)+":"))
	for _, d := range g.Differences {
		item := indent + "  " + displayPath(d.Path)
		if v := values(d); v != "" {
			item += ": " + text(v)
		}
		t.line(item)
		t.indentedDiff(d.Diff, indent+"      ")
	}
}

// indentedDiff writes a content diff line by line at indent, coloured by
// line when colour is on. cd.Omitted is not repeated: the engine writes
// "[N lines omitted]" into the diff itself.
func (t *textWriter) indentedDiff(cd *compare.ContentDiff, indent string) {
	if cd == nil {
		return
	}
	if len(cd.Sections) > 0 {
		secs := make([]string, len(cd.Sections))
		for i, s := range cd.Sections {
			secs[i] = visible(s, false)
		}
		t.line(indent + "sections: " + strings.Join(secs, ", "))
	}
	if a, b, ok := buildIDs(cd); ok {
		t.line(indent + "build ID: " + visible(arrow(a, b), false))
	}
	for _, l := range diffLines(cd.Unified) {
		color := ""
		switch lineClass(l) {
		case "hdr":
			color = ansiBold
		case "hunk":
			color = ansiCyan
		case "del":
			color = ansiRed
		case "add":
			color = ansiGreen
		}
		t.line(indent + t.paint(color, visible(l, true)))
	}
}
