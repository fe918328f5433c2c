package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// arMember is one member of a hand-built ar archive.
type arMember struct {
	name    string // the 16-byte name field, or the BSD long name
	content string
	bsd     bool   // store the name BSD-style: "#1/N", then the name
	pad     string // the pad byte after odd content ("\n" unless set)
}

// arBytes builds an ar archive byte by byte, as GNU ar lays it out.
func arBytes(t *testing.T, members ...arMember) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		field, body := m.name, m.content
		if m.bsd {
			field, body = fmt.Sprintf("#1/%d", len(m.name)), m.name+m.content
		}
		hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", field, 0, 0, 0, "100644", len(body))
		if len(hdr) != arHeaderSize {
			t.Fatalf("ar header for %q is %d bytes", m.name, len(hdr))
		}
		b.WriteString(hdr)
		b.WriteString(body)
		if len(body)%2 == 1 {
			pad := m.pad
			if pad == "" {
				pad = "\n"
			}
			b.WriteString(pad)
		}
	}
	return b.Bytes()
}

// tgzOf is a gzipped tar of one file.
func tgzOf(t *testing.T, name, content string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// readAr reads every member with the ar reader and returns the names, the
// entry-level constructs by name, and the container-level constructs.
func readAr(data []byte) (names []string, entry map[string][]string, container []string, err error) {
	cnt := &countingReader{r: bytes.NewReader(data), max: 1 << 30}
	br := bufio.NewReaderSize(cnt, 64<<10)
	r := newArReader(br, cnt, br)
	entry = map[string][]string{}
	for {
		e, content, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return names, entry, nil, err
		}
		names = append(names, e.Name)
		for _, a := range e.Ambiguities {
			entry[e.Name] = append(entry[e.Name], a.Construct)
		}
		if content != nil {
			if _, err := io.Copy(io.Discard, content); err != nil {
				return names, entry, nil, err
			}
		}
	}
	for _, a := range r.ambiguities() {
		container = append(container, a.Construct)
	}
	return names, entry, container, nil
}

