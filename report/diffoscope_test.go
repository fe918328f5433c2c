package report

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/testenv"
)

// diffoscopeKeys is every key diffoscope's JSON presenter writes
// (diffoscope/presenters/json.py, format version 1).
var diffoscopeKeys = map[string]bool{
	"diffoscope-json-version": true, "source1": true, "source2": true,
	"comments": true, "has_internal_linenos": true, "unified_diff": true, "details": true,
}

// dsDecoded is a node of diffoscope's JSON, as its reader loads it.
type dsDecoded struct {
	Source1     string       `json:"source1"`
	Source2     string       `json:"source2"`
	Comments    []string     `json:"comments"`
	UnifiedDiff *string      `json:"unified_diff"`
	Details     []*dsDecoded `json:"details"`
}

func decodeDS(t *testing.T, raw []byte) *dsDecoded {
	t.Helper()
	var root dsDecoded
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatalf("decoding diffoscope json: %v", err)
	}
	return &root
}

// jsonKeys collects every object key anywhere in a JSON document.
func jsonKeys(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				keys[k] = true
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return keys
}

// child finds the detail of n named name.
func (n *dsDecoded) child(name string) *dsDecoded {
	for _, c := range n.Details {
		if c.Source1 == name {
			return c
		}
	}
	return nil
}

// find follows a chain of names strictly, one level each.
func (n *dsDecoded) find(chain ...string) *dsDecoded {
	for _, name := range chain {
		if n = n.child(name); n == nil {
			return nil
		}
	}
	return n
}

// findLoose follows a chain of names, allowing nodes in between (such as
// diffoscope's "a.tar.gz-content" for the decompressed stream).
func (n *dsDecoded) findLoose(chain ...string) *dsDecoded {
	if len(chain) == 0 {
		return n
	}
	for _, c := range n.Details {
		if c.Source1 == chain[0] {
			if f := c.findLoose(chain[1:]...); f != nil {
				return f
			}
		}
		if f := c.findLoose(chain...); f != nil {
			return f
		}
	}
	return nil
}

var numericHunkHeader = regexp.MustCompile(`^@@ -\d+(,\d+)? \+\d+(,\d+)? @@`)

// TestDiffoscopeStructure checks the diffoscope JSON of every fixture has
// diffoscope's shape: its keys only, in its order, unified_diff always
// present, nested archives as nested details, diffs that diffoscope's
// presenters can parse, and every difference shown somewhere.
func TestDiffoscopeStructure(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			r := f.result()
			raw := render(t, "diffoscope.json", r)
			for k := range jsonKeys(t, raw) {
				if !diffoscopeKeys[k] {
					t.Errorf("key %q is not one diffoscope writes", k)
				}
			}
			keys, err := topLevelKeys(raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) < 4 || keys[0] != "diffoscope-json-version" || keys[1] != "source1" || keys[2] != "source2" {
				t.Errorf("root keys = %q, want diffoscope-json-version, source1, source2 first", keys)
			}
			var version struct {
				V *int `json:"diffoscope-json-version"`
			}
			if err := json.Unmarshal(raw, &version); err != nil || version.V == nil || *version.V != 1 {
				t.Errorf("diffoscope-json-version = %v, want 1", version.V)
			}
			root := decodeDS(t, raw)
			if root.Source1 != r.A.Path || root.Source2 != r.B.Path {
				t.Errorf("root sources = %q, %q; want %q, %q", root.Source1, root.Source2, r.A.Path, r.B.Path)
			}
			checkNodes(t, raw)

			var lines, comments []string
			var walk func(n *dsDecoded)
			walk = func(n *dsDecoded) {
				comments = append(comments, n.Comments...)
				if n.UnifiedDiff != nil {
					lines = append(lines, strings.Split(*n.UnifiedDiff, "\n")...)
				}
				for _, c := range n.Details {
					walk(c)
				}
			}
			walk(root)
			text := strings.Join(lines, "\n") + "\n" + strings.Join(comments, "\n")
			for _, note := range r.Incomplete {
				if !strings.Contains(text, note) {
					t.Errorf("incomplete note %q is not in the comments", note)
				}
			}
			for _, d := range r.Differences {
				segs := strings.Split(d.Path, "!/")
				if d.Path == "" {
					segs = nil
				}
				switch {
				case d.Kind == compare.KindContent && (d.Diff != nil || d.Path != ""):
					n := root.find(segs...)
					if n == nil {
						t.Errorf("content difference at %q: no node at %q", d.Path, segs)
						continue
					}
					if d.Diff != nil && d.Diff.Unified != "" && n.UnifiedDiff == nil {
						t.Errorf("content difference at %q: node has no unified_diff", d.Path)
					}
				case d.Kind == compare.KindOrder || d.Kind == compare.KindCompression || d.Kind == compare.KindContent:
					if d.Detail != "" && !strings.Contains(text, groupLeadingNumber(d.Detail)) {
						t.Errorf("%s difference at %q: detail %q not shown", d.Kind, d.Path, d.Detail)
					}
				case d.Old != "" || d.New != "":
					name := ""
					if len(segs) > 0 {
						name = visible(segs[len(segs)-1], false)
					}
					if !strings.Contains(text, "-"+name) || !strings.Contains(text, "+"+name) {
						t.Errorf("%s difference at %q: no file list lines", d.Kind, d.Path)
					}
				case d.Kind == compare.KindMissing || d.Kind == compare.KindExtra:
					sign := map[compare.Kind]string{compare.KindMissing: "-", compare.KindExtra: "+"}[d.Kind]
					if !strings.Contains(text, "\n"+sign+visible(segs[len(segs)-1], false)) {
						t.Errorf("%s entry %q not in a file list", d.Kind, d.Path)
					}
				default:
					if !strings.Contains(text, visible(d.Detail, false)) {
						t.Errorf("%s difference at %q: detail %q not shown", d.Kind, d.Path, d.Detail)
					}
				}
			}
		})
	}
}

