package archive

import (
	"errors"
	"fmt"
)

// ErrLimit is wrapped by every error caused by reaching one of the Limits.
var ErrLimit = errors.New("limit reached")

// ErrNotArchive is returned when an operation needs an archive or a
// compressed stream and was given plain bytes.
var ErrNotArchive = errors.New("not an archive or compressed stream")

// ErrUnsupported is wrapped when a format can be read but not written, or
// uses a feature the package does not implement.
var ErrUnsupported = errors.New("unsupported")

// FormatError reports malformed or hostile input: where it was found and
// what was wrong with it.
type FormatError struct {
	Format string // "tar", "zip", "gzip", ...
	Entry  string // the entry being read, if known
	Offset int64  // byte offset in the container stream, -1 if unknown
	Err    error
}

func (e *FormatError) Error() string {
	msg := e.Format
	if e.Entry != "" {
		msg += fmt.Sprintf(" entry %q", e.Entry)
	}
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at offset %d", e.Offset)
	}
	return msg + ": " + e.Err.Error()
}

func (e *FormatError) Unwrap() error { return e.Err }

// Limits bound what a Reader accepts, because archives come from strangers.
// A zero field takes its default.
type Limits struct {
	// MaxEntries caps the number of entries in one archive.
	MaxEntries int64
	// MaxBytes caps the decompressed bytes read from one stream (headers
	// and contents together).
	MaxBytes int64
}

// Default limits: generous for real releases (a Linux rootfs has ~100k
// entries and a few GiB), small enough that a bomb is stopped early.
const (
	DefaultMaxEntries = 1_000_000
	DefaultMaxBytes   = 64 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}
