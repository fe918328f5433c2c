package compare_test

// Hostile archives given to Compare (what reproof diff and verify's
// comparisons run): names that climb out, links that point outside or
// through each other, directories replaced by links, in every container
// format and nested; bombs nested in archives, a thousand levels of
// nesting, texts too different to diff, data hidden after the end. Each
// comparison ends in bounded time and memory with a report (its caps in
// Result.Incomplete) or an error, and writes nothing outside its own
// work directory, which it leaves empty.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/archive/archivetest"
	"github.com/reproof/reproof/compare"
)

// tree lists every path under root with its kind and, for files, content.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := rel + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		}
		out = append(out, desc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTo(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostileArchives returns, for side ("a" or "b"), archives of every
// format whose entries climb out of any directory they would be
// extracted to, toward sentinel (an absolute directory): "../" and
// absolute names, backslashes, symlinks to the outside and entries
// written through them, a hardlink to an outside file, a directory
// replaced by a symlink and an entry under it, a symlink loop. The two
// sides differ in every content, so a comparison must read them all.
func hostileArchives(t *testing.T, side, sentinel string) map[string][]byte {
	t.Helper()
	c := func(name string) string { return fmt.Sprintf("%s wrote %s\n", side, name) }
	up := "../../../../../../../../.." + sentinel
	tarEntries := []archivetest.TarEntry{
		archivetest.File("../pwned-dotdot", c("dotdot")),
		archivetest.File(up+"/pwned-deep", c("deep")),
		archivetest.File(sentinel+"/pwned-absolute", c("absolute")),
		archivetest.File(`..\..\pwned-backslash`, c("backslash")),
		archivetest.Link(tar.TypeSymlink, "out", sentinel),
		archivetest.File("out/pwned-through-symlink", c("through symlink")),
		archivetest.Link(tar.TypeLink, "hard", sentinel+"/keep"),
		archivetest.Dir("d"),
		archivetest.Link(tar.TypeSymlink, "d", up),
		archivetest.File("d/pwned-replaced-dir", c("replaced dir")),
		archivetest.Link(tar.TypeSymlink, "loop1", "loop2"),
		archivetest.Link(tar.TypeSymlink, "loop2", "loop1"),
		archivetest.File("loop1/pwned-loop", c("loop")),
		archivetest.Link(tar.TypeLink, "hard-to-link", "out"),
		archivetest.File("out/../../pwned-dotdot-through", c("dotdot through")),
	}
	plain, err := archivetest.Tar(tarEntries...)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := archivetest.Zip(
		archivetest.ZipEntry{Name: "../pwned-zip", Content: c("zip dotdot")},
		archivetest.ZipEntry{Name: sentinel + "/pwned-zip-absolute", Content: c("zip absolute")},
		archivetest.ZipEntry{Name: `..\pwned-zip-backslash`, Content: c("zip backslash")},
		archivetest.ZipEntry{Name: "zout", Mode: fs.ModeSymlink, Content: sentinel},
		archivetest.ZipEntry{Name: "zout/pwned-zip-through-symlink", Content: c("zip through symlink")},
	)
	if err != nil {
		t.Fatal(err)
	}
	cpio := archivetest.Cpio(
		archivetest.CpioEntry{Name: "../pwned-cpio", Mode: 0o100644, Content: c("cpio dotdot")},
		archivetest.CpioEntry{Name: sentinel + "/pwned-cpio-absolute", Mode: 0o100644, Content: c("cpio absolute")},
		archivetest.CpioEntry{Name: "cout", Mode: 0o120777, Content: sentinel},
		archivetest.CpioEntry{Name: "cout/pwned-cpio-through-symlink", Mode: 0o100644, Content: c("cpio through symlink")},
	)
	ar := archivetest.Ar(
		[2]string{"../pwned-ar", c("ar dotdot")},
		[2]string{sentinel + "/pwned-ar-absolute", c("ar absolute")},
	)
	gz, err := archivetest.WrapGzip(plain)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"hostile.tar": plain, "hostile.tar.gz": gz, "hostile.zip": zipped, "hostile.cpio": cpio, "hostile.a": ar}
	// All of them again, nested in a tar under climbing names.
	var nested []archivetest.TarEntry
	for _, name := range []string{"hostile.tar", "hostile.tar.gz", "hostile.zip", "hostile.cpio", "hostile.a"} {
		e := archivetest.File("../nested/"+name, "")
		e.Header.Size, e.Content = int64(len(out[name])), out[name]
		nested = append(nested, e)
	}
	if out["nested.tar"], err = archivetest.Tar(nested...); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileNamesNeverEscape compares hostile archives of every format,
// plain and nested, from a working directory where a relative name would
// land, with a sentinel directory where an absolute name or a link would
// land: the report names every hostile entry as it is stored, and not a
// byte is written outside the work directory, which is left empty.
func TestHostileNamesNeverEscape(t *testing.T) {
	root := t.TempDir()
	sentinel := filepath.Join(root, "sentinel")
	inputs := filepath.Join(root, "inputs")
	work := filepath.Join(root, "work")
	for _, d := range []string{sentinel, inputs, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTo(t, filepath.Join(sentinel, "keep"), []byte("untouched\n"))
	a, b := hostileArchives(t, "a", sentinel), hostileArchives(t, "b", sentinel)
	var before []string // taken before each comparison
	t.Chdir(inputs)
	for name := range a {
		pa := writeTo(t, filepath.Join(inputs, "a-"+name), a[name])
		pb := writeTo(t, filepath.Join(inputs, "b-"+name), b[name])
		before = treeOf(t, root)
		for _, workers := range []int{1, 4} {
			res, err := compare.Compare(context.Background(), pa, pb, compare.Options{TempDir: work, Workers: workers})
			if err != nil {
				t.Fatalf("Compare(%s): %v", name, err)
			}
			if after := treeOf(t, root); !slices.Equal(after, before) {
				t.Fatalf("Compare(%s) changed the tree:\nbefore %q\nafter  %q", name, before, after)
			}
			var content []string
			for _, d := range res.Differences {
				if d.Kind == compare.KindContent {
					content = append(content, d.Path)
				}
			}
			if len(content) < 2 || len(res.Incomplete) > 0 {
				t.Errorf("Compare(%s) found content differences at %q; want every hostile entry reported\n%s", name, content, dump(res))
			}
			if want := "../nested/hostile.tar!/../pwned-dotdot"; name == "nested.tar" && !slices.Contains(content, want) {
				t.Errorf("Compare(%s) content differences %q, want %s among them", name, content, want)
			}
		}
	}
	if left, err := os.ReadDir(work); err != nil || len(left) != 0 {
		t.Errorf("Compare left %v in its work directory (%v)", left, err)
	}
}

// TestHostilePaxNames gives pax path records that archive/tar must refuse
// (a NUL in the name) or that climb out: an error naming the input, or a
// report, and nothing written.
func TestHostilePaxNames(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	nul := writeTo(t, filepath.Join(root, "nul.tar"), archivetest.PaxEntryTar("x", map[string]string{"path": "a\x00/../../pwned"}, "a"))
	good := writeTo(t, filepath.Join(root, "good.tar"), archivetest.PaxEntryTar("x", map[string]string{"path": "a"}, "b"))
	res, err := compare.Compare(context.Background(), good, nul, compare.Options{TempDir: work})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", nul)) {
		t.Errorf("Compare(good, nul.tar) = %v, %v; want an error naming %q", res, err, nul)
	}
	if left, err := os.ReadDir(work); err != nil || len(left) != 0 {
		t.Errorf("Compare left %v in its work directory (%v)", left, err)
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 3 {
		t.Errorf("Compare wrote beside its inputs: %v (%v)", entries, err)
	}
}

// bombCase is a pair of inputs that must stop at a cap, named in
// Result.Incomplete, within time and memory.
type bombCase struct {
	name   string
	make   func(t *testing.T, dir string) (a, b string)
	opts   compare.Options
	want   string // a part of the incomplete note
	status compare.Status
}

func TestNestedBombs(t *testing.T) {
	// A tar.gz whose one file claims 2 GiB and holds 2 GiB of zeros
	// (two gzip members: the header, the zeros), in 2 MiB.
	tarBomb := func(t *testing.T, name string) []byte {
		var buf bytes.Buffer
		hdr, err := archivetest.WrapGzip(archivetest.RawHeader(name, tar.TypeReg, 2<<30))
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(hdr)
		if err := archivetest.GzipZeros(&buf, 2<<30); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	zipOf := func(t *testing.T, entries ...archivetest.ZipEntry) []byte {
		b, err := archivetest.Zip(entries...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tarOf := func(t *testing.T, name string, data []byte) []byte {
		b, err := archivetest.WrapTar(name, data)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gz := func(t *testing.T, data []byte) []byte {
		b, err := archivetest.WrapGzip(data)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	zeros := func(t *testing.T, n int64) string {
		var buf bytes.Buffer
		if err := archivetest.ZipZeros(&buf, "z", n); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	cases := []bombCase{
		{name: "a tar.gz bomb in a tar.gz in a zip",
			make: func(t *testing.T, dir string) (string, string) {
				side := func(name string) []byte {
					inner := gz(t, tarOf(t, "bomb.tar.gz", tarBomb(t, name)))
					return zipOf(t, archivetest.ZipEntry{Name: "x.tar.gz", Content: string(inner)})
				}
				return writeTo(t, filepath.Join(dir, "a.zip"), side("big-a")), writeTo(t, filepath.Join(dir, "b.zip"), side("big-b"))
			},
			opts: compare.Options{MaxBytes: 32 << 20}, want: "(--max-bytes)", status: compare.StatusIncomplete},
		{name: "a zip of zips of zip bombs (42.zip)",
			make: func(t *testing.T, dir string) (string, string) {
				side := func(n int64) []byte {
					bomb := zeros(t, n)
					var inner []archivetest.ZipEntry
					for i := range 8 {
						inner = append(inner, archivetest.ZipEntry{Name: fmt.Sprintf("bomb%d.zip", i), Content: bomb})
					}
					level := string(zipOf(t, inner...))
					var outer []archivetest.ZipEntry
					for i := range 8 {
						outer = append(outer, archivetest.ZipEntry{Name: fmt.Sprintf("level%d.zip", i), Content: level})
					}
					return zipOf(t, outer...)
				}
				return writeTo(t, filepath.Join(dir, "a.zip"), side(32<<20)), writeTo(t, filepath.Join(dir, "b.zip"), side(33<<20))
			},
			opts: compare.Options{MaxTotalBytes: 256 << 20}, want: "(--max-total-bytes)", status: compare.StatusIncomplete},
		{name: "1000 levels of nesting",
			make: func(t *testing.T, dir string) (string, string) {
				a, err := archivetest.Nest(1000, []byte("a\n"))
				if err != nil {
					t.Fatal(err)
				}
				b, err := archivetest.Nest(1000, []byte("b\n"))
				if err != nil {
					t.Fatal(err)
				}
				return writeTo(t, filepath.Join(dir, "a.tar"), a), writeTo(t, filepath.Join(dir, "b.tar"), b)
			},
			want: "nesting deeper than 8 archives (--max-depth)", status: compare.StatusIncomplete},
		{name: "xz of 3000 tiny blocks claiming 64 MiB dictionaries",
			make: func(t *testing.T, dir string) (string, string) {
				a, err := os.Create(filepath.Join(dir, "a.xz"))
				if err != nil {
					t.Fatal(err)
				}
				if err := archivetest.XzBlocks(a, 30, 3000); err != nil {
					t.Fatal(err)
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				return a.Name(), writeTo(t, filepath.Join(dir, "b.xz"), gz(t, []byte("x")))
			},
			status: compare.StatusDiffers},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := tc.make(t, dir)
			var res *compare.Result
			start := time.Now()
			peak := archivetest.PeakHeap(func() { res = mustCompare(t, a, b, tc.opts) })
			elapsed := time.Since(start)
			t.Logf("%v, peak heap %d MiB\n%s", elapsed.Round(time.Millisecond), peak>>20, dump(res))
			if res.Status() != tc.status {
				t.Errorf("status %v, want %v\n%s", res.Status(), tc.status, dump(res))
			}
			if tc.want != "" && !slices.ContainsFunc(res.Incomplete, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("incomplete %q, want a note saying %q", res.Incomplete, tc.want)
			}
			if elapsed > 30*time.Second {
				t.Errorf("took %v, want it stopped early", elapsed)
			}
			if peak > 256<<20 {
				t.Errorf("peak heap %d MiB, want less than 256", peak>>20)
			}
		})
	}
}

// TestTextDiffBomb compares texts of 1 MiB whose lines all differ, or
// come in the opposite order: a line diff would take hours (go-diff runs
// without a time limit, so that reports do not depend on machine load).
// The comparison shows them as bytes instead, quickly, and says why.
func TestTextDiffBomb(t *testing.T) {
	dir := t.TempDir()
	lines := func(prefix string, reverse bool) []byte {
		var b bytes.Buffer
		for i := range 100_000 {
			if reverse {
				i = 100_000 - i
			}
			fmt.Fprintf(&b, "%s%d\n", prefix, i)
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		a, b []byte
	}{
		{"every line differs", lines("a", false), lines("b", false)},
		{"lines reversed", lines("a", false), lines("a", true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := writeTo(t, filepath.Join(dir, "a.txt"), tc.a), writeTo(t, filepath.Join(dir, "b.txt"), tc.b)
			start := time.Now()
			res := mustCompare(t, a, b, compare.Options{})
			elapsed := time.Since(start)
			expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
			d := res.Differences[0].Diff
			if d == nil || d.Format != "binary" || !strings.HasPrefix(d.Unified, "[texts too different to diff line by line; shown as bytes]\n") {
				t.Errorf("diff %+v, want binary windows saying why", d)
			}
			if elapsed > 20*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

// TestTrailingData compares archives that differ only in bytes after
// their end: data hidden there is an error (it is never ignored, as GNU
// gzip would with a warning), zero padding after a gzip stream is a
// compression difference; neither is ever "identical".
func TestTrailingData(t *testing.T) {
	dir := t.TempDir()
	tarball, err := archivetest.Tar(archivetest.File("a", "hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := archivetest.WrapGzip(tarball)
	if err != nil {
		t.Fatal(err)
	}
	plainGz, err := archivetest.WrapGzip([]byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat := func(a []byte, b ...byte) []byte { return append(bytes.Clone(a), b...) }
	for _, tc := range []struct {
		name   string
		a, b   []byte
		err    string          // the error, when the comparison cannot be made
		diffs  []pk            // else the differences
		status compare.Status  // and the status
		opts   compare.Options //
	}{
		{name: "tar.gz and junk", a: tgz, b: cat(tgz, []byte("junk")...), err: "data after the last member (trailing garbage)"},
		{name: "gzip and junk", a: plainGz, b: cat(plainGz, []byte("junk")...), err: "data after the last member (trailing garbage)"},
		{name: "tar and junk", a: tarball, b: cat(tarball, []byte("junk")...), err: "data after the end-of-archive marker (trailing garbage)"},
		{name: "tar.gz and zero padding", a: tgz, b: cat(tgz, make([]byte, 512)...),
			diffs: []pk{{"", compare.KindCompression}}, status: compare.StatusMetadataOnly},
		{name: "gzip and zero padding", a: plainGz, b: cat(plainGz, make([]byte, 512)...),
			diffs: []pk{{"", compare.KindCompression}}, status: compare.StatusMetadataOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := writeTo(t, filepath.Join(dir, "a"), tc.a)
			b := writeTo(t, filepath.Join(dir, "b"), tc.b)
			if tc.err != "" {
				res, err := compare.Compare(context.Background(), a, b, compare.Options{TempDir: t.TempDir()})
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), fmt.Sprintf("%q", b)) {
					t.Fatalf("Compare = %v, %v; want an error naming %q and saying %q", res, err, b, tc.err)
				}
				// Nested, the same is a note where it is.
				outerA := writeTo(t, filepath.Join(dir, "outer-a.tar"), mustWrapTar(t, "x", tc.a))
				outerB := writeTo(t, filepath.Join(dir, "outer-b.tar"), mustWrapTar(t, "x", tc.b))
				res = mustCompare(t, outerA, outerB, compare.Options{})
				if res.Status() != compare.StatusIncomplete || len(res.Incomplete) != 1 || !strings.Contains(res.Incomplete[0], tc.err) {
					t.Errorf("nested: %s, want incomplete saying %q", dump(res), tc.err)
				}
				return
			}
			res := mustCompare(t, a, b, tc.opts)
			expect(t, res, tc.diffs, tc.status)
			if d := res.Differences[0].Detail; !strings.Contains(d, "0 → 512 bytes of zero padding after the end") {
				t.Errorf("detail %q, want it to say the padding", d)
			}
		})
	}
}

func mustWrapTar(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	b, err := archivetest.WrapTar(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBudgetShared checks that the total budget counts every stream of
// a comparison: many small archives, each within MaxBytes, stop at
// MaxTotalBytes together.
func TestBudgetShared(t *testing.T) {
	dir := t.TempDir()
	side := func(content string) []byte {
		var entries []archivetest.TarEntry
		for i := range 10 {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if _, err := zw.Write(append([]byte(content), make([]byte, 256<<10)...)); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			inner := buf.Bytes()
			e := archivetest.File(fmt.Sprintf("f%02d.gz", i), "")
			e.Header.Size, e.Content = int64(len(inner)), inner
			entries = append(entries, e)
		}
		b, err := archivetest.Tar(entries...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := writeTo(t, filepath.Join(dir, "a.tar"), side("a"))
	b := writeTo(t, filepath.Join(dir, "b.tar"), side("b"))
	res := mustCompare(t, a, b, compare.Options{MaxBytes: 1 << 20, MaxTotalBytes: 2 << 20})
	if res.Status() != compare.StatusIncomplete || !slices.ContainsFunc(res.Incomplete, func(s string) bool {
		return strings.Contains(s, "more than 2097152 decompressed bytes in all (--max-total-bytes)")
	}) {
		t.Errorf("%s\nwant incomplete at the total budget", dump(res))
	}
	// Without the total cap, every pair is compared.
	res = mustCompare(t, a, b, compare.Options{MaxBytes: 1 << 20})
	if res.Status() != compare.StatusDiffers || len(res.Differences) != 10 {
		t.Errorf("%s\nwant 10 content differences", dump(res))
	}
}

// elfWithSections returns an ELF64 object of n sections, each spanning
// the whole file: hashing every section would read the file n times.
func elfWithSections(n int, salt byte) []byte {
	const ehsize, shentsize = 64, 64
	shoff := ehsize + 16
	size := shoff + n*shentsize
	b := make([]byte, size)
	copy(b, "\x7fELF\x02\x01\x01")
	le := func(off int, v uint64, width int) {
		for i := range width {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	le(16, 2, 2)  // ET_EXEC
	le(18, 62, 2) // x86-64
	le(20, 1, 4)
	le(40, uint64(shoff), 8)
	le(52, ehsize, 2)
	le(58, shentsize, 2)
	le(60, uint64(n), 2)
	le(62, 1, 2)  // section 1 names the sections
	b[ehsize] = 0 // the string table: "", then a salt
	b[ehsize+1] = salt
	for i := 1; i < n; i++ {
		sh := shoff + i*shentsize
		if i == 1 {
			le(sh+4, 3, 4) // SHT_STRTAB
			le(sh+24, ehsize, 8)
			le(sh+32, 16, 8)
			continue
		}
		le(sh+4, 1, 4) // SHT_PROGBITS, offset 0, the whole file
		le(sh+32, uint64(size), 8)
	}
	return b
}

// TestELFSectionBomb diffs two ELF objects of 60,000 sections that each
// span the whole file (4 MiB): hashing them all would read 200 GiB. The
// section comparison gives up past a few times the file's size, and the
// objects are compared as bytes.
func TestELFSectionBomb(t *testing.T) {
	dir := t.TempDir()
	a := writeTo(t, filepath.Join(dir, "a"), elfWithSections(60000, 'a'))
	b := writeTo(t, filepath.Join(dir, "b"), elfWithSections(60000, 'b'))
	start := time.Now()
	res := mustCompare(t, a, b, compare.Options{})
	expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
	if d := res.Differences[0].Diff; d == nil || d.Format != "binary" {
		t.Errorf("diff %+v, want binary windows", d)
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("took %v", elapsed)
	}
}
