package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// benchZip is a zip of n small deflated files, as a release zip of many
// sources would be.
func benchZip(b *testing.B, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		w, err := zw.Create(fmt.Sprintf("src/pkg%02d/file%04d.go", i%50, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fmt.Fprintf(w, "package pkg\n\n// file %d\nvar x%d = %q\n", i, i, bytes.Repeat([]byte("abc"), i%40)); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkZipRead opens a zip of 2,000 entries and reads every entry with
// digests, as diff does.
func BenchmarkZipRead(b *testing.B) {
	data := benchZip(b, 2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(bytes.NewReader(data), "bench.zip", Options{Digest: true})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, s); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// rawZipEntry is one entry of a zip built byte by byte by rawZip: the
// central and local headers agree unless a hook changes one of them.
type rawZipEntry struct {
	name    string
	lname   *string // local header name, when it differs
	data    string  // stored as is (method 0 unless method says otherwise)
	method  uint16
	flags   uint16
	creator uint16 // "version made by"; default Unix, 3.0
	needed  uint16 // default 20
	attrs   uint32 // external attributes; default 0o100644<<16
	cextra  []byte
	lextra  []byte
	// hidden writes the local header and data only (no central record).
	hidden bool
	// after is written after the data (a data descriptor, a gap).
	after []byte
	// local and central change the fixed part of the headers.
	local, central func(h []byte)
}

// rawZip returns prefix, the entries and their central directory, and an
// end record (changed by end, when set) with comment.
func rawZip(prefix string, entries []rawZipEntry, comment string, end func(e []byte)) []byte {
	le := binary.LittleEndian
	out := []byte(prefix)
	var cd []byte
	count := 0
	for _, e := range entries {
		if e.creator == 0 {
			e.creator = 3<<8 | 30
		}
		if e.needed == 0 {
			e.needed = 20
		}
		if e.attrs == 0 && !e.hidden {
			e.attrs = 0o100644 << 16
		}
		lname := e.name
		if e.lname != nil {
			lname = *e.lname
		}
		crc := crc32.ChecksumIEEE([]byte(e.data))
		off := len(out)
		h := make([]byte, 30)
		le.PutUint32(h, 0x04034b50)
		le.PutUint16(h[4:], e.needed)
		le.PutUint16(h[6:], e.flags)
		le.PutUint16(h[8:], e.method)
		le.PutUint16(h[10:], 0x6000) // 12:00
		le.PutUint16(h[12:], 0x5821) // 2024-01-01
		le.PutUint32(h[14:], crc)
		le.PutUint32(h[18:], uint32(len(e.data)))
		le.PutUint32(h[22:], uint32(len(e.data)))
		le.PutUint16(h[26:], uint16(len(lname)))
		le.PutUint16(h[28:], uint16(len(e.lextra)))
		if e.local != nil {
			e.local(h)
		}
		out = append(append(append(append(out, h...), lname...), e.lextra...), e.data...)
		out = append(out, e.after...)
		if e.hidden {
			continue
		}
		c := make([]byte, 46)
		le.PutUint32(c, 0x02014b50)
		le.PutUint16(c[4:], e.creator)
		copy(c[6:28], h[4:26])
		le.PutUint16(c[28:], uint16(len(e.name)))
		le.PutUint16(c[30:], uint16(len(e.cextra)))
		le.PutUint32(c[38:], e.attrs)
		le.PutUint32(c[42:], uint32(off))
		if e.local != nil { // undo the local hook for the central copy
			le.PutUint16(c[6:], e.needed)
			le.PutUint16(c[8:], e.flags)
			le.PutUint16(c[10:], e.method)
			le.PutUint32(c[16:], crc)
			le.PutUint32(c[20:], uint32(len(e.data)))
			le.PutUint32(c[24:], uint32(len(e.data)))
		}
		if e.central != nil {
			e.central(c)
		}
		cd = append(append(append(cd, c...), e.name...), e.cextra...)
		count++
	}
	cdOff := len(out)
	out = append(out, cd...)
	eocd := make([]byte, 22)
	le.PutUint32(eocd, 0x06054b50)
	le.PutUint16(eocd[8:], uint16(count))
	le.PutUint16(eocd[10:], uint16(count))
	le.PutUint32(eocd[12:], uint32(len(cd)))
	le.PutUint32(eocd[16:], uint32(cdOff))
	le.PutUint16(eocd[20:], uint16(len(comment)))
	if end != nil {
		end(eocd)
	}
	return append(append(out, eocd...), comment...)
}

// extraField returns one extra field.
func extraField(id uint16, data []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, id)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// unicodePath returns an Info-ZIP Unicode Path field naming name for the
// header name hdr.
func unicodePath(hdr, name string) []byte {
	d := []byte{1}
	d = binary.LittleEndian.AppendUint32(d, crc32.ChecksumIEEE([]byte(hdr)))
	return extraField(0x7075, append(d, name...))
}

func ptr[T any](v T) *T { return &v }

func put16(off int, v uint16) func([]byte) {
	return func(h []byte) { binary.LittleEndian.PutUint16(h[off:], v) }
}

func put32(off int, v uint32) func([]byte) {
	return func(h []byte) { binary.LittleEndian.PutUint32(h[off:], v) }
}

// storedWithOffset returns a zip of files (name → content) written by
// archive/zip after prefix, its offsets counting the prefix (as zip -A
// leaves a self-extractor).
func storedWithOffset(t testing.TB, prefix string, files ...string) []byte {
	var buf bytes.Buffer
	buf.WriteString(prefix)
	zw := zip.NewWriter(&buf)
	zw.SetOffset(int64(len(prefix)))
	for i := 0; i < len(files); i += 2 {
		fh := &zip.FileHeader{Name: files[i], Method: zip.Store}
		fh.SetMode(0o644)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipTree is what one extractor made of a zip: path → "type [mode] sha",
// with the mode left out for Python (it never sets one) and bsdtar from a
// pipe (local headers carry no mode), and implied
// parent directories as plain "dir".
type zipTree map[string]string

func (t zipTree) String() string {
	keys := slices.Sorted(maps.Keys(t))
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q:%s ", k, t[k])
	}
	return strings.TrimSpace(b.String())
}

// withoutModes returns the tree with the modes dropped.
func (t zipTree) withoutModes() zipTree {
	out := zipTree{}
	for k, v := range t {
		f := strings.Fields(v)
		out[k] = f[0]
		if len(f) == 3 {
			out[k] += " " + f[2]
		}
	}
	return out
}

func addParents(t zipTree, p string) {
	for d := path.Dir(p); d != "." && d != "/" && d != ""; d = path.Dir(d) {
		if _, ok := t[d]; !ok {
			t[d] = "dir"
		}
	}
}

func sum8(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:4]) }

// dirTree reads an extraction directory.
func dirTree(t *testing.T, root string, modes bool) zipTree {
	t.Helper()
	tree := zipTree{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mode := ""
		if modes {
			m := int64(fi.Mode().Perm())
			if fi.Mode()&fs.ModeSetuid != 0 {
				m |= ModeSetuid
			}
			if fi.Mode()&fs.ModeSetgid != 0 {
				m |= ModeSetgid
			}
			mode = fmt.Sprintf(" %04o", m)
		}
		switch {
		case fi.IsDir():
			tree[rel] = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tree[rel] = "symlink" + mode + " " + sum8([]byte(target))
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			tree[rel] = "file" + mode + " " + sum8(data)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %q: %v", root, err)
	}
	return tree
}

// extract runs every extractor on data: unzip, bsdtar on the file and from
// a pipe, and Python's zipfile. The value says what each made of it
// ("error: ..." when it refused outright).
func extract(t *testing.T, data []byte) map[string]zipTree {
	dir := t.TempDir()
	zf := filepath.Join(dir, "in.zip")
	if err := os.WriteFile(zf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := map[string]zipTree{}
	run := func(tool string, modes bool, cmd string) {
		d := filepath.Join(dir, tool)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		c := exec.Command("sh", "-c", "umask 022; "+cmd)
		c.Env = append(os.Environ(), "ZIP="+zf, "DEST="+d, "LC_ALL=C.UTF-8")
		msg, err := c.CombinedOutput()
		tree := dirTree(t, d, modes)
		if err != nil && len(tree) == 0 {
			tree = zipTree{"error": strings.ReplaceAll(strings.TrimSpace(string(msg)), "\n", " | ")}
		}
		out[tool] = tree
	}
	run("unzip", true, `unzip -o -K -q "$ZIP" -d "$DEST"`)
	run("bsdtar", true, `bsdtar -xpf "$ZIP" -C "$DEST"`)
	run("bsdtar-pipe", false, `cat "$ZIP" | bsdtar -xpf - -C "$DEST"`)
	run("python", false, `python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$DEST"`)
	return out
}

// readZipTree is our reading, in the shape of the extractors' trees, with
// the ambiguities found.
func readZipTree(t *testing.T, data []byte) (zipTree, []Ambiguity, []Ambiguity, error) {
	s, err := Open(bytes.NewReader(data), "t.zip", Options{Digest: true, TempDir: t.TempDir()})
	if err != nil {
		return nil, nil, nil, err
	}
	defer closeOK(t, s)
	tree := zipTree{}
	var entry []Ambiguity
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return tree, entry, s.Ambiguities(), err
		}
		entry = append(entry, e.Ambiguities...)
		var content []byte
		if !slices.ContainsFunc(e.Ambiguities, unreadable) {
			if content, err = io.ReadAll(s); err != nil {
				return tree, entry, s.Ambiguities(), err
			}
		}
		name := strings.TrimSuffix(strings.TrimPrefix(e.Name, "./"), "/")
		addParents(tree, name)
		mode := fmt.Sprintf(" %04o", e.Mode&^ModeSticky)
		switch e.Type {
		case TypeDir:
			tree[name] = "dir"
		case TypeSymlink:
			tree[name] = "symlink" + mode + " " + sum8([]byte(e.Linkname))
		default:
			tree[name] = "file" + mode + " " + sum8(content)
		}
	}
	return tree, entry, s.Ambiguities(), nil
}

// agree reports whether every extractor and our reading made the same
// tree (modes compared where the tool sets them).
func agree(ours zipTree, tools map[string]zipTree) bool {
	for tool, tree := range tools {
		a, b := ours, tree
		if tool == "python" || tool == "bsdtar-pipe" {
			// Neither sets modes from the central directory.
			a = ours.withoutModes()
		}
		if a.String() != b.String() {
			return false
		}
	}
	return true
}

// unreadable reports whether an ambiguity leaves the content unread
// (encrypted, or in a method not modeled).
func unreadable(a Ambiguity) bool {
	return a.Construct == "encrypted entry" || strings.HasPrefix(a.Construct, "method ")
}

func constructs(as []Ambiguity) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Construct)
	}
	return out
}

