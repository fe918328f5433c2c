package compare

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Hexdump windows: the differing byte ranges of two contents, each shown
// on both sides with some bytes of context, 16 bytes a line.
const (
	hexWidth      = 16
	hexContext    = 32 // bytes shown around a differing range
	hexMergeGap   = 64 // ranges closer than this are shown as one
	maxHexWindows = 8
	maxHexWindow  = 512 // bytes shown of one window
)

type byteRange struct{ start, end int64 } // [start, end)

// binaryDiff shows the differing regions of a and b, from offset off for
// length n bytes (n < 0: to the end), as hexdump windows.
func (c *comparer) binaryDiff(a, b string, off, n int64) (*ContentDiff, error) {
	fa, err := os.Open(a)
	if err != nil {
		return nil, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return nil, err
	}
	defer fb.Close()
	ra, rb := io.NewSectionReader(fa, off, maxLen(n)), io.NewSectionReader(fb, off, maxLen(n))
	ranges, total, err := differingRanges(ra, rb)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	for i, r := range ranges {
		if i == maxHexWindows {
			break
		}
		lo := max(0, r.start-hexContext) &^ (hexWidth - 1)
		hi := min(r.end+hexContext, lo+maxHexWindow)
		fmt.Fprintf(&out, "@@ offset 0x%x, %s @@\n", off+r.start, plural(r.end-r.start, "byte differs", "bytes differ"))
		writeHex(&out, "-", ra, lo, hi, off)
		writeHex(&out, "+", rb, lo, hi, off)
		if cut := r.end + hexContext - hi; cut > 0 {
			fmt.Fprintf(&out, "[%s of this region not shown]\n", plural(cut, "byte", "bytes"))
		}
	}
	omitted := 0
	if total > maxHexWindows {
		omitted = total - maxHexWindows
		fmt.Fprintf(&out, "[%d more differing regions omitted]\n", omitted)
	}
	return &ContentDiff{Format: "binary", Unified: out.String(), Omitted: omitted}, nil
}

func maxLen(n int64) int64 {
	if n < 0 {
		return 1<<63 - 1
	}
	return n
}

// differingRanges streams both readers and returns the first
// maxHexWindows differing ranges (merged when close) and how many there
// are in all. A length difference is a range at the end.
func differingRanges(a, b io.Reader) ([]byteRange, int, error) {
	ba, bb := bufio.NewReaderSize(a, 64<<10), bufio.NewReaderSize(b, 64<<10)
	var ranges []byteRange
	total := 0
	var cur *byteRange
	flush := func() {
		if cur != nil {
			total++
			if len(ranges) < maxHexWindows {
				ranges = append(ranges, *cur)
			}
			cur = nil
		}
	}
	for pos := int64(0); ; pos++ {
		x, errA := ba.ReadByte()
		y, errB := bb.ReadByte()
		if errA != nil && errA != io.EOF {
			return nil, 0, errA
		}
		if errB != nil && errB != io.EOF {
			return nil, 0, errB
		}
		if errA == io.EOF && errB == io.EOF {
			break
		}
		if errA == nil && errB == nil && x == y {
			if cur != nil && pos-cur.end >= hexMergeGap {
				flush()
			}
			continue
		}
		if cur == nil {
			cur = &byteRange{start: pos}
		}
		cur.end = pos + 1
		if errA == io.EOF || errB == io.EOF {
			// One side ended: the rest of the other is one range.
			rest := ba
			if errA == io.EOF {
				rest = bb
			}
			n, err := io.Copy(io.Discard, rest)
			if err != nil {
				return nil, 0, err
			}
			cur.end += n
			break
		}
	}
	flush()
	return ranges, total, nil
}

// writeHex writes the bytes [lo, hi) of r as hexdump lines with a sign.
func writeHex(w *strings.Builder, sign string, r io.ReaderAt, lo, hi, base int64) {
	buf := make([]byte, hi-lo)
	n, _ := r.ReadAt(buf, lo)
	buf = buf[:n]
	for i := 0; i < len(buf); i += hexWidth {
		line := buf[i:min(i+hexWidth, len(buf))]
		fmt.Fprintf(w, "%s%08x: ", sign, base+lo+int64(i))
		for j := 0; j < hexWidth; j++ {
			if j < len(line) {
				fmt.Fprintf(w, "%02x", line[j])
			} else {
				w.WriteString("  ")
			}
			if j%2 == 1 {
				w.WriteByte(' ')
			}
		}
		w.WriteString(" ")
		for _, ch := range line {
			if ch < 0x20 || ch > 0x7e {
				ch = '.'
			}
			w.WriteByte(ch)
		}
		w.WriteByte('\n')
	}
	if n == 0 {
		fmt.Fprintf(w, "%s%08x: (end of data)\n", sign, base+lo)
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
