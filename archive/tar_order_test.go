package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests hold tar-order's external merge sort to its specification
// with archives generated here: names in random order, duplicates,
// hardlinks (to names sorting before and after them, in chains, to
// themselves, dangling) and pax global headers. Every sort budget, from
// one record per run merged two at a time to everything in memory, must
// give the same bytes, and those bytes must be what the specification
// says, entry by entry.

// genEntry is one entry of a generated archive.
type genEntry struct {
	hdr     tar.Header
	content []byte
}

// genNames are the path pieces of generated names, chosen to make bytewise
// order matter: '-' < '.' < '/' < digits < upper case < lower case.
var genNames = []string{"a", "b", "a-b", "a.b", "a/b", "A", "z", "dir", "dir/x", "dir/x/y", "ü", "0"}

// genArchive returns a random tar archive and its entries, in stored order.
func genArchive(rng *rand.Rand, n int) ([]byte, []genEntry) {
	name := func() string {
		s := genNames[rng.IntN(len(genNames))]
		if rng.IntN(3) == 0 {
			s += "/" + genNames[rng.IntN(len(genNames))]
		}
		return s
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var entries []genEntry
	var files []string // names of regular files and hardlinks stored so far
	for i := range n {
		// Every name is unique: a name stored twice, a file over a
		// directory, a path through a symlink, a hardlink to what comes
		// later or to a symlink are read differently by the extractors,
		// and Normalize refuses them (TestTarOrderHardlinkCases).
		h := tar.Header{
			Name: fmt.Sprintf("%s.%d", name(), i), Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1000 + i,
			ModTime: base.Add(time.Duration(i) * time.Second), Format: tar.FormatPAX,
		}
		var content []byte
		switch k := rng.IntN(20); {
		case k < 7 && len(files) > 0: // a hardlink to a file stored before
			h.Typeflag, h.Linkname = tar.TypeLink, files[rng.IntN(len(files))]
		case k == 9:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case k == 10:
			h.Typeflag, h.Linkname = tar.TypeSymlink, name()
		case k == 11: // a pax global header, sometimes named like an entry
			h = tar.Header{Name: "GlobalHead.0.0", Typeflag: tar.TypeXGlobalHeader, Format: tar.FormatPAX,
				PAXRecords: map[string]string{"comment": fmt.Sprintf("global %d", i)}}
			// A non-ASCII name would make archive/tar write it as a
			// global path record, which GNU tar applies: ambiguous.
			if n := name(); rng.IntN(2) == 0 && !strings.ContainsFunc(n, func(r rune) bool { return r > 127 }) {
				h.Name = n
			}
		default:
			content = make([]byte, rng.IntN(1500))
			for j := range content {
				content[j] = byte(rng.IntN(256))
			}
			h.Size = int64(len(content))
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeLink {
			files = append(files, h.Name)
		}
		entries = append(entries, genEntry{hdr: h, content: content})
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := range entries {
		if err := tw.WriteHeader(&entries[i].hdr); err != nil {
			panic(fmt.Sprintf("writing generated entry %q: %v", entries[i].hdr.Name, err))
		}
		if _, err := tw.Write(entries[i].content); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes(), entries
}

// wantEntry is what the specification says one output entry is.
type wantEntry struct {
	name     string
	typeflag byte
	linkname string
	src      int // the stored entry whose header (and content) is used
}

// specSortedTar is tar-order's specification, in memory: pax global
// headers first, then by name bytewise, stable. A hardlink resolves to the
// last entry of its target's name stored before it (through that entry
// when it is a hardlink); the first name of each group in output order
// carries the content holder's header and content, the others link to it.
// Dangling links stay as stored. It returns the entries and the number
// moved.
func specSortedTar(in []genEntry) ([]wantEntry, int) {
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	global := func(i int) bool { return in[i].hdr.Typeflag == tar.TypeXGlobalHeader }
	slices.SortStableFunc(order, func(a, b int) int {
		if global(a) != global(b) {
			if global(a) {
				return -1
			}
			return 1
		}
		return strings.Compare(in[a].hdr.Name, in[b].hdr.Name)
	})
	holder := make([]int, len(in))
	for i, e := range in {
		holder[i] = -1
		if e.hdr.Typeflag != tar.TypeLink {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if in[j].hdr.Name != e.hdr.Linkname {
				continue
			}
			holder[i] = j
			if in[j].hdr.Typeflag == tar.TypeLink {
				holder[i] = holder[j]
			}
			break
		}
	}
	isHolder := map[int]bool{}
	for _, h := range holder {
		if h >= 0 {
			isHolder[h] = true
		}
	}
	leader := map[int]string{}
	var want []wantEntry
	moved := 0
	for pos, i := range order {
		if pos != i {
			moved++
		}
		e := in[i].hdr
		w := wantEntry{name: e.Name, typeflag: e.Typeflag, linkname: e.Linkname, src: i}
		h := -1
		switch {
		case e.Typeflag == tar.TypeLink:
			h = holder[i]
		case isHolder[i]:
			h = i
		}
		if h >= 0 {
			w.src, w.typeflag, w.linkname = h, in[h].hdr.Typeflag, in[h].hdr.Linkname
			if lead, ok := leader[h]; ok {
				w.typeflag, w.linkname = tar.TypeLink, lead
			} else {
				leader[h] = e.Name
			}
		}
		want = append(want, w)
	}
	return want, moved
}

// withSortBudget sets the sort's budgets for one test.
func withSortBudget(t *testing.T, runSize, fanIn int) {
	t.Helper()
	oldSize, oldFanIn := sortRunSize, sortFanIn
	sortRunSize, sortFanIn = runSize, fanIn
	t.Cleanup(func() { sortRunSize, sortFanIn = oldSize, oldFanIn })
}

func normalizeTar(t *testing.T, in []byte, passes string) ([]byte, *NormalizeReport) {
	t.Helper()
	set, err := ParsePasses(passes)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	rep, err := Normalize(context.Background(), bytes.NewReader(in), "gen.tar", &out, NormalizeOptions{
		Passes: set, Epoch: time.Unix(1_700_000_000, 0), HasEpoch: true, TempDir: dir,
	})
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("Normalize left %d temporary files, want none", len(left))
	}
	return out.Bytes(), rep
}

var sortBudgets = []struct{ runSize, fanIn int }{
	{1 << 20, 64}, // one run, in memory
	{1, 2},
	{1, 64},
	{2, 3},
	{3, 2},
	{7, 3},
	{7, 64},
}

func TestTarOrderBudgets(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 0x7a72))
		in, entries := genArchive(rng, 1+rng.IntN(120))
		for _, passes := range []string{"tar-order", "all"} {
			t.Run(fmt.Sprintf("seed%d/%s", seed, passes), func(t *testing.T) {
				var first []byte
				for _, b := range sortBudgets {
					withSortBudget(t, b.runSize, b.fanIn)
					out, rep := normalizeTar(t, in, passes)
					if first == nil {
						first = out
						if passes == "tar-order" {
							checkSpec(t, entries, out, rep)
						}
						continue
					}
					if !bytes.Equal(out, first) {
						t.Fatalf("sortRunSize %d, sortFanIn %d: output differs from sortRunSize %d (%d and %d bytes)",
							b.runSize, b.fanIn, sortBudgets[0].runSize, len(out), len(first))
					}
				}
			})
		}
	}
}

