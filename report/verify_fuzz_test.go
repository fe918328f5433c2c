package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/reproof/reproof/compare"
)

// fuzzStrings are the strings FuzzVerifyReports puts where a Verification
// carries text from strangers: an artifact name (both sides, the published
// file, the release tag, a skip rule), a member path (differences of every
// shape, a checksum's name and its manifest's, a member rule, a published
// URL), a detail (the artifact's, the differences', an INCOMPLETE note, an
// owner value, what a normalization hid, an expected checksum, an ELF
// section and build ID), a warning (and a rule's reason, a word of the
// build command) and lines: the tail of a build log, and the lines of a
// content diff.
type fuzzStrings struct {
	name, path, detail, warning, lines string
}

// benign is s with every string replaced by as many bytes of 'a', but for
// the newlines and tabs of the lines, which every format keeps.
func (s fuzzStrings) benign() fuzzStrings {
	a := func(x string) string { return strings.Repeat("a", len(x)) }
	lines := []byte(s.lines)
	for i, c := range lines {
		if c != '\n' && c != '\t' {
			lines[i] = 'a'
		}
	}
	return fuzzStrings{name: a(s.name), path: a(s.path), detail: a(s.detail), warning: a(s.warning), lines: string(lines)}
}

func (s fuzzStrings) validUTF8() bool {
	for _, x := range []string{s.name, s.path, s.detail, s.warning, s.lines} {
		if !utf8.ValidString(x) {
			return false
		}
	}
	return true
}

// fuzzCase is a fixture with the fuzzed strings in it; artifact is the
// index of the artifact named s.name, -1 when there is none.
type fuzzCase struct {
	v        *Verification
	artifact int
}

// fuzzNormalized is normalizedVerification, built once: its 500
// differences make it the slowest fixture to build, and fuzzCases copies
// what it changes.
var fuzzNormalized = normalizedVerification()

// fuzzCases puts s into the not-reproducible, normalized and build-failed
// fixtures. The artifact that gets s.path has no other path, so that its
// paths compare (equal, sorted) the same way whatever s.path is, and a
// benign render groups and orders them as the hostile one does.
func fuzzCases(s fuzzStrings) []fuzzCase {
	p := s.path

	nr := notReproducibleVerification()
	a := &nr.Artifacts[1]
	a.Name, a.Rebuilt.Name, a.Published.Name = s.name, s.name, s.name
	nr.Published.Files[0].Name, nr.Published.Files[0].URL, a.Published.URL = s.name, p, p
	nr.Published.Manifests[0].Name = p
	nr.Published.Tag = s.name
	nr.Artifacts[2].Checksums[0].Expected = s.detail
	a.Detail = s.detail
	a.Incomplete = []string{s.detail}
	a.Checksums[0].Name, a.Checksums[0].Manifest = p, p
	var elf *compare.ContentDiff
	for _, d := range a.Differences {
		if d.Diff != nil && elf == nil {
			elf = d.Diff
		}
	}
	text := &compare.ContentDiff{Format: "elf", Sections: []string{s.detail}, BuildID: []string{s.detail, "b2d4f6a8"}, Unified: s.lines}
	a.Differences = []compare.Difference{
		{Path: "", Kind: compare.KindOrder, Detail: s.detail},
		{Path: p, Kind: compare.KindContent, Detail: s.detail, Diff: elf},
		{Path: p, Kind: compare.KindMtime, Old: "2024-01-10T09:12:44Z", New: "2024-01-10T08:00:00Z"},
		{Path: p + "/x", Kind: compare.KindMtime, Old: "2024-01-10T09:12:44Z", New: "2024-01-10T08:00:00Z"},
		{Path: p + "/x", Kind: compare.KindOwner, Old: s.detail, New: "0/0"},
		{Path: p + "/y", Kind: compare.KindContent, Old: s.detail, New: s.warning, Diff: text},
		{Path: p + "/y", Kind: compare.KindMode, Detail: s.detail},
		{Path: p + "/z.gz", Kind: compare.KindCompression, Detail: s.detail},
	}
	nr.Policy.Members[0].Members = append(nr.Policy.Members[0].Members, p)
	nr.Policy.Members[0].Reason = s.warning
	nr.Environment.Command = append(nr.Environment.Command, s.warning)
	nr.Warnings = append(nr.Warnings, s.warning)

	n := *fuzzNormalized
	n.Artifacts = append([]Artifact(nil), n.Artifacts...)
	b := &n.Artifacts[0]
	rebuilt, published := *b.Rebuilt, *b.Published
	b.Rebuilt, b.Published = &rebuilt, &published
	b.Name, b.Rebuilt.Name, b.Published.Name = s.name, s.name, s.name
	n.Published.Files = append([]File(nil), n.Published.Files...)
	n.Published.Files[0].Name = s.name
	b.Detail = s.detail
	b.Normalizations = append([]Normalization(nil), b.Normalizations...)
	b.Normalizations[1].Hid = append(append([]string(nil), b.Normalizations[1].Hid...), s.detail)
	b.Differences = []compare.Difference{
		{Path: "", Kind: compare.KindOrder, Detail: "12802 entries in a different order"},
		{Path: p, Kind: compare.KindMtime, Detail: s.detail, Old: "2024-01-01T00:00:00Z", New: "2024-01-01T00:17:33Z"},
		{Path: p + "/x", Kind: compare.KindMtime, Old: "2024-01-01T00:00:00Z", New: "2024-01-01T00:17:33Z"},
		{Path: p + "/x", Kind: compare.KindPax, Detail: s.detail},
	}
	n.Policy.Skips = []Rule{{Artifact: s.name, Reason: s.warning}}
	n.Warnings = append(append([]string(nil), n.Warnings...), s.warning)

	bf := buildFailedVerification()
	bf.Published.Files[0].Name = s.name
	bf.Warnings = append(bf.Warnings, s.warning)
	bf.BuildLogTail = s.lines

	return []fuzzCase{{nr, 1}, {&n, 0}, {bf, -1}}
}

