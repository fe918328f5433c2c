package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// MaxFileSize bounds a spec file: a larger one is refused unread.
const MaxFileSize = 1 << 20

// Load reads and parses the spec file at path. Relative paths in the file
// are relative to the file's directory. A missing file is an error wrapping
// fs.ErrNotExist, so a CLI can tell "no reproof.toml here" from a bad one.
func Load(path string) (*Spec, error) {
	fail := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already at the front of the message
		}
		return &Error{File: path, Err: err}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fail(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fail(err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse parses a spec file's contents. name is the file's name for errors
// and Spec.Path; relative paths in the file are joined to baseDir (left
// relative to the working directory when baseDir is "").
//
// Every key is checked as it is read: unknown keys, wrong TOML types and
// invalid values are errors that name the key, and the line where the TOML
// library knows it. Fields the file leaves out keep their defaults (see
// Default). Parse does not check that the fields a command needs are
// present: flags may still set them; Validate does that.
func Parse(name string, data []byte, baseDir string) (*Spec, error) {
	fail := func(line int, key string, err error) error {
		return &Error{File: name, Line: line, Key: key, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, fail(0, "", fmt.Errorf("%w: more than %d bytes (1 MiB)", ErrTooLarge, MaxFileSize))
	}
	if !utf8.Valid(data) {
		return nil, fail(invalidUTF8Line(data), "", errors.New("not valid UTF-8 (TOML files are UTF-8)"))
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if line, err := checkNesting(data); err != nil {
		return nil, fail(line, "", err)
	}

	var top map[string]toml.Primitive
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&top)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fail(pe.Position.Line, "", errors.New("invalid TOML: "+pe.Message))
		}
		return nil, fail(0, "", fmt.Errorf("invalid TOML: %w", err))
	}

	s := Default()
	s.Path, s.Dir = name, baseDir
	s.Build.Out = resolvePath(baseDir, DefaultOut)
	p := &parser{md: &md, name: name, base: baseDir, spec: s}
	for _, key := range p.order(nil, top) {
		if err := p.topLevel(key, top[key]); err != nil {
			return nil, err
		}
	}
	if key, err := checkRules(s); err != nil {
		return nil, fail(0, key, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		// Every key above went through a decoder of ours; this is a safety
		// net in case the library kept one back.
		return nil, fail(0, keyString(undecoded[0]), errors.New("unknown key"))
	}
	return s, nil
}

// parser holds what decoding one file needs.
type parser struct {
	md   *toml.MetaData
	name string
	base string
	spec *Spec
}

// decodeFunc turns a function into a toml.Unmarshaler, so that checking a
// value happens inside the library's decoder and an error comes back with
// the line of the key.
type decodeFunc func(data any) error

func (f decodeFunc) UnmarshalTOML(data any) error { return f(data) }

// decode runs fn on prim's value. A failure is an *Error naming key, at the
// key's line when lineOK (the library records one position per key path,
// so for [[member]] and [[skip]] tables it is only right for the last
// table that sets the key).
func (p *parser) decode(prim toml.Primitive, key string, lineOK bool, fn func(data any) error) error {
	var inner error
	err := p.md.PrimitiveDecode(prim, decodeFunc(func(data any) error {
		inner = fn(data)
		return inner
	}))
	if err == nil {
		return nil
	}
	line := 0
	var pe toml.ParseError
	if lineOK && errors.As(err, &pe) {
		line = pe.Position.Line
	}
	if inner == nil {
		inner = err // the library's own
	}
	return &Error{File: p.name, Line: line, Key: key, Err: inner}
}

// order lists the keys of a table (prefix nil: the top level) in the order
// the file first names them, so the first error reported is the first in
// the file.
func (p *parser) order(prefix []string, m map[string]toml.Primitive) []string {
	keys := make([]string, 0, len(m))
	seen := make(map[string]bool, len(m))
	for _, k := range p.md.Keys() {
		if len(k) <= len(prefix) || !slices.Equal(k[:len(prefix)], prefix) {
			continue
		}
		name := k[len(prefix)]
		if _, ok := m[name]; ok && !seen[name] {
			seen[name] = true
			keys = append(keys, name)
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

var tableNames = []string{"source", "build", "published", "compare"}

func (p *parser) topLevel(key string, prim toml.Primitive) error {
	switch {
	case slices.Contains(tableNames, key):
		return p.table(key, prim)
	case key == "member" || key == "skip":
		return p.rules(key, prim)
	case key == "image":
		return p.images(prim)
	}
	return p.decode(prim, keyString([]string{key}), true, func(any) error {
		return unknownKey(key, append(slices.Clone(tableNames), "member", "skip", "image"))
	})
}

// table decodes [source], [build], [published] or [compare].
func (p *parser) table(name string, prim toml.Primitive) error {
	var m map[string]toml.Primitive
	if err := p.decode(prim, name, true, func(data any) error {
		if _, ok := data.(map[string]any); !ok {
			return fmt.Errorf("want a table ([%s]), got %s", name, tomlType(data))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := p.md.PrimitiveDecode(prim, &m); err != nil {
		return &Error{File: p.name, Key: name, Err: err}
	}
	for _, key := range p.order([]string{name}, m) {
		full := name + "." + key
		f := fieldByKey(full)
		if f == nil {
			return p.decode(m[key], keyString([]string{name, key}), true, func(any) error {
				return unknownKey(key, tableKeys(name))
			})
		}
		err := p.decode(m[key], full, true, func(data any) error {
			v, err := valueFromTOML(f.kind, data)
			if err != nil {
				return err
			}
			return f.set(p.spec, v, p.base)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rules decodes the [[member]] or [[skip]] tables.
func (p *parser) rules(name string, prim toml.Primitive) error {
	var tables []map[string]toml.Primitive
	if err := p.decode(prim, name, true, func(data any) error {
		if !isArrayOfTables(data) {
			return fmt.Errorf("want an array of tables ([[%s]]), got %s", name, tomlType(data))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := p.md.PrimitiveDecode(prim, &tables); err != nil {
		return &Error{File: p.name, Key: name, Err: err}
	}
	allowed := []string{"artifact", "reason"}
	if name == "member" {
		allowed = []string{"artifact", "members", "ignore", "consumer", "reason"}
	}
	for i, tbl := range tables {
		// The line of a key is right when no later table sets it.
		lineOK := func(key string) bool {
			for _, later := range tables[i+1:] {
				if _, ok := later[key]; ok {
					return false
				}
			}
			return true
		}
		elem := fmt.Sprintf("%s #%d", name, i+1)
		var unknown []string
		for k := range tbl {
			if !slices.Contains(allowed, k) {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			k := unknown[0]
			return p.decode(tbl[k], elem+": "+keyString([]string{k}), lineOK(k), func(any) error {
				return unknownKey(k, allowed)
			})
		}
		var r rule
		for _, k := range allowed {
			raw, ok := tbl[k]
			if !ok {
				continue
			}
			kind := kindString
			if k == "members" || k == "ignore" {
				kind = kindStrings
			}
			err := p.decode(raw, elem+": "+k, lineOK(k), func(data any) error {
				v, err := valueFromTOML(kind, data)
				if err != nil {
					return err
				}
				return r.set(k, v)
			})
			if err != nil {
				return err
			}
		}
		p.addRule(name, r)
	}
	return nil
}

// rule is a [[member]] or [[skip]] table being read.
type rule struct {
	artifact, reason, consumer string
	members, ignore            []string
}

func (r *rule) set(key string, v value) error {
	switch key {
	case "artifact":
		if err := checkGlob(v.str); err != nil {
			return err
		}
		r.artifact = v.str
	case "members":
		if err := checkGlobList(v.strs, "leave members out to mean every member"); err != nil {
			return err
		}
		r.members = v.strs
	case "ignore":
		if err := checkGlobList(v.strs, "leave ignore out to compare every member"); err != nil {
			return err
		}
		r.ignore = v.strs
	case "consumer":
		if !slices.Contains(Consumers, v.str) {
			return fmt.Errorf("unknown consumer %s; known: %s", quote(v.str), strings.Join(Consumers, ", "))
		}
		r.consumer = v.str
	case "reason":
		if err := checkReason(v.str); err != nil {
			return err
		}
		r.reason = v.str
	}
	return nil
}

// checkGlobList checks a non-empty list of globs; instead says what to do
// rather than give an empty one.
func checkGlobList(globs []string, instead string) error {
	if len(globs) == 0 {
		return errors.New("empty list; " + instead)
	}
	for _, g := range globs {
		if err := checkGlob(g); err != nil {
			return err
		}
	}
	return nil
}

// addRule appends a rule table to the spec; checkRules checks them all
// once every table is read.
func (p *parser) addRule(name string, r rule) {
	if name == "member" {
		p.spec.Members = append(p.spec.Members, MemberRule{Artifact: r.artifact, Members: r.members, Ignore: r.ignore, Consumer: r.consumer, Reason: r.reason})
	} else {
		p.spec.Skips = append(p.spec.Skips, SkipRule{Artifact: r.artifact, Reason: r.reason})
	}
}

func isArrayOfTables(data any) bool {
	switch v := data.(type) {
	case []map[string]any:
		return true
	case []any:
		for _, e := range v {
			if _, ok := e.(map[string]any); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// unknownKey is the error for a key the schema does not have, with a
// suggestion when one of the known keys is a typo away.
func unknownKey(key string, known []string) error {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key (did you mean %q?)", best)
	}
	return fmt.Errorf("unknown key (known: %s)", strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance, for suggestions; long keys
// are not worth the quadratic time.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyString writes a key path as TOML would: bare parts as they are,
// others quoted (and shortened).
func keyString(parts []string) string {
	out := make([]string, len(parts))
	for i, k := range parts {
		out[i] = k
		if k == "" || len(k) > maxQuoted || strings.ContainsFunc(k, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
		}) {
			out[i] = quote(k)
		}
	}
	return strings.Join(out, ".")
}

// invalidUTF8Line is the line of the first byte that is not UTF-8.
func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}
