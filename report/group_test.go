package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

// TestSummarize checks the groups of the realistic result: one order line
// per archive, the 500 mtime-only entries as one group with their shared
// values, the entry that also differs otherwise apart, links split by
// content, and every content difference kept with its diff.
func TestSummarize(t *testing.T) {
	groups := Summarize(realisticResult())
	type row struct {
		kind           compare.Kind
		content, only  bool
		listed         bool
		count, paths   int
		old, new       string
		title          string
		firstPath      string
		withDiffsCount int
	}
	var got []row
	for _, g := range groups {
		r := row{kind: g.Kind, content: g.Content, only: g.Only, listed: g.Listed, count: g.Count, paths: len(g.Paths),
			old: g.Old, new: g.New, title: g.Title(), firstPath: g.Paths[0]}
		for _, d := range g.Differences {
			if d.Diff != nil {
				r.withDiffsCount++
			}
		}
		got = append(got, r)
	}
	const mtimeOld, mtimeNew = "2024-01-01T00:00:00Z", "2020-01-01T00:00:00Z"
	want := []row{
		{compare.KindType, true, true, true, 1, 1, "directory", "symlink", "1 entry changed type", "app-1.4.2/var/run", 0},
		{compare.KindMissing, true, true, false, 1, 1, "", "", "1 entry missing from B", "app-1.4.2/.DS_Store", 0},
		{compare.KindExtra, true, true, false, 1, 1, "", "", "1 extra entry in B", "app-1.4.2/build-info.txt", 0},
		{compare.KindDuplicate, true, false, true, 1, 1, "", "", "1 entry stored more than once", "app-1.4.2/README", 0},
		{compare.KindContent, true, false, true, 6, 6, "", "", "6 entries differ in content", hostilePath, 5},
		{compare.KindSize, true, false, false, 1, 1, "1048576", "1048584", "1 entry also differs in size", "app-1.4.2/bin/app", 0},
		{compare.KindLink, true, true, true, 1, 1, "libapp.so.1.4.1", "libapp.so.1.4.2", "1 entry differs in link target", "app-1.4.2/lib/libapp.so", 0},
		{compare.KindLink, true, true, false, 1, 1, `hardlink to "app-1.4.2/bin/app"`, "regular file", "1 entry differs in link structure (hardlink vs copy, same bytes)", "app-1.4.2/bin/app-cli", 0},
		{compare.KindMode, true, false, false, 1, 1, "0755", "0775", "1 entry also differs in mode", "app-1.4.2/bin/app", 0},
		{compare.KindOwner, false, true, false, 1, 1, "1000/1000 builder/builder", "0/0 root/root", "1 entry differs only in owner", "app-1.4.2/", 0},
		{compare.KindOwner, false, false, false, 1, 1, "0/0 root/root", "0/0 <b>evil</b>/root", "1 entry also differs in owner", hostilePath, 0},
		{compare.KindMtime, false, true, false, 500, 500, mtimeOld, mtimeNew, "500 entries differ only in mtime", "app-1.4.2/share/locale/aa_000/LC_MESSAGES/app.mo", 0},
		{compare.KindMtime, false, false, false, 1, 1, mtimeOld, mtimeNew, "1 entry also differs in mtime", hostilePath, 0},
		{compare.KindXattr, true, false, false, 1, 1, "", "", "1 entry also differs in extended attributes", "app-1.4.2/bin/app", 0},
		{compare.KindPax, false, false, false, 1, 1, "", "", "1 entry also differs in pax records", "app-1.4.2/README", 0},
		{compare.KindOrder, false, false, true, 2, 2, "", "", "2 archives with entries in a different order", "", 0},
		{compare.KindCompression, false, false, true, 2, 2, "", "", "2 compressed streams differ (same payload)", "", 0},
	}
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("%+v", g)
		}
		t.Fatalf("Summarize gave %d groups, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("group %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	// Every difference is in exactly one group.
	n := 0
	for _, g := range groups {
		n += len(g.Differences)
	}
	if want := len(realisticResult().Differences); n != want {
		t.Errorf("groups hold %d differences, want %d", n, want)
	}
}