// checkNodes checks every node: sources and unified_diff present, diffs
// that open with a numeric hunk header or a "[...]" comment line, and no
// control character in the lines we write ourselves.
func checkNodes(t *testing.T, raw []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(m map[string]any, where string)
	walk = func(m map[string]any, where string) {
		for _, k := range []string{"source1", "source2", "unified_diff"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q (diffoscope's reader requires it)", where, k)
			}
		}
		where += "/" + visible(m["source1"].(string), false)
		if c, ok := m["comments"]; ok && len(c.([]any)) == 0 {
			t.Errorf("%s: empty comments (diffoscope leaves them out)", where)
		}
		if u, ok := m["unified_diff"].(string); ok {
			for _, l := range strings.Split(strings.TrimSuffix(u, "\n"), "\n") {
				if strings.HasPrefix(l, "@@") && !numericHunkHeader.MatchString(l) {
					t.Errorf("%s: hunk header %q diffoscope cannot parse", where, l)
				}
			}
			if first := strings.SplitN(u, "\n", 2)[0]; !numericHunkHeader.MatchString(first) && !strings.HasPrefix(first, "[") {
				t.Errorf("%s: unified_diff starts with %q", where, first)
			}
			if !strings.HasSuffix(u, "\n") {
				t.Errorf("%s: unified_diff does not end with a newline", where)
			}
			if m["source1"] == "file list" && strings.ContainsAny(u, "\x1b\r\u202e") {
				t.Errorf("%s: control characters in a file list", where)
			}
		}
		if d, ok := m["details"]; ok {
			if len(d.([]any)) == 0 {
				t.Errorf("%s: empty details (diffoscope leaves them out)", where)
			}
			for _, c := range d.([]any) {
				walk(c.(map[string]any), where)
			}
		}
	}
	walk(v.(map[string]any), "")
}

