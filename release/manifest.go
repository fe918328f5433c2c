package release

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Algorithm is a digest algorithm, named as coreutils names its tools
// without the "sum": "sha256", "sha512", ...
type Algorithm string

// Algorithms a manifest may use. md5 and sha1 are read, for old
// manifests, and reported as weak by callers.
const (
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
	SHA384 Algorithm = "sha384"
	SHA224 Algorithm = "sha224"
	SHA1   Algorithm = "sha1"
	MD5    Algorithm = "md5"
)

// algorithmsByLength maps a hex digest length to its algorithm. sha512/256
// and the like are never guessed: they need a tag.
var algorithmsByLength = map[int]Algorithm{32: MD5, 40: SHA1, 56: SHA224, 64: SHA256, 96: SHA384, 128: SHA512}

// algorithmsByTag maps BSD tags ("SHA256 (name) = ...") and sidecar
// extensions to algorithms.
var algorithmsByTag = map[string]Algorithm{
	"md5": MD5, "sha1": SHA1, "sha224": SHA224, "sha256": SHA256, "sha384": SHA384, "sha512": SHA512,
}

// New returns a hash of the algorithm.
func (a Algorithm) New() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New()
	case SHA512:
		return sha512.New()
	case SHA384:
		return sha512.New384()
	case SHA224:
		return sha256.New224()
	case SHA1:
		return sha1.New()
	case MD5:
		return md5.New()
	}
	return nil
}

// HexLen is the length of the algorithm's digest in hex.
func (a Algorithm) HexLen() int {
	for n, x := range algorithmsByLength {
		if x == a {
			return n
		}
	}
	return 0
}

// Weak reports whether the algorithm no longer resists collisions.
func (a Algorithm) Weak() bool { return a == MD5 || a == SHA1 }

// ParseAlgorithm reads an algorithm name ("sha256", "SHA-512", "SHA512").
func ParseAlgorithm(s string) (Algorithm, error) {
	a, ok := algorithmsByTag[strings.ToLower(strings.ReplaceAll(s, "-", ""))]
	if !ok {
		return "", fmt.Errorf("unknown digest algorithm %q", s)
	}
	return a, nil
}

// Checksum is one published digest of one file.
type Checksum struct {
	// Name is the file name as the manifest lists it.
	Name string `json:"name"`
	// Section is the Markdown heading the line was found under, for a
	// checksum in a release body ("Linux AMD64"); "" elsewhere. The same
	// name under two headings is two checksums.
	Section   string    `json:"section,omitempty"`
	Algorithm Algorithm `json:"algorithm"`
	Digest    string    `json:"digest"` // lowercase hex
	// Binary is set for coreutils "*name" lines (binary mode).
	Binary bool   `json:"binary,omitempty"`
	Source string `json:"source"` // the manifest it came from
	Line   int    `json:"line"`   // 1-based line in the manifest file (for PGP, in the clear-signed file)
}

// Key identifies a checksum within a manifest: the section and the name.
func (c Checksum) Key() string {
	if c.Section == "" {
		return c.Name
	}
	return c.Section + "\x00" + c.Name
}

// Layout is the format a manifest was written in.
type Layout string

// Manifest layouts.
const (
	LayoutCoreutils Layout = "coreutils"  // "<hex>  name" / "<hex> *name" lines (sha256sum)
	LayoutBSD       Layout = "bsd"        // "SHA256 (name) = <hex>" lines (sha256sum --tag, BSD)
	LayoutSidecar   Layout = "sidecar"    // one bare digest, maybe with a name (name.sha256)
	LayoutMarkdown  Layout = "markdown"   // checksum lines in fenced blocks of a release body
	LayoutJSONIndex Layout = "json-index" // an index of artifacts with no digests (Garage)
)

// Signature says what is known of a PGP clear-signed manifest's signature.
type Signature struct {
	Signed  bool   `json:"signed"`  // the manifest was clear-signed
	Checked bool   `json:"checked"` // gpgv was run against a keyring
	Valid   bool   `json:"valid"`   // ... and accepted the signature
	Signer  string `json:"signer,omitempty"`
	Detail  string `json:"detail,omitempty"` // what gpgv said, one line
}

// Manifest is a parsed checksum manifest.
type Manifest struct {
	Source    string     `json:"source"`
	Layout    Layout     `json:"layout"`
	Checksums []Checksum `json:"checksums"`
	Signature Signature  `json:"signature"`
	// Indexed lists the artifacts of a JSON index, which carries no
	// digests: they must be downloaded and hashed, and a report must say
	// that no published checksum existed.
	Indexed []IndexedArtifact `json:"indexed,omitempty"`
}

// Lookup returns the checksums listed for a file name, under any section.
func (m *Manifest) Lookup(name string) []Checksum {
	var out []Checksum
	for _, c := range m.Checksums {
		if c.Name == name || path.Base(c.Name) == name {
			out = append(out, c)
		}
	}
	return out
}

// ErrMalformed is wrapped by every manifest syntax error.
var ErrMalformed = errors.New("malformed manifest")

