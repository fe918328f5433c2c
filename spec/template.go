package spec

import _ "embed"

//go:embed template.toml
var template []byte

// Template returns a commented spec file for `reproof init`: every field,
// what it means and its default. It parses as it is (a test holds it to
// that), but its repository, tag, image digest, command and published
// release are placeholders the user must replace; its first lines say so.
func Template() []byte {
	return append([]byte(nil), template...)
}
