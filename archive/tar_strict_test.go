package archive

// The tar reader against the extractors. Each case crafts one header
// construct by hand, reads it with this package's reader (entries and
// the exact Ambiguity constructs), and extracts it with GNU tar 1.34
// (`tar -xpf`, as root), bsdtar 3.6 (`bsdtar -xpf`) and Python 3.11's
// tarfile (extractall, filter="fully_trusted") into t.TempDir(). A case
// the reader models must extract the same tree with every tool, and that
// tree must be what the entries read say; a case it flags shows the tools
// disagreeing (in the tree or in failing), or is one it does not model.
//
// What the tools do, as found by these cases (GNU = GNU tar, bsd =
// bsdtar, py = Python's tarfile; "rc" = exits with an error):
//
//	construct                              GNU                        bsd                         py                         here
//	symlink/dir/fifo/device with size > 0  no data read               no data read                no data read               modeled (no data)
//	symlink/dir with a pax size > 0        no data read               data skipped                no data read               ambiguity
//	hardlink with size > 0 (pax)           no data read               data into the link target   no data read               ambiguity
//	type '7', NUL, unknown letter          regular file               regular file                regular file               '7'/NUL modeled; letters flagged
//	type 'D' (dumpdir)                     directory, data skipped    directory, data skipped     file of the data           ambiguity
//	type 'M' (continuation)                refused, rc                file                        file                       ambiguity
//	type 'V' (volume label)                skipped                    "damaged archive", rc       file                       ambiguity
//	type '0' named "d/"                    directory, no data read    directory, no data read     file                       ambiguity (read as GNU)
//	L then x path                          pax path                   long name                   long name                  ambiguity (pax path)
//	x path then L                          pax path                   pax path                    pax path                   ambiguity (pax path)
//	two x before one entry                 second only                both, first wins, rc        first only                 ambiguity (second)
//	two L (or K) before one entry          second                     second                      first                      ambiguity (second)
//	x or L, then the end marker            nothing                    nothing, rc                 nothing, rc                container ambiguity
//	g with path/uid/size/linkpath          applied to later entries   ignored                     applied                    ambiguity on the g entry
//	g with comment only                    ignored                    ignored                     ignored                    modeled
//	pax size != ustar size (ustar != 0)    pax                        pax                         pax                        ambiguity (a ustar reader differs)
//	pax size "+2", " 2", "0x2"             ignored (ustar size), rc   other sizes                 other sizes                ambiguity
//	pax uid "+5"                           ignored, rc                ignored                     5                          ambiguity
//	pax path= (empty)                      ".", rc                    ustar name                  fails                      ambiguity
//	pax record of a wrong length           rest of header dropped, rc record skipped, rc          fails                      ambiguity
//	unknown pax key, hdrcharset=BINARY     ignored                    ignored                     ignored                    ambiguity (not modeled)
//	pax path not UTF-8                     bytes                      bytes, rc                   bytes                      ambiguity
//	GNU.sparse.name/realsize on a file     rename / extend            rename / extend             rename / extend            ambiguity (read so too)
//	sparse 1.0 without GNU.sparse.name     plain file                 expanded                    expanded                   ambiguity
//	sparse 1.0 name != pax path            GNU.sparse.name            GNU.sparse.name             path                       ambiguity
//	sparse 0.0 / 0.1                       expanded to the last span  expanded to realsize        expanded to realsize       ambiguity (not modeled)
//	sparse map ending before realsize      up to the last span        realsize                    realsize                   ambiguity
//	sparse map overlapping/unsorted/past   each its own bytes         each its own bytes          each its own bytes         error
//	GNU header, bytes at 345 (atime)       atime                      atime                       name prefix                ambiguity
//	v7 header with a prefix at 345         ignored                    ignored                     name prefix                ambiguity
//	star prefix (131 bytes, "tar\0")       prefix                     prefix                      prefix                     modeled
//	signed header checksum                 accepted                   accepted                    accepted                   modeled
//	octal garbage ("0000012x")             error, field ignored, rc   refused                     refused                    ambiguity
//	octal field of spaces (mode)           07777, rc                  0                           0                          ambiguity
//	size field garbage                     refused                    refused                     refused                    error
//	negative base-256 uid                  refused, rc                0                           0                          ambiguity
//	name "../x", "a/../b", "/abs"          skipped / stripped, rc     skipped / stripped, rc      written outside            ambiguity
//	name "a//b", "a/./b"                   a/b                        a/b                         a/b                        ambiguity (not clean)
//	name not UTF-8                         bytes                      bytes                       bytes (surrogateescape)    ambiguity
//	name NUL-terminated, then garbage      cut at NUL                 cut at NUL                  cut at NUL                 modeled
//	hardlink to "a/", "zz/../a"            fails / links, rc          fails, rc                   copies                     ambiguity
//	hardlink before its target             fails (links what is on disk), rc  fails, rc          fails, rc                  ambiguity
//	hardlink to a directory                fails, rc                  fails, rc                   makes a directory          ambiguity
//	hardlink to a symlink                  links the symlink          links the symlink           links the symlink          modeled
//	name under a symlink stored before     through it                 refused, rc                 through it (even out)      ambiguity
//	a name stored twice, other type        replaced                   replaced                    written through / fails    ambiguity
//	a file stored twice, hardlinked        replaced                   replaced                    written into the inode     ambiguity
//	a file (or a dir) stored twice         replaced                   replaced                    replaced                   modeled
//	x header, g header, entry              x applies to the entry     x applies to the entry      x applies to the entry     ambiguity on g (archive/tar drops x)
//	old GNU sparse, spans not block-sized  each span from a block     back to back                back to back               ambiguity

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// tarHdr is a tar header to craft: every field settable, raw bytes over them.
type tarHdr struct {
	name, link   string
	typ          byte
	size         int64
	mode         int64
	uid, gid     int64
	uname, gname string
	format       string // "ustar" (default), "gnu", "v7", "star"
	prefix       string
	raw          map[int]string // bytes written over the fields, before the checksum
	signed       bool           // a signed-char checksum
}

