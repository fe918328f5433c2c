package report

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/reproof/reproof/compare"
)

// DiffoscopeJSONVersion is the "diffoscope-json-version" we write:
// diffoscope's presenters/json.py JSON_FORMAT_VERSION.
const DiffoscopeJSONVersion = 1

// dsNode is one node of diffoscope's JSON: the keys, their order and
// their presence follow diffoscope's JSONPresenter (unified_diff is always
// present, null when the node has none; comments and details only when not
// empty).
type dsNode struct {
	Source1  string   `json:"source1"`
	Source2  string   `json:"source2"`
	Comments []string `json:"comments,omitempty"`
	// HasInternalLinenos marks a diff whose lines carry their own
	// positions, as hexdump lines carry their offsets: diffoscope then
	// shows no line numbers of its own.
	HasInternalLinenos bool      `json:"has_internal_linenos,omitempty"`
	UnifiedDiff        *string   `json:"unified_diff"`
	Details            []*dsNode `json:"details,omitempty"`
}

type dsRoot struct {
	Version int `json:"diffoscope-json-version"`
	dsNode
}

func (n *dsNode) empty() bool {
	return len(n.Comments) == 0 && n.UnifiedDiff == nil && len(n.Details) == 0
}

// DiffoscopeJSON writes the report in diffoscope's JSON structure, which
// diffoscope itself reads back (diffoscope --load-existing-diff F --html
// out.html) and tools built for diffoscope output understand:
//
//   - the root names A and B (source1, source2); an incomplete comparison
//     says so in the root's comments;
//   - a path entering nested archives ("lib/app.jar!/META-INF/MANIFEST.MF")
//     becomes nested details: "lib/app.jar", then "META-INF/MANIFEST.MF";
//   - a content difference carries its diff as unified_diff (hexdump
//     windows get numeric hunk headers so diffoscope can lay them out);
//   - metadata, type, size, link, missing and extra differences of the
//     entries of an archive make its "file list" node, a small unified
//     diff of one line per entry, as diffoscope's file list does; values
//     it cannot show as a line (xattr and pax records) and the order of
//     entries are comments of that node;
//   - a compression difference is a "compression" node under the archive.
func DiffoscopeJSON(w io.Writer, r *compare.Result) error {
	if r == nil {
		return errNilResult
	}
	tree := &dsTree{}
	for _, d := range sorted(r.Differences) {
		n := tree.at(d.Path)
		n.own = append(n.own, d)
	}
	root := tree.node(r.A.Path, r.B.Path, true)
	var notes []string
	for _, n := range r.Incomplete {
		notes = append(notes, "Comparison incomplete: "+visible(n, false))
	}
	root.Comments = append(notes, root.Comments...)
	return writeJSON(w, dsRoot{Version: DiffoscopeJSONVersion, dsNode: *root})
}

// dsTree holds the differences by path, one level per nested archive.
type dsTree struct {
	name     string
	own      []compare.Difference
	children []*dsTree
	index    map[string]*dsTree
}

// at returns the node for path, making it and its parents as needed.
func (t *dsTree) at(path string) *dsTree {
	if path == "" {
		return t
	}
	segs := strings.Split(path, "!/")
	for len(segs) > 1 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1] // "a.jar!/" is the archive a.jar itself
	}
	n := t
	for _, s := range segs {
		c := n.index[s]
		if c == nil {
			if n.index == nil {
				n.index = make(map[string]*dsTree)
			}
			c = &dsTree{name: s}
			n.index[s] = c
			n.children = append(n.children, c)
		}
		n = c
	}
	return n
}

// inFileList reports whether a difference of an entry is shown in the file
// list of the archive holding it rather than in the entry's own node.
func inFileList(d compare.Difference) bool {
	switch d.Kind {
	case compare.KindContent, compare.KindCompression, compare.KindOrder:
		return false
	}
	return true
}

