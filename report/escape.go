package report

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// visible returns s with every character a terminal or a reader could
// mistake for something else shown escaped: control characters (C0, DEL,
// C1), invalid UTF-8 bytes and other non-printing runes such as the bidi
// overrides. A tab is kept when keepTab is set (diff lines). Backslashes
// are left alone, so a visible string is for display, not for parsing.
func visible(s string, keepTab bool) string {
	if isVisible(s, keepTab) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case r == '\t' && keepTab:
			b.WriteByte('\t')
		case r == ' ' || strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			// QuoteRune gives `'\x1b'`, `'\n'`, `'\u202e'`: drop the quotes.
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// Visible is s as a terminal may show it: every control character (tabs
// kept), invalid UTF-8 byte and other non-printing rune, the bidi
// overrides among them, escaped. Messages that quote strangers' text go
// through it.
func Visible(s string) string { return visible(s, true) }

func isVisible(s string, keepTab bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if !(r == ' ' || (r == '\t' && keepTab) || strconv.IsPrint(r)) {
			return false
		}
		i += size
	}
	return true
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// displayPath returns an entry name as it is shown to a person: as is when
// it is plain printable text, quoted Go-style (strconv.Quote) when it holds
// anything else, so "\x1b[31m" is shown, never interpreted. A name that
// itself starts with a double quote is quoted too, so a plain name cannot
// pass for an escaped one. The empty path is the compared input itself.
func displayPath(p string) string {
	if p == "" {
		return "(top level)"
	}
	if isVisible(p, false) && !strings.HasPrefix(p, `"`) {
		return p
	}
	return strconv.Quote(p)
}

// formatInt formats n with thousands separators: 12802 -> "12,802".
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// groupLeadingNumber puts thousands separators into a number that starts a
// detail string: "12802 entries in a different order" -> "12,802 entries
// in a different order". Anything else is returned unchanged.
func groupLeadingNumber(s string) string {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end <= 3 || end > 18 || s[0] == '0' || (end < len(s) && s[end] != ' ') {
		return s // short, zero-padded ("0644"), huge, or not a count
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return s
	}
	return formatInt(n) + s[end:]
}

// plural returns "1 entry" or "12,802 entries".
func plural(n int, one, many string) string {
	return plural64(int64(n), one, many)
}

func plural64(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatInt(n) + " " + many
}

// diffLines splits a rendered diff into its lines, without the final empty
// line a trailing newline leaves.
func diffLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// lineClass says how a diff line is shown: "hdr" for the ---/+++ header,
// "hunk" for @@, "del", "add", or "ctx".
func lineClass(line string) string {
	switch {
	case strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "+++ "):
		return "hdr"
	case strings.HasPrefix(line, "@@"):
		return "hunk"
	case strings.HasPrefix(line, "-"):
		return "del"
	case strings.HasPrefix(line, "+"):
		return "add"
	}
	return "ctx"
}