func (h tarHdr) block() []byte {
	b := make([]byte, blockSize)
	copy(b, h.name)
	if h.mode == 0 {
		h.mode = 0o644
	}
	copy(b[100:], fmt.Sprintf("%07o\x00", h.mode))
	copy(b[108:], fmt.Sprintf("%07o\x00", h.uid))
	copy(b[116:], fmt.Sprintf("%07o\x00", h.gid))
	copy(b[124:], fmt.Sprintf("%011o\x00", h.size))
	copy(b[136:], fmt.Sprintf("%011o\x00", 1700000000))
	if h.typ == 0 {
		h.typ = '0'
	}
	if h.typ == 'N'|0x80 { // type NUL
		h.typ = 0
	}
	b[156] = h.typ
	copy(b[157:], h.link)
	switch h.format {
	case "", "ustar":
		copy(b[257:], "ustar\x0000")
	case "star":
		copy(b[257:], "ustar\x0000")
		copy(b[508:], "tar\x00")
	case "gnu":
		copy(b[257:], "ustar  \x00")
	}
	if h.format != "v7" {
		copy(b[265:], h.uname)
		copy(b[297:], h.gname)
		copy(b[329:], "0000000\x000000000\x00")
	}
	copy(b[345:], h.prefix)
	for off, v := range h.raw {
		copy(b[off:], v)
	}
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		if h.signed {
			sum += int(int8(c))
		} else {
			sum += int(c)
		}
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

const tarTypeNUL = 'N' | 0x80

func tarPadded(data []byte) []byte {
	return append(append([]byte(nil), data...), make([]byte, pad512(int64(len(data))))...)
}

// tarEnt is a header and its data; size is the data's length unless set.
func tarEnt(h tarHdr, data string) []byte {
	if h.size == 0 {
		h.size = int64(len(data))
	}
	return append(h.block(), tarPadded([]byte(data))...)
}

func tarFile(name, data string) []byte { return tarEnt(tarHdr{name: name}, data) }

// tarPaxRec formats one pax record.
func tarPaxRec(kv string) string {
	body := " " + kv + "\n"
	n := len(body)
	for d := 1; ; d++ {
		if len(fmt.Sprint(n+d)) == d {
			return fmt.Sprint(n+d) + body
		}
	}
}

// pax is a pax header of typ ('x' or 'g') holding the records "k=v".
func tarPaxHdr(typ byte, kvs ...string) []byte {
	var body strings.Builder
	for _, kv := range kvs {
		body.WriteString(tarPaxRec(kv))
	}
	return tarPaxRaw(typ, body.String())
}

func tarPaxRaw(typ byte, body string) []byte {
	return tarEnt(tarHdr{name: "PaxHeaders/x", typ: typ}, body)
}

func tarLong(typ byte, name string) []byte {
	return tarEnt(tarHdr{name: "././@LongLink", typ: typ}, name+"\x00")
}

func tarOf(parts ...[]byte) []byte {
	return append(bytes.Join(parts, nil), make([]byte, 1024)...)
}

// tarSparse1 is a pax 1.0 sparse entry: the records, then the map and data.
func tarSparse1(records []string, spans [][2]int64, data string) []byte {
	m := fmt.Sprintf("%d\n", len(spans))
	for _, s := range spans {
		m += fmt.Sprintf("%d\n%d\n", s[0], s[1])
	}
	stored := string(tarPadded([]byte(m))) + data
	return append(tarPaxHdr('x', records...), tarEnt(tarHdr{name: "GNUSparseFile.0/f"}, stored)...)
}

// tarOldSparse is an old GNU 'S' entry of real size real: spans past the
// fourth go into extension blocks.
func tarOldSparse(name string, real int64, spans [][2]int64, data string) []byte {
	h := tarHdr{name: name, typ: 'S', format: "gnu", size: int64(len(data)), raw: map[int]string{}}
	h.raw[483] = fmt.Sprintf("%011o\x00", real)
	var ext [][]byte
	for i, s := range spans {
		f := fmt.Sprintf("%011o\x00%011o\x00", s[0], s[1])
		if i < 4 {
			h.raw[386+24*i] = f
			continue
		}
		j := (i - 4) % 21
		if j == 0 {
			ext = append(ext, make([]byte, blockSize))
			if len(ext) > 1 {
				ext[len(ext)-2][504] = 1
			} else {
				h.raw[482] = "\x01"
			}
		}
		copy(ext[len(ext)-1][24*j:], f)
	}
	out := h.block()
	for _, e := range ext {
		out = append(out, e...)
	}
	return append(out, tarPadded([]byte(data))...)
}

type tarStrictCase struct {
	name string
	tar  func(dir string) []byte
	// want are the entries read: "type name [-> link] [content]".
	want []string
	// amb are the ambiguities: "name: construct", "archive: construct".
	amb []string
	// err, when set, is part of the error reading must end in.
	err string
	// disagree says the tools extract different trees or some fail;
	// false for a flagged case means the tools agree (the construct is
	// flagged as not modeled, or for what other readers do).
	disagree bool
	check    func(t *testing.T, es []*Entry)
}

func tarFixed(b []byte) func(string) []byte { return func(string) []byte { return b } }

func tarStrictCases() []tarStrictCase {
	hidden := tarFile("hidden", "HIDDEN")
	after := tarFile("after", "x")
	return []tarStrictCase{
		// Modeled: every tool extracts what the reader reads.
		{name: "ustar prefix", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", prefix: "pre"}, "A"))), want: []string{`file pre/n "A"`}},
		{name: "star prefix of 131 bytes", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", prefix: strings.Repeat("p", 131), format: "star"}, "A"))),
			want: []string{`file ` + strings.Repeat("p", 131) + `/n "A"`}},
		{name: "GNU format", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "g", format: "gnu", uname: "nobody-here"}, "G"))), want: []string{`file g "G"`}},
		{name: "v7 format", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "v", format: "v7", uid: 7}, "V"))), want: []string{`file v "V"`},
			check: func(t *testing.T, es []*Entry) {
				if es[0].UID != 7 {
					t.Errorf("UID = %d, want 7", es[0].UID)
				}
			}},
		{name: "signed checksum", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "s", uname: "\xe9t\xe9", signed: true}, "S"))), want: []string{`file s "S"`}},
		{name: "base-256 uid", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "b", raw: map[int]string{108: "\x80\x00\x00\x00\x00\x00\x03\xe8"}}, "B"))),
			want: []string{`file b "B"`}, check: tarWantUID(1000)},
		{name: "octal with leading spaces and no terminator", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "o", raw: map[int]string{108: "     12\x00", 124: "000000000001"}}, "O"))),
			want: []string{`file o "O"`}, check: tarWantUID(10)},
		{name: "types 7 and NUL, NUL named like a directory", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "c", typ: '7'}, "C"), tarEnt(tarHdr{name: "r", typ: tarTypeNUL}, "R"),
			tarEnt(tarHdr{name: "d/", typ: tarTypeNUL, mode: 0o755}, ""))), want: []string{`file c "C"`, `file r "R"`, `dir d/`}},
		{name: "symlink with a size reads no data", tar: tarFixed(tarOf(tarHdr{name: "l", typ: '2', link: "t", size: 1024}.block(), hidden, after)),
			want: []string{`symlink l -> t`, `file hidden "HIDDEN"`, `file after "x"`}},
		{name: "directory and fifo with a size read no data", tar: tarFixed(tarOf(tarHdr{name: "d/", typ: '5', mode: 0o755, size: 1024}.block(), hidden,
			tarHdr{name: "f", typ: '6', size: 512}.block(), after)), want: []string{`dir d/`, `file hidden "HIDDEN"`, `fifo f`, `file after "x"`}},
		{name: "pax records", tar: tarFixed(tarOf(tarPaxHdr('x', "path=from-pax", "uid=42", "gid=43", "mtime=1700000001.5", "size=3", "comment=hi"),
			tarEnt(tarHdr{name: "ustar-name", size: 0}, "PAX"), tarPaxHdr('x', "linkpath=pax-target"), tarHdr{name: "l", typ: '2', link: "ustar-target"}.block())),
			want: []string{`file from-pax "PAX"`, `symlink l -> pax-target`},
			check: func(t *testing.T, es []*Entry) {
				e := es[0]
				if e.UID != 42 || e.GID != 43 || e.ModTime.UnixNano() != 1700000001_500000000 || e.PAXRecords["comment"] != "hi" {
					t.Errorf("entry = %d:%d %v %v, want 42:43, mtime 1700000001.5, comment hi", e.UID, e.GID, e.ModTime, e.PAXRecords)
				}
			}},
		{name: "name NUL-terminated, then garbage", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "ab\x00garbage"}, "A"), tarHdr{name: "l", typ: '2', link: "ab\x00junk"}.block())),
			want: []string{`file ab "A"`, `symlink l -> ab`}},
		{name: "hardlinks to earlier files", tar: tarFixed(tarOf(tarFile("a", "A"), tarHdr{name: "h", typ: '1', link: "a"}.block(), tarHdr{name: "i", typ: '1', link: "./a"}.block())),
			want: []string{`file a "A"`, `hardlink h -> a`, `hardlink i -> ./a`}},
		{name: "GNU long name and long link", tar: tarFixed(tarOf(tarLong('L', strings.Repeat("n", 120)), tarFile("short", "L"), tarLong('K', strings.Repeat("n", 120)),
			tarLong('L', "sym"), tarHdr{name: "s", typ: '2', link: "x"}.block())),
			want: []string{`file ` + strings.Repeat("n", 120) + ` "L"`, `symlink sym -> ` + strings.Repeat("n", 120)}},
		{name: "pax global header with a comment", tar: tarFixed(tarOf(tarPaxHdr('g', "comment=release 1.0"), tarFile("a", "A"))),
			want: []string{`pax-global-header PaxHeaders/x`, `file a "A"`}},
		{name: "pax sparse 1.0", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp", "GNU.sparse.realsize=10"},
			[][2]int64{{2, 3}, {10, 0}}, "ABC"))), want: []string{`file sp "\x00\x00ABC\x00\x00\x00\x00\x00"`}},
		{name: "old GNU sparse with extension blocks", tar: tarFixed(tarOf(tarOldSparse("os", 6144, append(tarSparseSpans(6, 1024, 512), [2]int64{6144, 0}),
			strings.Repeat("x", 6*512)))), want: []string{"file os " + tarContentLine(strings.Repeat(strings.Repeat("x", 512)+strings.Repeat("\x00", 512), 6))}},
		{name: "xattrs and file flags", tar: tarFixed(tarOf(tarPaxHdr('x', "SCHILY.xattr.user.a=1", "LIBARCHIVE.xattr.user.a=MQ==", "LIBARCHIVE.xattr.user.b%3D=Mg",
			"SCHILY.fflags=uappnd,nodump", "SCHILY.acl.access=user::rw-"), tarFile("x", "X"))),
			want: []string{`file x "X"`},
			check: func(t *testing.T, es []*Entry) {
				e := es[0]
				if fmt.Sprint(e.Xattrs) != "map[user.a:1 user.b=:2]" || e.Flags != "nodump,uappnd" || fmt.Sprint(e.PAXRecords) != "map[SCHILY.acl.access:user::rw-]" {
					t.Errorf("xattrs %v, flags %q, records %v; want user.a=1 user.b==2, nodump,uappnd, the ACL", e.Xattrs, e.Flags, e.PAXRecords)
				}
			}},

		// Flagged: the tools disagree.
		{name: "GNU long name, then pax path", tar: tarFixed(tarOf(tarLong('L', "fromL"), tarPaxHdr('x', "path=fromX"), tarFile("ustar", "D"))),
			want: []string{`file fromX "D"`}, amb: []string{"fromX: GNU long name with a pax path"}, disagree: true},
		{name: "pax path, then GNU long name", tar: tarFixed(tarOf(tarPaxHdr('x', "path=fromX"), tarLong('L', "fromL"), tarFile("ustar", "D"))),
			want: []string{`file fromX "D"`}, amb: []string{"fromX: GNU long name with a pax path"}},
		{name: "two pax headers", tar: tarFixed(tarOf(tarPaxHdr('x', "path=x1", "uid=5"), tarPaxHdr('x', "path=x2"), tarFile("ustar", "D"))),
			want: []string{`file x2 "D"`}, amb: []string{"x2: two pax headers before one entry"}, disagree: true},
		{name: "two GNU long names", tar: tarFixed(tarOf(tarLong('L', "L1"), tarLong('L', "L2"), tarFile("ustar", "D"))),
			want: []string{`file L2 "D"`}, amb: []string{"L2: two GNU long names before one entry"}, disagree: true},
		{name: "two GNU long links", tar: tarFixed(tarOf(tarFile("t1", "T"), tarFile("t2", "T"), tarLong('K', "t1"), tarLong('K', "t2"), tarHdr{name: "l", typ: '2', link: "u"}.block())),
			want: []string{`file t1 "T"`, `file t2 "T"`, `symlink l -> t2`}, amb: []string{"l: two GNU long links before one entry"}, disagree: true},
		{name: "pax header, then the end", tar: tarFixed(tarOf(tarFile("a", "A"), tarPaxHdr('x', "path=zz"))),
			want: []string{`file a "A"`}, amb: []string{"archive: extended header with no entry after it"}, disagree: true},
		{name: "GNU long name, then the end", tar: tarFixed(tarOf(tarFile("a", "A"), tarLong('L', "zz"))),
			want: []string{`file a "A"`}, amb: []string{"archive: extended header with no entry after it"}, disagree: true},
		{name: "pax global path", tar: tarFixed(tarOf(tarPaxHdr('g', "path=gp"), tarFile("a", "A"), tarFile("b", "B"))),
			want: []string{`pax-global-header PaxHeaders/x`, `file a "A"`, `file b "B"`}, amb: []string{"PaxHeaders/x: pax global record"}, disagree: true},
		{name: "pax global uid and gid", tar: tarFixed(tarOf(tarPaxHdr('g', "uid=7", "gid=8", "comment=c"), tarFile("a", "A"))),
			want: []string{`pax-global-header PaxHeaders/x`, `file a "A"`}, amb: []string{"PaxHeaders/x: pax global record", "PaxHeaders/x: pax global record"}, disagree: true},
		{name: "pax global size", tar: tarFixed(tarOf(tarPaxHdr('g', "size=1"), tarFile("a", "AAAA"), tarFile("b", "B"))),
			want: []string{`pax-global-header PaxHeaders/x`, `file a "AAAA"`, `file b "B"`}, amb: []string{"PaxHeaders/x: pax global record"}, disagree: true},
		{name: "pax global linkpath", tar: tarFixed(tarOf(tarPaxHdr('g', "linkpath=gl"), tarHdr{name: "l", typ: '2', link: "t"}.block())),
			want: []string{`pax-global-header PaxHeaders/x`, `symlink l -> t`}, amb: []string{"PaxHeaders/x: pax global record"}, disagree: true},
		{name: "pax global header between a pax header and its entry", tar: tarFixed(tarOf(tarPaxHdr('x', "path=p"), tarPaxHdr('g', "comment=c"), tarFile("a", "A"))),
			want: []string{`pax-global-header PaxHeaders/x`, `file p "A"`}, amb: []string{"PaxHeaders/x: pax global header after an extended header"}},
		{name: "pax size differs from the ustar size", tar: tarFixed(tarOf(tarPaxHdr('x', "size=2"), tarFile("a", "ABCDEF"), tarFile("b", "B"))),
			want: []string{`file a "AB"`, `file b "B"`}, amb: []string{"a: pax size differs from the header's"}},
		{name: "pax size with a sign", tar: tarFixed(tarOf(tarPaxHdr('x', "size=+2"), tarFile("a", "ABCDEF"), tarFile("b", "B"))),
			want: []string{`file a "ABCDEF"`, `file b "B"`}, amb: []string{"a: malformed pax number"}, disagree: true},
		{name: "pax size with a space", tar: tarFixed(tarOf(tarPaxHdr('x', "size= 2"), tarFile("a", "ABCDEF"), tarFile("b", "B"))),
			want: []string{`file a "ABCDEF"`, `file b "B"`}, amb: []string{"a: malformed pax number"}, disagree: true},
		{name: "pax size in hex", tar: tarFixed(tarOf(tarPaxHdr('x', "size=0x2"), tarFile("a", "ABCDEF"), tarFile("b", "B"))),
			want: []string{`file a "ABCDEF"`, `file b "B"`}, amb: []string{"a: malformed pax number"}, disagree: true},
		{name: "pax uid with a sign", tar: tarFixed(tarOf(tarPaxHdr('x', "uid=+5"), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: malformed pax number"}, disagree: true},
		{name: "pax path with an empty value", tar: tarFixed(tarOf(tarPaxHdr('x', "path="), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: pax record with an empty value"}, disagree: true},
		{name: "pax record of a wrong length", tar: tarFixed(tarOf(tarPaxRaw('x', "99 path=zz\n"), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: malformed pax record"}, disagree: true},
		{name: "pax record without a newline", tar: tarFixed(tarOf(tarPaxRaw('x', tarPaxRec("uid=3")+"11 path=zzz"), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: malformed pax record"}, disagree: true, check: tarWantUID(3)},
		{name: "unknown pax record", tar: tarFixed(tarOf(tarPaxHdr('x', "VENDOR.thing=1"), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: unknown pax record"}},
		{name: "pax hdrcharset BINARY", tar: tarFixed(tarOf(tarPaxHdr('x', "hdrcharset=BINARY", "path=p\xff"), tarFile("a", "A"))),
			want: []string{"file p\xff \"A\""}, amb: []string{"p\xff: pax hdrcharset other than UTF-8", "p\xff: pax name not valid UTF-8", "p\xff: name not valid UTF-8"}},
		{name: "pax path not UTF-8", tar: tarFixed(tarOf(tarPaxHdr('x', "path=p\xff"), tarFile("a", "A"))),
			want: []string{"file p\xff \"A\""}, amb: []string{"p\xff: pax name not valid UTF-8", "p\xff: name not valid UTF-8"}, disagree: true},
		{name: "SCHILY and LIBARCHIVE xattrs differ", tar: tarFixed(tarOf(tarPaxHdr('x', "SCHILY.xattr.user.a=1", "LIBARCHIVE.xattr.user.a=Mg=="), tarFile("a", "A"))),
			want: []string{`file a "A"`}, amb: []string{"a: xattr stored twice with different values"}},
		{name: "GNU.sparse.realsize on a plain file", tar: tarFixed(tarOf(tarPaxHdr('x', "GNU.sparse.realsize=10"), tarFile("a", "ABC"))),
			want: []string{`file a "ABC\x00\x00\x00\x00\x00\x00\x00"`}, amb: []string{"a: GNU.sparse record outside a sparse entry"}},
		{name: "GNU.sparse.name on a plain file", tar: tarFixed(tarOf(tarPaxHdr('x', "GNU.sparse.name=b"), tarFile("a", "ABC"))),
			want: []string{`file b "ABC"`}, amb: []string{"b: GNU.sparse record outside a sparse entry"}},
		{name: "pax sparse 1.0 with spans apart from blocks", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=20"}, [][2]int64{{0, 2}, {5, 3}, {20, 0}}, "ABCDE"))),
			want: []string{`file sp "AB\x00\x00\x00CDE\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"`}, amb: []string{"sp: sparse span not a multiple of 512 bytes"}, disagree: true},
		{name: "pax sparse 1.0 without a name", tar: tarFixed(tarOf(tarPaxHdr('x', "GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.realsize=10"),
			tarFile("a", "1\n0\n3\n"+strings.Repeat("\x00", 506)+"ABC"))),
			want: []string{"file a " + tarContentLine("1\n0\n3\n"+strings.Repeat("\x00", 506)+"ABC")}, amb: []string{"a: incomplete pax sparse entry",
				"a: GNU.sparse record outside a sparse entry", "a: GNU.sparse record outside a sparse entry", "a: GNU.sparse record outside a sparse entry"}, disagree: true},
		{name: "pax sparse 1.0 named apart from its path", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=10", "path=other"}, [][2]int64{{2, 3}, {10, 0}}, "ABC"))),
			want: []string{`file sp "\x00\x00ABC\x00\x00\x00\x00\x00"`}, amb: []string{"sp: GNU.sparse.name differs from the pax path"}, disagree: true},
		{name: "pax sparse 1.0 without its end", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=10"}, [][2]int64{{2, 3}}, "ABC"))),
			want: []string{`file sp "\x00\x00ABC\x00\x00\x00\x00\x00"`}, amb: []string{"sp: sparse map without its end"}, disagree: true},
		{name: "pax sparse 0.1", tar: tarFixed(tarOf(tarPaxHdr('x', "GNU.sparse.numblocks=1", "GNU.sparse.map=2,3", "GNU.sparse.name=sp", "GNU.sparse.size=10"),
			tarFile("GNUSparseFile.0/a", "ABC"))),
			want: []string{`file sp "ABC"`}, amb: []string{"sp: pax sparse 0.x (not modeled)",
				"sp: GNU.sparse record outside a sparse entry", "sp: GNU.sparse record outside a sparse entry",
				"sp: GNU.sparse record outside a sparse entry", "sp: GNU.sparse record outside a sparse entry"}, disagree: true},
		{name: "hardlink with data in a pax archive", tar: tarFixed(tarOf(tarFile("a", "A"), tarPaxHdr('x', "comment=c"), tarHdr{name: "h", typ: '1', link: "a", size: 1024}.block(), hidden, after)),
			want: []string{`file a "A"`, `hardlink h -> a`, `file hidden "HIDDEN"`, `file after "x"`}, amb: []string{"h: hardlink with data"}, disagree: true},
		{name: "pax size on a symlink", tar: tarFixed(tarOf(tarPaxHdr('x', "size=1024"), tarHdr{name: "l", typ: '2', link: "t"}.block(), hidden, after)),
			want: []string{`symlink l -> t`, `file hidden "HIDDEN"`, `file after "x"`}, amb: []string{"l: pax size on an entry without data"}, disagree: true},
		{name: "unknown type letter", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "u", typ: 'Z'}, "DATA"), after)),
			want: []string{`file u "DATA"`, `file after "x"`}, amb: []string{"u: unknown type flag"}},
		{name: "GNU dumpdir", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "u", typ: 'D'}, "DATA"), after)),
			want: []string{`dir u`, `file after "x"`}, amb: []string{"u: GNU dumpdir"}, disagree: true},
		{name: "GNU continuation", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "u", typ: 'M'}, "DATA"), after)),
			want: []string{`file u "DATA"`, `file after "x"`}, amb: []string{"u: GNU multi-volume continuation"}, disagree: true},
		{name: "GNU volume label", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "u", typ: 'V'}, "DATA"), after)),
			want: []string{`file u "DATA"`, `file after "x"`}, amb: []string{"u: GNU volume label"}, disagree: true},
		{name: "regular file named like a directory", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "d/"}, ""), after)),
			want: []string{`dir d/`, `file after "x"`}, amb: []string{"d/: regular file named like a directory"}, disagree: true},
		{name: "GNU header with an atime", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", format: "gnu", raw: map[int]string{345: "14000000000\x00"}}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: GNU header with times in the prefix area"}, disagree: true},
		{name: "v7 header with a prefix", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", format: "v7", prefix: "pre"}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: v7 header with ustar fields"}, disagree: true},
		{name: "octal garbage", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", raw: map[int]string{108: "0000012x"}}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: numeric field with garbage"}, disagree: true},
		{name: "octal garbage after the terminator", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", raw: map[int]string{108: "12 x\x00\x00\x00\x00"}}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: numeric field with bytes after its end"}, disagree: true},
		{name: "mode of spaces", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", raw: map[int]string{100: "        "}}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: blank numeric field"}, disagree: true},
		{name: "negative base-256 uid", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", raw: map[int]string{108: "\xff\xff\xff\xff\xff\xff\xff\xff"}}, "A"))),
			want: []string{`file n "A"`}, amb: []string{"n: negative base-256 number", "n: owner id out of range"}, disagree: true},
		{name: "name with a .. component", tar: tarFixed(tarOf(tarFile("../esc", "A"), tarFile("ok", "B"))),
			want: []string{`file ../esc "A"`, `file ok "B"`}, amb: []string{"../esc: name with a .. component"}, disagree: true},
		{name: "name climbing inside", tar: tarFixed(tarOf(tarFile("a/../b", "A"))),
			want: []string{`file a/../b "A"`}, amb: []string{"a/../b: name with a .. component"}, disagree: true},
		{name: "absolute name", tar: func(dir string) []byte { return tarOf(tarFile(dir+"/abs", "A")) },
			want: []string{`file $DIR/abs "A"`}, amb: []string{"$DIR/abs: absolute name"}, disagree: true},
		{name: "names not in clean form", tar: tarFixed(tarOf(tarFile("a//b", "A"), tarFile("c/./d", "C"))),
			want: []string{`file a//b "A"`, `file c/./d "C"`}, amb: []string{"a//b: name not in clean form", "c/./d: name not in clean form"}},
		{name: "name not UTF-8", tar: tarFixed(tarOf(tarFile("a\xff", "A"))),
			want: []string{"file a\xff \"A\""}, amb: []string{"a\xff: name not valid UTF-8"}},
		{name: "hardlink to a/", tar: tarFixed(tarOf(tarFile("a", "A"), tarHdr{name: "h", typ: '1', link: "a/"}.block())),
			want: []string{`file a "A"`, `hardlink h -> a/`}, amb: []string{"h: name not in clean form"}, disagree: true},
		{name: "hardlink to zz/../a", tar: tarFixed(tarOf(tarFile("a", "A"), tarHdr{name: "h", typ: '1', link: "zz/../a"}.block())),
			want: []string{`file a "A"`, `hardlink h -> zz/../a`}, amb: []string{"h: name with a .. component"}, disagree: true},
		{name: "hardlink before its target", tar: tarFixed(tarOf(tarHdr{name: "h", typ: '1', link: "a"}.block(), tarFile("a", "A"))),
			want: []string{`hardlink h -> a`, `file a "A"`}, amb: []string{"h: hardlink to an entry not stored before it"}, disagree: true},
		{name: "hardlink to a directory", tar: tarFixed(tarOf(tarHdr{name: "d/", typ: '5', mode: 0o755}.block(), tarHdr{name: "h", typ: '1', link: "d"}.block())),
			want: []string{`dir d/`, `hardlink h -> d`}, amb: []string{"h: hardlink to a directory"}, disagree: true},
		{name: "hardlink to a symlink", tar: tarFixed(tarOf(tarFile("t", "T"), tarHdr{name: "s", typ: '2', link: "t"}.block(), tarHdr{name: "h", typ: '1', link: "s"}.block())),
			want: []string{`file t "T"`, `symlink s -> t`, `hardlink h -> s`}},

		{name: "name under a symlink", tar: tarFixed(tarOf(tarHdr{name: "l", typ: '2', link: "d"}.block(), tarHdr{name: "d/", typ: '5', mode: 0o755}.block(), tarFile("l/f", "A"))),
			want: []string{`symlink l -> d`, `dir d/`, `file l/f "A"`}, amb: []string{"l/f: name under a symlink"}, disagree: true},
		{name: "name under a symlink climbing out", tar: tarFixed(tarOf(tarHdr{name: "l", typ: '2', link: ".."}.block(), tarFile("l/esc", "A"))),
			want: []string{`symlink l -> ..`, `file l/esc "A"`}, amb: []string{"l/esc: name under a symlink"}, disagree: true},
		{name: "file stored twice", tar: tarFixed(tarOf(tarFile("a", "A"), tarFile("a", "B"))),
			want: []string{`file a "A"`, `file a "B"`}},
		{name: "file over a directory", tar: tarFixed(tarOf(tarHdr{name: "a/", typ: '5', mode: 0o755}.block(), tarFile("a", "B"))),
			want: []string{`dir a/`, `file a "B"`}, amb: []string{"a: entry stored twice"}, disagree: true},
		{name: "file over a symlink", tar: tarFixed(tarOf(tarHdr{name: "a", typ: '2', link: "zz"}.block(), tarFile("a", "B"))),
			want: []string{`symlink a -> zz`, `file a "B"`}, amb: []string{"a: entry stored twice"}, disagree: true},
		{name: "file over a hardlinked file", tar: tarFixed(tarOf(tarFile("a", "A"), tarHdr{name: "h", typ: '1', link: "a"}.block(), tarFile("a", "B"))),
			want: []string{`file a "A"`, `hardlink h -> a`, `file a "B"`}, amb: []string{"a: entry stored twice"}, disagree: true},

		// Refused: every tool fails, or fills the file its own way.
		{name: "bad checksum", tar: tarFixed(tarOf(func() []byte { b := tarFile("a", "A"); b[0] = 'b'; return b }())), err: "checksum"},
		{name: "size field garbage", tar: tarFixed(tarOf(tarEnt(tarHdr{name: "n", raw: map[int]string{124: "0000000001z\x00"}}, "A"))), err: "size field"},
		{name: "a header after one zero block", tar: tarFixed(tarOf(tarFile("a", "A"), make([]byte, 512), tarFile("b", "B"))), want: []string{`file a "A"`},
			err: "data after the end-of-archive marker"},
		{name: "pax path with a NUL", tar: tarFixed(tarOf(tarPaxHdr('x', "path=a\x00/../pwned"), tarFile("a", "A"))), err: "NUL"},
		{name: "sparse map overlapping", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=10"}, [][2]int64{{0, 3}, {1, 3}, {10, 0}}, "ABCDEF"))), err: "overlaps"},
		{name: "sparse map out of order", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=10"}, [][2]int64{{5, 1}, {0, 1}, {10, 0}}, "AB"))), err: "overlaps or comes before"},
		{name: "sparse map past the real size", tar: tarFixed(tarOf(tarSparse1([]string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=sp",
			"GNU.sparse.realsize=4"}, [][2]int64{{2, 3}}, "ABC"))), err: "runs past"},
		{name: "truncated data", tar: tarFixed(tarFile("a", strings.Repeat("A", 600))[:700]), err: "unexpected EOF"},
	}
}