// node renders t; top marks the compared inputs themselves.
func (t *dsTree) node(source1, source2 string, top bool) *dsNode {
	n := &dsNode{Source1: source1, Source2: source2}
	var compression, metadata []*dsNode
	var listComments []string // the file list's comments: order, then per entry
	var own []compare.Difference
	for _, d := range t.own {
		switch {
		case d.Kind == compare.KindOrder:
			listComments = append(listComments, groupLeadingNumber(visible(d.Detail, false)))
		case d.Kind == compare.KindCompression:
			c := &dsNode{Source1: "compression", Source2: "compression", UnifiedDiff: valuesDiff(d.Old, d.New)}
			if d.Detail != "" {
				c.Comments = []string{visible(d.Detail, false)}
			}
			compression = append(compression, c)
		case d.Kind == compare.KindContent:
			if n.UnifiedDiff == nil && n.Comments == nil {
				n.UnifiedDiff, n.Comments, n.HasInternalLinenos = contentDiff(d)
			} else { // a second content difference at one path
				c := &dsNode{Source1: "content", Source2: "content"}
				c.UnifiedDiff, c.Comments, c.HasInternalLinenos = contentDiff(d)
				n.Details = append(n.Details, c)
			}
		case top:
			own = append(own, d) // the inputs' own metadata: no archive lists them
		}
	}
	if len(own) > 0 {
		m := &dsNode{Source1: "metadata", Source2: "metadata"}
		var minus, plus []string
		m.Comments = fileListLines("", own, &minus, &plus)
		m.UnifiedDiff = linesDiff(minus, plus)
		if !m.empty() {
			metadata = append(metadata, m)
		}
	}

	var minus, plus []string
	for _, c := range t.children {
		var entry []compare.Difference
		for _, d := range c.own {
			if inFileList(d) {
				entry = append(entry, d)
			}
		}
		listComments = append(listComments, fileListLines(c.name, entry, &minus, &plus)...)
	}
	list := &dsNode{Source1: "file list", Source2: "file list", Comments: listComments, UnifiedDiff: linesDiff(minus, plus)}

	details := append(compression, metadata...)
	if !list.empty() {
		details = append(details, list)
	}
	details = append(details, n.Details...)
	for _, c := range t.children {
		if cn := c.node(c.name, c.name, false); !cn.empty() {
			details = append(details, cn)
		}
	}
	n.Details = details
	return n
}

// contentDiff is a content difference as diffoscope shows one: its diff,
// comments for what is not a diff (the detail when there is no diff, the
// ELF sections, the build IDs), and whether the diff's lines number
// themselves (hexdumps, as diffoscope's own xxd diffs).
func contentDiff(d compare.Difference) (*string, []string, bool) {
	var comments []string
	var unified *string
	if cd := d.Diff; cd != nil {
		if len(cd.Sections) > 0 {
			secs := make([]string, len(cd.Sections))
			for i, s := range cd.Sections {
				secs[i] = visible(s, false)
			}
			comments = append(comments, "ELF sections that differ: "+strings.Join(secs, ", "))
		}
		if a, b, ok := buildIDs(cd); ok {
			comments = append(comments, "Build ID: "+visible(arrow(a, b), false))
		}
		unified = dsUnified(cd.Unified)
	}
	if unified == nil {
		detail := d.Detail
		if detail == "" {
			detail = "content differs"
		}
		comments = append([]string{visible(detail, false)}, comments...)
	}
	hexdump := unified != nil && d.Diff != nil && (d.Diff.Format == "binary" || d.Diff.Format == "elf")
	return unified, comments, hexdump
}

// fileListLines adds the "-" and "+" lines of one entry of a file list to
// minus and plus, and returns comments for what has no line: an entry
// stored twice, records without values. Names and values are shown
// escaped: a newline in a name must not make a line of its own.
func fileListLines(name string, ds []compare.Difference, minus, plus *[]string) []string {
	name = visible(name, false)
	var comments []string
	var olds, news []string
	for _, d := range ds {
		switch {
		case d.Kind == compare.KindMissing:
			*minus = append(*minus, name)
		case d.Kind == compare.KindExtra:
			*plus = append(*plus, name)
		case d.Old == "" && d.New == "":
			c := string(d.Kind) + ": " + visible(d.Detail, false)
			if name != "" {
				c = name + ": " + c
			}
			comments = append(comments, c)
		default:
			olds = append(olds, string(d.Kind)+" "+visible(orNone(d.Old), false))
			news = append(news, string(d.Kind)+" "+visible(orNone(d.New), false))
		}
	}
	if len(olds) > 0 {
		prefix := ""
		if name != "" {
			prefix = name + "  "
		}
		*minus = append(*minus, prefix+strings.Join(olds, "; "))
		*plus = append(*plus, prefix+strings.Join(news, "; "))
	}
	return comments
}

