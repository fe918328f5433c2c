package spec

import "fmt"

// Bounds on how deeply a spec file nests. A spec needs three levels of
// brackets ([[member]] holding members = [...]) and one dot in a key
// (build.timeout = ... at the top level); these bounds are far above that.
const (
	maxNesting  = 32 // open [ and { at once
	maxKeyParts = 32 // dots outside strings and comments on one line
)

// checkNesting bounds the nesting of brackets and dotted keys before the
// TOML library sees the file: the library keeps the full path of every key,
// so its time and memory grow with the square of the nesting depth (a 32
// KiB line of nested inline tables takes it seconds; a megabyte, gigabytes).
//
// It is not a TOML parser. It skips strings and comments the way TOML
// delimits them and counts brackets and dots outside them; what the file
// means is the library's business. It returns the line where a bound is
// passed, or 0.
func checkNesting(data []byte) (int, error) {
	const (
		normal = iota
		comment
		basic     // "..."
		literal   // '...'
		mlBasic   // """..."""
		mlLiteral // '''...'''
	)
	state, depth, dots, line := normal, 0, 0, 1
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c == '\n' {
			line++
			dots = 0
			if state == comment || state == basic || state == literal {
				state = normal // a newline ends them (or makes the file invalid)
			}
			continue
		}
		switch state {
		case comment:
		case basic:
			switch {
			case c == '\\' && i+1 < len(data) && data[i+1] != '\n':
				i++ // the escaped character
			case c == '"':
				state = normal
			}
		case literal:
			if c == '\'' {
				state = normal
			}
		case mlBasic:
			switch {
			case c == '\\':
				if i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
			case c == '"' && quotes(data[i:], '"') >= 3:
				i += min(quotes(data[i:], '"'), 5) - 1 // one or two quotes may end the content
				state = normal
			}
		case mlLiteral:
			if c == '\'' && quotes(data[i:], '\'') >= 3 {
				i += min(quotes(data[i:], '\''), 5) - 1
				state = normal
			}
		default:
			switch c {
			case '#':
				state = comment
			case '"':
				if quotes(data[i:], '"') >= 3 {
					state, i = mlBasic, i+2
				} else {
					state = basic
				}
			case '\'':
				if quotes(data[i:], '\'') >= 3 {
					state, i = mlLiteral, i+2
				} else {
					state = literal
				}
			case '[', '{':
				if depth++; depth > maxNesting {
					return line, fmt.Errorf("brackets nested more than %d deep", maxNesting)
				}
			case ']', '}':
				depth = max(depth-1, 0)
			case '.':
				if dots++; dots > maxKeyParts {
					return line, fmt.Errorf("more than %d dots outside strings on one line (keys nested too deep)", maxKeyParts)
				}
			}
		}
	}
	return 0, nil
}

// quotes counts the quote characters q at the start of b.
func quotes(b []byte, q byte) int {
	n := 0
	for n < len(b) && b[n] == q {
		n++
	}
	return n
}