// checkSpec compares a tar-order output, entry by entry, with the
// specification.
func checkSpec(t *testing.T, in []genEntry, out []byte, rep *NormalizeReport) {
	t.Helper()
	want, moved := specSortedTar(in)
	tr := tar.NewReader(bytes.NewReader(out))
	for i, w := range want {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("entry %d: %v, want %q", i, err, w.name)
		}
		src := in[w.src].hdr
		if h.Name != w.name || h.Typeflag != w.typeflag || h.Linkname != w.linkname {
			t.Fatalf("entry %d = %q (type %q, link %q), want %q (type %q, link %q)",
				i, h.Name, h.Typeflag, h.Linkname, w.name, w.typeflag, w.linkname)
		}
		if src.Typeflag != tar.TypeXGlobalHeader && (h.Uid != src.Uid || !h.ModTime.Equal(src.ModTime)) {
			t.Errorf("entry %d %q has the header of uid %d, want that of stored entry %d (uid %d)", i, h.Name, h.Uid, w.src, src.Uid)
		}
		if h.Typeflag == tar.TypeXGlobalHeader && h.PAXRecords["comment"] != src.PAXRecords["comment"] {
			t.Errorf("entry %d %q: global header records %v, want %v", i, h.Name, h.PAXRecords, src.PAXRecords)
		}
		got, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		wantContent := in[w.src].content
		if w.typeflag != tar.TypeReg {
			wantContent = nil
		}
		if !bytes.Equal(got, wantContent) {
			t.Errorf("entry %d %q: %d bytes of content, want %d", i, h.Name, len(got), len(wantContent))
		}
	}
	if h, err := tr.Next(); err != io.EOF {
		t.Fatalf("after %d entries: %v, %v; want the end", len(want), h, err)
	}
	var got int64
	for _, p := range rep.Passes {
		if p.Pass == "tar-order" {
			got = p.Changed
		}
	}
	if got != int64(moved) {
		t.Errorf("tar-order changed %d entries, want %d moved", got, moved)
	}
}