// What dpkg-deb 1.21.22 does with each .deb below (dpkg-deb -x and -f,
// run on these very bytes by TestDebStrictOracle), and what we record:
//
//	construct                                dpkg-deb                        recorded
//	debian-binary, control.tar.gz, data      extracts                        nothing
//	names with GNU "/" terminators           extracts                        nothing
//	data.tar before control.tar              refuses (premature member)      deb member order
//	debian-binary not first                  refuses (not a Debian archive)  (not a deb: plain ar)
//	"_sig" before or between members         skips it, extracts              nothing
//	unknown member before data.tar           refuses (premature member)      deb member order
//	member after data.tar                    never reads it                  deb member after data.tar
//	two data.tar.gz                          extracts the first              deb member after data.tar
//	two control.tar.gz                       refuses (two control members)   deb member order
//	BSD "#1/13" names                        refuses                         deb ar long name
//	GNU "//" table and "/0"                  refuses (premature member "/")  deb ar long name (+ table position)
//	debian-binary "2.1\n", "2.0\nmore\n"     extracts                        deb format version
//	debian-binary "3.0\n", "2\n", "2.0"      refuses                         deb format version
//	data.tar.foo, control.tar.bz2            refuses (unknown compression)   deb member compression
//	data.tar.xz holding gzip                 fails decompressing             deb member compression
//	no data.tar / no control.tar             refuses                         deb member order
//	control.tar.gz padded with ' '           extracts                        ar member padding
func debCases(t *testing.T) []struct {
	name          string
	members       []arMember
	dpkgRefuses   bool
	dataContent   string // what dpkg-deb -x extracts as usr/bin/x, when it extracts
	wantEntry     map[string][]string
	wantContainer []string
} {
	control := tgzOf(t, "./control", "Package: x\nVersion: 1\nArchitecture: all\nMaintainer: a <a@b>\nDescription: x\n")
	data := tgzOf(t, "./usr/bin/x", "DATA1\n")
	evil := tgzOf(t, "./usr/bin/x", "EVIL2\n")
	db := arMember{name: "debian-binary", content: "2.0\n"}
	ctl := arMember{name: "control.tar.gz", content: control}
	dat := arMember{name: "data.tar.gz", content: data}
	oddControl := control
	if len(oddControl)%2 == 0 {
		oddControl += "\x00"
	}
	return []struct {
		name          string
		members       []arMember
		dpkgRefuses   bool
		dataContent   string
		wantEntry     map[string][]string
		wantContainer []string
	}{
		{name: "plain", members: []arMember{db, ctl, dat}, dataContent: "DATA1\n"},
		{name: "GNU slash terminators", members: []arMember{{name: "debian-binary/", content: "2.0\n"}, {name: "control.tar.gz/", content: control}, {name: "data.tar.gz/", content: data}}, dataContent: "DATA1\n"},
		{name: "data before control", members: []arMember{db, dat, ctl}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "underscore members", members: []arMember{db, {name: "_sig", content: "s\n"}, ctl, {name: "_x", content: "x\n"}, dat, {name: "_gpgorigin", content: "g\n"}}, dataContent: "DATA1\n"},
		{name: "unknown member before control", members: []arMember{db, {name: "extra", content: "x\n"}, ctl, dat}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "unknown member between", members: []arMember{db, ctl, {name: "extra", content: "x\n"}, dat}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "member after data", members: []arMember{db, ctl, dat, {name: "extra", content: "x\n"}}, dataContent: "DATA1\n", wantContainer: []string{"deb member after data.tar"}},
		{name: "two data members", members: []arMember{db, ctl, dat, {name: "data.tar.gz", content: evil}}, dataContent: "DATA1\n", wantContainer: []string{"deb member after data.tar"}},
		{name: "two control members", members: []arMember{db, ctl, ctl, dat}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "BSD names", members: []arMember{{name: "debian-binary", content: "2.0\n", bsd: true}, {name: "control.tar.gz", content: control, bsd: true}, {name: "data.tar.gz", content: data, bsd: true}}, dpkgRefuses: true, wantContainer: []string{"deb ar long name"}},
		{name: "BSD data name", members: []arMember{db, ctl, {name: "data.tar.gz", content: data, bsd: true}}, dpkgRefuses: true, wantContainer: []string{"deb ar long name"}},
		{name: "GNU long-name table", members: []arMember{db, {name: "//", content: "control.tar.gz/\n"}, {name: "/0", content: control}, dat}, dpkgRefuses: true, wantContainer: []string{"ar long-name table position", "deb ar long name"}},
		{name: "version 2.1", members: []arMember{{name: "debian-binary", content: "2.1\n"}, ctl, dat}, dataContent: "DATA1\n", wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "version with more lines", members: []arMember{{name: "debian-binary", content: "2.0\nmore\n"}, ctl, dat}, dataContent: "DATA1\n", wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "version 3.0", members: []arMember{{name: "debian-binary", content: "3.0\n"}, ctl, dat}, dpkgRefuses: true, wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "version without a dot", members: []arMember{{name: "debian-binary", content: "2\n"}, ctl, dat}, dpkgRefuses: true, wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "version without a newline", members: []arMember{{name: "debian-binary", content: "2.0"}, ctl, dat}, dpkgRefuses: true, wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "version with CRLF", members: []arMember{{name: "debian-binary", content: "2.0\r\n"}, ctl, dat}, dpkgRefuses: true, wantEntry: map[string][]string{"debian-binary": {"deb format version"}}},
		{name: "unknown data compression", members: []arMember{db, ctl, {name: "data.tar.foo", content: data}}, dpkgRefuses: true, wantContainer: []string{"deb member compression"}},
		{name: "bzip2 control", members: []arMember{db, {name: "control.tar.bz2", content: control}, dat}, dpkgRefuses: true, wantContainer: []string{"deb member compression"}},
		{name: "xz name, gzip bytes", members: []arMember{db, ctl, {name: "data.tar.xz", content: data}}, dpkgRefuses: true, wantEntry: map[string][]string{"data.tar.xz": {"deb member compression"}}},
		{name: "no compression name, gzip bytes", members: []arMember{db, ctl, {name: "data.tar", content: data}}, dpkgRefuses: true, wantEntry: map[string][]string{"data.tar": {"deb member compression"}}},
		{name: "no data", members: []arMember{db, ctl}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "no control", members: []arMember{db, dat}, dpkgRefuses: true, wantContainer: []string{"deb member order"}},
		{name: "pad byte not a newline", members: []arMember{db, {name: "control.tar.gz", content: oddControl, pad: " "}, dat}, dataContent: "DATA1\n", wantContainer: []string{"ar member padding"}},
		{name: "NUL in a name field", members: []arMember{db, {name: "control.tar.gz\x00", content: control}, dat}, dataContent: "DATA1\n", wantEntry: map[string][]string{"control.tar.gz": {"ar name with a NUL byte"}}},
	}
}

