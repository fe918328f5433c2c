package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/reproof/reproof/compare"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate escapes by context (html/template): every name, value and
// diff line from the inputs is text, never markup.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// HTML limits: grouped names listed per group, and how many content
// differences are shown open rather than collapsed.
const (
	htmlMaxNames  = 1000
	htmlOpenItems = 20
)

// HTML writes the report as one self-contained HTML file: inline CSS, no
// external resources and no script (a Content-Security-Policy forbids
// both). The summary comes first (status and exit code, the two inputs,
// counts per kind, any INCOMPLETE note), then a section per group, each
// content difference collapsible with its diff coloured by line.
func HTML(w io.Writer, r *compare.Result) error {
	if r == nil {
		return errNilResult
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate.Execute(bw, htmlPageOf(r)); err != nil {
		return fmt.Errorf("report: rendering html: %w", err)
	}
	return bw.Flush()
}

type htmlPage struct {
	Title              string
	Status             string
	StatusClass        string
	ExitCode           int
	Inputs             []htmlInput
	EntriesA, EntriesB string
	Image              []string // imageLines, for images
	Incomplete         []string
	Counts             []htmlCount
	Groups             []htmlGroup
}

type htmlInput struct {
	Side, Path, Kind, Format, Size, SHA256 string
}

type htmlCount struct {
	Kind, Count, Class, Text string
}

type htmlGroup struct {
	ID, Class, Title, Shared string
	Lines                    []string
	Names                    []htmlName
	NamesSummary, More       string
	NamesInline              bool // few enough to show without a toggle
	Items                    []htmlItem
}

type htmlName struct {
	Path, Value string
}

type htmlItem struct {
	Path, Value, BuildID string
	Sections             []string
	Lines                []htmlLine
	Open                 bool
	HasBody              bool // a diff, sections or build IDs to show
}

type htmlLine struct {
	Class, Text string
}

func htmlPageOf(r *compare.Result) htmlPage {
	st := r.Status()
	text := func(s string) string { return visible(s, false) }
	page := htmlPage{
		Title:       "reproof diff: " + displayPath(r.A.Path) + " vs " + displayPath(r.B.Path),
		Status:      st.String(),
		StatusClass: statusClass(st),
		ExitCode:    int(st),
		EntriesA:    formatInt(r.EntriesA),
		EntriesB:    formatInt(r.EntriesB),
	}
	for i, in := range []compare.Input{r.A, r.B} {
		page.Inputs = append(page.Inputs, htmlInput{
			Side: "AB"[i : i+1], Path: displayPath(in.Path), Kind: text(in.Kind), Format: text(in.Format),
			Size: plural64(in.Size, "byte", "bytes"), SHA256: text(in.SHA256),
		})
	}
	page.Image = imageLines(r.Image)
	for _, note := range r.Incomplete {
		page.Incomplete = append(page.Incomplete, text(note))
	}
	for _, c := range kindCountsWithClass(r.Differences, kindCounts(r.Differences)) {
		class := "metadata"
		if strings.HasPrefix(c.class, "content") {
			class = "content"
		}
		page.Counts = append(page.Counts, htmlCount{Kind: text(string(c.kind)), Count: formatInt(int64(c.count)), Class: class, Text: c.class})
	}

	for i, g := range Summarize(r) {
		hg := htmlGroup{ID: fmt.Sprintf("group-%d", i+1), Class: "metadata", Title: g.Title()}
		if g.Content {
			hg.Class = "content"
		}
		if !g.Listed && (g.Old != "" || g.New != "") {
			hg.Shared = text(arrow(g.Old, g.New))
		}
		switch {
		case g.Kind == compare.KindOrder:
			for _, d := range g.Differences {
				hg.Lines = append(hg.Lines, orderLine(d, displayPath, text))
			}
		case g.Kind == compare.KindCompression:
			for _, d := range g.Differences {
				hg.Lines = append(hg.Lines, compressionLine(d, displayPath, text))
			}
		case !g.Listed:
			items := firstPerPath(g)
			for j, d := range items {
				if j == htmlMaxNames {
					hg.More = fmt.Sprintf("… and %s more: the JSON report lists every one.", formatInt(int64(len(items)-j)))
					break
				}
				n := htmlName{Path: displayPath(d.Path)}
				if !namesOnly(g) {
					n.Value = text(values(d))
				}
				hg.Names = append(hg.Names, n)
			}
			hg.NamesSummary = "the " + plural(len(items), "entry", "entries")
			hg.NamesInline = len(items) <= defaultMaxList
		default:
			for _, d := range g.Differences {
				hg.Items = append(hg.Items, htmlItemOf(d, g.Count <= htmlOpenItems))
			}
		}
		page.Groups = append(page.Groups, hg)
	}
	return page
}

func htmlItemOf(d compare.Difference, open bool) htmlItem {
	it := htmlItem{Path: displayPath(d.Path), Value: visible(values(d), false), Open: open}
	cd := d.Diff
	if cd == nil {
		return it
	}
	for _, s := range cd.Sections {
		it.Sections = append(it.Sections, visible(s, false))
	}
	if a, b, ok := buildIDs(cd); ok {
		it.BuildID = visible(arrow(a, b), false)
	}
	for _, l := range diffLines(cd.Unified) {
		class := lineClass(l)
		if class == "ctx" && strings.HasPrefix(l, "[") {
			class = "note" // "[12 lines omitted]"
		}
		it.Lines = append(it.Lines, htmlLine{Class: class, Text: visible(l, true)})
	}
	it.HasBody = len(it.Lines) > 0 || len(it.Sections) > 0 || it.BuildID != ""
	return it
}

func statusClass(st compare.Status) string {
	switch st {
	case compare.StatusIdentical:
		return "identical"
	case compare.StatusDiffers:
		return "differs"
	case compare.StatusMetadataOnly:
		return "metadata"
	}
	return "incomplete"
}