// TestTarOrderRuns checks the runs file round trip and the merge on their
// own: any split into runs merges back into one sorted sequence.
func TestTarOrderRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var recs []sortRecord
	for i := range 500 {
		recs = append(recs, sortRecord{
			name: genNames[rng.IntN(len(genNames))] + strings.Repeat("x", rng.IntN(200)),
			off:  rng.Int64N(1 << 40), size: rng.Int64N(1 << 33), seq: int64(i),
			global: rng.IntN(10) == 0, link: rng.IntN(4) == 0,
		})
	}
	want := slices.Clone(recs)
	slices.SortFunc(want, func(a, b sortRecord) int { return compareRecords(&a, &b) })
	for _, b := range sortBudgets {
		t.Run(fmt.Sprintf("run%d-fanin%d", b.runSize, b.fanIn), func(t *testing.T) {
			withSortBudget(t, b.runSize, b.fanIn)
			var temps tempFiles
			defer func() {
				if err := temps.removeAll(); err != nil {
					t.Error(err)
				}
			}()
			runs := &sortedRuns{ctx: context.Background(), temps: &temps, dir: t.TempDir()}
			var batch []sortRecord
			for _, r := range recs {
				batch = append(batch, r)
				if len(batch) >= sortRunSize {
					if err := runs.add(batch); err != nil {
						t.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if err := runs.finish(batch); err != nil {
				t.Fatal(err)
			}
			if n := len(runs.runs); n > max(sortFanIn, 2) {
				t.Errorf("%d runs left to merge, want at most %d", n, sortFanIn)
			}
			src, err := runs.open()
			if err != nil {
				t.Fatal(err)
			}
			var got []sortRecord
			for {
				r, ok, err := src.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, r)
			}
			if !slices.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Fatalf("merged %d records, first difference at %d; want %d records in order", len(got), i, len(want))
			}
		})
	}
}

// TestTarOrderHardlinkCases pins the hardlink rules on small archives
// whose expected output is written out by hand.
func TestTarOrderHardlinkCases(t *testing.T) {
	reg := func(name, content string) genEntry {
		return genEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(content)), Mode: 0o644}, content: []byte(content)}
	}
	link := func(name, target string) genEntry {
		return genEntry{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
	}
	type out struct{ name, link, content string }
	cases := []struct {
		name string
		in   []genEntry
		want []out
	}{
		{"target sorts after the link",
			[]genEntry{reg("z", "zz"), link("a", "z"), link("m", "z")},
			[]out{{"a", "", "zz"}, {"m", "a", ""}, {"z", "a", ""}}},
		{"chain",
			[]genEntry{reg("x", "xx"), link("y", "x"), link("b", "y")},
			[]out{{"b", "", "xx"}, {"x", "b", ""}, {"y", "b", ""}}},
		// Read differently by the extractors: refused (nil want).
		{"duplicate target: a hardlinked file stored twice",
			[]genEntry{reg("t", "one"), link("l1", "t"), reg("t", "two"), link("l2", "t")}, nil},
		{"target stored after the link: dangling",
			[]genEntry{link("a", "b"), reg("b", "bb")}, nil},
		{"chain through a dangling link",
			[]genEntry{link("a", "nowhere"), link("b", "a")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, e := range c.in {
				if err := tw.WriteHeader(&e.hdr); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write(e.content); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				_, err := Normalize(context.Background(), bytes.NewReader(buf.Bytes()), "gen.tar", io.Discard, NormalizeOptions{
					Passes: AllPasses(), Epoch: time.Unix(1_700_000_000, 0), HasEpoch: true, TempDir: t.TempDir(),
				})
				if !errors.Is(err, ErrAmbiguous) {
					t.Fatalf("Normalize = %v, want ErrAmbiguous", err)
				}
				return
			}
			for _, b := range sortBudgets {
				withSortBudget(t, b.runSize, b.fanIn)
				got, _ := normalizeTar(t, buf.Bytes(), "tar-order")
				tr := tar.NewReader(bytes.NewReader(got))
				var entries []out
				for {
					h, err := tr.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					content, err := io.ReadAll(tr)
					if err != nil {
						t.Fatal(err)
					}
					entries = append(entries, out{h.Name, h.Linkname, string(content)})
				}
				if !slices.Equal(entries, c.want) {
					t.Fatalf("sortRunSize %d, sortFanIn %d: tar-order = %v, want %v", b.runSize, b.fanIn, entries, c.want)
				}
			}
		})
	}
}

// TestTarOrderRemovesTempFiles checks that a failed sort leaves no spill or
// runs file behind.
func TestTarOrderRemovesTempFiles(t *testing.T) {
	in, _ := genArchive(rand.New(rand.NewPCG(3, 4)), 200)
	withSortBudget(t, 2, 2)
	for _, cut := range []int{len(in) / 2, len(in) - 1024 - 700} {
		dir := t.TempDir()
		_, err := Normalize(context.Background(), bytes.NewReader(in[:cut]), "gen.tar", io.Discard, NormalizeOptions{
			Passes: AllPasses(), Epoch: time.Unix(1_700_000_000, 0), HasEpoch: true, TempDir: dir,
		})
		if err == nil {
			t.Fatalf("Normalize of %d of %d bytes succeeded, want an error", cut, len(in))
		}
		left, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("Normalize of %d of %d bytes failed and left %d temporary files, want none", cut, len(in), len(left))
		}
	}
}
