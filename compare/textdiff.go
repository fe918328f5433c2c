package compare

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// lineOp is one line of a line-level diff.
type lineOp struct {
	op   diffmatchpatch.Operation
	text string
}

// textDiff renders a unified diff of two texts: line mode of go-diff with
// no time limit (the result never depends on machine load), our own @@
// hunks with ContextLines of context, lines and hunks capped.
func (c *comparer) textDiff(a, b string) *ContentDiff {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ops []lineOp
	for _, d := range diffs {
		text := d.Text
		for text != "" {
			i := strings.IndexByte(text, '\n')
			line := text
			if i >= 0 {
				line, text = text[:i], text[i+1:]
			} else {
				text = ""
				line += "\n\\ No newline at end of file"
			}
			ops = append(ops, lineOp{d.Type, line})
		}
	}
	out, omitted := c.hunks(ops)
	return &ContentDiff{Format: "text", Unified: out, Omitted: omitted}
}

// hunks writes ops as unified-diff hunks.
func (c *comparer) hunks(ops []lineOp) (string, int) {
	ctx := c.opts.ContextLines
	var b strings.Builder
	written, omitted := 0, 0
	i := 0
	lineA, lineB := 1, 1 // line numbers at ops[i]
	advance := func(op lineOp) {
		if op.op != diffmatchpatch.DiffInsert {
			lineA++
		}
		if op.op != diffmatchpatch.DiffDelete {
			lineB++
		}
	}
	for i < len(ops) {
		if ops[i].op == diffmatchpatch.DiffEqual {
			advance(ops[i])
			i++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after the
		// last change that is within 2*ctx equal lines of the previous one.
		start := i
		for k := 0; k < ctx && start > 0 && ops[start-1].op == diffmatchpatch.DiffEqual; k++ {
			start--
		}
		end := i
		for end < len(ops) {
			if ops[end].op != diffmatchpatch.DiffEqual {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].op == diffmatchpatch.DiffEqual {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, run)
				break
			}
			end = run
		}
		startA, startB := lineA-(i-start), lineB-(i-start)
		countA, countB := 0, 0
		for _, op := range ops[start:end] {
			if op.op != diffmatchpatch.DiffInsert {
				countA++
			}
			if op.op != diffmatchpatch.DiffDelete {
				countB++
			}
		}
		if written >= c.opts.MaxDiffLines {
			omitted += end - start
		} else {
			fmt.Fprintf(&b, "@@ -%s +%s @@\n", hunkRange(startA, countA), hunkRange(startB, countB))
			for _, op := range ops[start:end] {
				if written >= c.opts.MaxDiffLines {
					omitted++
					continue
				}
				b.WriteString(prefixOf(op.op))
				b.WriteString(c.capLine(op.text))
				b.WriteByte('\n')
				written++
			}
		}
		for _, op := range ops[i:end] {
			advance(op)
		}
		i = end
	}
	if omitted > 0 {
		fmt.Fprintf(&b, "[%d lines omitted]\n", omitted)
	}
	return b.String(), omitted
}

func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}

func prefixOf(op diffmatchpatch.Operation) string {
	switch op {
	case diffmatchpatch.DiffInsert:
		return "+"
	case diffmatchpatch.DiffDelete:
		return "-"
	}
	return " "
}

// capLine shortens an overlong line, saying how much was cut.
func (c *comparer) capLine(s string) string {
	if len(s) <= c.opts.MaxLineLength {
		return s
	}
	cut := c.opts.MaxLineLength
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… [%d more bytes]", s[:cut], len(s)-cut)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
