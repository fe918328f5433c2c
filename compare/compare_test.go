package compare_test

// These tests hold Compare to issue 3 with inputs made by the real tools
// (GNU tar, gzip, xz, zstd, Info-ZIP zip, gcc, git): each difference kind
// at its exact path, the status every combination maps to, entries paired
// by normalized name, text, binary and ELF content diffs, archives nested
// three levels deep, directory trees without filesystem noise, the caps
// said in Result.Incomplete, hostile and corrupt input, and results that
// do not depend on the run or the number of workers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/testenv"
)

// sh runs script with sh -e in dir, with umask 022 and env added to a
// C.UTF-8, UTC environment where $TAR is the deterministic GNU tar of the
// fixtures, and returns its stdout. A failing script fails the test.
func sh(t testing.TB, dir string, env []string, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-ec", "umask 022\n" + script, "sh"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC", "TAR="+deterministicTar)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh -ec %q in %s: %v\n%s", script, dir, err, stderr.Bytes())
	}
	return stdout.String()
}

// deterministicTar packs the same tree into the same bytes: pax format
// without atime and ctime records, sorted, owned by 0:0.
const deterministicTar = "tar --format=posix --pax-option=delete=atime,delete=ctime --sort=name " +
	"--owner=0 --group=0 --numeric-owner"

// epoch is the mtime every fixture path gets unless a case changes it.
const (
	epoch     = "1600000000"
	epochText = "2020-09-13T12:26:40Z"
)

// settle gives every path under t the fixed mtime.
const settle = "find t -exec touch -h -d @" + epoch + " {} +\n"

// pk is a difference's path and kind: what the tests assert exactly.
type pk struct {
	Path string
	Kind compare.Kind
}

func (p pk) String() string { return fmt.Sprintf("%s@%q", p.Kind, p.Path) }

func pathKinds(res *compare.Result) []pk {
	out := []pk{}
	for _, d := range res.Differences {
		out = append(out, pk{d.Path, d.Kind})
	}
	return out
}

// dump shows a result in a failure message.
func dump(res *compare.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %v, entries %d/%d\n", res.Status(), res.EntriesA, res.EntriesB)
	for _, d := range res.Differences {
		fmt.Fprintf(&b, "  %-11s %q: %s", d.Kind, d.Path, d.Detail)
		if d.Diff != nil {
			fmt.Fprintf(&b, " [%s, sections %q, build ID %q]\n%s", d.Diff.Format, d.Diff.Sections, d.Diff.BuildID, indent(d.Diff.Unified))
		}
		b.WriteByte('\n')
	}
	for _, s := range res.Incomplete {
		fmt.Fprintf(&b, "  incomplete: %s\n", s)
	}
	return b.String()
}

func indent(s string) string {
	return "      | " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n      | ")
}

// mustCompare runs Compare, fails the test on an error, and checks that
// the comparison removed everything it wrote, and that its differences
// are in report order: by path, then kind in the order of compare.Kinds.
func mustCompare(t *testing.T, a, b string, opts compare.Options) *compare.Result {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	res, err := compare.Compare(context.Background(), a, b, opts)
	if err != nil {
		t.Fatalf("Compare(%q, %q) error: %v", a, b, err)
	}
	if left, err := os.ReadDir(opts.TempDir); err != nil || len(left) != 0 {
		t.Errorf("Compare(%q, %q) left %v in %s (%v), want nothing", a, b, left, opts.TempDir, err)
	}
	if !slices.IsSortedFunc(res.Differences, func(x, y compare.Difference) int {
		if c := strings.Compare(x.Path, y.Path); c != 0 {
			return c
		}
		return slices.Index(compare.Kinds, x.Kind) - slices.Index(compare.Kinds, y.Kind)
	}) {
		t.Errorf("Compare(%q, %q): differences out of order\n%s", a, b, dump(res))
	}
	return res
}

// expect checks the exact paths and kinds of a result and its status.
func expect(t *testing.T, res *compare.Result, want []pk, status compare.Status) {
	t.Helper()
	if want == nil {
		want = []pk{}
	}
	if got := pathKinds(res); !slices.Equal(got, want) || res.Status() != status {
		t.Fatalf("Compare = %v, status %v; want %v, status %v\n%s", got, res.Status(), want, status, dump(res))
	}
}

// find returns the one difference of kind k at path p.
func find(t *testing.T, res *compare.Result, p string, k compare.Kind) compare.Difference {
	t.Helper()
	for _, d := range res.Differences {
		if d.Path == p && d.Kind == k {
			return d
		}
	}
	t.Fatalf("no %s difference at %q\n%s", k, p, dump(res))
	return compare.Difference{}
}

// fixtureTree makes the tree "t" of the kind cases.
const fixtureTree = `
mkdir -p t/sub t/empty
seq 1 20 | sed 's/^/line /' >t/a.txt
printf 'bin\000ary\001\n' >t/b.bin
printf 'c\n' >t/sub/c.txt
ln -s a.txt t/link
`

// fixtureEntries are the keys of the tree "t" in path order.
var fixtureEntries = []string{"t", "t/a.txt", "t/b.bin", "t/empty", "t/link", "t/sub", "t/sub/c.txt"}

// tarCase makes the fixture tree "t" in dir/name, runs change in the
// directory holding it, gives every path the fixed mtime, runs after, and
// packs the tree with pack (default "$TAR -cf - t") into dir/name.tar.gz.
func tarCase(t *testing.T, dir, name, change, after, pack string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if pack == "" {
		pack = "$TAR -cf - t"
	}
	out := filepath.Join(dir, name+".tar.gz")
	sh(t, root, nil, fixtureTree+change+"\n"+settle+after+"\n("+pack+") | gzip -n >\"$1\"", out)
	return out
}