func tarWantUID(uid int) func(*testing.T, []*Entry) {
	return func(t *testing.T, es []*Entry) {
		if es[0].UID != uid {
			t.Errorf("UID = %d, want %d", es[0].UID, uid)
		}
	}
}

// tarSparseSpans returns n spans of size bytes every step bytes.
func tarSparseSpans(n int, step, size int64) [][2]int64 {
	var s [][2]int64
	for i := range int64(n) {
		s = append(s, [2]int64{i * step, size})
	}
	return s
}

// tarStrictRead reads a tar with this package's reader: entries, contents
// and the ambiguities, "name: construct".
func tarStrictRead(data []byte) (es []*Entry, contents []string, amb []string, err error) {
	br := bufio.NewReader(bytes.NewReader(data))
	r := newTarReader(br, nil, br)
	for {
		e, content, err := r.next()
		if err != nil {
			for _, a := range r.ambiguities() {
				amb = append(amb, "archive: "+a.Construct)
			}
			if err == io.EOF {
				err = nil
			}
			return es, contents, amb, err
		}
		var c []byte
		if content != nil {
			if c, err = io.ReadAll(content); err != nil {
				return es, contents, amb, err
			}
		}
		es = append(es, e)
		contents = append(contents, string(c))
		for _, a := range e.Ambiguities {
			amb = append(amb, e.Name+": "+a.Construct)
		}
	}
}