// TestDiffoscopeAgainstDiffoscope compares two real archives with package
// compare and with diffoscope itself: our diffoscope JSON uses every key
// diffoscope used and no other, names the same nested entries with diffs,
// and diffoscope reads it back (--load-existing-diff) into a text report.
func TestDiffoscopeAgainstDiffoscope(t *testing.T) {
	testenv.RequireTools(t, "diffoscope")
	bin, err := testenv.LookTool("diffoscope")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
	writeTarGz(t, a, releaseA())
	writeTarGz(t, b, releaseB())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	theirs := filepath.Join(dir, "theirs.json")
	cmd := exec.CommandContext(ctx, bin, "--json", theirs, a, b)
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 {
		t.Fatalf("diffoscope --json: %v (want exit status 1: differences)\n%s", err, out)
	}
	theirsRaw, err := os.ReadFile(theirs)
	if err != nil {
		t.Fatal(err)
	}

	res, err := compare.Compare(ctx, a, b, compare.Options{})
	if err != nil {
		t.Fatalf("compare.Compare: %v", err)
	}
	var buf bytes.Buffer
	if err := DiffoscopeJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	oursRaw := buf.Bytes()

	theirKeys, ourKeys := jsonKeys(t, theirsRaw), jsonKeys(t, oursRaw)
	for k := range theirKeys {
		if !ourKeys[k] {
			t.Errorf("diffoscope wrote key %q, we do not", k)
		}
	}
	for k := range ourKeys {
		if !diffoscopeKeys[k] {
			t.Errorf("we write key %q, diffoscope never does", k)
		}
	}
	if t.Failed() {
		t.Logf("diffoscope keys %v, ours %v", sortedKeys(theirKeys), sortedKeys(ourKeys))
	}

	ours, theirsRoot := decodeDS(t, oursRaw), decodeDS(t, theirsRaw)
	for _, chain := range [][]string{{"d/x.txt"}, {"d/blob.bin"}, {"app.jar", "META-INF/MANIFEST.MF"}} {
		tn, on := theirsRoot.findLoose(chain...), ours.find(chain...)
		switch {
		case tn == nil:
			t.Errorf("diffoscope has no node %q (the test's archives are not what it expects)", chain)
		case on == nil:
			t.Errorf("no node %q where diffoscope has one", chain)
		case tn.UnifiedDiff != nil && on.UnifiedDiff == nil:
			t.Errorf("node %q: diffoscope has a unified_diff, we do not", chain)
		}
	}

	path := filepath.Join(dir, "ours.json")
	if err := os.WriteFile(path, oursRaw, 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "ours.txt")
	cmd = exec.CommandContext(ctx, bin, "--load-existing-diff", path, "--text", text)
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 {
		t.Fatalf("diffoscope --load-existing-diff: %v (want exit status 1)\n%s", err, out)
	}
	got, err := os.ReadFile(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- " + a, "META-INF/MANIFEST.MF", "-Created-By: 17", "+Created-By: 21", "-world", "+there", "file list", "d/gone.txt"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("diffoscope's text rendering of our JSON lacks %q:\n%s", want, got)
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

type tarFile struct {
	name  string
	mode  int64
	mtime time.Time
	body  []byte
	dir   bool
}

var (
	time2020 = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	time2024 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// releaseA and releaseB are two builds of one release: a text file, a
// binary and a jar's manifest differ; a script's mode and time; one file
// went, one came; the jar moved to the end.
func releaseA() []tarFile {
	return []tarFile{
		{name: "app.jar", mode: 0o644, mtime: time2024, body: jar("Manifest-Version: 1.0\nCreated-By: 17\n")},
		{name: "d/", mode: 0o755, mtime: time2024, dir: true},
		{name: "d/blob.bin", mode: 0o644, mtime: time2024, body: blob(0x11)},
		{name: "d/gone.txt", mode: 0o644, mtime: time2024, body: []byte("old\n")},
		{name: "d/s", mode: 0o644, mtime: time2024, body: []byte("same\n")},
		{name: "d/x.txt", mode: 0o644, mtime: time2024, body: []byte("hello\nworld\n")},
	}
}

func releaseB() []tarFile {
	return []tarFile{
		{name: "d/", mode: 0o755, mtime: time2024, dir: true},
		{name: "d/blob.bin", mode: 0o644, mtime: time2024, body: blob(0x22)},
		{name: "d/new.txt", mode: 0o644, mtime: time2024, body: []byte("new\n")},
		{name: "d/s", mode: 0o755, mtime: time2020, body: []byte("same\n")},
		{name: "d/x.txt", mode: 0o644, mtime: time2024, body: []byte("hello\nthere\n")},
		{name: "app.jar", mode: 0o644, mtime: time2024, body: jar("Manifest-Version: 1.0\nCreated-By: 21\n")},
	}
}

// blob is 4 KiB of binary data with one byte changed by v.
func blob(v byte) []byte {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i * 7)
	}
	b[0] = 0x7f
	b[2000] = v
	return b
}

func jar(manifest string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "META-INF/MANIFEST.MF", Method: zip.Store, Modified: time2024})
	if err == nil {
		_, err = w.Write([]byte(manifest))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func writeTarGz(t *testing.T, path string, files []tarFile) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: f.mtime, Typeflag: tar.TypeReg, Size: int64(len(f.body)), Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