// FuzzVerifyReports renders fixtures holding fuzzed names, paths, details,
// warnings, log and diff lines in every verify format, and checks what each
// format promises against a render of the same fixture with every fuzzed
// string replaced by a benign one of the same length:
//
//   - text: valid UTF-8 with nothing that does not print but newlines (and
//     tabs in log and diff lines); the verdict lines as in the benign render; no
//     line of its own for a fuzzed string, and none starting at the margin
//     but an artifact's heading, which starts with its name; with colour,
//     the same text with the report's own SGR sequences;
//   - HTML: valid UTF-8, as many '<' (tags), newlines and tabs as the
//     benign render, nothing else that does not print, no script;
//   - Markdown: as many lines as the benign render, fences where it has
//     them, table rows with their header's number of cells, and on every
//     line outside a fence the same markup characters (unescaped, outside
//     code spans) as the benign line: a fuzzed string adds no '<', '|',
//     '[', '*' or code span;
//   - JSON and in-toto: valid JSON with every character that does not print
//     escaped; for valid UTF-8 the document decodes to the Verification;
//   - every renderer gives the same bytes twice, and none panics.
func FuzzVerifyReports(f *testing.F) {
	long := strings.Repeat("é<script>`|*\x1b[31m", 300)
	seeds := []string{
		"",
		"plain.tar.gz",
		hostileArtifact,
		"\x1b[31mred\x1b[0m",
		"notes\x1b]0;pwned\x07.txt",
		"a\rREPRODUCIBLE: 3 artifacts identical",
		"\nVerdict: reproducible",
		"\nREPRODUCIBLE: all artifacts identical bit for bit\n",
		"<script>alert(1)</script>",
		"</td><td>",
		"&amp;",
		"| x |",
		"`",
		"``code``",
		"**",
		"[link](javascript:x)",
		"<details>",
		"</details>\n\n# owned",
		"\u202eexe.txt",
		"\xff\xfe",
		"\x00",
		"a\tb",
		`"quoted"`,
		`\|`,
		"\\`",
		"```\n````",
		"\u2028\u2029\x85\x7f\ufeff",
		"12802 entries",
		strings.Repeat("x", 100),
		long,
	}
	for _, s := range seeds {
		f.Add(s, s, s, s, s)
	}
	f.Add("lix-2.91.1.tar.gz", "build/nimbus_beacon_node", "content differs", "the image was not pinned", "error: could not compile\n")
	f.Add("x", "", "1000/1000", "", "\n\n\t|\n")
	f.Add(long, "usr/"+long, "<b>"+long, "[x]("+long+")", long+"\n"+long)

	f.Fuzz(func(t *testing.T, name, path, detail, warning, lines string) {
		s := fuzzStrings{name: name, path: path, detail: detail, warning: warning, lines: lines}
		cases, benign := fuzzCases(s), fuzzCases(s.benign())
		for i, c := range cases {
			out := map[string][]byte{}
			for _, x := range verifyRenderers {
				got := fuzzRender(t, x.render, c.v)
				if again := fuzzRender(t, x.render, c.v); !bytes.Equal(got, again) {
					t.Fatalf("case %d: two %s renders differ:\n%s", i, x.ext, firstDifference(again, got))
				}
				out[x.ext] = got
			}
			b := benign[i].v
			headers := map[string]bool{}
			if c.artifact >= 0 {
				a := c.v.Artifacts[c.artifact]
				headers[displayPath(a.Name)+": "+statusName(a.Status)] = true
			}
			checkFuzzText(t, out["txt"], fuzzRenderExt(t, "txt", b), headers)
			if plain := sgr.ReplaceAll(out["color.txt"], nil); !bytes.Equal(plain, out["txt"]) {
				t.Errorf("case %d: the coloured report is not the plain one with colours:\n%s", i, firstDifference(plain, out["txt"]))
			}
			checkFuzzMarkdown(t, out["md"], fuzzRenderExt(t, "md", b))
			checkFuzzHTML(t, out["html"], fuzzRenderExt(t, "html", b))
			checkFuzzJSON(t, out["json"], c, s)
			checkFuzzAttestation(t, out["intoto.jsonl"], fuzzRenderExt(t, "intoto.jsonl", b))
			if t.Failed() {
				t.Fatalf("case %d (%s) fails", i, c.v.Verdict)
			}
		}
	})
}

