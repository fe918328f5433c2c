package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reproof/reproof/compare"
)

// errNilResult is returned by every renderer given a nil Result.
var errNilResult = errors.New("report: nil result")

// TextOptions tunes the text report.
type TextOptions struct {
	// Color turns on ANSI colours: bold headings, red and green diff lines.
	// Leave it off when the output is not a terminal or NO_COLOR is set.
	Color bool
	// MaxList is how many names a grouped line shows before "and N more"
	// (default 10). The JSON report lists them all.
	MaxList int
}

const defaultMaxList = 10

// ANSI sequences used when TextOptions.Color is set.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// Text writes the report for a terminal: the status and what the exit code
// will be, the two inputs, any INCOMPLETE note, then one line per grouped
// kind and every listed difference with its diff, indented. Names and diff
// lines are escaped (see package doc) whether or not colour is on.
func Text(w io.Writer, r *compare.Result, opts TextOptions) error {
	if r == nil {
		return errNilResult
	}
	if opts.MaxList <= 0 {
		opts.MaxList = defaultMaxList
	}
	bw := bufio.NewWriter(w)
	t := &textWriter{w: bw, opts: opts}
	t.header(r)
	groups := Summarize(r)
	if len(groups) > 0 {
		t.blank()
	}
	for _, g := range groups {
		t.group(g)
	}
	if st := r.Status(); st != compare.StatusIdentical {
		t.blank()
		t.line(t.paint(statusColor(st), statusLine(st)))
	}
	return bw.Flush() // bufio keeps the first write error
}

type textWriter struct {
	w     *bufio.Writer
	opts  TextOptions
	empty bool // the last line written was empty
}

func (t *textWriter) line(s string) {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
	t.empty = s == ""
}

// blank writes an empty line unless the last one was.
func (t *textWriter) blank() {
	if !t.empty {
		t.line("")
	}
}

func (t *textWriter) paint(color, s string) string {
	if !t.opts.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

func statusColor(st compare.Status) string {
	switch st {
	case compare.StatusIdentical:
		return ansiBold + ansiGreen
	case compare.StatusMetadataOnly:
		return ansiBold + ansiYellow
	}
	return ansiBold + ansiRed
}

func (t *textWriter) header(r *compare.Result) {
	st := r.Status()
	t.line(t.paint(statusColor(st), statusLine(st)))
	t.line("  A: " + inputLine(r.A))
	t.line("  B: " + inputLine(r.B))
	t.line(fmt.Sprintf("  entries: %s in A, %s in B", formatInt(r.EntriesA), formatInt(r.EntriesB)))
	for _, l := range imageLines(r.Image) {
		t.line("  " + l)
	}
	if counts := kindCounts(r.Differences); len(counts) > 0 {
		parts := make([]string, len(counts))
		for i, c := range counts {
			parts[i] = formatInt(int64(c.count)) + " " + visible(string(c.kind), false)
		}
		t.line("  differences: " + strings.Join(parts, ", "))
	}
	for _, note := range r.Incomplete {
		t.line(t.paint(ansiBold+ansiRed, "INCOMPLETE: ") + visible(note, false))
	}
	if len(r.Incomplete) > 0 {
		t.line("  the comparison stopped short: the differences below may not be all of them")
	}
}

// inputLine describes one side: "dist/app.tar.gz (file, tar+gzip,
// 1,024 bytes, sha256 9f86…)".
func inputLine(in compare.Input) string {
	var parts []string
	if in.Kind != "" {
		parts = append(parts, visible(in.Kind, false))
	}
	if in.Format != "" {
		parts = append(parts, visible(in.Format, false))
	}
	parts = append(parts, plural64(in.Size, "byte", "bytes"))
	if in.SHA256 != "" {
		parts = append(parts, "sha256 "+visible(in.SHA256, false))
	}
	return displayPath(in.Path) + " (" + strings.Join(parts, ", ") + ")"
}

// sharedValues is " (old → new)" when the group shares its values.
func sharedValues(g Group) string {
	if g.Old == "" && g.New == "" {
		return ""
	}
	return " (" + arrow(g.Old, g.New) + ")"
}

func (t *textWriter) group(g Group) {
	switch {
	case g.Kind == compare.KindOrder:
		for _, d := range g.Differences {
			t.line(orderLine(d, displayPath, func(s string) string { return visible(s, false) }))
		}
		return
	case g.Kind == compare.KindCompression:
		for _, d := range g.Differences {
			t.line(compressionLine(d, displayPath, func(s string) string { return visible(s, false) }))
		}
		return
	case !g.Listed:
		t.line(t.groupedLine(g, g.Title()))
		return
	}
	hasDiffs := false
	for _, d := range g.Differences {
		hasDiffs = hasDiffs || d.Diff != nil
	}
	if hasDiffs {
		t.blank()
	}
	t.line(t.paint(ansiBold, g.Title()+":"))
	for _, d := range g.Differences {
		item := "  " + displayPath(d.Path)
		if v := values(d); v != "" {
			item += ": " + visible(v, false)
		}
		t.line(item)
		if d.Diff != nil {
			t.indentedDiff(d.Diff, "      ")
			t.blank()
		}
	}
}

// groupedLine is a grouped kind in one line, under title, with a sample
// of names and their values.
func (t *textWriter) groupedLine(g Group, title string) string {
	s := t.paint(ansiBold, title) + visible(sharedValues(g), false)
	items := firstPerPath(g)
	names := make([]string, 0, t.opts.MaxList)
	for i, d := range items {
		if i == t.opts.MaxList {
			break
		}
		name := displayPath(d.Path)
		if !namesOnly(g) {
			if v := values(d); v != "" {
				name += " (" + visible(v, false) + ")"
			}
		}
		names = append(names, name)
	}
	if len(items) <= t.opts.MaxList {
		return s + ": " + strings.Join(names, ", ")
	}
	return s + ", e.g. " + strings.Join(names, ", ") + " and " + formatInt(int64(len(items)-len(names))) + " more"
}
