package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/reproof/reproof/compare"
)

// JSONSchema names the version of the JSON report; see docs/diff-json.md.
const JSONSchema = "reproof/diff/v1"

// The reproof/diff/v1 document. Structs, not maps, keep the keys in a
// fixed order; the one map (summary) is written with sorted keys.
type jsonReport struct {
	Schema      string           `json:"schema"`
	Status      string           `json:"status"`
	ExitCode    int              `json:"exit_code"`
	A           jsonInput        `json:"a"`
	B           jsonInput        `json:"b"`
	Entries     jsonEntries      `json:"entries"`
	Summary     map[string]int   `json:"summary"`
	Incomplete  []string         `json:"incomplete"`
	Differences []jsonDifference `json:"differences"`
	// Image is set for a comparison of container images.
	Image *compare.ImageSummary `json:"image,omitempty"`
}

type jsonInput struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

type jsonEntries struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
}

// jsonDifference is one difference, or several that say the same thing
// (same kind, detail and values, no diff) of several paths: 500 entries
// whose mtime moved the same way are one record listing 500 paths, which
// keeps the report small while naming every differing entry.
type jsonDifference struct {
	Paths       []string  `json:"paths"`
	Kind        string    `json:"kind"`
	Content     bool      `json:"content"`
	Detail      string    `json:"detail"`
	Old         string    `json:"old,omitempty"`
	New         string    `json:"new,omitempty"`
	SameContent bool      `json:"same_content,omitempty"`
	Diff        *jsonDiff `json:"diff,omitempty"`
}

type jsonDiff struct {
	Format   string   `json:"format"`
	Unified  string   `json:"unified,omitempty"`
	Sections []string `json:"sections,omitempty"`
	BuildID  []string `json:"build_id,omitempty"`
	Omitted  int      `json:"omitted,omitempty"`
}

// JSON writes the report as a reproof/diff/v1 document (docs/diff-json.md):
// the status and exit code, both inputs, entry counts, a count per kind,
// the incomplete notes and every difference, in report order, indented by
// two spaces. Nothing in it depends on the time or the machine.
func JSON(w io.Writer, r *compare.Result) error {
	if r == nil {
		return errNilResult
	}
	st := r.Status()
	doc := jsonReport{
		Schema:      JSONSchema,
		Status:      statusToken(st),
		ExitCode:    int(st),
		A:           jsonInputOf(r.A),
		B:           jsonInputOf(r.B),
		Entries:     jsonEntries{A: r.EntriesA, B: r.EntriesB},
		Summary:     make(map[string]int),
		Incomplete:  append([]string{}, r.Incomplete...),
		Differences: []jsonDifference{},
		Image:       r.Image,
	}
	for _, k := range compare.Kinds {
		doc.Summary[string(k)] = 0
	}
	type sameSay struct {
		kind, detail, old, new string
		sameContent            bool
	}
	merged := map[sameSay]int{} // index in doc.Differences
	for _, d := range sorted(r.Differences) {
		doc.Summary[string(d.Kind)]++
		key := sameSay{string(d.Kind), d.Detail, d.Old, d.New, d.SameContent}
		if i, ok := merged[key]; ok && d.Diff == nil {
			doc.Differences[i].Paths = append(doc.Differences[i].Paths, d.Path)
			continue
		}
		jd := jsonDifference{
			Paths: []string{d.Path}, Kind: string(d.Kind), Content: d.IsContent(), Detail: d.Detail,
			Old: d.Old, New: d.New, SameContent: d.SameContent,
		}
		if cd := d.Diff; cd != nil {
			jd.Diff = &jsonDiff{Format: cd.Format, Unified: cd.Unified, Sections: cd.Sections, BuildID: cd.BuildID, Omitted: cd.Omitted}
		} else {
			merged[key] = len(doc.Differences)
		}
		doc.Differences = append(doc.Differences, jd)
	}
	return writeJSON(w, doc)
}

func jsonInputOf(in compare.Input) jsonInput {
	return jsonInput{Path: in.Path, Kind: in.Kind, Format: in.Format, Size: in.Size, SHA256: in.SHA256}
}

// statusToken is the machine-readable status of reproof/diff/v1.
func statusToken(st compare.Status) string {
	switch st {
	case compare.StatusIdentical:
		return "identical"
	case compare.StatusDiffers:
		return "different"
	case compare.StatusMetadataOnly:
		return "metadata-only"
	case compare.StatusIncomplete:
		return "incomplete"
	}
	return "unknown"
}

// writeJSON encodes v indented by two spaces, with a final newline.
// encoding/json escapes C0 controls and <, > and &; every other rune that
// does not print (DEL, C1 controls, bidi overrides such as U+202E) is
// escaped here as \uXXXX, so the file is safe to show in a terminal and
// still decodes to the same strings.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: encoding json: %w", err)
	}
	bw := bufio.NewWriter(w)
	bw.Write(EscapeNonPrinting(buf.Bytes()))
	return bw.Flush()
}

// EscapeNonPrinting rewrites the runes of an encoded JSON document that do
// not print (DEL, C1 controls, bidi overrides) as \u escapes, as every
// JSON report reproof writes does: the file is safe to show in a terminal
// and decodes to the same strings. Such runes only occur inside strings
// (the JSON syntax is printable ASCII), where an escape means the same
// rune.
func EscapeNonPrinting(doc []byte) []byte {
	out := make([]byte, 0, len(doc))
	for i := 0; i < len(doc); {
		r, size := utf8.DecodeRune(doc[i:])
		if r < utf8.RuneSelf && r != 0x7f || r == utf8.RuneError || strconv.IsPrint(r) {
			out = append(out, doc[i:i+size]...)
		} else {
			for _, u := range utf16.Encode([]rune{r}) {
				out = fmt.Appendf(out, `\u%04x`, u)
			}
		}
		i += size
	}
	return out
}
