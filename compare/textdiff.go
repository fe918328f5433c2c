package compare

import (
	"fmt"
	"math"
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
// It returns nil when the texts are too different for a line diff within
// maxDiffSteps: the caller shows them as bytes instead.
func (c *comparer) textDiff(a, b string) *ContentDiff {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	if !diffWithin([]rune(ca), []rune(cb), maxDiffSteps) {
		return nil
	}
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

// maxDiffSteps bounds the work of a line diff. go-diff without a time
// limit (which would make reports depend on machine load) takes time in
// the number of lines times the number of differing lines: two 8 MiB
// texts of distinct lines would take hours. The bound is on steps, not
// time, so the same inputs always get the same diff.
var maxDiffSteps = 50_000_000

// diffWithin reports whether Myers' algorithm finds the shortest edit
// script between the line sequences a and b within budget steps (a step
// is one diagonal probed or one equal line followed): go-diff's bisection
// does the same work within a small factor.
func diffWithin(a, b []rune, budget int) bool {
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		return true
	}
	// v[k+dmax] is the furthest x reached on diagonal k. Round d probes
	// d+1 diagonals, so d stays below the budget's square root.
	dmax := min(n+m, int(math.Sqrt(2*float64(budget)))+2)
	v := make([]int, 2*dmax+3)
	steps := 0
	off := dmax + 1
	for d := 0; d <= dmax; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[k-1+off] < v[k+1+off]) {
				x = v[k+1+off]
			} else {
				x = v[k-1+off] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
				steps++
			}
			v[k+off] = x
			if steps++; steps > budget {
				return false
			}
			if x >= n && y >= m {
				return true
			}
		}
	}
	return false
}
