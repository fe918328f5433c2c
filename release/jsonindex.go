package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
)

// IndexedArtifact is an artifact listed by a JSON index (Garage's
// _releases.json: categories of builds, each with binary, date, path,
// platform, size, url and version, and no digest).
type IndexedArtifact struct {
	Category string `json:"category,omitempty"` // "Release", "Extra", "Development"
	Name     string `json:"name"`
	URL      string `json:"url,omitempty"`
	Path     string `json:"path,omitempty"`
	Platform string `json:"platform,omitempty"`
	Version  string `json:"version,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Date     string `json:"date,omitempty"`
}

// maxIndexDepth bounds the nesting of a JSON index walked for artifacts.
const maxIndexDepth = 32

// parseJSONIndex reads an index of artifacts. Every JSON object with a
// "url" or "path" string is an artifact; its category is the top-level key
// it was found under. The index carries no digest: the manifest has no
// checksums, and Indexed lists what must be downloaded and hashed.
func parseJSONIndex(source string, data []byte) (*Manifest, error) {
	return parseJSONIndexAt(source, data, 1)
}

// parseJSONIndexAt is parseJSONIndex for a document whose first line is
// line firstLine of the manifest (inside a clear-signed message).
func parseJSONIndexAt(source string, data []byte, firstLine int) (*Manifest, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, &ParseError{Source: source, Line: jsonErrorLine(data, firstLine, err), Msg: fmt.Sprintf("not valid JSON: %v", err)}
	}
	if end := dec.InputOffset(); len(bytes.TrimLeft(data[end:], " \t\r\n")) > 0 {
		rest := len(data) - len(bytes.TrimLeft(data[end:], " \t\r\n"))
		return nil, &ParseError{Source: source, Line: firstLine + bytes.Count(data[:rest], []byte("\n")),
			Msg: "data after the JSON document"}
	}
	m := &Manifest{Source: source, Layout: LayoutJSONIndex}
	var walk func(v any, category string, depth int) error
	walk = func(v any, category string, depth int) error {
		if depth > maxIndexDepth {
			return &ParseError{Source: source, Msg: fmt.Sprintf("JSON nested deeper than %d levels", maxIndexDepth)}
		}
		switch x := v.(type) {
		case map[string]any:
			if a, ok := indexedArtifact(x, category); ok {
				m.Indexed = append(m.Indexed, a)
				return nil
			}
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				cat := category
				if depth == 0 {
					cat = k
				}
				if err := walk(x[k], cat, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e, category, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(doc, "", 0); err != nil {
		return nil, err
	}
	if len(m.Indexed) == 0 {
		return nil, &ParseError{Source: source, Msg: "a JSON document that lists no artifact (no object with a url or path)"}
	}
	return m, nil
}

// jsonErrorLine is the line of a JSON syntax error, 0 when unknown.
func jsonErrorLine(data []byte, firstLine int, err error) int {
	var se *json.SyntaxError
	if !errors.As(err, &se) || se.Offset < 0 || se.Offset > int64(len(data)) {
		return 0
	}
	return firstLine + bytes.Count(data[:se.Offset], []byte("\n"))
}

func indexedArtifact(obj map[string]any, category string) (IndexedArtifact, bool) {
	str := func(k string) string { s, _ := obj[k].(string); return s }
	a := IndexedArtifact{Category: category, URL: str("url"), Path: str("path"), Platform: str("platform"),
		Version: str("version"), Date: str("date"), Name: str("binary")}
	if a.URL == "" && a.Path == "" {
		return a, false
	}
	if n, ok := obj["size"].(json.Number); ok {
		a.Size, _ = n.Int64()
	}
	if a.Name == "" {
		ref := a.Path
		if ref == "" {
			ref = a.URL
		}
		a.Name = path.Base(ref)
	}
	return a, true
}
