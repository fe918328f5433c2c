// Package archive reads and writes the archive and compression formats that
// software releases are published in, and rewrites them deterministically.
//
// Formats are detected by content, never by name: tar (ustar, pax and GNU,
// including long names and sparse files), zip (and jar), ar (and .deb),
// cpio (newc), each optionally inside gzip (single or multi-member), xz,
// zstd or bzip2. Whatever the format, a Reader yields one entry model
// (Entry) and the entry's content as a stream; nothing is extracted to disk
// and no archive is held in memory.
//
// The package is strict about what it is given: every read is bounded by
// Limits, every malformed structure is a *FormatError naming the entry and
// the byte offset, and nothing here panics on input.
//
// Writers produce archives whose bytes depend only on the entries given to
// them: compressors run with fixed, documented settings (see Settings) and
// no wall-clock time, map order or host property reaches the output.
// Normalize applies named passes (see Passes) on top of that.
package archive