func TestDebStrict(t *testing.T) {
	for _, tc := range debCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			data := arBytes(t, tc.members...)
			_, entry, container, err := readAr(data)
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if !equalConstructs(entry, tc.wantEntry) {
				t.Errorf("entry ambiguities(%s) = %v, want %v", tc.name, entry, tc.wantEntry)
			}
			if !slices.Equal(container, tc.wantContainer) {
				t.Errorf("container ambiguities(%s) = %q, want %q", tc.name, container, tc.wantContainer)
			}
		})
	}
}

// TestDebStrictOracle checks the table's dpkg-deb column with dpkg-deb
// itself: a case marked as refused is refused by `dpkg-deb -x` or
// `dpkg-deb -f`, any other extracts the first data member's content.
func TestDebStrictOracle(t *testing.T) {
	testenv.RequireTools(t, "dpkg-deb")
	for _, tc := range debCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			deb := filepath.Join(dir, "p.deb")
			if err := os.WriteFile(deb, arBytes(t, tc.members...), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			xerr := exec.Command("dpkg-deb", "-x", deb, out).Run()
			ferr := exec.Command("dpkg-deb", "-f", deb, "Package").Run()
			refused := xerr != nil || ferr != nil
			if refused != tc.dpkgRefuses {
				t.Fatalf("dpkg-deb refuses %s = %v (-x: %v, -f: %v), want %v", tc.name, refused, xerr, ferr, tc.dpkgRefuses)
			}
			if refused {
				return
			}
			got, err := os.ReadFile(filepath.Join(out, "usr/bin/x"))
			if err != nil || string(got) != tc.dataContent {
				t.Errorf("dpkg-deb -x %s: usr/bin/x = %q (%v), want %q", tc.name, got, err, tc.dataContent)
			}
		})
	}
}

