package archive

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzZipDifferential mutates zips and checks the strict reader's promise:
// when it reads every entry with no error and no ambiguity, then unzip's
// rules and Python's rules, re-implemented here from what the tools do
// (see TestZipStrict), extract the same (name, type, mode, content) list
// as our reading. Seeds are zips made by Info-ZIP zip, Python's zipfile,
// bsdtar and git archive (testdata/fuzz/FuzzZipDifferential).
func FuzzZipDifferential(f *testing.F) {
	seedsOf(f, "*.zip")
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, ok := zipOurReading(t, data)
		if !ok {
			return
		}
		if got := zipUnzipReading(data); !slices.Equal(got, ours.unzipView()) {
			t.Fatalf("no ambiguity found, but unzip's rules read\n%q\nand ours\n%q", got, ours.unzipView())
		}
		if got := zipPythonReading(data); !slices.Equal(got, ours.pythonView()) {
			t.Fatalf("no ambiguity found, but Python's rules read\n%q\nand ours\n%q", got, ours.pythonView())
		}
	})
}

// zipModelEntry is one extracted entry of a model: type "file", "dir" or
// "symlink"; for "dos" entries the mode is that of the MS-DOS attributes.
type zipModelEntry struct {
	name, typ string
	mode      int64 // permissions and special bits; -1 where not compared
	sum       string
}

func (e zipModelEntry) String() string {
	return fmt.Sprintf("%q %s %04o %s", e.name, e.typ, e.mode, e.sum)
}

type zipOurs []zipModelEntry

// unzipView is what unzip must extract given our reading: the mode is
// compared where both read it (host Unix), else only the owner write bit
// (the MS-DOS read-only attribute) that unzip applies.
func (o zipOurs) unzipView() []string {
	var out []string
	for _, e := range o {
		out = append(out, e.String())
	}
	return out
}

func (o zipOurs) pythonView() []string {
	var out []string
	for _, e := range o {
		typ := e.typ
		if typ == "symlink" {
			typ = "file" // Python writes the target as the content
		}
		out = append(out, fmt.Sprintf("%q %s %s", e.name, typ, e.sum))
	}
	return out
}

func sumOf(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("%x", s[:6]) }

// zipOurReading reads data with Open; ok only when every entry was read
// with no error and no ambiguity.
func zipOurReading(t *testing.T, data []byte) (zipOurs, bool) {
	s, err := Open(bytes.NewReader(data), "fuzz", Options{Limits: fuzzLimits}) // read in place: no spool
	if err != nil || s.Format.Container != Zip {
		if s != nil {
			closeOK(t, s)
		}
		return nil, false
	}
	defer closeOK(t, s)
	if len(s.Ambiguities()) > 0 {
		return nil, false
	}
	zr := s.entries.(*zipReader)
	var out zipOurs
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil || len(e.Ambiguities) > 0 {
			return nil, false
		}
		content, err := io.ReadAll(s)
		if err != nil {
			return nil, false
		}
		f := zr.files[zr.i-1]
		me := zipModelEntry{name: strings.TrimSuffix(e.Name, "/"), mode: e.Mode}
		switch e.Type {
		case TypeDir:
			me.typ = "dir"
		case TypeSymlink:
			me.typ, content = "symlink", []byte(e.Linkname)
		default:
			me.typ = "file"
		}
		if f.CreatorVersion>>8 != 3 || f.ExternalAttrs>>16 == 0 {
			// unzip's MS-DOS rule: only the write bit is compared.
			me.mode = -1
			if e.Mode&0o200 == 0 && goDOSHosts[f.CreatorVersion>>8] {
				me.mode = 0o444
			}
		}
		if me.typ == "dir" {
			me.mode, content = -1, nil
		}
		me.sum = sumOf(content)
		out = append(out, me)
	}
	if len(s.Ambiguities()) > 0 {
		return nil, false
	}
	return out, true
}

// zipModelEnd finds the end record the way unzip and Python do: the last
// signature in the tail with room for a record.
func zipModelEnd(data []byte) (pos int, count, cdSize, cdOffset uint64, ok bool) {
	le := binary.LittleEndian
	lo := max(0, len(data)-65557)
	for i := len(data) - 22; i >= lo; i-- {
		if string(data[i:i+4]) == "PK\x05\x06" {
			return i, uint64(le.Uint16(data[i+10:])), uint64(le.Uint32(data[i+12:])), uint64(le.Uint32(data[i+16:])), true
		}
	}
	return 0, 0, 0, 0, false
}

