package release

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Layouts of Subresource Integrity manifests (ParseSRIManifest).
const (
	// LayoutSRI is "sha512-<base64>  name" lines: npm's integrity form
	// with a file name, as `ssri` and hand-written lists write them.
	LayoutSRI Layout = "sri"
	// LayoutPackageLock is an npm package-lock.json (or
	// npm-shrinkwrap.json): each locked package's "integrity", under the
	// file name of its "resolved" tarball.
	LayoutPackageLock Layout = "package-lock"
)

// SRIHash is one hash of a Subresource Integrity string (W3C SRI, as npm
// writes dist.integrity): "sha512-<base64>".
type SRIHash struct {
	Algorithm Algorithm
	Digest    string // lowercase hex
}

// sriStrength ranks the algorithms SRI allows; others are ignored, as the
// SRI specification says.
var sriStrength = map[Algorithm]int{SHA256: 1, SHA384: 2, SHA512: 3}

var sriToken = regexp.MustCompile(`^(sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})(\?[!-~]*)?$`)

// ParseSRI reads an SRI integrity string: hashes separated by white space,
// each "ALGORITHM-BASE64" with an optional "?options" suffix. Tokens of
// algorithms other than sha256, sha384 and sha512 are skipped, as the
// SRI specification says; a token of one of those whose base64 does not
// decode to a digest of the algorithm's length is an error, and so is a
// string with no usable hash.
func ParseSRI(s string) ([]SRIHash, error) {
	var out []SRIHash
	for _, tok := range strings.Fields(s) {
		alg, b64, ok := strings.Cut(tok, "-")
		if !ok {
			return nil, fmt.Errorf("integrity %q: %q is not ALGORITHM-BASE64", clipSRI(s), clipSRI(tok))
		}
		if _, known := sriStrength[Algorithm(strings.ToLower(alg))]; !known {
			continue
		}
		m := sriToken.FindStringSubmatch(strings.ToLower(alg) + "-" + b64)
		if m == nil {
			return nil, fmt.Errorf("integrity %q: %q is not ALGORITHM-BASE64", clipSRI(s), clipSRI(tok))
		}
		a := Algorithm(m[1])
		digest, err := decodeSRIBase64(m[2])
		if err != nil || len(digest)*2 != a.HexLen() {
			return nil, fmt.Errorf("integrity %q: the %s digest is not %d bytes of base64", clipSRI(s), a, a.HexLen()/2)
		}
		out = append(out, SRIHash{Algorithm: a, Digest: hex.EncodeToString(digest)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("integrity %q: no sha256, sha384 or sha512 hash", clipSRI(s))
	}
	return out, nil
}

// decodeSRIBase64 decodes standard base64, padded or not; the URL-safe
// alphabet is accepted too (some tools write it).
func decodeSRIBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// StrongestSRI returns the first hash of the strongest algorithm among hs
// (sha512 over sha384 over sha256), as an SRI checker uses; ok is false
// when hs is empty.
func StrongestSRI(hs []SRIHash) (h SRIHash, ok bool) {
	for _, c := range hs {
		if !ok || sriStrength[c.Algorithm] > sriStrength[h.Algorithm] {
			h, ok = c, true
		}
	}
	return h, ok
}

// SRIString writes a hex digest in SRI form: "sha512-<base64>".
func SRIString(alg Algorithm, hexDigest string) (string, error) {
	if _, ok := sriStrength[alg]; !ok {
		return "", fmt.Errorf("%s has no SRI form", alg)
	}
	b, err := hex.DecodeString(hexDigest)
	if err != nil || len(b)*2 != alg.HexLen() {
		return "", fmt.Errorf("%q is not a %s digest", hexDigest, alg)
	}
	return string(alg) + "-" + base64.StdEncoding.EncodeToString(b), nil
}

func clipSRI(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// sriLineStart recognises the first token of an SRI line.
var sriLineStart = regexp.MustCompile(`^(?i:sha(256|384|512))-[A-Za-z0-9+/_=-]`)

// LooksSRI reports whether data is an SRI manifest ParseSRIManifest reads:
// its first line that is neither blank nor a "#" comment starts with an
// SRI hash, or it is a JSON object with a "lockfileVersion" (a
// package-lock.json).
func LooksSRI(data []byte) bool {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe struct {
			LockfileVersion *json.RawMessage `json:"lockfileVersion"`
		}
		return json.Unmarshal(trimmed, &probe) == nil && probe.LockfileVersion != nil
	}
	for _, line := range splitLines(data) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return sriLineStart.MatchString(line)
	}
	return false
}

// ParseSRIManifest parses a manifest of SRI hashes: "sha512-<base64>  name"
// lines (LayoutSRI; blank lines and "#" comments skipped; several
// space-separated hashes may precede the name, the strongest is used), or
// an npm package-lock.json (LayoutPackageLock: lockfile versions 1 to 3;
// each package with an "integrity" is listed under the file name of its
// "resolved" URL, else NAME-VERSION.tgz). source names it in errors.
// Callers should check LooksSRI first; ParseManifest does.
func ParseSRIManifest(source string, data []byte, firstLine int) (*Manifest, error) {
	if firstLine < 1 {
		firstLine = 1
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parsePackageLock(source, data, firstLine)
	}
	m := &Manifest{Source: source, Layout: LayoutSRI}
	for i, raw := range splitLines(data) {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		n := firstLine + i
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var hashes []SRIHash
		rest := line
		for {
			tok, after := rest, ""
			if i := strings.IndexAny(rest, " \t"); i >= 0 {
				tok, after = rest[:i], rest[i+1:]
			}
			if !sriLineStart.MatchString(tok) {
				break
			}
			hs, err := ParseSRI(tok)
			if err != nil {
				return nil, &ParseError{Source: source, Line: n, Msg: err.Error()}
			}
			hashes = append(hashes, hs...)
			rest = strings.TrimLeft(after, " \t")
		}
		if len(hashes) == 0 {
			return nil, &ParseError{Source: source, Line: n, Msg: fmt.Sprintf("not an SRI checksum line: %q", clipSRI(line))}
		}
		name := strings.TrimPrefix(rest, "*")
		if name == "" {
			return nil, &ParseError{Source: source, Line: n, Msg: "empty file name"}
		}
		if hasControl(name) {
			return nil, &ParseError{Source: source, Line: n, Msg: fmt.Sprintf("file name %q holds control characters", name)}
		}
		h, _ := StrongestSRI(hashes)
		m.Checksums = append(m.Checksums, Checksum{Name: name, Algorithm: h.Algorithm, Digest: h.Digest, Source: source, Line: n})
	}
	if len(m.Checksums) == 0 {
		return nil, &ParseError{Source: source, Msg: "no checksum lines"}
	}
	return m, nil
}

// lockPackage is what reproof reads of a package-lock entry.
type lockPackage struct {
	Version      string                 `json:"version"`
	Resolved     string                 `json:"resolved"`
	Integrity    string                 `json:"integrity"`
	Link         bool                   `json:"link"`
	Dependencies map[string]lockPackage `json:"dependencies"` // lockfile v1 only
}

func parsePackageLock(source string, data []byte, firstLine int) (*Manifest, error) {
	var lock struct {
		LockfileVersion int                    `json:"lockfileVersion"`
		Packages        map[string]lockPackage `json:"packages"`
		Dependencies    json.RawMessage        `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, &ParseError{Source: source, Msg: fmt.Sprintf("not a package-lock.json: %v", err)}
	}
	m := &Manifest{Source: source, Layout: LayoutPackageLock}
	var fail error
	add := func(key string, p lockPackage) {
		if fail != nil || p.Integrity == "" || p.Link {
			return
		}
		line := firstLine + bytes.Count(data[:max(0, bytes.Index(data, []byte(p.Integrity)))], []byte("\n"))
		hs, err := ParseSRI(p.Integrity)
		if err != nil {
			fail = &ParseError{Source: source, Line: line, Msg: fmt.Sprintf("%s: %v", key, err)}
			return
		}
		name, err := lockTarballName(key, p)
		if err != nil {
			fail = &ParseError{Source: source, Line: line, Msg: err.Error()}
			return
		}
		h, _ := StrongestSRI(hs)
		m.Checksums = append(m.Checksums, Checksum{Name: name, Algorithm: h.Algorithm, Digest: h.Digest, Source: source, Line: line})
	}
	if len(lock.Packages) > 0 {
		for key, p := range lock.Packages {
			if key != "" {
				add(key, p)
			}
		}
	} else if len(lock.Dependencies) > 0 {
		var deps map[string]lockPackage
		if err := json.Unmarshal(lock.Dependencies, &deps); err != nil {
			return nil, &ParseError{Source: source, Msg: fmt.Sprintf("not a package-lock.json: %v", err)}
		}
		var walk func(map[string]lockPackage)
		walk = func(deps map[string]lockPackage) {
			for name, p := range deps {
				add("node_modules/"+name, p)
				walk(p.Dependencies)
			}
		}
		walk(deps)
	}
	if fail != nil {
		return nil, fail
	}
	if len(m.Checksums) == 0 {
		return nil, &ParseError{Source: source, Msg: "the package-lock lists no package with an integrity"}
	}
	// The same tarball locked at two paths is listed once; the same name
	// with two digests is left to the caller's duplicate check.
	sort.Slice(m.Checksums, func(i, j int) bool {
		a, b := m.Checksums[i], m.Checksums[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Digest < b.Digest
	})
	kept := m.Checksums[:0]
	seen := map[Checksum]bool{}
	for _, c := range m.Checksums {
		k := Checksum{Name: c.Name, Algorithm: c.Algorithm, Digest: c.Digest}
		if !seen[k] {
			seen[k] = true
			kept = append(kept, c)
		}
	}
	m.Checksums = kept
	return m, nil
}

// lockTarballName is the file name a locked package's tarball has: the
// last segment of its resolved URL, else NAME-VERSION.tgz with NAME the
// last part of the package path (without its scope).
func lockTarballName(key string, p lockPackage) (string, error) {
	if p.Resolved != "" {
		r := p.Resolved
		if i := strings.IndexAny(r, "?#"); i >= 0 {
			r = r[:i]
		}
		if base := path.Base(r); base != "." && base != "/" && !strings.Contains(base, ":") {
			if err := checkAssetName(base); err == nil {
				return base, nil
			}
		}
	}
	name := key
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:] // node_modules/@scope/NAME
	}
	if name == "" || p.Version == "" {
		return "", errors.New(key + ": an integrity without a resolved URL or a version")
	}
	out := name + "-" + p.Version + ".tgz"
	if err := checkAssetName(out); err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return out, nil
}