// zipStrictCases are the constructs the strict reader flags, each crafted
// by hand. agree says whether unzip, bsdtar (file and pipe) and Python do
// all extract the same tree (and the same as our reading): for most
// constructs they do not, which is why the construct is flagged; a few are
// flagged because they are not modeled.
func zipStrictCases(t testing.TB) []struct {
	name  string
	zip   []byte
	want  string // the Construct expected
	agree bool
} {
	a := rawZipEntry{name: "a", data: "first\n"}
	b := rawZipEntry{name: "b", data: "second\n"}
	with := func(e rawZipEntry, f func(*rawZipEntry)) rawZipEntry { f(&e); return e }
	plain := rawZip("", []rawZipEntry{a, b}, "", nil)
	zip64 := func(vals ...uint64) []byte {
		var d []byte
		for _, v := range vals {
			d = binary.LittleEndian.AppendUint64(d, v)
		}
		return extraField(0x0001, d)
	}
	descriptor := func(crc uint32, size uint32) []byte {
		d := binary.LittleEndian.AppendUint32(nil, 0x08074b50)
		d = binary.LittleEndian.AppendUint32(d, crc)
		d = binary.LittleEndian.AppendUint32(d, size)
		return binary.LittleEndian.AppendUint32(d, size)
	}
	hidden := rawZip("", []rawZipEntry{{name: "evil", data: "hidden\n", hidden: true}}, "", nil)
	hidden = hidden[:len(hidden)-22] // the local entry alone
	return []struct {
		name  string
		zip   []byte
		want  string
		agree bool
	}{
		{name: "local header names another file", want: "local name differs",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.lname = ptr("c") })}, "", nil)},
		{name: "local header says deflate, central store", want: "local method differs",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.local = put16(8, 8) })}, "", nil)},
		{name: "local header says encrypted", want: "local flags differ",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.local = put16(6, 1) })}, "", nil)},
		{name: "local header sizes shorter", want: "local sizes differ",
			zip: rawZip("", []rawZipEntry{with(a, func(e *rawZipEntry) {
				e.local = func(h []byte) { put32(18, 3)(h); put32(22, 3)(h) }
			}), b}, "", nil)},
		// A stub that is not a local header makes the file raw bytes
		// to reproof (detection wants "PK" first); a hidden entry
		// as the stub is what a streaming reader extracts.
		{name: "hidden entry before a zip, offsets not adjusted", want: "central directory offset adjusted",
			zip: append(slices.Clone(hidden), plain...)},
		{name: "hidden entry before a zip, offsets adjusted (zip -A)", want: "bytes before the first entry",
			zip: storedWithOffset(t, string(hidden), "a", "first\n", "b", "second\n")},
		// unzip, Python and archive/zip take the last end record;
		// bsdtar from a pipe reads the local headers.
		{name: "a second end record in the comment", want: "second end record",
			zip: func() []byte {
				inner := rawZip("", []rawZipEntry{with(a, func(e *rawZipEntry) { e.data = "other\n" })}, "", nil)
				// The comment is a whole zip: its end record is the last.
				return rawZip("", []rawZipEntry{a, b}, string(inner), nil)
			}()},
		{name: "bytes after the end record's comment", want: "bytes after the end record", agree: true,
			zip: append(slices.Clone(plain), "trailing junk"...)},
		{name: "end record counts one entry on this disk, two in all", want: "entry counts disagree",
			zip: rawZip("", []rawZipEntry{a, b}, "", put16(8, 1))},
		{name: "end record on disk 1", want: "multi-disk zip",
			zip: rawZip("", []rawZipEntry{a, b}, "", func(e []byte) { put16(4, 1)(e); put16(6, 1)(e) })},
		{name: "a local header missing from the central directory", want: "bytes between entries",
			zip: rawZip("", []rawZipEntry{a, {name: "evil", data: "hidden\n", hidden: true}, b}, "", nil)},
		{name: "junk between entries", want: "bytes between entries", agree: true,
			zip: rawZip("", []rawZipEntry{with(a, func(e *rawZipEntry) { e.after = []byte("junk") }), b}, "", nil)},
		{name: "Unicode Path field naming another file", want: "unicode path field",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.cextra = unicodePath("b", "évil"); e.lextra = e.cextra })}, "", nil)},
		{name: "CP437 name without the UTF-8 flag", want: "non-UTF-8 name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "caf\x82"; e.creator = 0<<8 | 20; e.attrs = 0x20 })}, "", nil)},
		{name: "UTF-8 name without the UTF-8 flag (Info-ZIP zip on Linux)", want: "non-UTF-8 name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "café" })}, "", nil)},
		{name: "invalid UTF-8 flagged UTF-8", want: "invalid UTF-8 name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "caf\xff"; e.flags = 0x800 })}, "", nil)},
		{name: "backslash in a DOS-made name", want: "backslash in name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = `d\b`; e.creator = 0<<8 | 20; e.attrs = 0x20 })}, "", nil)},
		{name: "backslash in a Unix-made name", want: "backslash in name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = `d\b` })}, "", nil)},
		{name: "name with a NUL", want: "NUL in name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "b\x00.txt" })}, "", nil)},
		{name: "name with .. components", want: "name not clean",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "d/../../b" })}, "", nil)},
		{name: "absolute name", want: "name not clean",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "/tmp/zip-strict-abs" })}, "", nil)},
		{name: "name that cleans to another", want: "name not clean",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "d//./b" })}, "", nil)},
		// All make a directory: flagged as its content is dropped.
		{name: "regular file with content named d/", want: "non-directory named with a slash", agree: true,
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.name = "d/" })}, "", nil)},
		{name: "BeOS-made symlink", want: "zip host system",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.creator = 16<<8 | 30; e.attrs = 0o120777 << 16; e.data = "a" })}, "", nil)},
		{name: "Atari-made setuid file", want: "zip host system",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.creator = 5<<8 | 30; e.attrs = 0o104755 << 16 })}, "", nil)},
		{name: "OS X-made setuid file", want: "zip host system",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.creator = 19<<8 | 30; e.attrs = 0o104755 << 16 })}, "", nil)},
		{name: "NTFS-made read-only file", want: "DOS attributes ignored",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.creator = 11<<8 | 20; e.attrs = 0x21 })}, "", nil)},
		{name: "Unix directory mode on a name without slash", want: "directory attributes on a file name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.attrs = 0o40755<<16 | 0x10; e.data = "" })}, "", nil)},
		{name: "MS-DOS directory attribute on a name without slash", want: "directory attributes on a file name",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.creator = 0<<8 | 20; e.attrs = 0x10; e.data = "" })}, "", nil)},
		{name: "FIFO mode", want: "Unix file type not modeled", agree: true,
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.attrs = 0o10644 << 16; e.data = "" })}, "", nil)},
		{name: "encrypted flag", want: "encrypted entry",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.flags = 1 })}, "", nil)},
		{name: "bzip2 method", want: "method 12 not modeled",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.method = 12 })}, "", nil)},
		{name: "version needed 5.1", want: "version needed beyond unzip",
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.needed = 51 })}, "", nil)},
		{name: "zip64 field disagreeing with a 32-bit size", want: "zip64 field disagrees", agree: true,
			zip: rawZip("", []rawZipEntry{a, with(b, func(e *rawZipEntry) { e.cextra = zip64(3, 3, 0) })}, "", nil)},
		{name: "data descriptor disagreeing with the central directory", want: "data descriptor disagrees",
			zip: rawZip("", []rawZipEntry{with(a, func(e *rawZipEntry) {
				e.flags = 8
				e.local = func(h []byte) { put32(14, 0)(h); put32(18, 0)(h); put32(22, 0)(h) }
				e.after = descriptor(crc32.ChecksumIEEE([]byte("fir")), 3)
			}), b}, "", nil)},
	}
}