// ParseError is a malformed manifest line.
type ParseError struct {
	Source string
	Line   int // 0: the manifest as a whole
	Msg    string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Source, e.Msg)
}

func (e *ParseError) Unwrap() error { return ErrMalformed }

// maxManifestSize caps a manifest: real ones are kilobytes.
const maxManifestSize = 16 << 20

// ParseManifest parses a checksum manifest in any supported layout,
// detected from its content (and, for a bare digest, from its name:
// "app.tar.gz.sha256" lists "app.tar.gz"). source names it in errors.
// A PGP clear-signed manifest is unwrapped (its signature is not checked
// here: see VerifySignature).
func ParseManifest(source string, data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, &ParseError{Source: source, Msg: fmt.Sprintf("%d bytes is too large for a checksum manifest", len(data))}
	}
	signed := false
	firstLine := 1
	if bytes.HasPrefix(bytes.TrimLeft(data, "\r\n\t "), []byte(pgpBegin)) {
		body, offset, err := unwrapClearsigned(source, data)
		if err != nil {
			return nil, err
		}
		data, signed, firstLine = body, true, offset
	}
	m, err := parseLayout(source, data, firstLine)
	if err != nil {
		return nil, err
	}
	m.Signature.Signed = signed
	if err := checkDuplicates(m); err != nil {
		return nil, err
	}
	return m, nil
}

func parseLayout(source string, data []byte, firstLine int) (*Manifest, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, &ParseError{Source: source, Msg: "empty manifest"}
	case LooksSRI(data): // before JSON: a package-lock.json opens with "{"
		return ParseSRIManifest(source, data, firstLine)
	case (trimmed[0] == '{' || trimmed[0] == '[') && !looksMarkdown(data):
		// A release body may open with a link ("[Changelog](...)"); a
		// JSON document never has a line opening a fenced block.
		return parseJSONIndexAt(source, data, firstLine)
	case looksMarkdown(data):
		return parseMarkdown(source, data, firstLine)
	case isSidecarName(source) || bareHex.Match(trimmed):
		return parseSidecar(source, data, firstLine)
	}
	return parseLines(source, data, firstLine, "")
}

var (
	hexDigest = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	bareHex   = regexp.MustCompile(`^[0-9a-fA-F]{32,128}$`)
	// BSD tagged line: "SHA256 (name) = hex", also "SHA2-256" and "SHA-256".
	bsdLine = regexp.MustCompile(`^([A-Za-z0-9-]+) ?\((.*)\) ?= ?([0-9a-fA-F]+)$`)
)

// parseLines parses coreutils and BSD lines (mixed is allowed, as
// `sha256sum -c` allows it). Blank lines and "#" comment lines are
// skipped; anything else that is not a checksum line is an error.
func parseLines(source string, data []byte, firstLine int, section string) (*Manifest, error) {
	m := &Manifest{Source: source, Layout: LayoutCoreutils}
	sawBSD := false
	for i, raw := range splitLines(data) {
		line := strings.TrimRight(raw, "\r")
		n := firstLine + i
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		c, bsd, err := parseChecksumLine(line)
		if err != nil {
			return nil, &ParseError{Source: source, Line: n, Msg: err.Error()}
		}
		sawBSD = sawBSD || bsd
		c.Source, c.Line, c.Section = source, n, section
		m.Checksums = append(m.Checksums, c)
	}
	if len(m.Checksums) == 0 {
		return nil, &ParseError{Source: source, Msg: "no checksum lines"}
	}
	if sawBSD {
		m.Layout = LayoutBSD
	}
	return m, nil
}

