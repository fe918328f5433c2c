// Package spec reads reproof.toml, the file that says how to rebuild a
// release and where it was published: [source], [build], [published],
// [compare], and the [[member]] and [[skip]] rules. docs/spec.md is the
// reference for the format; Template is the commented file `reproof init`
// writes.
//
// Every field is also a command-line flag (see Flags), and a flag
// overrides the file. A command reads a spec in three steps:
//
//	s, err := spec.Load("reproof.toml")   // or spec.Default() without a file
//	err = s.SetFlag("timeout", "3h")       // for each flag the user gave
//	err = s.Validate(spec.NeedVerify)      // required fields, all values
//
// The package is strict about its input, which may be hostile:
//
//   - every key is known: an unknown key, in any table, is an error that
//     names it and suggests the key it may be a typo of;
//   - every value has the type and form its field needs, checked when it is
//     read, whether from the file or a flag, by the same code;
//   - errors are one line, start with the file name and, where the TOML
//     library records it, the line, then the key:
//     `reproof.toml:12: build.timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)`;
//   - a file is at most MaxFileSize bytes, valid UTF-8, nested no deeper
//     than a spec needs (with a wide margin), and globs are bounded so that
//     matching them stays cheap; nothing here panics on input.
//
// The package imports nothing else of reproof. It mirrors two lists it
// checks against, the normalize pass names and the published source forms,
// and its tests hold them equal to archive's and release's.
package spec
