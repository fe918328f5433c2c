package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/reproof/reproof/compare"
)

// Results built by hand, shaped like what package compare reports for real
// release archives. Differences are in report order (path, then kind).

const (
	shaA = "3f7c1e9b2a4d6f8e0c1b3a5d7f9e2c4b6a8d0f1e3c5b7a9d2f4e6c8b0a1d3f5e"
	shaB = "9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

// hostilePath carries a terminal escape sequence, a bidi override and HTML.
const hostilePath = "app-1.4.2/\x1b[31mred\x1b[0m<script>alert(1)</script>\u202e.txt"

// realisticResult is a release tarball rebuilt with a different tar and
// gzip: 12,802 entries reordered, 500 mtimes shifted, a few real content
// differences (text, ELF, binary, a nested jar), missing and extra files,
// an entry with a hostile name, and a nested archive that was not read.
func realisticResult() *compare.Result {
	r := &compare.Result{
		A:        compare.Input{Path: "published/app-1.4.2-linux-amd64.tar.gz", Kind: "file", Format: "tar+gzip", Size: 48213377, SHA256: shaA},
		B:        compare.Input{Path: "rebuilt/app-1.4.2-linux-amd64.tar.gz", Kind: "file", Format: "tar+gzip", Size: 48213391, SHA256: shaB},
		EntriesA: 12806,
		EntriesB: 12805,
		Incomplete: []string{
			"app-1.4.2/share/vendor.tar.xz: nesting deeper than 8 archives (--max-depth)",
		},
	}
	add := func(d compare.Difference) { r.Differences = append(r.Differences, d) }

	add(compare.Difference{Path: "", Kind: compare.KindOrder, Detail: "12802 entries in a different order"})
	add(compare.Difference{Path: "", Kind: compare.KindCompression,
		Detail: `gzip name "" → "app-1.4.2-linux-amd64.tar", mtime 0 → 2024-01-01T00:00:00Z`})
	add(compare.Difference{Path: "app-1.4.2/", Kind: compare.KindOwner,
		Detail: "1000/1000 builder/builder → 0/0 root/root",
		Old:    "1000/1000 builder/builder", New: "0/0 root/root"})
	add(compare.Difference{Path: "app-1.4.2/.DS_Store", Kind: compare.KindMissing, Detail: "only in A (regular file)"})
	add(compare.Difference{Path: "app-1.4.2/README", Kind: compare.KindDuplicate, Detail: "stored 2 times in B"})
	add(compare.Difference{Path: "app-1.4.2/README", Kind: compare.KindPax, Detail: "SCHILY.fflags: (none) → \"nodump\""})
	add(compare.Difference{Path: "app-1.4.2/bin/app", Kind: compare.KindContent,
		Detail: "1048576 → 1048584 bytes",
		Diff: &compare.ContentDiff{
			Format:   "elf",
			Sections: []string{".note.gnu.build-id (36 → 36 bytes)", ".text (412480 → 412488 bytes)"},
			BuildID:  []string{"8f3a61c0d2b5e4f7a9c1d3e5f7a9b1c3d5e7f9a1", "b2d4f6a8c0e2a4c6e8a0b2d4f6a8c0e2a4c6e8b0"},
			Unified: "section .note.gnu.build-id:\n" +
				"@@ offset 0x390, 20 bytes differ @@\n" +
				"-00000380: 0400 0000 1400 0000 0300 0000 474e 5500  ............GNU.\n" +
				"-00000390: 8f3a 61c0 d2b5 e4f7 a9c1 d3e5 f7a9 b1c3  .:a.............\n" +
				"-000003a0: d5e7 f9a1                                ....\n" +
				"+00000380: 0400 0000 1400 0000 0300 0000 474e 5500  ............GNU.\n" +
				"+00000390: b2d4 f6a8 c0e2 a4c6 e8a0 b2d4 f6a8 c0e2  ................\n" +
				"+000003a0: a4c6 e8b0                                ....\n",
		}})
	add(compare.Difference{Path: "app-1.4.2/bin/app", Kind: compare.KindSize, Detail: "1048576 → 1048584 bytes", Old: "1048576", New: "1048584"})
	add(compare.Difference{Path: "app-1.4.2/bin/app", Kind: compare.KindMode, Detail: "0755 → 0775", Old: "0755", New: "0775"})
	add(compare.Difference{Path: "app-1.4.2/bin/app", Kind: compare.KindXattr,
		Detail: "security.capability: \"cap_net_bind_service=ep\" → (none)"})
	add(compare.Difference{Path: "app-1.4.2/bin/app-cli", Kind: compare.KindLink, SameContent: true,
		Detail: "hardlink to \"app-1.4.2/bin/app\" → regular file, same content",
		Old:    "hardlink to \"app-1.4.2/bin/app\"", New: "regular file"})
	add(compare.Difference{Path: "app-1.4.2/build-info.txt", Kind: compare.KindExtra, Detail: "only in B (regular file)"})
	add(compare.Difference{Path: "app-1.4.2/etc/app.conf", Kind: compare.KindContent, Detail: "143 bytes, content differs",
		Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1,6 +1,6 @@\n # app configuration\n-version = 1.4.2-dirty\n+version = 1.4.2\n listen = :8080\n" +
			"-\tbuilt_by = builder@ci-7\n+\tbuilt_by = root@localhost\n log = stderr\n" +
			"@@ -40,3 +40,3 @@\n [cache]\n-dir = /home/builder/.cache/app\n+dir = /root/.cache/app\n[12 lines omitted]\n", Omitted: 12}})
	add(compare.Difference{Path: "app-1.4.2/lib/app.jar", Kind: compare.KindOrder, Detail: "3 entries in a different order"})
	add(compare.Difference{Path: "app-1.4.2/lib/app.jar!/META-INF/MANIFEST.MF", Kind: compare.KindContent, Detail: "112 bytes, content differs",
		Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1,3 +1,3 @@\n Manifest-Version: 1.0\n-Created-By: 17.0.9 (Eclipse Adoptium)\n+Created-By: 21.0.2 (Debian)\n Main-Class: com.example.Main\n"}})
	add(compare.Difference{Path: "app-1.4.2/lib/libapp.so", Kind: compare.KindLink, Detail: `→ "libapp.so.1.4.1" became → "libapp.so.1.4.2"`,
		Old: "libapp.so.1.4.1", New: "libapp.so.1.4.2"})
	for i := 0; i < 500; i++ {
		add(compare.Difference{
			Path:   fmt.Sprintf("app-1.4.2/share/locale/%s/LC_MESSAGES/app.mo", locale(i)),
			Kind:   compare.KindMtime,
			Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z",
			Old:    "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z",
		})
	}
	add(compare.Difference{Path: "app-1.4.2/share/logo.png", Kind: compare.KindContent, Detail: "20480 bytes, content differs",
		Diff: &compare.ContentDiff{Format: "binary", Unified: "@@ offset 0x3a, 6 bytes differ @@\n" +
			"-00000030: 0000 0009 7048 5973 0000 0b13 0000 0b13  ....pHYs........\n" +
			"-00000040: 0100 9a9c 1800 0000 0774 494d 4507 e801  .........tIME...\n" +
			"+00000030: 0000 0009 7048 5973 0000 0ec4 0000 0ec4  ....pHYs........\n" +
			"+00000040: 0100 9a9c 1800 0000 0774 494d 4507 e901  .........tIME...\n" +
			"[2 more differing regions omitted]\n", Omitted: 2}})
	add(compare.Difference{Path: "app-1.4.2/share/man/man1/app.1.gz", Kind: compare.KindCompression,
		Detail: `gzip name "app.1" → "", mtime 2024-01-01T00:00:00Z → 0`})
	add(compare.Difference{Path: "app-1.4.2/share/vendor.tar.xz", Kind: compare.KindContent,
		Detail: "tar+xz → tar+xz, not opened: nested deeper than 8"})
	add(compare.Difference{Path: "app-1.4.2/var/run", Kind: compare.KindType, Detail: "directory → symlink", Old: "directory", New: "symlink"})
	add(compare.Difference{Path: hostilePath, Kind: compare.KindContent, Detail: "61 bytes, content differs",
		Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1,3 +1,3 @@\n" +
			" <script>alert(2)</script>\n" +
			"-title \x1b]0;pwned\x07 ok\r\n" +
			"+title \x1b[2J\x1b[H cleared\n" +
			" </pre><img src=x onerror=alert(3)>\n"}})
	add(compare.Difference{Path: hostilePath, Kind: compare.KindOwner,
		Detail: "0/0 root/root → 0/0 <b>evil</b>/root", Old: "0/0 root/root", New: "0/0 <b>evil</b>/root"})
	add(compare.Difference{Path: hostilePath, Kind: compare.KindMtime,
		Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z", Old: "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z"})
	inReportOrder(r.Differences)
	return r
}

// inReportOrder sorts differences as package compare does: path bytewise,
// then kind in the order of compare.Kinds.
func inReportOrder(ds []compare.Difference) {
	kindIndex := func(k compare.Kind) int {
		return slices.Index(compare.Kinds, k)
	}
	slices.SortStableFunc(ds, func(a, b compare.Difference) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return kindIndex(a.Kind) - kindIndex(b.Kind)
	})
}

// locale returns 500 distinct, sortable locale-like names.
func locale(i int) string {
	return fmt.Sprintf("%c%c_%03d", 'a'+i/26%26, 'a'+i%26, i)
}

// smallResult: two files that differ in content and mode.
func smallResult() *compare.Result {
	return &compare.Result{
		A:        compare.Input{Path: "a/hello.sh", Kind: "file", Format: "raw", Size: 52, SHA256: shaA},
		B:        compare.Input{Path: "b/hello.sh", Kind: "file", Format: "raw", Size: 50, SHA256: shaB},
		EntriesA: 1,
		EntriesB: 1,
		Differences: []compare.Difference{
			{Path: "", Kind: compare.KindContent, Detail: "52 → 50 bytes", Diff: &compare.ContentDiff{
				Format: "text", Unified: "@@ -1,2 +1,2 @@\n #!/bin/sh\n-echo \"hello, world\"\n+echo hello world\n"}},
			{Path: "", Kind: compare.KindSize, Detail: "52 → 50 bytes", Old: "52", New: "50"},
			{Path: "", Kind: compare.KindMode, Detail: "0644 → 0755", Old: "0644", New: "0755"},
		},
	}
}

// metadataOnlyResult: a zip rebuilt with other times and order.
func metadataOnlyResult() *compare.Result {
	r := &compare.Result{
		A:        compare.Input{Path: "dist/site.zip", Kind: "file", Format: "zip", Size: 2048, SHA256: shaA},
		B:        compare.Input{Path: "out/site.zip", Kind: "file", Format: "zip", Size: 2048, SHA256: shaB},
		EntriesA: 12,
		EntriesB: 12,
	}
	r.Differences = append(r.Differences, compare.Difference{Path: "", Kind: compare.KindOrder, Detail: "12 entries in a different order"})
	for _, p := range []string{"css/site.css", "index.html", "js/site.js"} {
		r.Differences = append(r.Differences, compare.Difference{Path: p, Kind: compare.KindMtime,
			Detail: "1980-01-01T00:00:00Z → 2024-06-01T12:00:00Z", Old: "1980-01-01T00:00:00Z", New: "2024-06-01T12:00:00Z"})
	}
	r.Differences = append(r.Differences,
		compare.Difference{Path: "js/site.js", Kind: compare.KindPax, Detail: "zip extra field UT (extended timestamp) only in B"})
	return r
}

// identicalResult: two directories with the same content.
func identicalResult() *compare.Result {
	return &compare.Result{
		A:        compare.Input{Path: "out/a", Kind: "directory", Format: "directory", Size: 4096},
		B:        compare.Input{Path: "out/b", Kind: "directory", Format: "directory", Size: 4096},
		EntriesA: 3,
		EntriesB: 3,
	}
}

// fixtures names every Result the golden tests render.
var fixtures = []struct {
	name   string
	result func() *compare.Result
}{
	{"realistic", realisticResult},
	{"small", smallResult},
	{"metadata-only", metadataOnlyResult},
	{"identical", identicalResult},
}