// linesDiff makes a unified diff of removed and added lines, nil when there
// are none. The hunk header counts them; the line numbers are nominal.
func linesDiff(minus, plus []string) *string {
	if len(minus) == 0 && len(plus) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ %s %s @@\n", hunkSide("-", len(minus)), hunkSide("+", len(plus)))
	for _, l := range minus {
		b.WriteString("-" + l + "\n")
	}
	for _, l := range plus {
		b.WriteString("+" + l + "\n")
	}
	s := b.String()
	return &s
}

func hunkSide(sign string, n int) string {
	if n == 0 {
		return sign + "0,0"
	}
	return sign + "1," + strconv.Itoa(n)
}

// valuesDiff is the one-line diff of two values, nil when neither is set.
func valuesDiff(old, new string) *string {
	if old == "" && new == "" {
		return nil
	}
	return linesDiff([]string{visible(orNone(old), false)}, []string{visible(orNone(new), false)})
}

var (
	numericHunk = regexp.MustCompile(`^@@ -\d+(,\d+)? \+\d+(,\d+)? @@`)
	hexdumpLine = regexp.MustCompile(`^[-+ ]([0-9a-f]{8}): `)
)

// dsUnified turns one of our rendered diffs into what diffoscope's
// presenters parse: hunk headers with line numbers ("@@ -a,b +c,d @@"),
// diff lines, and "[...]" comment lines. Our hexdump hunks ("@@ offset
// 0x390, 20 bytes differ @@") get a numeric header, counted from their
// lines and numbered as xxd lines like diffoscope's own binary diffs, with
// the original header kept as a "[...]" line; any other line that is not a
// diff line ("section .text:") becomes a "[...]" line too.
func dsUnified(s string) *string {
	lines := diffLines(s)
	if len(lines) == 0 {
		return nil
	}
	var out []string
	seenHunk := false
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case !seenHunk && strings.HasPrefix(l, "--- ") && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "+++ "):
			i++ // a file header: the names are source1 and source2
		case numericHunk.MatchString(l):
			seenHunk = true
			out = append(out, l)
		case strings.HasPrefix(l, "@@"):
			seenHunk = true
			j := i + 1
			for j < len(lines) && isDiffBodyLine(lines[j]) {
				j++
			}
			out = append(out, "["+strings.TrimSpace(strings.Trim(l, "@"))+"]", numberedHunk(lines[i+1:j]))
		case isDiffBodyLine(l) && seenHunk, strings.HasPrefix(l, "["):
			out = append(out, l)
		default:
			out = append(out, "["+strings.TrimSuffix(l, ":")+"]")
		}
	}
	u := strings.Join(out, "\n") + "\n"
	return &u
}

func isDiffBodyLine(l string) bool {
	return l != "" && strings.IndexByte(" -+\\", l[0]) >= 0
}

// numberedHunk is a numeric hunk header for body lines: the xxd line
// number of the first hexdump line (16 bytes a line), else 1.
func numberedHunk(body []string) string {
	start := 1
	if len(body) > 0 {
		if m := hexdumpLine.FindStringSubmatch(body[0]); m != nil {
			if off, err := strconv.ParseInt(m[1], 16, 64); err == nil {
				start = int(off/16) + 1
			}
		}
	}
	var a, b int
	for _, l := range body {
		switch l[0] {
		case ' ':
			a, b = a+1, b+1
		case '-':
			a++
		case '+':
			b++
		}
	}
	side := func(sign string, n int) string {
		if n == 0 {
			return fmt.Sprintf("%s%d,0", sign, start-1)
		}
		return fmt.Sprintf("%s%d,%d", sign, start, n)
	}
	return "@@ " + side("-", a) + " " + side("+", b) + " @@"
}
