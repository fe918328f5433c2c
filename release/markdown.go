package release

import (
	"regexp"
	"strings"
)

var (
	mdHeading = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdFence   = regexp.MustCompile("^ {0,3}(```+|~~~+)")
)

// looksMarkdown reports whether data is a Markdown document with fenced
// blocks: a release body rather than a plain manifest.
func looksMarkdown(data []byte) bool {
	for _, line := range splitLines(data) {
		if mdFence.MatchString(line) {
			return true
		}
	}
	return false
}

// parseMarkdown finds the checksum lines of a release body. They live in
// fenced blocks; a block with at least one checksum line is a manifest
// block, where every other non-blank line must be a "# heading" (nimbus-eth2
// groups its SHA-512 lines by "# Linux AMD64") or it is an error. Blocks
// without checksum lines (shell examples) are ignored. Each checksum's
// section is the heading inside its block, else the Markdown heading above
// the block: the same name under two headings is two checksums.
func parseMarkdown(source string, data []byte, firstLine int) (*Manifest, error) {
	m := &Manifest{Source: source, Layout: LayoutMarkdown}
	lines := splitLines(data)
	heading := ""
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		if h := mdHeading.FindStringSubmatch(line); h != nil {
			heading = h[2]
			continue
		}
		f := mdFence.FindStringSubmatch(line)
		if f == nil {
			continue
		}
		fence, opened := f[1], firstLine+i
		var block []Checksum
		var bad []*ParseError
		section := heading
		closed := false
		for i++; i < len(lines); i++ {
			inner := strings.TrimRight(lines[i], "\r")
			if strings.HasPrefix(strings.TrimLeft(inner, " "), fence[:3]) && strings.Trim(strings.TrimSpace(inner), fence[:1]) == "" {
				closed = true
				break
			}
			n := firstLine + i
			text := strings.TrimSpace(inner)
			switch {
			case text == "":
			case strings.HasPrefix(text, "#"):
				section = strings.TrimSpace(strings.TrimLeft(text, "#"))
			default:
				c, _, err := parseChecksumLine(text)
				if err != nil {
					bad = append(bad, &ParseError{Source: source, Line: n, Msg: err.Error()})
					continue
				}
				c.Source, c.Line, c.Section = source, n, section
				block = append(block, c)
			}
		}
		if !closed {
			return nil, &ParseError{Source: source, Line: opened, Msg: "fenced block opened here is never closed"}
		}
		if len(block) > 0 && len(bad) > 0 {
			return nil, bad[0]
		}
		m.Checksums = append(m.Checksums, block...)
	}
	if len(m.Checksums) == 0 {
		return nil, &ParseError{Source: source, Msg: "no checksum lines in any fenced block"}
	}
	return m, nil
}