// TestZipStrict checks that each crafted construct is flagged, and asks
// the real extractors what they make of it. What they did (Debian 12:
// UnZip 6.00, bsdtar 3.6.2 on the file and from a pipe, Python 3.11
// zipfile; archive/zip is our reading) is in the table below; the test
// fails when the tools change their mind about whether they agree.
//
//	construct                          unzip             bsdtar file       bsdtar pipe       python            archive/zip (ours)
//	local name differs                 central "b"       local "c"         local "c"         refuses "b"       central "b"
//	local method differs (8 vs 0)      empty file        inflates garbage  inflates garbage  central           central
//	local flags differ (encrypted)     extracts          other bytes       other bytes       extracts          extracts
//	local sizes differ (shorter)       local: "fir"      local: "fir"      local: "fir"      central           central
//	hidden entry + relative offsets    adjusts, a b      adjusts, a b      evil a b          adjusts, a b      adjusts, a b
//	hidden entry + adjusted (zip -A)   a b               a b               evil a b          a b               a b
//	second end record in the comment   last: inner zip   last: inner zip   outer a b         last: inner zip   last: inner zip
//	bytes after the end record         same              same              same              same              same
//	entry counts disagree (1 vs 2)     a b               a b, modes 0664   a b               a b               a b
//	end record on disk 1               a b               a b, modes 0664   a b               a b               a b (ignores)
//	local header not in the directory  a b               a b               evil a b          a b               a b
//	junk between entries               same              same              same              same              same
//	Unicode Path field (CRC right)     "évil"            "évil"            "évil"            "b"               "b"
//	CP437 name, DOS-made, no flag      "caf\xe9"         raw "caf\x82"     raw               "café"            raw "caf\x82"
//	UTF-8 name, Unix-made, no flag     "café"            "café"            "café"            "caf├⌐" (CP437)   "café"
//	invalid UTF-8 with the flag        "caf" (cut)       skips it          skips it          refuses all       raw
//	backslash, DOS-made                d/b               d/b               d/b               "d\b"             "d\b"
//	backslash, Unix-made               "d\b"             d/b               d/b               "d\b"             "d\b"
//	NUL in name                        "b" (cut)         "b"               "b"               "b"               "b\x00.txt"
//	"d/../../b"                        d/b               skips it          skips it          d/b               as stored
//	"/tmp/x"                           tmp/x             tmp/x             tmp/x             tmp/x             as stored
//	"d//./b"                           d/b               d/b               d/b               d/b               as stored
//	regular file with content "d/"     directory         directory         directory         directory         directory
//	BeOS-made symlink (0120777)        symlink           file 0664         file              file              file 0000
//	Atari-made setuid (0104755)        4755              0664              -                 -                 0000
//	OS X-made setuid (0104755)         0644              0664              -                 -                 4755
//	NTFS read-only                     0444              0664              -                 -                 0444
//	Unix S_IFDIR, name without /       file 0755         directory         directory         file              directory
//	DOS directory bit, no /            file 0755         directory         directory         file              directory
//	FIFO mode                          regular file      regular file      regular file      regular file      regular file
//	encrypted flag                     skips (password)  other bytes       other bytes       refuses "b"       not read
//	bzip2 method on plain bytes        empty file        other bytes       other bytes       empty file        not read
//	version needed 5.1                 skips it          extracts          extracts          extracts          extracts
//	zip64 field disagreeing            same              same              same              same              same
//	data descriptor disagreeing        central           central           descriptor: "a"   central           CRC error
//
// Where all agree the construct is still flagged: not modeled (a FIFO,
// content dropped under a directory name, junk and trailing bytes that a
// reader of another version may take for structure, a zip64 value that a
// positional reader takes).
func TestZipStrict(t *testing.T) {
	testenv.RequireTools(t, "unzip", "bsdtar", "python3")
	for _, c := range zipStrictCases(t) {
		t.Run(c.name, func(t *testing.T) {
			ours, entry, container, err := readZipTree(t, c.zip)
			found := append(slices.Clone(entry), container...)
			if !slices.Contains(constructs(found), c.want) {
				t.Errorf("ambiguities = %q (err %v), want %q", constructs(found), err, c.want)
			}
			if err != nil {
				ours = zipTree{"error": err.Error()}
			}
			tools := extract(t, c.zip)
			t.Logf("ours:        %v\n%v", ours, found)
			for _, tool := range slices.Sorted(maps.Keys(tools)) {
				t.Logf("%-12s %v", tool+":", tools[tool])
			}
			if got := agree(ours, tools); got != c.agree {
				t.Errorf("extractors agree = %v, want %v", got, c.agree)
			}
		})
	}
}