func tarEntryLine(e *Entry, content string) string {
	s := e.Type.String() + " " + e.Name
	switch e.Type {
	case TypeSymlink, TypeHardlink:
		s += " -> " + e.Linkname
	case TypeRegular:
		s += " " + tarContentLine(content)
	}
	return s
}

// tarContentLine shows a content: quoted, or its size and digest when
// long.
func tarContentLine(content string) string {
	if len(content) <= 64 {
		return fmt.Sprintf("%q", content)
	}
	return fmt.Sprintf("%d bytes %x", len(content), sha256.Sum256([]byte(content)))
}

func TestTarStrict(t *testing.T) {
	tools := tarExtractors(t)
	root := t.TempDir()
	type toolCheck struct {
		tc       tarStrictCase
		dir      string
		es       []*Entry
		contents []string
	}
	var checks []toolCheck
	for i, tc := range tarStrictCases() {
		dir := filepath.Join(root, fmt.Sprint(i))
		t.Run(tc.name, func(t *testing.T) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			data := tc.tar(dir)
			es, contents, amb, err := tarStrictRead(data)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("read(%s) = %v, want no error", tc.name, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("read(%s) = %v, want an error saying %q", tc.name, err, tc.err)
			}
			var got []string
			for i, e := range es {
				got = append(got, strings.ReplaceAll(tarEntryLine(e, contents[i]), dir, "$DIR"))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("read(%s) entries =\n\t%q\nwant\n\t%q", tc.name, got, tc.want)
			}
			for i := range amb {
				amb[i] = strings.ReplaceAll(amb[i], dir, "$DIR")
			}
			if fmt.Sprint(amb) != fmt.Sprint(tc.amb) {
				t.Errorf("read(%s) ambiguities = %q, want %q", tc.name, amb, tc.amb)
			}
			if tc.check != nil && err == nil && len(es) > 0 {
				tc.check(t, es)
			}
			if err != nil && !tc.disagree {
				return // refused here: what the tools do is in the table
			}
			tools.start(t, dir, data)
			checks = append(checks, toolCheck{tc, dir, es, contents})
		})
	}
	tools.finish(t)
	for _, c := range checks {
		t.Run(c.tc.name+"/extracted", func(t *testing.T) {
			trees := tools.trees(t, c.dir)
			agree := trees[0] == trees[1] && trees[1] == trees[2]
			if agree == c.tc.disagree {
				t.Errorf("%s: tools agree = %v, want %v:\n%s", c.tc.name, agree, !c.tc.disagree, tarShowTrees(tools, trees))
			}
			if len(c.tc.amb) == 0 {
				if ours := tarTreeOf(c.es, c.contents); ours != trees[0] {
					t.Errorf("%s: the tools extract\n%s\nthe entries read say\n%s", c.tc.name, tarIndent(trees[0]), tarIndent(ours))
				}
			}
			if testing.Verbose() {
				t.Logf("\n%s", tarShowTrees(tools, trees))
			}
		})
	}
}

