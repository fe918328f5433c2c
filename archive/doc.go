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
// Limits (entries, decompressed bytes, name and pax sizes, metadata, the
// decoder's window), every malformed structure is a *FormatError naming
// the entry and the byte offset, a stream must end where its format says
// (a tar with its end-of-archive marker; data after the end, zero padding
// aside, is an error, never ignored), and nothing here panics on input.
// Package archivetest makes the hostile inputs the tests hold it to.
//
// Writers produce archives whose bytes depend only on the entries given to
// them: compressors run with fixed, documented settings (see Settings) and
// no wall-clock time, map order or host property reaches the output.
// Normalize applies named passes (see Passes) on top of that.
package archive