func TestIdentical(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "sed", "find", "touch")
	dir := t.TempDir()
	a := tarCase(t, dir, "a", "", "", "")
	if err := os.WriteFile(filepath.Join(dir, "copy.tar.gz"), mustRead(t, a), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, a, b string }{
		{"plain file", filepath.Join(dir, "a/t/a.txt"), filepath.Join(dir, "a/t/a.txt")},
		{"tar.gz and its copy", a, filepath.Join(dir, "copy.tar.gz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustCompare(t, tt.a, tt.b, compare.Options{})
			expect(t, res, nil, compare.StatusIdentical)
			if res.A.SHA256 == "" || res.A.SHA256 != res.B.SHA256 {
				t.Errorf("Compare(%q, %q): sha256 %q and %q, want equal and set", tt.a, tt.b, res.A.SHA256, res.B.SHA256)
			}
			// Equal digests end the comparison: no entry was read.
			if res.EntriesA != 0 || res.EntriesB != 0 || len(res.Incomplete) != 0 {
				t.Errorf("Compare(%q, %q) read %d/%d entries, incomplete %q; want 0/0, none", tt.a, tt.b, res.EntriesA, res.EntriesB, res.Incomplete)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// everyEntry is one difference of kind k at every fixture entry.
func everyEntry(k compare.Kind) []pk {
	var out []pk
	for _, p := range fixtureEntries {
		out = append(out, pk{p, k})
	}
	return out
}

// TestKinds changes one thing in the fixture tree "t" (or in how it is
// packed) and expects exactly the difference of that kind, at its path.
func TestKinds(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "sed", "find", "touch", "sort", "setfattr")
	tests := []struct {
		name          string
		changeA       string // run on A's tree before the mtimes are fixed
		change, after string // run on B's tree before and after the mtimes are fixed
		pack          string // how B is packed, default "$TAR -cf - t"
		packA         string // how A is packed, default "$TAR -cf - t"
		want          []pk
		status        compare.Status
		detail        string // a substring of the first difference's Detail
		unified       string // the first difference's diff, if any
	}{
		{name: "content", change: `sed -i 's/^line 10$/LINE 10/' t/a.txt`,
			want: []pk{{"t/a.txt", compare.KindContent}}, status: compare.StatusDiffers, detail: "151 bytes, content differs",
			unified: "@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+LINE 10\n line 11\n line 12\n line 13\n"},
		{name: "size", change: `echo 'line 21' >>t/a.txt`,
			want:   []pk{{"t/a.txt", compare.KindContent}, {"t/a.txt", compare.KindSize}},
			status: compare.StatusDiffers, detail: "151 → 159 bytes",
			unified: "@@ -18,3 +18,4 @@\n line 18\n line 19\n line 20\n+line 21\n"},
		{name: "type file to dir", change: `rm t/b.bin && mkdir t/b.bin`,
			want: []pk{{"t/b.bin", compare.KindType}}, status: compare.StatusDiffers, detail: "file → dir"},
		{name: "type dir to symlink", change: `rmdir t/empty && ln -s sub t/empty`,
			want: []pk{{"t/empty", compare.KindType}}, status: compare.StatusDiffers, detail: "dir → symlink"},
		{name: "link", change: `ln -sfn b.bin t/link`,
			want: []pk{{"t/link", compare.KindLink}}, status: compare.StatusDiffers, detail: `→ "a.txt" became → "b.bin"`},
		{name: "hardlink with the same content", changeA: `cp t/a.txt t/hard`, change: `ln t/a.txt t/hard`,
			want: []pk{{"t/hard", compare.KindLink}}, status: compare.StatusDiffers, detail: `file → hardlink to "t/a.txt", same content`},
		{name: "hardlink to file with the same content", changeA: `ln t/a.txt t/hard`, change: `cp t/a.txt t/hard`,
			want: []pk{{"t/hard", compare.KindLink}}, status: compare.StatusDiffers, detail: `hardlink to "t/a.txt" → file, same content`},
		{name: "hardlink with other content", changeA: `cp t/sub/c.txt t/hard`, change: `ln t/a.txt t/hard`,
			want: []pk{{"t/hard", compare.KindType}}, status: compare.StatusDiffers, detail: "file → hardlink"},
		{name: "mode", change: `chmod 0755 t/a.txt`,
			want: []pk{{"t/a.txt", compare.KindMode}}, status: compare.StatusDiffers, detail: "0644 → 0755"},
		{name: "owner of a setuid file", changeA: `chmod 4755 t/a.txt`, change: `chmod 4755 t/a.txt`, pack: `$TAR --owner=builder:1000 --group=builder:1000 -cf - t`,
			want: everyEntry(compare.KindOwner), status: compare.StatusDiffers, detail: "0/0 → 1000/1000"},
		{name: "owner", pack: `$TAR --owner=builder:1000 --group=builder:1000 -cf - t`,
			want: everyEntry(compare.KindOwner), status: compare.StatusMetadataOnly, detail: "0/0 → 1000/1000"},
		{name: "mtime", after: `touch -d '2021-01-02 03:04:05' t/a.txt`,
			want: []pk{{"t/a.txt", compare.KindMtime}}, status: compare.StatusMetadataOnly, detail: epochText + " → 2021-01-02T03:04:05Z"},
		{name: "xattr", change: `setfattr -n user.x -v 1 t/a.txt`, packA: `$TAR --xattrs -cf - t`, pack: `$TAR --xattrs -cf - t`,
			want: []pk{{"t/a.txt", compare.KindXattr}}, status: compare.StatusDiffers, detail: `+user.x="1"`},
		// GNU tar writes a comment only into an extended header it writes
		// anyway: keeping the atime records (noise) makes it write one.
		{name: "pax record", pack: `tar --format=posix --pax-option=delete=ctime,comment:=rebuilt --sort=name --owner=0 --group=0 --numeric-owner -cf - t`,
			want: everyEntry(compare.KindPax), status: compare.StatusMetadataOnly, detail: `+comment="rebuilt"`},
		{name: "order", pack: `find t | sort -r >../list && $TAR --no-recursion -T ../list -cf -`,
			want: []pk{{"", compare.KindOrder}}, status: compare.StatusMetadataOnly, detail: "6 entries in a different order"},
		{name: "missing", change: `rm t/b.bin`,
			want: []pk{{"t/b.bin", compare.KindMissing}}, status: compare.StatusDiffers, detail: "only in A (file)"},
		{name: "extra", change: `echo new >t/sub/new.txt`,
			want: []pk{{"t/sub/new.txt", compare.KindExtra}}, status: compare.StatusDiffers, detail: "only in B (file)"},
		{name: "duplicate", pack: `$TAR -cf ../dup.tar t && $TAR -rf ../dup.tar t/a.txt && cat ../dup.tar`,
			want: []pk{{"t/a.txt", compare.KindDuplicate}}, status: compare.StatusDiffers, detail: "stored 2 times in B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			a := tarCase(t, dir, "a", tt.changeA, "", tt.packA)
			b := tarCase(t, dir, "b", tt.change, tt.after, tt.pack)
			res := mustCompare(t, a, b, compare.Options{})
			expect(t, res, tt.want, tt.status)
			d := res.Differences[0]
			if !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("Compare: %s difference at %q says %q, want it to contain %q", d.Kind, d.Path, d.Detail, tt.detail)
			}
			if tt.unified != "" && (d.Diff == nil || d.Diff.Format != "text" || d.Diff.Unified != tt.unified) {
				t.Errorf("Compare: diff at %q = %+v, want text:\n%s", d.Path, d.Diff, tt.unified)
			}
			if res.A.Format != "tar+gzip" || (tt.changeA == "" && res.EntriesA != int64(len(fixtureEntries))) {
				t.Errorf("Compare: A is %q with %d entries, want tar+gzip with %d", res.A.Format, res.EntriesA, len(fixtureEntries))
			}
		})
	}
}

// TestTextDiff compares two text files and expects the hunks GNU diff -u
// writes for them: the same @@ ranges, context and "\ No newline" lines.
func TestTextDiff(t *testing.T) {
	testenv.RequireTools(t, "sh", "seq", "sed", "head", "diff")
	tests := []struct{ name, a, b string }{
		{"one line changed", `seq 1 20 | sed 's/^/line /'`, `seq 1 20 | sed 's/^/line /; s/^line 10$/LINE 10/'`},
		{"line appended", `seq 1 20 | sed 's/^/line /'`, `seq 1 21 | sed 's/^/line /'`},
		{"first line deleted", `seq 1 20`, `seq 2 20`},
		{"two hunks", `seq 1 40`, `seq 1 40 | sed 's/^5$/five/; s/^35$/thirty-five/'`},
		{"close changes share a hunk", `seq 1 40`, `seq 1 40 | sed 's/^10$/ten/; s/^16$/sixteen/'`},
		{"changes 6 lines apart share a hunk", `seq 1 40`, `seq 1 40 | sed 's/^10$/ten/; s/^17$/seventeen/'`},
		{"changes 7 lines apart are two hunks", `seq 1 40`, `seq 1 40 | sed 's/^10$/ten/; s/^18$/eighteen/'`},
		{"no newline at end of A", `seq 1 5 | head -c -1`, `seq 1 5`},
		{"no newline at end of both", `seq 1 5 | head -c -1`, `seq 0 5 | head -c -1`},
		{"empty A", `true`, `seq 1 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sh(t, dir, nil, "("+tt.a+") >a.txt; ("+tt.b+") >b.txt")
			a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
			cmd := exec.Command("diff", "-U3", a, b)
			out, err := cmd.Output()
			if cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("diff -U3 %s %s: %v, want exit status 1", a, b, err)
			}
			_, want, _ := strings.Cut(string(out), "\n+++ ")
			_, want, _ = strings.Cut(want, "\n")
			res := mustCompare(t, a, b, compare.Options{})
			expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
			d := res.Differences[0].Diff
			if d == nil || d.Format != "text" || d.Unified != want || d.Omitted != 0 {
				t.Fatalf("Compare(%q, %q).Diff = %+v, want text:\n%s", a, b, d, want)
			}
		})
	}
}

// TestTextDiffCaps holds the line-count and line-length caps of text diffs.
func TestTextDiffCaps(t *testing.T) {
	testenv.RequireTools(t, "sh", "seq", "sed")
	dir := t.TempDir()
	sh(t, dir, nil, `
seq 1 1000 >many-a.txt
seq 1 1000 | sed 's/$/x/' >many-b.txt
seq 1 3 >long-a.txt
{ echo 1; printf 'é%.0s' $(seq 1 1000); echo; echo 3; } >long-b.txt
`)
	t.Run("lines", func(t *testing.T) {
		res := mustCompare(t, filepath.Join(dir, "many-a.txt"), filepath.Join(dir, "many-b.txt"), compare.Options{MaxDiffLines: 10})
		expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
		d := res.Differences[0].Diff
		lines := strings.Split(strings.TrimSuffix(d.Unified, "\n"), "\n")
		want := "@@ -1,1000 +1,1000 @@"
		if len(lines) != 12 || lines[0] != want || lines[11] != "[1990 lines omitted]" || d.Omitted != 1990 {
			t.Fatalf("Compare with MaxDiffLines 10: %d lines, omitted %d, want %q, 10 lines, [1990 lines omitted]:\n%s", len(lines), d.Omitted, want, d.Unified)
		}
	})
	t.Run("text size", func(t *testing.T) {
		// Texts larger than MaxTextSize are shown as binary windows.
		res := mustCompare(t, filepath.Join(dir, "many-a.txt"), filepath.Join(dir, "many-b.txt"), compare.Options{MaxTextSize: 1024})
		// From "1\n2" on the texts shift: one region, to the end of B.
		if d := res.Differences[0].Diff; d.Format != "binary" || !strings.HasPrefix(d.Unified, "@@ offset 0x1, 4892 bytes differ @@\n") {
			t.Fatalf("Compare with MaxTextSize 1024 = %s:\n%s\nwant a binary window at offset 0x1", d.Format, d.Unified)
		}
	})
	t.Run("line length", func(t *testing.T) {
		res := mustCompare(t, filepath.Join(dir, "long-a.txt"), filepath.Join(dir, "long-b.txt"), compare.Options{MaxLineLength: 41})
		d := res.Differences[0].Diff
		// 'é' is two bytes: the cut falls back to a rune boundary.
		want := "+" + strings.Repeat("é", 20) + "… [1960 more bytes]\n"
		if !strings.Contains(d.Unified, want) || !strings.Contains(d.Unified, "-2\n") {
			t.Fatalf("Compare with MaxLineLength 41 = \n%s\nwant a line %q", d.Unified, want)
		}
	})
}

// TestBinaryDiff changes a few bytes of a binary file and expects one
// hexdump window around them, at their offset.
func TestBinaryDiff(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(i * 7 % 251) // NUL bytes included: not text
	}
	a, b := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
	if err := os.WriteFile(a, data, 0o644); err != nil {
		t.Fatal(err)
	}
	data[0x1003], data[0x1004] = 0xff, 0xfe
	data[0x1800] = 0xaa
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustCompare(t, a, b, compare.Options{})
	expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
	d := res.Differences[0]
	if d.Detail != "8192 bytes, content differs" || d.Diff == nil || d.Diff.Format != "binary" {
		t.Fatalf("Compare(%q, %q) = %q %+v, want a binary diff of 8192 bytes", a, b, d.Detail, d.Diff)
	}
	for _, want := range []string{
		"@@ offset 0x1003, 2 bytes differ @@\n",
		// Bytes 0x1000 on are 3a 41 48 4f 56 5d: 0x1003 and 0x1004 changed.
		"-00000fe0: 555c 636a", "-00001000: 3a41 484f 565d", "+00001000: 3a41 48ff fe5d",
		"@@ offset 0x1800, 1 byte differs @@\n", "+00001800: aa",
	} {
		if !strings.Contains(d.Diff.Unified, want) {
			t.Errorf("Compare(%q, %q).Diff.Unified lacks %q:\n%s", a, b, want, d.Diff.Unified)
		}
	}
}

// TestELFDiff compiles one C file twice with different version strings
// and expects the differing sections, the build IDs and a hexdump.
func TestELFDiff(t *testing.T) {
	testenv.RequireTools(t, "sh", "gcc")
	dir := t.TempDir()
	sh(t, dir, nil, `
cat >main.c <<'END'
#include <stdio.h>
int main(void) { puts("reproof " VERSION); return 0; }
END
gcc -O2 -Wl,--build-id=sha1 -DVERSION='"1.0.0"' -o a main.c
gcc -O2 -Wl,--build-id=sha1 -DVERSION='"1.0.1"' -o b main.c
`)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	res := mustCompare(t, a, b, compare.Options{})
	expect(t, res, []pk{{"", compare.KindContent}}, compare.StatusDiffers)
	d := res.Differences[0].Diff
	if d == nil || d.Format != "elf" {
		t.Fatalf("Compare(%q, %q).Diff = %+v, want format elf", a, b, d)
	}
	if !slices.ContainsFunc(d.Sections, func(s string) bool { return strings.HasPrefix(s, ".rodata ") }) {
		t.Errorf("Compare(%q, %q).Diff.Sections = %q, want .rodata among them", a, b, d.Sections)
	}
	if len(d.BuildID) != 2 || len(d.BuildID[0]) != 40 || len(d.BuildID[1]) != 40 || d.BuildID[0] == d.BuildID[1] {
		t.Errorf("Compare(%q, %q).Diff.BuildID = %q, want two different SHA-1 build IDs", a, b, d.BuildID)
	}
	// The build ID differs whenever anything does: the hexdump shows the
	// section that says why.
	if !strings.HasPrefix(d.Unified, "section .rodata:\n@@ offset 0x") || !strings.Contains(d.Unified, "reproof 1.0.") {
		t.Errorf("Compare(%q, %q).Diff.Unified = %q, want a hexdump of .rodata", a, b, d.Unified)
	}
}

// TestCompression packs one tar and compresses it in different ways: the
// only difference is one of compression, at the top, naming the header
// fields or stream settings that differ.
func TestCompression(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "xz", "zstd", "bzip2", "seq", "sed", "find", "touch")
	dir := t.TempDir()
	sh(t, dir, nil, fixtureTree+settle+`
$TAR -cf x.tar t
gzip -1 -n <x.tar >fast.tar.gz
gzip -9 -n <x.tar >best.tar.gz
cp x.tar named.tar && touch -d @1700000000 named.tar && gzip -9 named.tar
xz -0 <x.tar >x0.tar.xz
xz -9 --check=sha256 <x.tar >x9.tar.xz
zstd -q -1 <x.tar >z1.tar.zst
zstd -q --long=27 --no-check <x.tar >zlong.tar.zst
bzip2 -1 <x.tar >b1.tar.bz2
bzip2 -9 <x.tar >b9.tar.bz2
`)
	tests := []struct {
		a, b   string
		detail []string // substrings of the one difference's Detail
	}{
		{"fast.tar.gz", "best.tar.gz", []string{"gzip XFL 4 (fastest) → 2 (slowest)", "decompressed payload identical"}},
		{"best.tar.gz", "named.tar.gz", []string{`name "" → "named.tar"`, "mtime 0 → 2023-11-14T22:13:20Z"}},
		{"x0.tar.xz", "x9.tar.xz", []string{"check CRC64 → SHA-256", "dictionary 256 KiB → 64 MiB"}},
		{"z1.tar.zst", "zlong.tar.zst", []string{"checksum true → false", "window 512 KiB → 128 MiB"}},
		{"b1.tar.bz2", "b9.tar.bz2", []string{"block size 100k → 900k"}},
		{"best.tar.gz", "x9.tar.xz", []string{"gzip → xz; decompressed payload identical"}},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			res := mustCompare(t, filepath.Join(dir, tt.a), filepath.Join(dir, tt.b), compare.Options{})
			expect(t, res, []pk{{"", compare.KindCompression}}, compare.StatusMetadataOnly)
			for _, want := range tt.detail {
				if d := res.Differences[0].Detail; !strings.Contains(d, want) {
					t.Errorf("Compare(%q, %q) says %q, want it to contain %q", tt.a, tt.b, d, want)
				}
			}
		})
	}
}

// TestNamePairing packs the same tree as "./t/a.txt" and as "t/a.txt":
// the entries pair, so nothing is missing or extra.
func TestNamePairing(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "sed", "find", "touch")
	dir := t.TempDir()
	sh(t, dir, nil, fixtureTree+settle+`
$TAR -cf - ./t | gzip -n >dot.tar.gz
$TAR -cf - t | gzip -n >plain.tar.gz
cd t && $TAR -cf - . | gzip -n >../root.tar.gz
$TAR -cf - a.txt b.bin empty link sub | gzip -n >../names.tar.gz
`)
	t.Run("./t vs t", func(t *testing.T) {
		res := mustCompare(t, filepath.Join(dir, "dot.tar.gz"), filepath.Join(dir, "plain.tar.gz"), compare.Options{})
		// Every entry agrees; only the stored names' spelling differs.
		expect(t, res, []pk{{"", compare.KindPax}}, compare.StatusMetadataOnly)
		if d := res.Differences[0].Detail; !strings.Contains(d, "entries equal") {
			t.Errorf("Compare = %q, want the tar headers said to differ with entries equal", d)
		}
	})
	t.Run("-C t . vs -C t names", func(t *testing.T) {
		// "./a.txt" pairs with "a.txt"; the archive of "." also holds "./"
		// itself, which the other does not.
		res := mustCompare(t, filepath.Join(dir, "root.tar.gz"), filepath.Join(dir, "names.tar.gz"), compare.Options{})
		expect(t, res, []pk{{".", compare.KindMissing}}, compare.StatusDiffers)
		if res.EntriesA != 7 || res.EntriesB != 6 {
			t.Errorf("Compare read %d/%d entries, want 7/6", res.EntriesA, res.EntriesB)
		}
	})
}

// TestPaxGlobalHeader compares pax global headers: git archive's commit
// ID and GNU tar's global records, whose stored names are noise.
func TestPaxGlobalHeader(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "git", "seq", "sed", "find", "touch")
	dir := t.TempDir()
	sh(t, dir, []string{"GIT_AUTHOR_DATE=@" + epoch + " +0000", "GIT_COMMITTER_DATE=@" + epoch + " +0000",
		"GIT_AUTHOR_NAME=r", "GIT_AUTHOR_EMAIL=r@example.org", "GIT_COMMITTER_NAME=r", "GIT_COMMITTER_EMAIL=r@example.org",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}, fixtureTree+settle+`
git init -q repo && cp -R t repo/ && cd repo
git add t && git commit -q -m one && git archive --format=tar.gz -o ../one.tar.gz HEAD
git commit -q --amend -m two && git archive --format=tar.gz -o ../two.tar.gz HEAD
git archive --format=tar.gz -o ../tree.tar.gz HEAD:
cd ..
$TAR --pax-option=comment=one -cf - t | gzip -n >g-one.tar.gz
$TAR --pax-option=comment=two -cf - t | gzip -n >g-two.tar.gz
TMPDIR=/var/tmp $TAR --pax-option=comment=two -cf - t | gzip -n >g-two-var.tar.gz
$TAR -cf - t | gzip -n >g-none.tar.gz
`)
	tests := []struct {
		name, a, b string
		want       []pk
		detail     string
	}{
		{"git archive of two commits", "one.tar.gz", "two.tar.gz",
			[]pk{{"pax_global_header", compare.KindPax}}, "pax global header: comment: "},
		{"records differ", "g-one.tar.gz", "g-two.tar.gz",
			[]pk{{"tmp/GlobalHead.1", compare.KindPax}}, `pax global header: comment: "one" → "two"`},
		{"header only in A", "g-one.tar.gz", "g-none.tar.gz",
			[]pk{{"tmp/GlobalHead.1", compare.KindPax}}, `pax global header: -comment="one"`},
		{"TMPDIR differs", "g-two.tar.gz", "g-two-var.tar.gz",
			[]pk{{"", compare.KindPax}}, "entries equal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustCompare(t, filepath.Join(dir, tt.a), filepath.Join(dir, tt.b), compare.Options{})
			expect(t, res, tt.want, compare.StatusMetadataOnly)
			if d := res.Differences[0].Detail; !strings.Contains(d, tt.detail) {
				t.Errorf("Compare(%q, %q) says %q, want it to contain %q", tt.a, tt.b, d, tt.detail)
			}
		})
	}
}

// nestedScript makes $1.tar.gz: dist/inner.tar holding lib/app.jar (a zip,
// stored) holding pkg/a.txt, whose text is $2; and $1.zip holding
// data.tar.zst holding x/a.txt with the same text. Every mtime is fixed.
const nestedScript = `
mkdir -p "$1" && cd "$1"
mkdir -p jar/pkg jar/META-INF mid/lib outer/dist z/x
printf 'Manifest-Version: 1.0\n' >jar/META-INF/MANIFEST.MF
printf '%s\n' "$2" >jar/pkg/a.txt
printf 'b\n' >jar/pkg/b.txt
find jar -exec touch -d @` + epoch + ` {} +
(cd jar && zip -q -X -0 -r ../mid/lib/app.jar META-INF pkg)
find mid -exec touch -d @` + epoch + ` {} +
$TAR -cf outer/dist/inner.tar -C mid lib
find outer -exec touch -d @` + epoch + ` {} +
$TAR -cf - -C outer dist | gzip -n >../"$1".tar.gz
printf '%s\n' "$2" >z/x/a.txt
find z -exec touch -d @` + epoch + ` {} +
$TAR -cf - -C z x | zstd -q -19 >data.tar.zst
touch -d @` + epoch + ` data.tar.zst
zip -q -X ../"$1".zip data.tar.zst
`

// TestNested changes a file inside archives nested three levels deep and
// expects one content difference at the nested path, none at the archives
// around it.
func TestNested(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "zstd", "zip", "find", "touch")
	dir := t.TempDir()
	sh(t, dir, nil, nestedScript, "a", "version 1.0.0")
	sh(t, dir, nil, nestedScript, "b", "version 1.0.1")
	t.Run("jar in tar in tar.gz", func(t *testing.T) {
		res := mustCompare(t, filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz"), compare.Options{})
		const p = "dist/inner.tar!/lib/app.jar!/pkg/a.txt"
		expect(t, res, []pk{{p, compare.KindContent}}, compare.StatusDiffers)
		d := res.Differences[0].Diff
		if want := "@@ -1 +1 @@\n-version 1.0.0\n+version 1.0.1\n"; d == nil || d.Unified != want {
			t.Errorf("Compare: diff at %q = %+v, want text %q", p, d, want)
		}
		// dist/ dist/inner.tar, lib/ lib/app.jar, then the jar's META-INF/,
		// META-INF/MANIFEST.MF, pkg/, pkg/a.txt and pkg/b.txt.
		if res.EntriesA != 2+2+5 || res.EntriesB != 9 {
			t.Errorf("Compare read %d/%d entries, want 9/9", res.EntriesA, res.EntriesB)
		}
	})
	t.Run("tar.zst in zip", func(t *testing.T) {
		a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
		res := mustCompare(t, a, b, compare.Options{})
		want := []pk{{"data.tar.zst!/x/a.txt", compare.KindContent}}
		// zstd may pack the two texts into different sizes.
		if sa, sb := mustStat(t, filepath.Join(dir, "a/data.tar.zst")), mustStat(t, filepath.Join(dir, "b/data.tar.zst")); sa != sb {
			want = []pk{{"data.tar.zst", compare.KindSize}, want[0]}
		}
		expect(t, res, want, compare.StatusDiffers)
	})
}

func mustStat(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestDirectories compares two directory trees: a changed file, an added
// file, a changed mode, a nested archive, and never the filesystem's
// noise: access times, inodes, change times, directory sizes.
func TestDirectories(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "sed", "find", "touch")
	dir := t.TempDir()
	sh(t, dir, nil, `
for side in a b; do
	mkdir -p $side/sub $side/big $side/pkg
	printf 'one\n' >$side/f.txt
	printf '#!/bin/sh\n' >$side/g.sh
	printf 'h\n' >$side/sub/h.txt
	ln -s f.txt $side/link
done
for side in a b; do (
	cd $side/pkg
	`+fixtureTree+`
	if [ $side = b ]; then sed -i 's/^line 3$/line three/' t/a.txt; fi
	`+settle+`
	$TAR -cf - t | gzip -n >../app.tar.gz
	rm -r t
); done
rmdir a/pkg b/pkg
printf 'two\n' >b/f.txt
chmod 0755 b/g.sh
printf 'new\n' >b/new.txt
# A directory grows when it holds many names and does not shrink after.
for i in $(seq 1 300); do : >b/big/a-rather-long-file-name-to-fill-the-directory-$i; done
rm b/big/*
find a b -exec touch -h -d @`+epoch+` {} +
find b -exec touch -a -h -d 2030-01-01 {} +
`)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if mustStat(t, filepath.Join(a, "big")) == mustStat(t, filepath.Join(b, "big")) {
		t.Fatalf("the directories big have the same size: the test does not test directory sizes")
	}
	res := mustCompare(t, a, b, compare.Options{})
	expect(t, res, []pk{
		{"app.tar.gz", compare.KindSize}, // the compressed sizes
		{"app.tar.gz!/t/a.txt", compare.KindContent},
		{"app.tar.gz!/t/a.txt", compare.KindSize},
		{"f.txt", compare.KindContent},
		{"g.sh", compare.KindMode},
		{"new.txt", compare.KindExtra},
	}, compare.StatusDiffers)
	if res.A.Kind != "directory" || res.EntriesA != 7+7 || res.EntriesB != 8+7 {
		t.Errorf("Compare: A is a %q, %d/%d entries read; want a directory, 14/15", res.A.Kind, res.EntriesA, res.EntriesB)
	}

	// A directory's mtime is metadata like any other.
	sh(t, dir, nil, `touch -d 2021-01-01 b/sub`)
	res = mustCompare(t, a, b, compare.Options{})
	if d := find(t, res, "sub", compare.KindMtime); d.Old != epochText || d.New != "2021-01-01T00:00:00Z" {
		t.Errorf("Compare: mtime of sub %q → %q, want %q → 2021-01-01T00:00:00Z", d.Old, d.New, epochText)
	}
}

// TestMetadataOnly packs the same content with other mtimes in another
// order: status 3, and no content difference.
func TestMetadataOnly(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "sed", "find", "touch", "sort")
	dir := t.TempDir()
	a := tarCase(t, dir, "a", "", "", "")
	b := tarCase(t, dir, "b", "", `touch -d 2021-01-01 t/a.txt t/sub/c.txt`, `find t | sort -r >../list && $TAR --no-recursion -T ../list -cf -`)
	res := mustCompare(t, a, b, compare.Options{})
	expect(t, res, []pk{{"", compare.KindOrder}, {"t/a.txt", compare.KindMtime}, {"t/sub/c.txt", compare.KindMtime}}, compare.StatusMetadataOnly)
	for _, d := range res.Differences {
		if d.IsContent() {
			t.Errorf("Compare: %s difference at %q is content, want metadata only", d.Kind, d.Path)
		}
	}
}

// TestCaps reaches each cap: the comparison stops short, says where and
// which cap in Result.Incomplete, and is not an error.
func TestCaps(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "zstd", "zip", "find", "touch", "seq", "sed")
	dir := t.TempDir()
	sh(t, dir, nil, nestedScript, "a", "version 1.0.0")
	sh(t, dir, nil, nestedScript, "b", "version 1.0.1")
	sh(t, dir, nil, `cp -R a a-dir && cp -R b b-dir && rm -f a-dir/data.tar.zst b-dir/data.tar.zst`)
	tarA, tarB := filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz")
	const jar = "dist/inner.tar!/lib/app.jar"
	tests := []struct {
		name       string
		a, b       string
		opts       compare.Options
		want       []pk
		incomplete string // Result.Incomplete[0], or its prefix when it ends in "…"
	}{
		{"depth 1", tarA, tarB, compare.Options{MaxDepth: 1},
			[]pk{{"dist/inner.tar", compare.KindContent}}, "dist/inner.tar: nesting deeper than 1 archives (--max-depth)"},
		{"depth 2", tarA, tarB, compare.Options{MaxDepth: 2},
			[]pk{{jar, compare.KindContent}}, jar + ": nesting deeper than 2 archives (--max-depth)"},
		{"entries of the top archive", tarA, tarB, compare.Options{MaxEntries: 1},
			nil, "(top level): in A: tar+gzip …"},
		{"entries of a nested zip", tarA, tarB, compare.Options{MaxEntries: 4},
			nil, jar + ": in A: zip: limit reached: more than 4 entries (--max-entries)"},
		{"entries of a directory", filepath.Join(dir, "a-dir"), filepath.Join(dir, "b-dir"), compare.Options{MaxEntries: 3},
			nil, "(top level): …"},
		{"bytes of the top archive", tarA, tarB, compare.Options{MaxBytes: 4096},
			nil, "(top level): in A: tar+gzip …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustCompare(t, tt.a, tt.b, tt.opts)
			expect(t, res, tt.want, compare.StatusIncomplete)
			got := res.Incomplete[0]
			if prefix, ok := strings.CutSuffix(tt.incomplete, "…"); len(res.Incomplete) != 1 ||
				(ok && !strings.HasPrefix(got, prefix)) || (!ok && got != tt.incomplete) {
				t.Errorf("Compare with %+v: incomplete %q, want [%q]", tt.opts, res.Incomplete, tt.incomplete)
			}
			cap := map[bool]string{true: "--max-depth", false: "--max-entries"}[tt.opts.MaxDepth > 0]
			if tt.opts.MaxBytes > 0 {
				cap = "--max-bytes"
			}
			if !strings.Contains(got, cap) {
				t.Errorf("Compare with %+v: incomplete %q does not name %s", tt.opts, got, cap)
			}
		})
	}
	// Without caps the same pairs compare completely.
	res := mustCompare(t, tarA, tarB, compare.Options{MaxDepth: 3})
	expect(t, res, []pk{{jar + "!/pkg/a.txt", compare.KindContent}}, compare.StatusDiffers)
}

// TestBomb compares two gzip bombs (200 MiB of one byte each, 200 KiB
// compressed): MaxBytes stops the comparison early, in bounded memory.
func TestBomb(t *testing.T) {
	testenv.RequireTools(t, "sh", "gzip", "head", "tr", "tar")
	dir := t.TempDir()
	sh(t, dir, nil, `
head -c 200M /dev/zero | tr '\0' a | gzip -1 >a.gz
{ cat a.gz; printf b | gzip; } >b.gz
mkdir t && head -c 1M /dev/zero >t/big
tar -cf - t | gzip -1 >a.tar.gz && printf x >>t/big && tar -cf - t | gzip -1 >b.tar.gz
mkdir -p oa/o ob/o && cp a.gz oa/o/x.gz && cp b.gz ob/o/x.gz
tar -cf nested-a.tar -C oa o && tar -cf nested-b.tar -C ob o
`)
	for _, name := range []string{"gz", "tar.gz"} {
		t.Run(name, func(t *testing.T) {
			a, b := filepath.Join(dir, "a."+name), filepath.Join(dir, "b."+name)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			res := mustCompare(t, a, b, compare.Options{MaxBytes: 64 << 10})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			expect(t, res, nil, compare.StatusIncomplete)
			if len(res.Incomplete) != 1 || !strings.Contains(res.Incomplete[0], "more than 65536 decompressed bytes (--max-bytes)") {
				t.Errorf("Compare(%q, %q) incomplete %q, want the byte cap", a, b, res.Incomplete)
			}
			if elapsed > 5*time.Second {
				t.Errorf("Compare(%q, %q) took %v, want it stopped early", a, b, elapsed)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("Compare(%q, %q) allocated %d MiB, want less than 32", a, b, alloc>>20)
			}
		})
	}
	// Without a cap, cancelling stops the comparison with the context's
	// error, wherever it is.
	for _, name := range []string{"gz", "tar"} {
		t.Run("cancel "+name, func(t *testing.T) {
			a, b := filepath.Join(dir, "a."+name), filepath.Join(dir, "b."+name)
			if name == "tar" {
				a, b = filepath.Join(dir, "nested-a.tar"), filepath.Join(dir, "nested-b.tar")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			res, err := compare.Compare(ctx, a, b, compare.Options{TempDir: t.TempDir()})
			if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
				t.Fatalf("Compare(%q, %q) cancelled = %v, %v after %v; want context.Canceled, early", a, b, res, err, time.Since(start))
			}
		})
	}
}

// TestHostile compares archives whose names climb out ("../escape") or
// are absolute: the comparison works on the names as stored and writes
// nothing outside its work directory.
func TestHostile(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip")
	dir := t.TempDir()
	work := filepath.Join(dir, "work", "deeper")
	abs := filepath.Join(dir, "abs-escape")
	sh(t, dir, nil, `
mkdir -p work/deeper src
for side in a b; do
	printf 'escape %s\n' $side >src/escape
	printf 'absolute %s\n' $side >src/abs
	touch -d @1600000000 src/escape src/abs # only the contents differ, whatever the clock
	tar -P --transform="s,^src/escape\$,../../escape,;s,^src/abs\$,$1," -cf - src/escape src/abs | gzip -n >$side.tar.gz
done
`, abs)
	out := sh(t, dir, nil, `tar -tf a.tar.gz 2>/dev/null`)
	if want := "../../escape\n" + abs + "\n"; out != want {
		t.Fatalf("tar -tf a.tar.gz = %q, want %q: the fixture has no hostile names", out, want)
	}
	res := mustCompare(t, filepath.Join(dir, "a.tar.gz"), filepath.Join(dir, "b.tar.gz"), compare.Options{TempDir: work})
	// Both names are ambiguous on both sides (extractors strip, refuse or
	// follow them differently); the contents differ too.
	esc, absKey := "../../escape", strings.TrimPrefix(abs, "/")
	expect(t, res, []pk{{esc, compare.KindAmbiguous}, {esc, compare.KindAmbiguous}, {esc, compare.KindContent},
		{absKey, compare.KindAmbiguous}, {absKey, compare.KindAmbiguous}, {absKey, compare.KindContent}}, compare.StatusDiffers)
	for _, p := range []string{filepath.Join(dir, "work", "escape"), filepath.Join(dir, "escape"), abs, filepath.Join(work, "escape")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("Compare wrote %s", p)
		}
	}
	if left, err := os.ReadDir(work); err != nil || len(left) != 0 {
		t.Errorf("Compare left %v in its work directory (%v), want nothing", left, err)
	}
}

// TestCorrupt gives a truncated tar.gz: an error at the top level names
// the file; inside another archive it is said in Result.Incomplete.
func TestCorrupt(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "seq", "head")
	dir := t.TempDir()
	sh(t, dir, nil, `
mkdir t && seq 1 100000 >t/data.txt
tar -cf - t | gzip -n >good.tar.gz
head -c 50000 good.tar.gz >truncated.tar.gz
printf '\037\213\010\377not a gzip header' >bad.gz
printf 'text\n' | gzip -n >good.gz
mkdir -p outer-a/o outer-b/o
cp truncated.tar.gz outer-a/o/x.tar.gz && cp good.tar.gz outer-b/o/x.tar.gz
cp bad.gz outer-a/o/y.gz && cp good.gz outer-b/o/y.gz
tar -cf outer-a.tar -C outer-a o && tar -cf outer-b.tar -C outer-b o
`)
	good, bad := filepath.Join(dir, "good.tar.gz"), filepath.Join(dir, "truncated.tar.gz")
	for _, pair := range [][2]string{{bad, good}, {good, bad}} {
		res, err := compare.Compare(context.Background(), pair[0], pair[1], compare.Options{TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("Compare(%q, %q) = %v, %v; want an error naming %q", pair[0], pair[1], res, err, bad)
		}
	}
	missing := filepath.Join(dir, "missing.tar.gz")
	if _, err := compare.Compare(context.Background(), missing, good, compare.Options{}); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Compare(%q, good.tar.gz) error = %v, want one naming the missing file", missing, err)
	}
	bad = filepath.Join(dir, "bad.gz")
	if _, err := compare.Compare(context.Background(), bad, filepath.Join(dir, "good.gz"), compare.Options{}); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
		t.Errorf("Compare(%q, good.gz) error = %v, want one naming %q", bad, err, bad)
	}

	// Nested, the same damage is said where it is, without naming the
	// temporary files the comparison extracted it to.
	for _, workers := range []int{1, 2} {
		res := mustCompare(t, filepath.Join(dir, "outer-a.tar"), filepath.Join(dir, "outer-b.tar"), compare.Options{Workers: workers})
		expect(t, res, []pk{{"o/x.tar.gz", compare.KindSize}, {"o/y.gz", compare.KindSize}}, compare.StatusIncomplete)
		if len(res.Incomplete) != 2 || !strings.HasPrefix(res.Incomplete[0], "o/x.tar.gz: in A: tar+gzip ") || !strings.HasPrefix(res.Incomplete[1], "o/y.gz: in A: gzip ") {
			t.Errorf("Compare: incomplete %q, want one note at o/x.tar.gz, one at o/y.gz", res.Incomplete)
		}
		for _, note := range res.Incomplete {
			if strings.Contains(note, "reproof-diff-") {
				t.Errorf("Compare: incomplete %q names a temporary file", note)
			}
		}
	}
}

// TestDeterministic compares a pair with differences everywhere (many
// entries, nested archives, a damaged member) twice, and with one worker
// and with four: the results are deeply equal.
func TestDeterministic(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "zstd", "zip", "find", "touch", "seq", "sed")
	dir := t.TempDir()
	sh(t, dir, nil, nestedScript, "na", "version 1.0.0")
	sh(t, dir, nil, nestedScript, "nb", "version 1.0.1")
	sh(t, dir, nil, `
for side in a b; do
	mkdir -p $side/many $side/m
	for i in $(seq 1 60); do seq 1 $i >$side/many/f$i.txt; done
	cp n$side.tar.gz n$side.zip $side/
	printf '\037\213\010\377not a gzip header' >$side/bad.gz
	(cd $side/many && $TAR -cf - . | gzip -n >../many.tar.gz)
done
for i in $(seq 1 60 | sed -n '1~3p'); do echo changed >>b/many/f$i.txt; done
printf 'other\n' >>b/bad.gz
find b/many -name 'f*5.txt' -exec chmod 0600 {} +
(cd b/many && find . | sort -r | $TAR --no-recursion -T - -cf - | gzip -n >../many.tar.gz)
find a b -exec touch -h -d @`+epoch+` {} +
`)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	first := mustCompare(t, a, b, compare.Options{Workers: 1})
	if len(first.Differences) < 100 || len(first.Incomplete) != 1 {
		t.Fatalf("Compare found %d differences, %d incomplete; the pair is not rich enough\n%s", len(first.Differences), len(first.Incomplete), dump(first))
	}
	for _, workers := range []int{1, 4, 4} {
		again := mustCompare(t, a, b, compare.Options{Workers: workers})
		if !reflect.DeepEqual(first, again) {
			t.Errorf("Compare with %d workers differs from the first run:\n%s\nwant\n%s", workers, dump(again), dump(first))
		}
	}
}

// TestTextDiffApplies diffs random texts of few distinct lines (where an
// edit script has many equal-cost choices) and applies each diff with GNU
// patch, strictly: no fuzz, no offset. Every hunk header and every context
// line must be right for B to come out.
func TestTextDiffApplies(t *testing.T) {
	testenv.RequireTools(t, "patch")
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 3))
	text := func(n int) []string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = string(rune('a' + rng.IntN(4)))
		}
		return lines
	}
	applied := 0
	for i := 0; i < 40; i++ {
		la := text(rng.IntN(40))
		lb := slices.Clone(la)
		for e := rng.IntN(6); e >= 0; e-- {
			switch at := rng.IntN(len(lb) + 1); {
			case rng.IntN(3) == 0 && at < len(lb):
				lb = slices.Delete(lb, at, at+1)
			case rng.IntN(2) == 0 && at < len(lb):
				lb[at] = "x" + lb[at]
			default:
				lb = slices.Insert(lb, at, text(1+rng.IntN(3))...)
			}
		}
		ta, tb := strings.Join(la, "\n"), strings.Join(lb, "\n")
		if rng.IntN(4) != 0 && len(la) > 0 {
			ta += "\n"
		}
		if rng.IntN(4) != 0 && len(lb) > 0 {
			tb += "\n"
		}
		if ta == tb {
			continue
		}
		a, b := filepath.Join(dir, fmt.Sprintf("%d-a.txt", i)), filepath.Join(dir, fmt.Sprintf("%d-b.txt", i))
		if err := os.WriteFile(a, []byte(ta), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b, []byte(tb), 0o644); err != nil {
			t.Fatal(err)
		}
		res := mustCompare(t, a, b, compare.Options{})
		if len(res.Differences) != 1 || res.Differences[0].Diff == nil || res.Differences[0].Diff.Format != "text" {
			t.Fatalf("Compare(%q, %q) = %s, want one text diff", ta, tb, dump(res))
		}
		unified := "--- a\n+++ b\n" + res.Differences[0].Diff.Unified
		out := filepath.Join(dir, fmt.Sprintf("%d-out.txt", i))
		cmd := exec.Command("patch", "-F0", "-o", out, a)
		cmd.Stdin = strings.NewReader(unified)
		msg, err := cmd.CombinedOutput()
		got, rerr := os.ReadFile(out)
		if err == nil {
			err = rerr
		}
		if err != nil || bytes.Contains(msg, []byte("offset")) || string(got) != tb {
			t.Fatalf("patch -F0 of A %q with\n%s= %q (%v: %s), want B %q", ta, unified, got, err, msg, tb)
		}
		applied++
	}
	if applied < 30 {
		t.Fatalf("only %d of 40 random pairs differed", applied)
	}
}

// TestStatus holds the precedence of Result.Status, the exit code of
// reproof diff: incomplete wins, then any content difference, then any
// other. Only the closed list is harmless: mtime, order, owner (not of a
// file with special bits), pax records no extractor applies, compression;
// a hardlink holding the same bytes as a file, a mode, an xattr, an
// ambiguous construct are content.
func TestStatus(t *testing.T) {
	diff := func(k compare.Kind) compare.Difference { return compare.Difference{Path: "p", Kind: k} }
	sameContentLink := compare.Difference{Path: "p", Kind: compare.KindLink, SameContent: true}
	tests := []struct {
		name string
		res  compare.Result
		want compare.Status
	}{
		{"nothing", compare.Result{}, compare.StatusIdentical},
		{"incomplete only", compare.Result{Incomplete: []string{"x"}}, compare.StatusIncomplete},
		{"incomplete wins over content", compare.Result{Differences: []compare.Difference{diff(compare.KindContent)}, Incomplete: []string{"x"}}, compare.StatusIncomplete},
		{"same-content link", compare.Result{Differences: []compare.Difference{sameContentLink}}, compare.StatusDiffers},
		{"owner of a setuid file", compare.Result{Differences: []compare.Difference{{Path: "p", Kind: compare.KindOwner, Privileged: true}}}, compare.StatusDiffers},
		{"symlink target", compare.Result{Differences: []compare.Difference{diff(compare.KindLink)}}, compare.StatusDiffers},
		{"content wins over metadata", compare.Result{Differences: []compare.Difference{diff(compare.KindMode), diff(compare.KindContent)}}, compare.StatusDiffers},
	}
	for _, k := range compare.Kinds {
		want := compare.StatusDiffers
		switch k {
		case compare.KindMtime, compare.KindOrder, compare.KindOwner, compare.KindPax, compare.KindCompression:
			want = compare.StatusMetadataOnly
		}
		tests = append(tests, struct {
			name string
			res  compare.Result
			want compare.Status
		}{"only " + string(k), compare.Result{Differences: []compare.Difference{diff(k)}}, want})
	}
	for _, tt := range tests {
		if got := tt.res.Status(); got != tt.want {
			t.Errorf("%s: Status() = %v, want %v", tt.name, got, tt.want)
		}
	}
	for s, code := range map[compare.Status]int{compare.StatusIdentical: 0, compare.StatusDiffers: 1, compare.StatusIncomplete: 2, compare.StatusMetadataOnly: 3} {
		if int(s) != code {
			t.Errorf("Status %v = %d, want exit code %d", s, int(s), code)
		}
	}
}

// TestFormats makes the same change in an archive of every format the
// archive engine reads: the difference is found at the same path.
func TestFormats(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar", "gzip", "xz", "zstd", "bzip2", "zip", "cpio", "ar", "seq", "sed", "find", "touch", "sort")
	dir := t.TempDir()
	for _, side := range []string{"a", "b"} {
		change := ""
		if side == "b" {
			change = `sed -i 's/^line 10$/LINE 10/' t/a.txt`
		}
		sh(t, dir, nil, `mkdir $1 && cd $1
`+fixtureTree+change+"\n"+settle+`
$TAR -cf ../$1.tar t
gzip -n -c <../$1.tar >../$1.tar.gzip
for z in xz zstd bzip2; do $z -c <../$1.tar >../$1.tar.$z; done
find t | sort | zip -q -X -y -@ ../$1.zip
find t | sort | cpio --quiet -o -H newc --reproducible >../$1.cpio
gzip -n -c <../$1.cpio >../$1.cpio.gz
(cd t && ar rcD ../../$1.a a.txt b.bin)
gzip -n -c <t/a.txt >../$1.txt.gz
zstd -q -c <t/a.txt >../$1.txt.zst
`, side)
	}
	tests := []struct {
		ext, format, path string
	}{
		{"tar", "tar", "t/a.txt"},
		{"tar.gzip", "tar+gzip", "t/a.txt"},
		{"tar.xz", "tar+xz", "t/a.txt"},
		{"tar.zstd", "tar+zstd", "t/a.txt"},
		{"tar.bzip2", "tar+bzip2", "t/a.txt"},
		{"zip", "zip", "t/a.txt"},
		{"cpio", "cpio", "t/a.txt"},
		{"cpio.gz", "cpio+gzip", "t/a.txt"},
		{"a", "ar", "a.txt"},
		{"txt.gz", "gzip", ""},
		{"txt.zst", "zstd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			res := mustCompare(t, filepath.Join(dir, "a."+tt.ext), filepath.Join(dir, "b."+tt.ext), compare.Options{})
			expect(t, res, []pk{{tt.path, compare.KindContent}}, compare.StatusDiffers)
			if res.A.Format != tt.format || res.B.Format != tt.format {
				t.Errorf("Compare: formats %q and %q, want %q", res.A.Format, res.B.Format, tt.format)
			}
			if d := res.Differences[0].Diff; d == nil || !strings.Contains(d.Unified, "-line 10\n+LINE 10\n") {
				t.Errorf("Compare: diff %+v, want the changed line", d)
			}
		})
	}
	t.Run("tar.gz and zip of one tree", func(t *testing.T) {
		// Every entry pairs and agrees: only the containers differ.
		res := mustCompare(t, filepath.Join(dir, "a.tar.gzip"), filepath.Join(dir, "a.zip"), compare.Options{})
		expect(t, res, []pk{{"", compare.KindType}, {"", compare.KindCompression}}, compare.StatusDiffers)
		if res.EntriesA != 7 || res.EntriesB != 7 {
			t.Errorf("Compare read %d/%d entries, want 7/7", res.EntriesA, res.EntriesB)
		}
	})
	t.Run("directory and file", func(t *testing.T) {
		res := mustCompare(t, filepath.Join(dir, "a"), filepath.Join(dir, "a.tar"), compare.Options{})
		expect(t, res, []pk{{"", compare.KindType}}, compare.StatusDiffers)
	})
	t.Run("zip comment", func(t *testing.T) {
		sh(t, dir, nil, `cp a.zip c.zip && echo 'built by B' | zip -q -z c.zip`)
		res := mustCompare(t, filepath.Join(dir, "a.zip"), filepath.Join(dir, "c.zip"), compare.Options{})
		expect(t, res, []pk{{"", compare.KindPax}}, compare.StatusMetadataOnly)
	})
}