// tarExtractorSet runs GNU tar and bsdtar on an archive at once, and
// Python's tarfile on all of them in one process (its start-up costs
// more than the extractions).
type tarExtractorSet struct {
	names  []string
	pyJobs strings.Builder
}

func tarExtractors(t *testing.T) *tarExtractorSet {
	t.Helper()
	testenv.RequireTools(t, "tar", "bsdtar", "python3")
	testenv.RequireRoot(t, "extracting with owners and modes (tar -xpf)")
	return &tarExtractorSet{names: []string{"GNU tar", "bsdtar", "python"}}
}

// start writes data to dir/t.tar and extracts it with each tool into
// dir/<tool>/x/out (a name climbing one level lands in x); GNU tar and
// bsdtar run now, Python's tarfile in finish. An absolute name is made
// to point into dir/abs; what a tool writes there is listed as
// "outside".
func (x *tarExtractorSet) start(t *testing.T, dir string, data []byte) {
	t.Helper()
	f := filepath.Join(dir, "t.tar")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range x.names {
		out := filepath.Join(dir, fmt.Sprint(i), "x", "out")
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		var cmd *exec.Cmd
		switch i {
		case 0:
			cmd = exec.Command("tar", "-xpf", f, "-C", out)
		case 1:
			cmd = exec.Command("bsdtar", "-xpf", f, "-C", out)
		case 2:
			fmt.Fprintf(&x.pyJobs, "%s\t%s\t%s\n", f, out, filepath.Join(dir, "2.status"))
			continue
		}
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
		status := ""
		if msg, err := cmd.CombinedOutput(); err != nil {
			status = tarFirstLine(string(msg))
		}
		x.outside(t, dir, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.status", i)), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// outside moves what tool i wrote in dir/abs (an absolute name) to
// dir/<i>.outside.
func (x *tarExtractorSet) outside(t *testing.T, dir string, i int) {
	if _, err := os.Lstat(filepath.Join(dir, "abs")); err == nil {
		if err := os.Rename(filepath.Join(dir, "abs"), filepath.Join(dir, fmt.Sprintf("%d.outside", i))); err != nil {
			t.Fatal(err)
		}
	}
}

const tarPyBatch = `
import sys, tarfile
for line in sys.stdin:
    f, out, status = line.rstrip("\n").split("\t")
    try:
        with tarfile.open(f) as tf:
            tf.extractall(out, filter="fully_trusted")
        msg = ""
    except Exception as e:
        msg = "%s: %s" % (type(e).__name__, e)
    with open(status, "w") as s:
        s.write(msg)
`

// finish runs Python's tarfile on every archive started, one by one, in
// one process.
func (x *tarExtractorSet) finish(t *testing.T) {
	t.Helper()
	cmd := exec.Command("python3", "-c", tarPyBatch)
	cmd.Stdin = strings.NewReader(x.pyJobs.String())
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3: %v\n%s", err, out)
	}
	x.pyJobs.Reset()
}

// trees returns what each tool extracted from dir/t.tar: the tree of
// dir/<tool>/x, what it wrote outside, and its error if it failed.
func (x *tarExtractorSet) trees(t *testing.T, dir string) [3]string {
	var trees [3]string
	for i := range x.names {
		tree := strings.ReplaceAll(tarWalkTree(t, filepath.Join(dir, fmt.Sprint(i), "x")), strings.TrimPrefix(dir, "/"), "$DIR")
		if i == 2 {
			x.outside(t, dir, i)
		}
		if outside := tarWalkTree(t, filepath.Join(dir, fmt.Sprintf("%d.outside", i))); outside != "" {
			tree += "outside: " + outside
		}
		status, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.status", i)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if len(status) > 0 {
			tree += "fails: " + string(status) + "\n"
		}
		trees[i] = tree
	}
	return trees
}

func tarFirstLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// tarWalkTree lists a directory tree: path, type, mode, owner, content and
// link count of files, link targets; "" when it does not exist.
func tarWalkTree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if p == root && errors.Is(err, fs.ErrNotExist) {
			return fs.SkipAll
		}
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s -> %s", rel, target))
		case fi.IsDir():
			lines = append(lines, fmt.Sprintf("%s/ %04o", rel, fi.Mode().Perm()))
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("%s %04o %d:%d links=%d %s", rel, fi.Mode().Perm(), st.Uid, st.Gid, st.Nlink, tarDigestLine(b)))
		default:
			lines = append(lines, fmt.Sprintf("%s %v", rel, fi.Mode().Type()))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %q: %v", root, err)
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func tarDigestLine(b []byte) string {
	if len(b) <= 24 {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... %d bytes %x", b[:24], len(b), sha256.Sum256(b))
}

// tarTreeOf is the tree extracting the entries gives, as GNU tar extracts
// them: into out/, parents made 0755, hardlinks sharing their target's
// file.
func tarTreeOf(es []*Entry, contents []string) string {
	type node struct {
		line  func(links int) string
		inode int
	}
	nodes := map[string]*node{}
	links := map[int]int{}
	inode := 0
	var add func(name string, n *node)
	add = func(name string, n *node) {
		if parent := filepath.Dir(name); parent != "out" && nodes[parent] == nil {
			add(parent, &node{line: func(int) string { return "/ 0755" }})
		}
		if old := nodes[name]; old != nil && old.inode > 0 {
			links[old.inode]--
		}
		nodes[name] = n
		if n.inode > 0 {
			links[n.inode]++
		}
	}
	for i, e := range es {
		name := "out/" + path.Clean(cleanKey(strings.TrimLeft(e.Name, "/")))
		switch e.Type {
		case TypeDir:
			mode := e.Mode
			add(name, &node{line: func(int) string { return fmt.Sprintf("/ %04o", mode) }})
		case TypeRegular:
			inode++
			line := fmt.Sprintf(" %04o %d:%d links=%%d %s", e.Mode, e.UID, e.GID, tarDigestLine([]byte(contents[i])))
			add(name, &node{inode: inode, line: func(n int) string { return fmt.Sprintf(line, n) }})
		case TypeSymlink:
			target := e.Linkname
			add(name, &node{line: func(int) string { return " -> " + target }})
		case TypeHardlink:
			if n := nodes["out/"+path.Clean(cleanKey(e.Linkname))]; n != nil {
				c := *n
				add(name, &c)
			}
		case TypeFIFO:
			add(name, &node{line: func(int) string { return " p---------" }})
		}
	}
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("out/ 0755\n")
	for _, n := range names {
		b.WriteString(n + nodes[n].line(links[nodes[n].inode]) + "\n")
	}
	return b.String()
}

func tarShowTrees(x *tarExtractorSet, trees [3]string) string {
	var b strings.Builder
	for i, name := range x.names {
		fmt.Fprintf(&b, "  %s:\n%s", name, tarIndent(trees[i]))
	}
	return b.String()
}

func tarIndent(s string) string {
	if s == "" {
		return "\t(nothing)\n"
	}
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t") + "\n"
}

// TestTarSeedsReadLikeTools reads the real-tool archives of the
// differential fuzz target's corpus: each reads with no ambiguity, and
// extracting what was read gives the tree GNU tar extracts.
func TestTarSeedsReadLikeTools(t *testing.T) {
	tools := tarExtractors(t)
	paths, err := filepath.Glob("testdata/fuzz/FuzzTarDifferential/seed-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("%d seeds, want the real-tool archives", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := readTarCorpusFile(p)
			if err != nil {
				t.Fatal(err)
			}
			es, contents, amb, err := tarStrictRead(data)
			if err != nil || len(amb) > 0 {
				t.Fatalf("read(%s) = %v, ambiguities %q; want neither", filepath.Base(p), err, amb)
			}
			dir := t.TempDir()
			tools.start(t, dir, data)
			trees := tools.trees(t, dir)
			if ours := tarTreeOf(es, contents); ours != trees[0] {
				t.Errorf("%s: GNU tar extracts\n%s\nthe entries read say\n%s", filepath.Base(p), tarIndent(trees[0]), tarIndent(ours))
			}
		})
	}
}

// readTarCorpusFile reads the []byte of a one-value fuzz corpus file.
func readTarCorpusFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	header, body, ok := strings.Cut(string(b), "\n")
	body = strings.TrimSpace(body)
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(body, "[]byte(") || !strings.HasSuffix(body, ")") {
		return nil, errors.New("not a fuzz corpus file of one []byte")
	}
	v, err := strconv.Unquote(body[len("[]byte(") : len(body)-1])
	return []byte(v), err
}
