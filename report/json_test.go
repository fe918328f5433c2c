package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/reproof/reproof/compare"
)

// decoded mirrors reproof/diff/v1 as docs/diff-json.md describes it.
type decoded struct {
	Schema   string `json:"schema"`
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	A, B     struct {
		Path, Kind, Format, SHA256 string
		Size                       int64
	}
	Entries struct {
		A, B *int64
	} `json:"entries"`
	Summary     map[string]int      `json:"summary"`
	Incomplete  []string            `json:"incomplete"`
	Differences []decodedDifference `json:"differences"`
}

// TestJSONListsEverything decodes the JSON of each fixture and checks it
// against the Result: every difference present, in order, with its values
// and diff; counts, status and exit code agreeing with package compare.
func TestJSONListsEverything(t *testing.T) {
	wantStatus := map[compare.Status]string{
		compare.StatusIdentical: "identical", compare.StatusDiffers: "different",
		compare.StatusMetadataOnly: "metadata-only", compare.StatusIncomplete: "incomplete",
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			r := f.result()
			raw := render(t, "json", r)
			var got decoded
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if got.Schema != "reproof/diff/v1" {
				t.Errorf("schema = %q, want reproof/diff/v1", got.Schema)
			}
			if got.Status != wantStatus[r.Status()] || got.ExitCode == nil || *got.ExitCode != int(r.Status()) {
				t.Errorf("status, exit_code = %q, %v; want %q, %d", got.Status, got.ExitCode, wantStatus[r.Status()], int(r.Status()))
			}
			if got.A.Path != r.A.Path || got.B.Path != r.B.Path || got.A.SHA256 != r.A.SHA256 || got.B.Size != r.B.Size {
				t.Errorf("inputs = %+v, %+v; want %+v, %+v", got.A, got.B, r.A, r.B)
			}
			if got.Entries.A == nil || *got.Entries.A != r.EntriesA || got.Entries.B == nil || *got.Entries.B != r.EntriesB {
				t.Errorf("entries = %v, %v; want %d, %d", got.Entries.A, got.Entries.B, r.EntriesA, r.EntriesB)
			}
			if got.Incomplete == nil || !reflect.DeepEqual(got.Incomplete, append([]string{}, r.Incomplete...)) {
				t.Errorf("incomplete = %#v, want %#v (never null)", got.Incomplete, r.Incomplete)
			}
			if got.Differences == nil {
				t.Fatalf("differences is null or missing, want a list")
			}
			flat := flatten(got.Differences)
			if len(flat) != len(r.Differences) {
				t.Fatalf("%d differences, want %d", len(flat), len(r.Differences))
			}
			count := map[string]int{}
			for i, want := range r.Differences { // the fixtures are in report order
				g := flat[i]
				count[string(want.Kind)]++
				if g.Path != want.Path || g.Kind != string(want.Kind) || g.Detail != want.Detail ||
					g.Old != want.Old || g.New != want.New || g.SameContent != want.SameContent {
					t.Errorf("difference %d = %+v, want %+v", i, g, want)
				}
				if g.Content == nil || *g.Content != want.IsContent() {
					t.Errorf("difference %d (%s %q): content = %v, want %v", i, want.Kind, want.Path, g.Content, want.IsContent())
				}
				switch {
				case (g.Diff == nil) != (want.Diff == nil):
					t.Errorf("difference %d: diff = %v, want %v", i, g.Diff, want.Diff)
				case want.Diff != nil:
					if g.Diff.Format != want.Diff.Format || g.Diff.Unified != want.Diff.Unified || g.Diff.Omitted != want.Diff.Omitted ||
						!reflect.DeepEqual(g.Diff.Sections, want.Diff.Sections) || !reflect.DeepEqual(g.Diff.BuildID, want.Diff.BuildID) {
						t.Errorf("difference %d: diff = %+v, want %+v", i, *g.Diff, *want.Diff)
					}
				}
			}
			for _, k := range compare.Kinds {
				if n, ok := got.Summary[string(k)]; !ok || n != count[string(k)] {
					t.Errorf("summary[%q] = %d (present %v), want %d", k, n, ok, count[string(k)])
				}
			}
		})
	}
}

// flatDifference is one path of a decoded difference record.
type flatDifference struct {
	Path string
	decodedDifference
}

type decodedDifference = struct {
	Paths       []string `json:"paths"`
	Kind        string   `json:"kind"`
	Content     *bool    `json:"content"`
	Detail      string   `json:"detail"`
	Old         string   `json:"old"`
	New         string   `json:"new"`
	SameContent bool     `json:"same_content"`
	Diff        *struct {
		Format   string   `json:"format"`
		Unified  string   `json:"unified"`
		Sections []string `json:"sections"`
		BuildID  []string `json:"build_id"`
		Omitted  int      `json:"omitted"`
	} `json:"diff"`
}

// flatten expands records that list several paths into one difference
// per path, in report order (path, then kind).
func flatten(ds []decodedDifference) []flatDifference {
	var out []flatDifference
	for _, d := range ds {
		for _, p := range d.Paths {
			out = append(out, flatDifference{p, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return kindRank(out[i].Kind) < kindRank(out[j].Kind)
	})
	return out
}

func kindRank(k string) int {
	for i, x := range compare.Kinds {
		if string(x) == k {
			return i
		}
	}
	return len(compare.Kinds)
}

// TestJSONMergesSameDifferences: 500 equal mtime changes are one record
// naming 500 paths; a content difference keeps its own record.
func TestJSONMergesSameDifferences(t *testing.T) {
	r := &compare.Result{}
	for i := 0; i < 500; i++ {
		r.Differences = append(r.Differences, compare.Difference{Path: fmt.Sprintf("src/f%03d.go", i), Kind: compare.KindMtime,
			Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z", Old: "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z"})
	}
	r.Differences = append(r.Differences, compare.Difference{Path: "src/x.go", Kind: compare.KindContent, Detail: "1 → 2 bytes",
		Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1 +1 @@\n-a\n+b\n"}})
	var got decoded
	if err := json.Unmarshal(render(t, "json", r), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Differences) != 2 || len(got.Differences[0].Paths) != 500 || len(got.Differences[1].Paths) != 1 {
		t.Errorf("got %d records; want one of 500 mtime paths and one content record", len(got.Differences))
	}
}

// TestJSONKeyOrder checks the document's keys come in the documented
// order, so two reports of one Result can be compared as text.
func TestJSONKeyOrder(t *testing.T) {
	for _, f := range fixtures {
		keys, err := topLevelKeys(render(t, "json", f.result()))
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		want := []string{"schema", "status", "exit_code", "a", "b", "entries", "summary", "incomplete", "differences"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("%s: top-level keys = %q, want %q", f.name, keys, want)
		}
	}
}

// topLevelKeys returns the keys of a JSON object in the order written.
func topLevelKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
