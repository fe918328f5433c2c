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
// A zero field takes its default. Reaching a limit is an error that wraps
// ErrLimit and names the flag that raises it.
type Limits struct {
	// MaxEntries caps the number of entries in one archive.
	MaxEntries int64
	// MaxBytes caps the decompressed bytes read from one stream: headers
	// and contents together, the expanded size of sparse files and of zip
	// entries included, and the dictionary each xz block makes the
	// decoder allocate.
	MaxBytes int64
	// MaxNameLength caps the length of an entry's name and link target.
	MaxNameLength int
	// MaxPaxBytes caps the pax records (extended attributes included)
	// of one entry, in bytes of key and value. archive/tar refuses a pax
	// header larger than 1 MiB whatever this says.
	MaxPaxBytes int
	// MaxMetadata caps the total bytes of names, link targets, owner
	// names and pax records in one archive: what a reader that keeps
	// every entry's metadata (a comparison, the tar-order pass) holds in
	// memory.
	MaxMetadata int64
	// MaxWindow caps the history a compressed stream may make the
	// decoder allocate: the xz (LZMA2) dictionary and the zstd window.
	MaxWindow int64
}

// Default limits: generous for real releases (a Linux rootfs has ~100k
// entries and a few GiB; xz -9 uses a 64 MiB dictionary, zstd --long a
// 128 MiB window), small enough that a bomb is stopped early.
const (
	DefaultMaxEntries    = 1_000_000
	DefaultMaxBytes      = 64 << 30
	DefaultMaxNameLength = 4096
	DefaultMaxPaxBytes   = 1 << 20
	DefaultMaxMetadata   = 256 << 20
	DefaultMaxWindow     = 128 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxNameLength <= 0 {
		l.MaxNameLength = DefaultMaxNameLength
	}
	if l.MaxPaxBytes <= 0 {
		l.MaxPaxBytes = DefaultMaxPaxBytes
	}
	if l.MaxMetadata <= 0 {
		l.MaxMetadata = DefaultMaxMetadata
	}
	if l.MaxWindow <= 0 {
		l.MaxWindow = DefaultMaxWindow
	}
	return l
}

// limitError is the error of a limit reached: what, and the flag that
// raises it.
func limitError(flag, format string, args ...any) error {
	return fmt.Errorf("%w: %s (%s)", ErrLimit, fmt.Sprintf(format, args...), flag)
}