func fuzzRender(t *testing.T, render func(*bytes.Buffer, *Verification) error, v *Verification) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := render(&b, v); err != nil {
		t.Fatalf("rendering: %v", err)
	}
	return b.Bytes()
}

func fuzzRenderExt(t *testing.T, ext string, v *Verification) []byte {
	t.Helper()
	for _, x := range verifyRenderers {
		if x.ext == ext {
			return fuzzRender(t, x.render, v)
		}
	}
	t.Fatalf("no verify renderer for %q", ext)
	return nil
}

// checkFuzzText checks a text report against its benign render. headers
// are the lines allowed to start with a fuzzed string: an artifact's
// heading is its name (shown escaped) and its status.
func checkFuzzText(t *testing.T, out, benign []byte, headers map[string]bool) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("text: not valid UTF-8")
	}
	lines, blines := strings.Split(string(out), "\n"), strings.Split(string(benign), "\n")
	if len(lines) != len(blines) {
		t.Errorf("text: %d lines, the benign render has %d", len(lines), len(blines))
		return
	}
	for i := 0; i < 2; i++ {
		if lines[i] != blines[i] {
			t.Errorf("text: verdict line %d is %q, the benign render's %q", i+1, lines[i], blines[i])
		}
	}
	for i, l := range lines {
		checkPrinting(t, "text", i, l, blines[i])
		if l != blines[i] && !strings.HasPrefix(l, " ") && !headers[l] {
			t.Errorf("text: line %d, made from a fuzzed string, starts at the margin: %q (benign %q)", i+1, l, blines[i])
		}
	}
}

// checkPrinting checks that a line holds nothing but printing characters
// and spaces, and tabs only where its benign line has them: a line of a
// build log or of a diff keeps its tabs, nothing else has any.
func checkPrinting(t *testing.T, format string, i int, line, benign string) {
	t.Helper()
	if n, m := strings.Count(line, "\t"), strings.Count(benign, "\t"); n != m {
		t.Errorf("%s: line %d holds %d tabs, the benign render %d: %q", format, i+1, n, m, line)
	}
	for _, r := range line {
		if !(r == ' ' || r == '\t' || strconv.IsPrint(r)) {
			t.Errorf("%s: line %d holds %q: %q", format, i+1, r, line)
			return
		}
	}
}

// checkFuzzMarkdown checks a Markdown report against its benign render.
func checkFuzzMarkdown(t *testing.T, out, benign []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("markdown: not valid UTF-8")
	}
	lines, blines := strings.Split(string(out), "\n"), strings.Split(string(benign), "\n")
	if len(lines) != len(blines) {
		t.Errorf("markdown: %d lines, the benign render has %d", len(lines), len(blines))
		return
	}
	checkMarkdownTables(t, lines)
	checkMarkdownFences(t, lines)
	fenced, bfenced := fencedLines(lines), fencedLines(blines)
	for i, l := range lines {
		if fenced[i] != bfenced[i] {
			t.Errorf("markdown: line %d is in a fence in one render only: %q (benign %q)", i+1, l, blines[i])
			continue
		}
		checkPrinting(t, "markdown", i, l, blines[i])
		if fenced[i] {
			continue
		}
		if got, want := mdMarkup(l), mdMarkup(blines[i]); got != want {
			t.Errorf("markdown: line %d has markup %q, the benign render %q:\n%s\n%s", i+1, got, want, l, blines[i])
		}
	}
}