func TestSummarizeIdentical(t *testing.T) {
	if g := Summarize(identicalResult()); len(g) != 0 {
		t.Errorf("Summarize(identical) = %v, want no groups", g)
	}
}

// TestSummarizeUnknownKind: a kind this package does not know is listed
// one by one, after the known ones, never hidden.
func TestSummarizeUnknownKind(t *testing.T) {
	r := smallResult()
	r.Differences = append(r.Differences, compare.Difference{Path: "x", Kind: "sparse-map", Detail: "holes differ"})
	groups := Summarize(r)
	last := groups[len(groups)-1]
	if last.Kind != "sparse-map" || !last.Listed || last.Title() != "1 entry differs in sparse-map" {
		t.Errorf("last group = %+v (title %q), want the unknown kind, listed", last, last.Title())
	}
	var b bytes.Buffer
	if err := Text(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  x: holes differ\n") {
		t.Errorf("text lacks the unknown kind's difference:\n%s", b.String())
	}
}

// TestTextGroupedLine checks the one line of a big group: the shared
// values, MaxList names, and how many more.
func TestTextGroupedLine(t *testing.T) {
	r := &compare.Result{}
	for i := 0; i < 12802; i++ {
		r.Differences = append(r.Differences, compare.Difference{Path: fmt.Sprintf("f%05d", i), Kind: compare.KindMtime,
			Old: "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z", Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z"})
	}
	tests := []struct {
		max  int
		want string
	}{
		{3, "12,802 entries differ only in mtime (2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z), e.g. f00000, f00001, f00002 and 12,799 more\n"},
		{0, "12,802 entries differ only in mtime (2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z), e.g. f00000, f00001, f00002, f00003, f00004, f00005, f00006, f00007, f00008, f00009 and 12,792 more\n"},
		{20000, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Text(&b, r, TextOptions{MaxList: tt.max}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		switch {
		case tt.want != "" && !strings.Contains(out, "\n"+tt.want):
			t.Errorf("Text(MaxList %d) lacks %q:\n%s", tt.max, tt.want, out)
		case tt.want == "" && (strings.Contains(out, "more\n") || !strings.Contains(out, ", f12801\n")):
			t.Errorf("Text(MaxList %d) does not list every name", tt.max)
		}
		if strings.Count(out, "\n") > 12 {
			t.Errorf("Text(MaxList %d): %d lines for one group, want it on one line", tt.max, strings.Count(out, "\n"))
		}
	}
}

// TestTextStatusLine: the first and last lines say the status and the
// exit code reproof diff will return.
func TestTextStatusLine(t *testing.T) {
	want := map[string]string{
		"realistic":     "reproof diff: incomplete (exit status 2)",
		"small":         "reproof diff: content differs (exit status 1)",
		"metadata-only": "reproof diff: only metadata, order or compression differ (exit status 3)",
		"identical":     "reproof diff: identical (exit status 0)",
	}
	for _, f := range fixtures {
		lines := strings.Split(strings.TrimSuffix(string(render(t, "txt", f.result())), "\n"), "\n")
		if lines[0] != want[f.name] {
			t.Errorf("%s: first line %q, want %q", f.name, lines[0], want[f.name])
		}
		if f.name != "identical" && lines[len(lines)-1] != want[f.name] {
			t.Errorf("%s: last line %q, want %q", f.name, lines[len(lines)-1], want[f.name])
		}
	}
	out := string(render(t, "txt", realisticResult()))
	if !strings.Contains(out, "\nINCOMPLETE: app-1.4.2/share/vendor.tar.xz: nesting deeper than 8 archives (--max-depth)\n") {
		t.Errorf("no INCOMPLETE line:\n%s", out)
	}
}
