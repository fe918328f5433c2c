package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

// TestVerifyMarkdownStructure checks what a Markdown reader relies on, for
// every fixture: the verdict heading first, table rows with as many cells
// as their header, fences no line inside can close, <summary> lines with
// no markup but ours, one <details> block per artifact with details, and
// no control character anywhere.
func TestVerifyMarkdownStructure(t *testing.T) {
	for _, f := range verifyFixtures {
		t.Run(f.name, func(t *testing.T) {
			v := f.v()
			md := string(renderVerify(t, "md", v))
			lines := strings.Split(md, "\n")
			if want := "## reproof verify: " + verdictLabel(v.Verdict); lines[0] != want {
				t.Errorf("first line %q, want %q", lines[0], want)
			}
			if strings.ContainsAny(md, "\x1b\x07\r\u202e") {
				t.Errorf("the Markdown holds a control character")
			}
			checkMarkdownTables(t, lines)
			checkMarkdownFences(t, lines)

			details := 0
			for _, a := range v.Artifacts {
				if hasDetails(a) {
					details++
				}
			}
			if n := strings.Count(md, "<details><summary>"); n != details || strings.Count(md, "</details>") != details {
				t.Errorf("%d <details> blocks, want %d", n, details)
			}
			ours := regexp.MustCompile(`</?(details|summary|code|b)>`)
			for _, l := range lines {
				if strings.HasPrefix(l, "<details><summary>") {
					if rest := ours.ReplaceAllString(l, ""); strings.ContainsAny(rest, "<>") {
						t.Errorf("a summary line holds markup besides ours: %q", l)
					}
				}
			}
		})
	}
}

// checkMarkdownTables checks each table row has its header's number of
// cells: a pipe from a name must be escaped.
func checkMarkdownTables(t *testing.T, lines []string) {
	t.Helper()
	unescaped := regexp.MustCompile(`(^|[^\\])\|`)
	cells := -1
	for _, l := range lines {
		if !strings.HasPrefix(l, "|") {
			cells = -1
			continue
		}
		// Count twice to catch adjacent pipes the regexp's overlap skips.
		n := len(unescaped.FindAllStringIndex(l, -1)) + strings.Count(l, "||")
		if cells < 0 {
			cells = n
		} else if n != cells {
			t.Errorf("table row with %d cell borders, want %d: %q", n, cells, l)
		}
	}
}

// checkMarkdownFences checks no line inside a fenced block could close it.
func checkMarkdownFences(t *testing.T, lines []string) {
	t.Helper()
	fence := ""
	for _, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if fence == "" {
			if strings.HasPrefix(trimmed, "```") {
				fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			}
			continue
		}
		if strings.TrimRight(trimmed, " ") == fence {
			fence = ""
			continue
		}
		if strings.HasPrefix(trimmed, fence) {
			t.Errorf("a line inside a %d-backtick fence starts with the fence: %q", len(fence), l)
		}
	}
	if fence != "" {
		t.Errorf("a fenced block is never closed")
	}
}

// TestVerifyMarkdownHostile: the hostile artifact name only ever appears
// inside a code span (Markdown) or HTML-escaped (<summary>).
func TestVerifyMarkdownHostile(t *testing.T) {
	md := string(renderVerify(t, "md", notReproducibleVerification()))
	span := mdCode(displayPath(hostileArtifact))
	if n, m := strings.Count(md, "<img"), strings.Count(md, span); n == 0 || n != m {
		t.Errorf("%d raw <img, %d in code spans: want them all in code spans", n, m)
	}
	if !strings.Contains(md, "<code>&#34;build/\\x1b[31mevil\\x1b[0m&lt;img src=x onerror=alert(1)&gt;\\u202e|**bold**```.txt&#34;</code>") {
		t.Errorf("the <summary> does not show the name HTML-escaped:\n%s", md)
	}
	if !strings.Contains(md, `- a release asset name holds control characters: "notes\\x1b\]0;pwned\\a.txt"`) {
		t.Errorf("the warning is not escaped as prose")
	}
	bf := string(renderVerify(t, "md", buildFailedVerification()))
	if !strings.Contains(bf, "\n````text\n") {
		t.Errorf("the build log's fence is not longer than the log's run of three backticks:\n%s", bf)
	}
}

// List items whose text starts like a block (a list, a rule, a code
// block) stay plain items.
func TestVerifyMarkdownItemsStayItems(t *testing.T) {
	v := notReproducibleVerification()
	v.Warnings = []string{"1. a fake first point", "- nested", "---", "    indented code", "+ plus", "=== ", "2) two", "12 plain"}
	md := string(renderVerify(t, "md", v))
	for _, want := range []string{"\n- 1\\. a fake first point\n", "\n- \\- nested\n", "\n- \\---\n", "\n- indented code\n",
		"\n- \\+ plus\n", "\n- \\=== \n", "\n- 2\\) two\n", "\n- 12 plain\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("no item %q in\n%s", want, md)
		}
	}
}

// TestVerifyMarkdownBudget: a report with many large diffs stays within a
// pull request comment, naming the diffs it leaves out.
func TestVerifyMarkdownBudget(t *testing.T) {
	v := notReproducibleVerification()
	a := &v.Artifacts[1]
	for i := 0; i < 200; i++ {
		var u strings.Builder
		fmt.Fprintf(&u, "@@ -1,40 +1,40 @@\n")
		for j := 0; j < 20; j++ {
			fmt.Fprintf(&u, "-const generated_%03d_%02d = \"ci-%d.internal\"\n+const generated_%03d_%02d = \"localhost\"\n", i, j, i, i, j)
		}
		a.Differences = append(a.Differences, compare.Difference{
			Path: fmt.Sprintf("build/gen/file_%03d.nim", i), Kind: compare.KindContent, Detail: "content differs",
			Diff: &compare.ContentDiff{Format: "text", Unified: u.String()},
		})
	}
	var b bytes.Buffer
	if err := VerifyMarkdown(&b, v); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 65536 {
		t.Errorf("the report is %d bytes, more than a pull request comment holds", b.Len())
	}
	for _, want := range []string{
		"diffs left out to keep this summary short: the HTML and JSON reports have them.",
		"* `build/gen/file_099.nim`: content differs\n* … and 102 more (the HTML and JSON reports list every one)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
