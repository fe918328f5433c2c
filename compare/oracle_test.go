package compare_test

// The oracle: diffoscope, the reference tool of reproducible builds,
// compares the same pairs, and reproof must agree with it both ways.
// Every member diffoscope shows a content diff for, reproof reports as
// differing in content (at the same path, or inside it when it is a nested
// archive); every member whose line in diffoscope's archive listing
// changed, reproof reports a difference for; and reproof reports no
// content difference, and no per-entry difference at all, that diffoscope
// does not show.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/testenv"
)

// diffoscopeNode is one node of diffoscope's JSON report.
type diffoscopeNode struct {
	Source1     string           `json:"source1"`
	Source2     string           `json:"source2"`
	UnifiedDiff *string          `json:"unified_diff"`
	Details     []diffoscopeNode `json:"details"`
}

// diffoscopeFindings is what diffoscope reports, by reproof path.
type diffoscopeFindings struct {
	content map[string]bool // members (or "" itself) whose content differs
	listed  map[string]bool // members whose line in an archive listing differs
}

// Nodes that list an archive's members: "file list" (tar, cpio, ar) and
// zipinfo's short form are parsed for the member names; the others show
// per-member metadata (zip CRCs, offsets) without a parseable name.
var (
	listingNodes  = map[string]bool{"file list": true, "zipinfo {}": true}
	metadataNodes = map[string]bool{"zipinfo -v {}": true, "zipnote {}": true, "zipdetails {}": true, "metadata": true}
	// A changed line of a tar listing ends in the time and the name, of a
	// zipinfo listing in the DOS date and the name.
	tarListLine = regexp.MustCompile(`^[-+][-dlcbps][-rwxsStT]{9}\s.* \d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d(?:\.\d+)?)? (.+)$`)
	zipListLine = regexp.MustCompile(`^[-+][-dl][-rwxsStT]{9}\s.* \d\d-[A-Z][a-z]{2}-\d\d \d\d:\d\d (.+)$`)
)

// readDiffoscope parses diffoscope's JSON report into findings.
func readDiffoscope(t *testing.T, report []byte) diffoscopeFindings {
	t.Helper()
	var root diffoscopeNode
	if err := json.Unmarshal(report, &root); err != nil {
		t.Fatalf("parsing diffoscope --json: %v\n%s", err, report)
	}
	f := diffoscopeFindings{content: map[string]bool{}, listed: map[string]bool{}}
	f.file(root, "", filepath.Base(root.Source1))
	return f
}

// file reads the node of the file at path (the input itself, a member, or
// the decompressed payload of a compressed file), named name.
func (f diffoscopeFindings) file(n diffoscopeNode, path, name string) {
	if n.UnifiedDiff != nil {
		f.content[path] = true
	}
	for _, c := range n.Details {
		switch {
		case listingNodes[c.Source1]:
			if c.UnifiedDiff != nil {
				for _, member := range listedMembers(*c.UnifiedDiff) {
					f.listed[joinMember(path, member)] = true
				}
			}
		case metadataNodes[c.Source1]:
		case c.Source1 == decompressedName(name):
			// The payload of a compressed file: the same path to reproof.
			f.file(c, path, c.Source1)
		case strings.Contains(c.Source1, "{}") || c.Source1 == "filetype from file(1)" || c.Source1 == "encoding":
			// A tool's view of this file's content (readelf, xxd, file).
			f.content[path] = true
		default:
			f.file(c, joinMember(path, c.Source1), filepath.Base(c.Source1))
		}
	}
}

// listedMembers returns the names on the changed lines of a listing diff.
func listedMembers(diff string) []string {
	var names []string
	for _, line := range strings.Split(diff, "\n") {
		m := tarListLine.FindStringSubmatch(line)
		if m == nil {
			m = zipListLine.FindStringSubmatch(line)
		}
		if m != nil {
			name, _, _ := strings.Cut(m[1], " -> ") // a symlink's target
			names = append(names, name)
		}
	}
	return names
}

// decompressedName is how diffoscope names the payload of a compressed
// file.
func decompressedName(name string) string {
	for _, ext := range []string{".gz", ".xz", ".zst", ".bz2"} {
		if base, ok := strings.CutSuffix(name, ext); ok {
			return base
		}
	}
	return name + "-content"
}

