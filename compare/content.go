package compare

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// contentDiff compares two plain contents known to differ: as ELF when
// both are ELF objects, as text when both are text, else as binary.
func (c *comparer) contentDiff(a, b string) (Difference, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return Difference{}, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return Difference{}, err
	}
	d := Difference{Kind: KindContent}
	if sa.Size() != sb.Size() {
		d.Detail = fmt.Sprintf("%d → %d bytes", sa.Size(), sb.Size())
	} else {
		d.Detail = fmt.Sprintf("%d bytes, content differs", sa.Size())
	}
	ha, err := readHead(a, 4096)
	if err != nil {
		return d, err
	}
	hb, err := readHead(b, 4096)
	if err != nil {
		return d, err
	}
	if isELF(ha) && isELF(hb) {
		diff, err := c.elfDiff(a, b)
		if err == nil {
			d.Diff = diff
			return d, nil
		}
		// Not parseable as ELF after all: fall through to bytes.
	}
	small := sa.Size() <= c.opts.MaxTextSize && sb.Size() <= c.opts.MaxTextSize
	if small && looksText(ha) && looksText(hb) {
		ta, err := os.ReadFile(a)
		if err != nil {
			return d, err
		}
		tb, err := os.ReadFile(b)
		if err != nil {
			return d, err
		}
		if looksText(ta) && looksText(tb) {
			if d.Diff = c.textDiff(string(ta), string(tb)); d.Diff != nil {
				return d, nil
			}
			// Too different to diff line by line in bounded time.
			diff, err := c.binaryDiff(a, b, 0, -1)
			if err != nil {
				return d, err
			}
			diff.Unified = "[texts too different to diff line by line; shown as bytes]\n" + diff.Unified
			d.Diff = diff
			return d, nil
		}
	}
	diff, err := c.binaryDiff(a, b, 0, -1)
	if err != nil {
		return d, err
	}
	d.Diff = diff
	return d, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return buf[:m], err
}

// looksText reports whether b is text: valid UTF-8 (a rune cut at the end
// of a head is allowed) without NUL bytes.
func looksText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

func isELF(head []byte) bool { return bytes.HasPrefix(head, []byte("\x7fELF")) }
