package spec

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors for errors.Is. The errors this package returns are
// *Error values that wrap them where they apply.
var (
	// ErrMissing: a field the command needs is not set, in the file or by
	// a flag. Validate returns it; Parse never does (flags may still set
	// the field).
	ErrMissing = errors.New("missing")
	// ErrTooLarge: the spec file is larger than MaxFileSize.
	ErrTooLarge = errors.New("spec file too large")
)

// Error is a problem with a spec, on one line:
//
//	reproof.toml:12: build.timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)
//	reproof.toml: member #2: artifact: invalid glob "[a-"
//	--timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)
type Error struct {
	File string // the spec file's name as given; "" for flags
	Line int    // 1-based; 0 when unknown (the TOML library does not say, or the value came from a flag)
	Key  string // "build.timeout", "member #2: artifact", "--timeout"; "" for the whole file
	Err  error  // what is wrong
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(oneLine(e.Err.Error()))
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// oneLine folds a message onto one line: errors are one line, whatever the
// TOML library or a hostile file put in them.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, unicode.IsControl), " ")
}

// maxQuoted caps how much of a value an error message repeats.
const maxQuoted = 80

// quote is %q for values from the user, shortened: a message quotes what
// was wrong, not the whole megabyte of it.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}