// joinMember is reproof's path of member inside the file at path: names
// normalized ("./a/" is "a"), "!/" entering a nested archive.
func joinMember(path, member string) string {
	for strings.HasPrefix(member, "./") {
		member = member[2:]
	}
	member = strings.TrimSuffix(strings.TrimLeft(member, "/"), "/")
	if path == "" {
		return member
	}
	return path + "!/" + member
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// runDiffoscope compares a and b with diffoscope and returns its findings.
func runDiffoscope(t *testing.T, a, b string) diffoscopeFindings {
	t.Helper()
	out := filepath.Join(t.TempDir(), "diffoscope.json")
	cmd := exec.Command("diffoscope", "--no-progress", "--json", out, a, b)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	msg, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 1 {
		t.Fatalf("diffoscope --json %s %s %s: %v\n%s", out, a, b, err, msg)
	}
	report, err := os.ReadFile(out)
	if err != nil {
		if cmd.ProcessState.ExitCode() == 0 {
			return diffoscopeFindings{content: map[string]bool{}, listed: map[string]bool{}} // identical: no report
		}
		t.Fatal(err)
	}
	return readDiffoscope(t, report)
}

// perEntry reports whether a difference of kind k is about one entry
// (rather than the container at its path: order, compression, encoding).
func perEntry(k compare.Kind) bool {
	return k != compare.KindOrder && k != compare.KindCompression && k != compare.KindPax
}

func TestDiffoscopeOracle(t *testing.T) {
	testenv.RequireTools(t, "diffoscope", "xxd", "zipinfo", "readelf", "sh", "tar", "gzip", "zstd", "zip", "gcc", "seq", "sed", "tr", "find", "touch")
	tests := []struct {
		name  string
		build func(t *testing.T, dir string) (a, b string)
		// wantContent is what diffoscope must find, so that the oracle is
		// known to have looked: the content paths, sorted.
		wantContent []string
	}{
		{"tar.gz text member changed", func(t *testing.T, dir string) (string, string) {
			return tarCase(t, dir, "a", "", "", ""), tarCase(t, dir, "b", `sed -i 's/^line 10$/LINE 10/' t/a.txt`, "", "")
		}, []string{"t/a.txt"}},
		{"tar.gz mode changed", func(t *testing.T, dir string) (string, string) {
			return tarCase(t, dir, "a", "", "", ""), tarCase(t, dir, "b", `chmod 0755 t/a.txt && chmod 0700 t/sub`, "", "")
		}, nil},
		{"tar.gz files added and removed", func(t *testing.T, dir string) (string, string) {
			return tarCase(t, dir, "a", "", "", ""), tarCase(t, dir, "b", `rm t/b.bin && echo new >t/sub/new.txt && echo 21 >>t/a.txt`, "", "")
		}, []string{"t/a.txt"}},
		{"tar.gz mtimes only", func(t *testing.T, dir string) (string, string) {
			return tarCase(t, dir, "a", "", "", ""), tarCase(t, dir, "b", "", `touch -d 2021-01-01 t/a.txt t/sub`, "")
		}, nil},
		{"zip member changed", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, fixtureTree+`
sed 's/^line 7$/line seven/' t/a.txt >a2.txt
`+settle+`
zip -q -X -r a.zip t
cp a2.txt t/a.txt && touch -d @`+epoch+` t/a.txt && zip -q -X -r b.zip t
`)
			return filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
		}, []string{"t/a.txt", "t/link"}}, // zip stores the link's target's content
		{"jar in tar in tar.gz", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, nestedScript, "a", "version 1.0.0")
			sh(t, dir, nil, nestedScript, "b", "version 2.0.0")
			return filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
		}, []string{"dist/inner.tar!/lib/app.jar!/pkg/a.txt"}},
		{"tar.zst in zip", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, nestedScript, "a", "version 1.0.0")
			sh(t, dir, nil, nestedScript, "b", "version 2.0.0")
			return filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
		}, []string{"data.tar.zst!/x/a.txt"}},
		{"text files", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, `seq 1 50 >a.txt && seq 1 50 | sed 's/^25$/twenty-five/' >b.txt`)
			return filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
		}, []string{""}},
		{"binary files", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, `seq 1 2000 | tr '\n' '\0' >a.bin && seq 1 2000 | sed 's/^1000$/1OOO/' | tr '\n' '\0' >b.bin`)
			return filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
		}, []string{""}},
		{"gzip files", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, `seq 1 2000 | gzip -n -1 >a.bin && seq 1 2000 | sed 's/^1000$/1OOO/' | gzip -n -9 >b.bin`)
			return filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
		}, []string{""}},
		{"ELF executables", func(t *testing.T, dir string) (string, string) {
			sh(t, dir, nil, `
printf '#include <stdio.h>\nint main(void) { puts("v" VERSION); return 0; }\n' >m.c
gcc -O2 -DVERSION='"1"' -o a m.c && gcc -O2 -DVERSION='"2"' -o b m.c
`)
			return filepath.Join(dir, "a"), filepath.Join(dir, "b")
		}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := tt.build(t, t.TempDir())
			oracle := runDiffoscope(t, a, b)
			if got := sortedKeys(oracle.content); !slices.Equal(got, append([]string{}, tt.wantContent...)) {
				t.Fatalf("diffoscope %s %s: content differs at %q, want %q: the oracle itself changed", a, b, got, tt.wantContent)
			}
			res := mustCompare(t, a, b, compare.Options{})
			explain := func() string {
				return fmt.Sprintf("diffoscope: content %q, listing %q\nreproof: %s", sortedKeys(oracle.content), sortedKeys(oracle.listed), dump(res))
			}
			t.Log(explain())

			// What diffoscope finds, reproof finds.
			for p := range oracle.content {
				if !slices.ContainsFunc(res.Differences, func(d compare.Difference) bool {
					return d.IsContent() && (p == "" || d.Path == p || strings.HasPrefix(d.Path, p+"!/"))
				}) {
					t.Errorf("diffoscope finds the content of %q differs; reproof does not\n%s", p, explain())
				}
			}
			for p := range oracle.listed {
				if !slices.ContainsFunc(res.Differences, func(d compare.Difference) bool { return d.Path == p }) {
					t.Errorf("diffoscope lists %q differently; reproof reports no difference there\n%s", p, explain())
				}
			}

			// What diffoscope does not find, reproof does not report.
			for _, d := range res.Differences {
				switch {
				case d.Kind == compare.KindContent && !oracle.content[d.Path]:
					t.Errorf("reproof reports the content of %q differs; diffoscope does not\n%s", d.Path, explain())
				case perEntry(d.Kind) && d.Kind != compare.KindContent && !oracle.listed[d.Path] && !oracle.content[d.Path]:
					t.Errorf("reproof reports a %s difference at %q; diffoscope shows none\n%s", d.Kind, d.Path, explain())
				}
			}
		})
	}
}
