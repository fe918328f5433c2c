package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

func TestVisible(t *testing.T) {
	tests := []struct {
		in      string
		keepTab bool
		want    string
	}{
		{"plain/path.txt", false, "plain/path.txt"},
		{"→ é 漢字 and spaces", false, "→ é 漢字 and spaces"},
		{"\x1b[31mred\x1b[0m", false, `\x1b[31mred\x1b[0m`},
		{"title \x1b]0;pwned\x07", false, `title \x1b]0;pwned\a`},
		{"a\tb", true, "a\tb"},
		{"a\tb", false, `a\tb`},
		{"line\r\nnext", true, `line\r\nnext`},
		{"bidi\u202eevil", false, `bidi\u202eevil`},
		{"c1\u0085\u009b", false, `c1\u0085\u009b`},
		{"del\x7f", false, `del\x7f`},
		{"bad\xff\xfeutf8", false, `bad\xff\xfeutf8`},
		{`back\slash`, false, `back\slash`},
	}
	for _, tt := range tests {
		if got := visible(tt.in, tt.keepTab); got != tt.want {
			t.Errorf("visible(%q, %v) = %q, want %q", tt.in, tt.keepTab, got, tt.want)
		}
	}
}

func TestDisplayPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "(top level)"},
		{"usr/bin/app", "usr/bin/app"},
		{"lib/app.jar!/META-INF/MANIFEST.MF", "lib/app.jar!/META-INF/MANIFEST.MF"},
		{"a\nb", `"a\nb"`},
		{"\x1b[2Jx", `"\x1b[2Jx"`},
		{"\xff", `"\xff"`},
		{`"quoted"`, `"\"quoted\""`},
		{"ok with space", "ok with space"},
	}
	for _, tt := range tests {
		if got := displayPath(tt.in); got != tt.want {
			t.Errorf("displayPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatInt(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12802, "12,802"},
		{123456, "123,456"}, {1234567, "1,234,567"}, {-1234, "-1,234"}, {-999, "-999"},
		{-9223372036854775808, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := formatInt(tt.in); got != tt.want {
			t.Errorf("formatInt(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupLeadingNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"12802 entries in a different order", "12,802 entries in a different order"},
		{"12,802 entries in a different order", "12,802 entries in a different order"},
		{"3 entries in a different order", "3 entries in a different order"},
		{"1000 entries", "1,000 entries"},
		{"0012345 entries", "0012345 entries"},
		{"12802", "12,802"},
		{"0644 → 0755", "0644 → 0755"},
		{"v2 format", "v2 format"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := groupLeadingNumber(tt.in); got != tt.want {
			t.Errorf("groupLeadingNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMarkdownEscaping(t *testing.T) {
	code := []struct{ in, want string }{
		{"a/b", "`a/b`"},
		{"a`b", "``a`b``"},
		{"``x", "``` ``x ```"},
		{"a|b", "`a\\|b`"},
		{"\x1b", "`\\x1b`"},
	}
	for _, tt := range code {
		if got := mdCode(tt.in); got != tt.want {
			t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	text := []struct{ in, want string }{
		{"0644 → 0755", "0644 → 0755"},
		{"<b>evil</b>", `\<b\>evil\</b\>`},
		{"*a* _b_ [c](d) ![e](f) `g` ~h~ #i |j| &amp;", `\*a\* \_b\_ \[c\](d) \!\[e\](f) \` + "`" + `g\` + "`" + ` \~h\~ \#i \|j\| \&amp;`},
	}
	for _, tt := range text {
		if got := mdText(tt.in); got != tt.want {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHostileInput renders a result whose names, values and diff lines
// try to drive a terminal, inject HTML or break out of Markdown: none of
// it may come through as anything but text.
func TestHostileInput(t *testing.T) {
	evil := "\x1b]0;owned\x07\x1b[2J<script>alert(1)</script>\r\u202e\n# heading\n```\n</pre>"
	r := &compare.Result{
		A: compare.Input{Path: "a/" + evil, Kind: "file", Format: "tar"},
		B: compare.Input{Path: "b/" + evil, Kind: "file", Format: "tar"},
		Differences: []compare.Difference{
			{Path: evil, Kind: compare.KindContent, Detail: evil, Diff: &compare.ContentDiff{
				Format: "text", Unified: "@@ -1 +1 @@\n-" + strings.ReplaceAll(evil, "\n", " ") + "\n+````\n+<img src=x onerror=alert(2)>\n",
				Sections: []string{evil}, BuildID: []string{evil, "x"}}},
			{Path: evil, Kind: compare.KindOwner, Detail: evil, Old: evil, New: "0/0 <b>x</b>/root"},
			{Path: evil + "2", Kind: compare.KindMtime, Detail: evil},
			{Path: evil + "3", Kind: compare.KindMissing, Detail: evil},
			{Path: evil + "4", Kind: compare.KindOrder, Detail: evil},
			{Path: evil + "5", Kind: "future-kind", Detail: evil},
		},
		Incomplete: []string{evil},
	}
	terminal := []string{"\x1b]", "\x1b[2J", "\x07", "\r", "\u202e"}
	for _, x := range renderers {
		t.Run(x.ext, func(t *testing.T) {
			out := string(render(t, x.ext, r))
			for _, bad := range terminal {
				if strings.Contains(out, bad) {
					t.Errorf("output contains %q", bad)
				}
			}
			switch x.ext {
			case "html":
				for _, bad := range []string{"<script", "<img", "<b>x", "</pre><"} {
					if strings.Contains(out, bad) {
						t.Errorf("html contains %q", bad)
					}
				}
			case "md":
				// Inside code spans and fences nothing is markup; outside,
				// every < must be escaped.
				prose := outsideCode(out)
				for _, bad := range []string{"<script", "<img", "<b>x", "\n# heading"} {
					if strings.Contains(strings.ReplaceAll(prose, `\<`, ""), bad) {
						t.Errorf("markdown outside code contains %q:\n%s", bad, prose)
					}
				}
				// The diff's own ```` must not close its fence.
				if !strings.Contains(out, "`````diff\n") {
					t.Errorf("markdown fence is not longer than the backticks inside the diff:\n%s", out)
				}
			case "txt", "color.txt":
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "# heading") {
						t.Errorf("a newline in a name started a line of its own: %q", l)
					}
				}
			}
		})
	}
}

// TestNilResult: every renderer refuses a nil Result with an error.
func TestNilResult(t *testing.T) {
	var b bytes.Buffer
	for name, err := range map[string]error{
		"Text": Text(&b, nil, TextOptions{}), "Markdown": Markdown(&b, nil), "HTML": HTML(&b, nil),
		"JSON": JSON(&b, nil), "DiffoscopeJSON": DiffoscopeJSON(&b, nil),
	} {
		if err == nil {
			t.Errorf("%s(nil) = nil error, want one", name)
		}
	}
	if g := Summarize(nil); g != nil {
		t.Errorf("Summarize(nil) = %v, want nil", g)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

var errWrite = bytes.ErrTooLarge

// TestWriteErrors: a writer's error comes back from every renderer.
func TestWriteErrors(t *testing.T) {
	r := realisticResult()
	for name, err := range map[string]error{
		"Text": Text(failingWriter{}, r, TextOptions{}), "Markdown": Markdown(failingWriter{}, r),
		"HTML": HTML(failingWriter{}, r), "JSON": JSON(failingWriter{}, r), "DiffoscopeJSON": DiffoscopeJSON(failingWriter{}, r),
	} {
		if err == nil {
			t.Errorf("%s to a failing writer = nil error, want one", name)
		}
	}
}

// outsideCode returns Markdown with its fenced blocks and code spans
// removed (CommonMark: a fence closes on a run of at least its length, a
// span on a run of exactly its length).
func outsideCode(md string) string {
	var prose strings.Builder
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if n := longestRun(lines[i], '`'); n >= 3 && strings.HasPrefix(lines[i], strings.Repeat("`", n)) {
			for i++; i < len(lines); i++ {
				if strings.HasPrefix(lines[i], strings.Repeat("`", n)) && strings.Trim(lines[i], "`") == "" {
					break
				}
			}
			continue
		}
		l := lines[i]
		for {
			start := strings.IndexByte(l, '`')
			if start < 0 || (start > 0 && l[start-1] == '\\') {
				prose.WriteString(l)
				break
			}
			n := 0
			for start+n < len(l) && l[start+n] == '`' {
				n++
			}
			prose.WriteString(l[:start])
			rest := l[start+n:]
			end := -1
			for j := 0; j < len(rest); {
				if rest[j] != '`' {
					j++
					continue
				}
				k := j
				for k < len(rest) && rest[k] == '`' {
					k++
				}
				if k-j == n {
					end = j
					break
				}
				j = k
			}
			if end < 0 {
				prose.WriteString(l[start:])
				break
			}
			l = rest[end+n:]
		}
		prose.WriteByte('\n')
	}
	return prose.String()
}
