// Package exitcode is the one place reproof's exit statuses are decided:
// the same numbers for every command, the values compare's statuses and
// report's verdicts map to, and the EXIT STATUS text of every --help.
package exitcode

const (
	// OK: reproducible bit for bit, identical, or the command succeeded.
	OK = 0
	// Differs: not reproducible: content differs, an artifact is missing,
	// the release disagrees with its own checksums.
	Differs = 1
	// Error: usage, network, registry, runtime, hostile or corrupt input,
	// a comparison that stopped at a limit.
	Error = 2
	// Normalized: equal only after normalization; only metadata, order or
	// compression differ.
	Normalized = 3
	// BuildFailed: the build itself failed.
	BuildFailed = 4
	// Interrupted: a signal ended the run; what it made is removed.
	Interrupted = 130
)

// Help is the EXIT STATUS section of the commands' help.
const Help = `EXIT STATUS
  0  reproducible (bit for bit) / identical
  1  not reproducible: content differs, artifact missing, checksum mismatch
  2  error: usage, network, registry, runtime, hostile or corrupt input, incomplete
  3  equivalent only after normalization / only metadata, order or compression differ
  4  the build itself failed
  130  interrupted
`