// zipModelContent decompresses the data of a local header at off with
// method and csize, checking crc; ok false when it cannot.
func zipModelContent(data []byte, off int64, method uint16, csize uint64, crc uint32) (content []byte, lname []byte, ok bool) {
	le := binary.LittleEndian
	if off < 0 || off+30 > int64(len(data)) || le.Uint32(data[off:]) != 0x04034b50 {
		return nil, nil, false
	}
	nl, xl := int64(le.Uint16(data[off+26:])), int64(le.Uint16(data[off+28:]))
	start := off + 30 + nl + xl
	if start > int64(len(data)) || csize > uint64(int64(len(data))-start) {
		return nil, nil, false
	}
	lname = data[off+30 : off+30+nl]
	raw := data[start : start+int64(csize)]
	switch method {
	case 0:
		content = raw
	case 8:
		var err error
		content, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 8<<20))
		if err != nil {
			return nil, nil, false
		}
	default:
		return nil, nil, false
	}
	if crc32.ChecksumIEEE(content) != crc {
		return nil, nil, false
	}
	return content, lname, true
}

// cp437 decodes a name as Python does for names without the UTF-8 flag.
func cp437(b []byte) string {
	const high = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"
	table := []rune(high)
	var sb strings.Builder
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(table[c-0x80])
		}
	}
	return sb.String()
}