// What binutils 2.40 `ar x` and bsdtar 3.6.2 extract from each plain ar
// below (checked by TestArNamesOracle with `ar t` and `bsdtar -tf`):
//
//	name field             binutils ar           bsdtar                 recorded
//	"a/"                   a                     a                      nothing
//	"a b"                  a                     a b                    ar member name
//	"a b/"                 a b                   a b                    nothing
//	"a/b/"                 a                     a/b                    ar member name
//	" a" (no '/')          "" (fails)            " a"                   ar member name
//	"ab\0cd/"              ab                    ab                     ar name with a NUL byte
//	BSD "../x"             x (basename)          refused ("..")         ar member name
//	BSD "/tmp/x"           x (basename)          tmp/x                  ar member name
//	BSD "a\0b"             a                     a                      ar name with a NUL byte
//	BSD "ab\0\0" (padded)  ab                    ab                     nothing
//	"//" first, "/0"       the long name         the long name          nothing
//	"//" not first         no table ("")         the long name          ar long-name table position
//	two "//" tables        the first             refuses the archive    ar second long-name table
//	table "abc\ndef/\n"    abc                   "abc\ndef"             ar long name
//	table "a\\b.../\n"     a/b... ('\' is '/')   a\b...                 ar long name
//	table "a/b.../\n"      a/b...                refuses the table      ar long-name table + ar member name
//	empty name field       fails                 refuses                ar member name
//	pad byte 'X'           skips it              skips it               ar member padding
//	size "+2"              2 bytes               0 bytes                error (malformed)
func arNameCases() []struct {
	name          string
	members       []arMember
	binutils      []string // `ar t`, when checked
	bsdtar        []string // `bsdtar -tf`, when checked ("" = refuses)
	wantNames     []string
	wantEntry     map[string][]string
	wantContainer []string
} {
	long := "averyveryverylongname.txt"
	return []struct {
		name          string
		members       []arMember
		binutils      []string
		bsdtar        []string
		wantNames     []string
		wantEntry     map[string][]string
		wantContainer []string
	}{
		{name: "GNU short name", members: []arMember{{name: "a/", content: "x\n"}},
			binutils: []string{"a"}, bsdtar: []string{"a"}, wantNames: []string{"a"}},
		{name: "space inside", members: []arMember{{name: "a b", content: "x\n"}},
			binutils: []string{"a"}, bsdtar: []string{"a b"}, wantNames: []string{"a b"}, wantEntry: map[string][]string{"a b": {"ar member name"}}},
		{name: "space inside, GNU terminator", members: []arMember{{name: "a b/", content: "x\n"}},
			binutils: []string{"a b"}, bsdtar: []string{"a b"}, wantNames: []string{"a b"}},
		{name: "slash inside", members: []arMember{{name: "a/b/", content: "x\n"}},
			binutils: []string{"a"}, bsdtar: []string{"a/b"}, wantNames: []string{"a/b"}, wantEntry: map[string][]string{"a/b": {"ar member name"}}},
		{name: "leading space, no terminator", members: []arMember{{name: " a", content: "x\n"}},
			binutils: []string{""}, bsdtar: []string{" a"}, wantNames: []string{" a"}, wantEntry: map[string][]string{" a": {"ar member name"}}},
		{name: "NUL in the field", members: []arMember{{name: "ab\x00cd/", content: "x\n"}},
			binutils: []string{"ab"}, bsdtar: []string{"ab"}, wantNames: []string{"ab"}, wantEntry: map[string][]string{"ab": {"ar name with a NUL byte"}}},
		{name: "BSD dot-dot", members: []arMember{{name: "../x", content: "x\n", bsd: true}},
			binutils: []string{"../x"}, bsdtar: []string{"../x"}, wantNames: []string{"../x"}, wantEntry: map[string][]string{"../x": {"ar member name"}}},
		{name: "BSD absolute", members: []arMember{{name: "/tmp/x", content: "x\n", bsd: true}},
			binutils: []string{"/tmp/x"}, bsdtar: []string{"/tmp/x"}, wantNames: []string{"/tmp/x"}, wantEntry: map[string][]string{"/tmp/x": {"ar member name"}}},
		{name: "BSD NUL inside", members: []arMember{{name: "a\x00b", content: "x\n", bsd: true}},
			binutils: []string{"a"}, bsdtar: []string{"a"}, wantNames: []string{"a"}, wantEntry: map[string][]string{"a": {"ar name with a NUL byte"}}},
		{name: "BSD NUL padding", members: []arMember{{name: "ab\x00\x00", content: "x\n", bsd: true}},
			binutils: []string{"ab"}, bsdtar: []string{"ab"}, wantNames: []string{"ab"}},
		{name: "GNU table first", members: []arMember{{name: "//", content: long + "/\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{long}, bsdtar: []string{"//", long}, wantNames: []string{"//", long}},
		{name: "GNU table not first", members: []arMember{{name: "first/", content: "1\n"}, {name: "//", content: long + "/\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{"first", "", ""}, bsdtar: []string{"first", "//", long}, wantNames: []string{"first", "//", long}, wantContainer: []string{"ar long-name table position"}},
		{name: "two GNU tables", members: []arMember{{name: "//", content: long + "1/\n"}, {name: "//", content: long + "2/\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{long + "1", long + "1"}, bsdtar: []string{"//", ""}, wantNames: []string{"//", "//", long + "1"}, wantContainer: []string{"ar second long-name table"}},
		{name: "GNU name without a slash", members: []arMember{{name: "//", content: "abc\ndef/\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{"abc"}, bsdtar: []string{"//", "abc\ndef"}, wantNames: []string{"//", "abc"}, wantEntry: map[string][]string{"abc": {"ar long name"}}},
		{name: "GNU name with a backslash", members: []arMember{{name: "//", content: `averyvery\longname.txt/` + "\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{"averyvery/longname.txt"}, wantNames: []string{"//", `averyvery\longname.txt`}, wantEntry: map[string][]string{`averyvery\longname.txt`: {"ar long name"}}},
		{name: "GNU name with a slash", members: []arMember{{name: "//", content: "averyvery/longname.txt/\n"}, {name: "/0", content: "x\n"}},
			binutils: []string{"averyvery/longname.txt"}, bsdtar: []string{""}, wantNames: []string{"//", "averyvery/longname.txt"},
			wantEntry: map[string][]string{"averyvery/longname.txt": {"ar long name"}}, wantContainer: []string{"ar long-name table"}},
		{name: "empty name", members: []arMember{{name: "", content: "x\n"}},
			bsdtar: []string{""}, wantNames: []string{""}, wantEntry: map[string][]string{"": {"ar member name"}}},
		{name: "pad byte X", members: []arMember{{name: "a/", content: "odd", pad: "X"}, {name: "b/", content: "even"}},
			binutils: []string{"a", "b"}, bsdtar: []string{"a", "b"}, wantNames: []string{"a", "b"}, wantContainer: []string{"ar member padding"}},
		{name: "duplicate member", members: []arMember{{name: "a/", content: "one\n"}, {name: "a/", content: "two\n"}},
			binutils: []string{"a", "a"}, bsdtar: []string{"a", "a"}, wantNames: []string{"a", "a"}},
	}
}

func TestArNamesStrict(t *testing.T) {
	for _, tc := range arNameCases() {
		t.Run(tc.name, func(t *testing.T) {
			names, entry, container, err := readAr(arBytes(t, tc.members...))
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if !slices.Equal(names, tc.wantNames) {
				t.Errorf("names(%s) = %q, want %q", tc.name, names, tc.wantNames)
			}
			if !equalConstructs(entry, tc.wantEntry) {
				t.Errorf("entry ambiguities(%s) = %v, want %v", tc.name, entry, tc.wantEntry)
			}
			if !slices.Equal(container, tc.wantContainer) {
				t.Errorf("container ambiguities(%s) = %q, want %q", tc.name, container, tc.wantContainer)
			}
		})
	}
}

// TestArNamesOracle checks the table's binutils and bsdtar columns with
// the tools themselves.
func TestArNamesOracle(t *testing.T) {
	for _, tc := range arNameCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.a")
			if err := os.WriteFile(p, arBytes(t, tc.members...), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tool := range []struct {
				argv []string
				want []string
			}{{[]string{"ar", "t", p}, tc.binutils}, {[]string{"bsdtar", "-tf", p}, tc.bsdtar}} {
				if tool.want == nil {
					continue
				}
				testenv.RequireTools(t, tool.argv[0])
				out, err := exec.Command(tool.argv[0], tool.argv[1:]...).Output()
				got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
				if tool.argv[0] == "bsdtar" {
					// bsdtar escapes a newline in a name as "\n"; a refusal
					// ends the listing with an error, written here as "".
					if len(out) == 0 {
						got = nil
					}
					for i := range got {
						got[i] = strings.ReplaceAll(got[i], `\n`, "\n")
					}
					if err != nil {
						got = append(got, "")
					}
				}
				if !slices.Equal(got, tool.want) {
					t.Errorf("%s(%s) = %q (%v), want %q", tool.argv[0], tc.name, got, err, tool.want)
				}
			}
		})
	}
}

// TestArSignedSize: "+2" is 2 bytes to binutils and 0 to bsdtar; the
// reader refuses it as malformed.
func TestArSignedSize(t *testing.T) {
	data := arBytes(t, arMember{name: "a/", content: "x\n"})
	data = bytes.Replace(data, []byte("2         `"), []byte("+2        `"), 1)
	if _, _, _, err := readAr(data); err == nil || !strings.Contains(err.Error(), "size field") {
		t.Errorf("readAr(size \"+2\") = %v, want a bad size field error", err)
	}
}

// TestDebAmbiguitiesThroughOpen: a .deb opened as a Stream shows the
// container findings once read, and Normalize refuses it.
func TestDebAmbiguitiesThroughOpen(t *testing.T) {
	cases := debCases(t)
	data := arBytes(t, cases[2].members...) // data before control
	s, err := Open(bytes.NewReader(data), "p.deb", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, s)
	if !s.Format.Deb {
		t.Fatalf("Format = %v, want a deb", s.Format)
	}
	for {
		if _, err := s.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Ambiguities(); len(got) != 1 || got[0].Construct != "deb member order" {
		t.Errorf("Stream.Ambiguities() = %v, want one deb member order", got)
	}
	_, err = Normalize(t.Context(), bytes.NewReader(data), "p.deb", io.Discard, NormalizeOptions{Passes: AllPasses(), Epoch: time.Unix(1700000000, 0), HasEpoch: true})
	if !errors.Is(err, ErrAmbiguous) {
		t.Errorf("Normalize(data before control) = %v, want ErrAmbiguous", err)
	}
}

// equalConstructs compares construct lists by entry name, nil and empty
// alike.
func equalConstructs(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			return false
		}
	}
	return true
}