// parseChecksumLine reads one coreutils or BSD line. Either may start
// with a backslash: coreutils then escaped "\\", newline and carriage
// return in the name (sha256sum writes `\SHA256 (a\\b) = ...` with --tag).
func parseChecksumLine(line string) (Checksum, bool, error) {
	escaped := strings.HasPrefix(line, `\`)
	if escaped {
		line = line[1:]
	}
	if m := bsdLine.FindStringSubmatch(line); m != nil {
		tag := strings.ToLower(m[1])
		if strings.HasPrefix(tag, "sha2-") { // SHA2-256, as some BSDs write it
			tag = "sha" + tag[len("sha2-"):]
		}
		tag = strings.ReplaceAll(tag, "-", "") // SHA-256
		alg, ok := algorithmsByTag[tag]
		if !ok {
			return Checksum{}, true, fmt.Errorf("unknown digest algorithm %q", m[1])
		}
		if len(m[3]) != alg.HexLen() {
			return Checksum{}, true, fmt.Errorf("%s digest of %d hex digits, want %d", m[1], len(m[3]), alg.HexLen())
		}
		name := m[2]
		if name == "" {
			return Checksum{}, true, errors.New("empty file name")
		}
		if escaped {
			var err error
			if name, err = unescapeName(name); err != nil {
				return Checksum{}, true, err
			}
		}
		return Checksum{Name: name, Algorithm: alg, Digest: strings.ToLower(m[3])}, true, nil
	}
	// coreutils: [\]hex, then " *" (binary) or "  " (text), then the name.
	sp := strings.IndexByte(line, ' ')
	if sp < 0 || sp+2 > len(line) {
		return Checksum{}, false, fmt.Errorf("not a checksum line: %q", clip(line))
	}
	digest, mode, name := line[:sp], line[sp+1], line[sp+2:]
	if !hexDigest.MatchString(digest) {
		return Checksum{}, false, fmt.Errorf("not a checksum line: %q", clip(line))
	}
	alg, ok := algorithmsByLength[len(digest)]
	if !ok {
		return Checksum{}, false, fmt.Errorf("digest of %d hex digits matches no algorithm", len(digest))
	}
	if mode != ' ' && mode != '*' {
		return Checksum{}, false, fmt.Errorf("want two spaces or \" *\" between digest and name: %q", clip(line))
	}
	if name == "" {
		return Checksum{}, false, errors.New("empty file name")
	}
	if escaped {
		var err error
		if name, err = unescapeName(name); err != nil {
			return Checksum{}, false, err
		}
	}
	return Checksum{Name: name, Algorithm: alg, Digest: strings.ToLower(digest), Binary: mode == '*'}, false, nil
}

// unescapeName undoes coreutils' escaping of names with "\" or newlines.
func unescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("name ends in a lone backslash")
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			return "", fmt.Errorf("unknown escape \\%c in name", s[i])
		}
	}
	return b.String(), nil
}

// isSidecarName reports whether a manifest's name says it is a sidecar of
// one file ("x.sha256", "x.SHA512", "x.sha256sum").
func isSidecarName(source string) bool {
	_, _, ok := sidecarTarget(source)
	return ok
}

func sidecarTarget(source string) (target string, alg Algorithm, ok bool) {
	base := path.Base(strings.ReplaceAll(source, "\\", "/"))
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 {
		return "", "", false
	}
	ext := strings.TrimSuffix(strings.ToLower(base[dot+1:]), "sum")
	alg, ok = algorithmsByTag[ext]
	return base[:dot], alg, ok
}

// parseSidecar parses a sidecar: one digest, alone ("hex", with or
// without a newline) or as one coreutils or BSD line. The file it vouches
// for is the line's name, else the sidecar's name minus its extension. An
// extension naming an algorithm ("x.sha512") must agree with every digest.
func parseSidecar(source string, data []byte, firstLine int) (*Manifest, error) {
	text := strings.TrimSpace(string(data))
	target, extAlg, named := sidecarTarget(source)
	if bareHex.MatchString(text) {
		// The digest's line: the first non-blank one.
		line := firstLine + strings.Count(string(data[:bytes.Index(data, []byte(text))]), "\n")
		alg, ok := algorithmsByLength[len(text)]
		if !ok {
			return nil, &ParseError{Source: source, Line: line, Msg: fmt.Sprintf("digest of %d hex digits matches no algorithm", len(text))}
		}
		if named && extAlg != alg {
			return nil, &ParseError{Source: source, Line: line, Msg: fmt.Sprintf("a %s digest in a .%s file", alg, extAlg)}
		}
		if !named {
			return nil, &ParseError{Source: source, Line: line, Msg: "a bare digest, but the file name does not say which file it is for (want NAME.sha256)"}
		}
		return &Manifest{Source: source, Layout: LayoutSidecar, Checksums: []Checksum{{
			Name: target, Algorithm: alg, Digest: strings.ToLower(text), Source: source, Line: line,
		}}}, nil
	}
	m, err := parseLines(source, data, firstLine, "")
	if err != nil {
		return nil, err
	}
	for _, c := range m.Checksums {
		if named && c.Algorithm != extAlg {
			return nil, &ParseError{Source: source, Line: c.Line, Msg: fmt.Sprintf("a %s digest in a .%s file", c.Algorithm, extAlg)}
		}
	}
	if len(m.Checksums) == 1 {
		m.Layout = LayoutSidecar
	}
	return m, nil
}

// checkDuplicates refuses a manifest that lists one name (in one section)
// twice with two digests of the same algorithm; the same digest twice is
// accepted once.
func checkDuplicates(m *Manifest) error {
	type key struct {
		k   string
		alg Algorithm
	}
	seen := map[key]Checksum{}
	kept := m.Checksums[:0]
	for _, c := range m.Checksums {
		k := key{c.Key(), c.Algorithm}
		if prev, ok := seen[k]; ok {
			if prev.Digest != c.Digest {
				return &ParseError{Source: m.Source, Line: c.Line, Msg: fmt.Sprintf("%q listed again with another %s digest (first at line %d)", c.Name, c.Algorithm, prev.Line)}
			}
			continue
		}
		seen[k] = c
		kept = append(kept, c)
	}
	m.Checksums = kept
	sort.SliceStable(m.Checksums, func(i, j int) bool { return m.Checksums[i].Line < m.Checksums[j].Line })
	return nil
}

func splitLines(data []byte) []string {
	s := string(data)
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