// fencedLines says which lines are in a fenced code block, its fences
// included, as checkMarkdownFences reads them.
func fencedLines(lines []string) []bool {
	in := make([]bool, len(lines))
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") {
				fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
				in[i] = true
			}
			continue
		}
		in[i] = true
		if strings.TrimRight(trimmed, " ") == fence {
			fence = ""
		}
	}
	return in
}

// mdMarkup is what of a Markdown line can make markup, in order: every
// character that starts or ends inline markup, HTML or a table cell, not
// backslash-escaped and outside code spans, and one '`' per code span (or
// unmatched run of backticks). A <details><summary> line is an HTML block,
// where only '<' and '>' count.
func mdMarkup(line string) string {
	var b strings.Builder
	if strings.HasPrefix(line, "<details><summary>") {
		for i := 0; i < len(line); i++ {
			if line[i] == '<' || line[i] == '>' {
				b.WriteByte(line[i])
			}
		}
		return b.String()
	}
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", line[i+1]) >= 0:
			i += 2
		case c == '`':
			n := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
			b.WriteByte('`')
			i += n
			if end := closingRun(line, i, n); end >= 0 {
				i = end + n
			}
		case strings.IndexByte("<>[]*_!&~|", c) >= 0:
			b.WriteByte(c)
			i++
		default:
			i++
		}
	}
	return b.String()
}

// closingRun is where the next run of exactly n backticks at or after from
// starts, -1 when there is none: the end of a code span opened by n.
func closingRun(line string, from, n int) int {
	for i := from; i < len(line); {
		if line[i] != '`' {
			i++
			continue
		}
		m := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// checkFuzzHTML checks an HTML report against its benign render.
func checkFuzzHTML(t *testing.T, out, benign []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("html: not valid UTF-8")
	}
	for _, c := range []string{"<", "\n", "\t"} {
		if n, m := strings.Count(string(out), c), strings.Count(string(benign), c); n != m {
			t.Errorf("html: %d %q, the benign render has %d", n, c, m)
		}
	}
	if bytes.Contains(bytes.ToLower(out), []byte("<script")) {
		t.Errorf("html: holds a script")
	}
	for _, r := range string(out) {
		if !(r == ' ' || r == '\n' || r == '\t' || strconv.IsPrint(r)) {
			t.Errorf("html: holds %q", r)
			break
		}
	}
}

// checkFuzzJSON checks the JSON report of a fuzz case: valid, escaped, and
// for valid UTF-8 the Verification again, the fuzzed name included.
func checkFuzzJSON(t *testing.T, out []byte, c fuzzCase, s fuzzStrings) {
	t.Helper()
	if !json.Valid(out) {
		t.Errorf("json: not valid JSON")
		return
	}
	checkJSONEscaped(t, "json", out)
	var got Verification
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Errorf("json: decoding: %v", err)
		return
	}
	if !s.validUTF8() {
		return
	}
	if c.artifact >= 0 && got.Artifacts[c.artifact].Name != s.name {
		t.Errorf("json: the artifact name decodes to %q, want %q", got.Artifacts[c.artifact].Name, s.name)
	}
	if want := jsonVerification(c.v); !reflect.DeepEqual(&got, want) {
		t.Errorf("json: the document does not decode to the Verification")
	}
}

// checkFuzzAttestation checks an attestation bundle: one valid, escaped
// statement per line, as many as the benign render has.
func checkFuzzAttestation(t *testing.T, out, benign []byte) {
	t.Helper()
	if n, m := bytes.Count(out, []byte("\n")), bytes.Count(benign, []byte("\n")); n != m {
		t.Errorf("attestation: %d statements, the benign render has %d", n, m)
	}
	for i, l := range bytes.SplitAfter(out, []byte("\n")) {
		if len(l) > 0 && (l[len(l)-1] != '\n' || !json.Valid(l)) {
			t.Errorf("attestation: statement %d is not valid JSON", i+1)
		}
	}
	checkJSONEscaped(t, "attestation", out)
}

// checkJSONEscaped: a JSON document holds only printing characters and
// newlines, and no '<', '>' or '&' (encoding/json escapes them).
func checkJSONEscaped(t *testing.T, format string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("%s: not valid UTF-8", format)
	}
	if i := bytes.IndexAny(out, "<>&"); i >= 0 {
		t.Errorf("%s: holds %q unescaped", format, out[i])
	}
	for _, r := range string(out) {
		if !(r == ' ' || r == '\n' || strconv.IsPrint(r)) {
			t.Errorf("%s: holds %q", format, r)
			break
		}
	}
}