// zipUnzipReading re-implements unzip 6.0's rules: central directory names
// (or a Unicode Path field whose CRC matches), backslashes as separators
// for MS-DOS-made names, the "extra bytes" offset adjustment, the host
// rule for modes, the local header's sizes.
func zipUnzipReading(data []byte) []string {
	le := binary.LittleEndian
	pos, count, cdSize, cdOffset, ok := zipModelEnd(data)
	if !ok {
		return []string{"no end record"}
	}
	extra := int64(pos) - int64(cdSize) - int64(cdOffset)
	cd := int64(cdOffset) + extra
	if cd < 0 || cd+4 > int64(len(data)) || le.Uint32(data[cd:]) != 0x02014b50 {
		extra, cd = 0, int64(cdOffset)
	}
	var out []string
	for range count {
		if cd < 0 || cd+46 > int64(len(data)) || le.Uint32(data[cd:]) != 0x02014b50 {
			return append(out, "bad central record")
		}
		r := data[cd:]
		host, flags, method := le.Uint16(r[4:])>>8, le.Uint16(r[8:]), le.Uint16(r[10:])
		crc, csize := le.Uint32(r[16:]), uint64(le.Uint32(r[20:]))
		nl, xl, cl := int64(le.Uint16(r[28:])), int64(le.Uint16(r[30:])), int64(le.Uint16(r[32:]))
		attrs, off := le.Uint32(r[38:]), int64(le.Uint32(r[42:]))
		if cd+46+nl+xl+cl > int64(len(data)) {
			return append(out, "bad central record")
		}
		rawName := r[46 : 46+nl]
		name := string(rawName)
		if u, _, _ := zipExtraField(r[46+nl:46+nl+xl], 0x7075); u != nil {
			if un, ok := zipUnicodePath(u, rawName); ok {
				name = un
			}
		}
		if host == 0 || host == 6 || host == 11 || host == 14 {
			name = strings.ReplaceAll(name, `\`, "/")
			if flags&0x800 == 0 && !isASCII(name) {
				name = cp437([]byte(name))
			}
		}
		cd += 46 + nl + xl + cl
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		e := zipModelEntry{name: strings.TrimSuffix(name, "/")}
		unix := int64(attrs >> 16)
		switch {
		case strings.HasSuffix(name, "/"):
			e.typ, e.mode = "dir", -1
		case unzipUnixHosts[host] && unix&0o170000 == 0o120000 && unix != 0 && host != 12 && host != 13 && host != 17 && host != 18:
			e.typ, e.mode = "symlink", unix&0o7777
		default:
			e.typ = "file"
			if unzipUnixHosts[host] && unix != 0 {
				e.mode = unix & 0o7777
			} else {
				e.mode = -1
				if attrs&1 != 0 {
					e.mode = 0o444
				}
			}
		}
		// unzip takes the sizes of the local header.
		lh := off + extra
		if lh < 0 || lh+30 > int64(len(data)) {
			return append(out, "bad local header")
		}
		if flags&8 == 0 {
			csize = uint64(le.Uint32(data[lh+18:]))
		}
		content, _, ok := zipModelContent(data, lh, method, csize, crc)
		if !ok {
			return append(out, "bad content")
		}
		if e.typ == "dir" {
			content = nil
		}
		e.sum = sumOf(content)
		out = append(out, e.String())
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// zipPythonReading re-implements Python's zipfile: the central directory
// read by its size, offsets adjusted by the "extra bytes", CP437 for names
// without the UTF-8 flag, the local header's name equal to the central
// one, names cut at a NUL.
func zipPythonReading(data []byte) []string {
	le := binary.LittleEndian
	pos, _, cdSize, cdOffset, ok := zipModelEnd(data)
	if !ok {
		return []string{"no end record"}
	}
	concat := int64(pos) - int64(cdSize) - int64(cdOffset)
	cd := int64(cdOffset) + concat
	end := cd + int64(cdSize)
	if cd < 0 || end > int64(len(data)) {
		return []string{"bad central directory"}
	}
	var out []string
	for cd < end {
		if cd+46 > end || le.Uint32(data[cd:]) != 0x02014b50 {
			return append(out, "bad central record")
		}
		r := data[cd:]
		flags, method, crc, csize := le.Uint16(r[8:]), le.Uint16(r[10:]), le.Uint32(r[16:]), uint64(le.Uint32(r[20:]))
		nl, xl, cl := int64(le.Uint16(r[28:])), int64(le.Uint16(r[30:])), int64(le.Uint16(r[32:]))
		off := int64(le.Uint32(r[42:]))
		if cd+46+nl+xl+cl > int64(len(data)) {
			return append(out, "bad central record")
		}
		rawName := r[46 : 46+nl]
		cd += 46 + nl + xl + cl
		var name string
		if flags&0x800 != 0 {
			if !utf8.Valid(rawName) {
				return append(out, "bad name")
			}
			name = string(rawName)
		} else {
			name = cp437(rawName)
		}
		if i := strings.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		content, lname, ok := zipModelContent(data, off+concat, method, csize, crc)
		if !ok || !bytes.Equal(lname, rawName) {
			return append(out, "bad entry")
		}
		typ := "file"
		if strings.HasSuffix(name, "/") {
			typ, content = "dir", nil
		}
		out = append(out, fmt.Sprintf("%q %s %s", strings.TrimSuffix(name, "/"), typ, sumOf(content)))
	}
	return out
}

// TestZipRealToolsUnambiguous checks that the zips of Info-ZIP zip, Python,
// bsdtar and git archive (the seeds of FuzzZipDifferential) carry no
// ambiguity, and that unzip and Python, run for real, extract what we read.
func TestZipRealToolsUnambiguous(t *testing.T) {
	paths, err := filepath.Glob("testdata/fuzz/FuzzZipDifferential/seed-*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no seeds (%v)", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data := readCorpusFile(t, p)
			if _, ok := zipOurReading(t, data); !ok {
				ours, entry, container, err := readZipTree(t, data)
				t.Fatalf("read %v with ambiguities %v %v (err %v), want none", ours, entry, container, err)
			}
			ours, _, _, err := readZipTree(t, data)
			if err != nil {
				t.Fatal(err)
			}
			tools := extract(t, data)
			for _, tool := range []string{"unzip", "python"} {
				a := zipTree{}
				for k, v := range ours {
					// archive/zip's mode of an MS-DOS-made file, 0666,
					// is what unzip makes under umask 022.
					a[k] = strings.Replace(v, " 0666 ", " 0644 ", 1)
				}
				if tool == "python" {
					a = a.withoutModes()
					// Python writes a symlink's target as a file.
					for k, v := range a {
						a[k] = strings.Replace(v, "symlink", "file", 1)
					}
				}
				if a.String() != tools[tool].String() {
					t.Errorf("%s extracts\n%v\nwe read\n%v", tool, tools[tool], a)
				}
			}
		})
	}
}

// readCorpusFile reads a "go test fuzz v1" file of one []byte.
func readCorpusFile(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n[]byte(")
	if !ok {
		t.Fatalf("%s: not a corpus file of []byte", p)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return []byte(s)
}
