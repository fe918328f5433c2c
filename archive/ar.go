package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
)

// The ar format: an 8-byte magic, then members of a 60-byte header, the
// content, and a newline pad to an even offset. Long names come as GNU
// ("//" table, "/N" references) or BSD ("#1/N", name before the content).

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
	// maxArTable caps the GNU long-name table.
	maxArTable = 16 << 20
)

// arMeta keeps an ar member's header as stored, so a rewrite keeps the
// variant of the name and the file-type bits of the mode field.
type arMeta struct {
	rawName  string // the 16-byte name field, trimmed of trailing spaces
	bsdName  bool   // name stored before the content ("#1/N")
	modeType int64  // mode bits above ModePerm (e.g. 0100000)
}

// The extractors of an ar, and how they read a member's name (checked
// with GNU binutils 2.40 `ar x`, bsdtar 3.6.2 and dpkg-deb 1.21; the
// cases are in ar_strict_test.go):
//
//   - binutils ends a short name at the first NUL, else the first '/',
//     else the first space: "a b" is "a", "a/b/" is "a"; it reads the
//     GNU long-name table "//" only as the first member or right after a
//     symbol table, takes the first of two, ends a long name at a
//     newline (one '/' before it dropped) and turns '\' into '/'; it
//     extracts the base name of a name holding a '/' (".." refused).
//   - bsdtar ends a short name at the first NUL, drops trailing spaces
//     and one trailing '/'; it reads a "//" table wherever it comes,
//     refuses a second one and a table holding a '/' not before a
//     newline, and ends a long name at "/\n" only (not at a bare
//     newline); it extracts a name holding '/' as a path.
//   - dpkg-deb reads a .deb by the stored short names alone (no long
//     names): see debState.
//
// Our reading is bsdtar's; where binutils reads another name, the entry
// carries an Ambiguity.

type arReader struct {
	br       *bufio.Reader
	cnt      *countingReader
	started  bool
	longName []byte // GNU "//" table: the first one
	members  int    // members read so far
	symFirst bool   // the first member is a symbol table
	pad      bool
	padOf    string // the member whose pad byte is pending
	cur      *io.LimitedReader
	found    []Ambiguity // container-level
	seen     map[string]bool
	deb      debState
}

func newArReader(r *bufio.Reader, cnt *countingReader, _ *bufio.Reader) *arReader {
	return &arReader{br: r, cnt: cnt}
}

func (a *arReader) offset() int64 { return bufferedOffset(a.cnt, a.br) }

// ambiguities returns the container-level constructs found so far: member
// order in a .deb, a second long-name table, odd padding.
func (a *arReader) ambiguities() []Ambiguity { return a.found }

// once records a container-level ambiguity, the first of its construct
// only, so that a hostile archive cannot make the list grow per member.
func (a *arReader) once(amb Ambiguity) {
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	if a.seen[amb.Construct] {
		return
	}
	a.seen[amb.Construct] = true
	a.found = append(a.found, amb)
}

func (a *arReader) next() (*Entry, io.Reader, error) {
	if !a.started {
		magic := make([]byte, len(arMagic))
		if _, err := io.ReadFull(a.br, magic); err != nil || string(magic) != arMagic {
			return nil, nil, errors.New("bad ar magic")
		}
		a.started = true
	}
	if err := a.skipRest(); err != nil {
		return nil, nil, err
	}
	var hdr [arHeaderSize]byte
	n, err := io.ReadFull(a.br, hdr[:])
	if err == io.EOF || (err == io.ErrUnexpectedEOF && n == 1 && hdr[0] == '\n') {
		a.deb.end(a)
		return nil, nil, io.EOF
	}
	if err != nil {
		return nil, nil, errTruncated
	}
	if string(hdr[58:60]) != "`\n" {
		return nil, nil, errors.New("bad ar member header (no terminator)")
	}
	field := func(lo, hi int) string { return strings.TrimRight(string(hdr[lo:hi]), " ") }
	size, err := arNumber(field(48, 58), 10, "size")
	if err != nil {
		return nil, nil, err
	}
	mtime, err := arNumber(field(16, 28), 10, "mtime")
	if err != nil {
		return nil, nil, err
	}
	uid, err := arNumber(field(28, 34), 10, "uid")
	if err != nil {
		return nil, nil, err
	}
	gid, err := arNumber(field(34, 40), 10, "gid")
	if err != nil {
		return nil, nil, err
	}
	mode, err := arNumber(field(40, 48), 8, "mode")
	if err != nil {
		return nil, nil, err
	}
	index := a.members
	a.members++
	rawField := string(hdr[0:16])
	raw := field(0, 16)
	stored := size // bytes after the header, BSD name included
	meta := &arMeta{rawName: raw, modeType: mode &^ ModePerm}
	// dpkgName is the name as dpkg-deb reads it: the field without
	// trailing spaces and one trailing '/', to the first NUL.
	dpkgName := arCString(strings.TrimSuffix(raw, "/"))
	name := ""
	var amb []Ambiguity
	switch {
	case raw == "/" || raw == "/SYM64/" || raw == "__.SYMDEF" || raw == "__.SYMDEF SORTED":
		// symbol table: a member like any other
		name = raw
		if index == 0 {
			a.symFirst = true
		}
	case raw == "//":
		if size > maxArTable {
			return nil, nil, fmt.Errorf("%w: ar long-name table of %d bytes", ErrLimit, size)
		}
		name = raw
	case strings.HasPrefix(raw, "#1/"):
		nlen, err := strconv.ParseInt(raw[3:], 10, 64)
		if err != nil || nlen < 0 || nlen > 4096 || nlen > size {
			return nil, nil, fmt.Errorf("bad BSD ar name %q", raw)
		}
		buf := make([]byte, nlen)
		if _, err := io.ReadFull(a.br, buf); err != nil {
			return nil, nil, errTruncated
		}
		stored := string(buf)
		name = arCString(stored)
		if strings.TrimRight(stored[len(name):], "\x00") != "" {
			amb = append(amb, ambiguous("ar name with a NUL byte",
				"BSD long name %q: every extractor stops at the NUL and extracts %q", stored, name))
		}
		size -= nlen
		meta.bsdName = true
	case strings.HasPrefix(raw, "/") && len(raw) > 1:
		off, err := strconv.ParseInt(raw[1:], 10, 64)
		if err != nil || off < 0 || off >= int64(len(a.longName)) {
			return nil, nil, fmt.Errorf("bad GNU ar long-name reference %q", raw)
		}
		var bin, bsd string
		name, bin, bsd = gnuLongName(a.longName, off)
		switch {
		case bin != bsd:
			amb = append(amb, ambiguous("ar long name", "binutils ar extracts %q, bsdtar %q", bin, bsd))
		case name != bin:
			amb = append(amb, ambiguous("ar long name", "long name %q: binutils ar and bsdtar extract %q", name, bin))
		}
	default:
		name = arCString(strings.TrimSuffix(raw, "/"))
		if bin := binutilsShortName(rawField, a.longName != nil); bin != name {
			amb = append(amb, ambiguous("ar member name", "name field %q: binutils ar extracts %q, bsdtar %q", raw, bin, name))
		} else if strings.IndexByte(raw, 0) >= 0 {
			amb = append(amb, ambiguous("ar name with a NUL byte",
				"name field %q: every extractor stops at the NUL and extracts %q", raw, name))
		}
	}
	if len(amb) == 0 && raw != "/" && raw != "//" && raw != "/SYM64/" {
		switch {
		case name == "":
			amb = append(amb, ambiguous("ar member name", "an empty name: bsdtar refuses the archive, binutils ar cannot extract it"))
		case name == "." || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.HasSuffix(name, "/.."):
			amb = append(amb, ambiguous("ar member name", "%q: bsdtar refuses it, binutils ar extracts %q", name, path.Base(name)))
		case strings.Contains(name, "/"):
			amb = append(amb, ambiguous("ar member name", "%q: binutils ar extracts %q, bsdtar the path %q", name, path.Base(name), strings.TrimLeft(name, "/")))
		}
	}
	if raw == "//" || raw == "ARFILENAMES/" {
		tableSlot := index == 0 || (index == 1 && a.symFirst)
		switch {
		case a.longName != nil:
			a.once(ambiguous("ar second long-name table",
				"binutils ar reads the first GNU long-name table, bsdtar refuses an archive with two"))
		case !tableSlot && raw == "//":
			a.once(ambiguous("ar long-name table position",
				"a GNU long-name table as member %d: binutils ar reads it only as the first member (or after a symbol table), bsdtar wherever it is", index+1))
		case tableSlot && raw == "ARFILENAMES/":
			amb = append(amb, ambiguous("ar member name", "\"ARFILENAMES/\" first: binutils ar reads it as the long-name table, bsdtar as a file"))
		}
	}
	e := &Entry{
		ContentOffset: -1,
		Name:          name,
		Type:          TypeRegular,
		Mode:          mode & ModePerm,
		UID:           int(uid),
		GID:           int(gid),
		Size:          size,
		ModTime:       time.Unix(mtime, 0).UTC(),
		Ambiguities:   amb,
		ar:            meta,
	}
	a.pad = stored%2 == 1
	a.padOf = name
	a.cur = &io.LimitedReader{R: a.br, N: size}
	if index == 0 && name == "debian-binary" {
		a.deb.active = true
	} else if index > 0 && dpkgName == "debian-binary" && !a.deb.active {
		// A .deb with its members out of order: dpkg-deb reads a
		// package only when debian-binary comes first.
		a.once(ambiguous("deb member order", "debian-binary is member %d, not the first: dpkg-deb refuses the package, ar and bsdtar extract it", index+1))
	}
	if a.deb.active {
		head, _ := a.br.Peek(int(min(size, debPeek)))
		a.deb.member(a, e, index, dpkgName, head)
	}
	if raw == "//" {
		table, err := io.ReadAll(a.cur)
		if err != nil || int64(len(table)) != size {
			return nil, nil, errTruncated
		}
		if a.longName == nil {
			a.longName = table
			if bsdtarRefusesTable(table) {
				a.once(ambiguous("ar long-name table", "a '/' not before a newline: bsdtar refuses the table, binutils ar reads it"))
			}
		}
		return e, bytes.NewReader(table), nil
	}
	e.ContentOffset = a.offset()
	return e, &exactReader{r: a.cur}, nil
}

// arCString returns s up to its first NUL, as the C extractors read a name.
func arCString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// binutilsShortName is the name GNU binutils gives a member from the
// 16-byte name field (not "/" or "#1/" names): to the first NUL, else the
// first '/', else the first space. A field starting with a space and
// holding no '/' is a long-name reference when there is a table.
func binutilsShortName(field string, table bool) string {
	if field != "" && field[0] == ' ' && !strings.Contains(field, "/") && table {
		return "(a long-name reference)"
	}
	if i := strings.IndexByte(field, 0); i >= 0 {
		return field[:i]
	}
	if i := strings.IndexByte(field, '/'); i >= 0 {
		return field[:i]
	}
	if i := strings.IndexByte(field, ' '); i >= 0 {
		return field[:i]
	}
	return field
}

// gnuLongName reads the long name at off in a GNU table: ours (to the
// newline, one trailing '/' dropped, to the first NUL), binutils' (the
// same with '\' read as '/') and bsdtar's (to the first '/' or NUL, over
// newlines).
func gnuLongName(table []byte, off int64) (ours, binutils, bsdtar string) {
	rest := table[off:]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
	}
	ours = arCString(strings.TrimSuffix(string(rest[:end]), "/"))
	binutils = strings.ReplaceAll(ours, `\`, "/")
	bsd := rest
	if off+int64(len(rest)) == int64(len(table)) && len(bsd) > 0 {
		bsd = bsd[:len(bsd)-1] // bsdtar ends the table with a NUL
	}
	if i := bytes.IndexAny(bsd, "/\x00"); i >= 0 {
		bsd = bsd[:i]
	}
	return ours, binutils, string(bsd)
}

// bsdtarRefusesTable reports whether bsdtar refuses a GNU long-name table:
// a '/' that a newline does not follow.
func bsdtarRefusesTable(table []byte) bool {
	if len(table) == 0 {
		return true
	}
	for i := 0; i < len(table)-1; i++ {
		if table[i] == '/' {
			if table[i+1] != '\n' {
				return true
			}
			i++
		}
	}
	return false
}

// skipRest discards the unread content of the current member and its pad.
func (a *arReader) skipRest() error {
	if a.cur != nil {
		if n, err := io.Copy(io.Discard, a.cur); err != nil || a.cur.N > 0 {
			_ = n
			return errTruncated
		}
		a.cur = nil
	}
	if a.pad {
		a.pad = false
		b, err := a.br.ReadByte()
		if err != nil && err != io.EOF {
			return err
		}
		if err == nil && b != '\n' {
			// Every extractor skips it; its value is bytes no reading
			// explains.
			a.once(ambiguous("ar member padding", "the pad byte after %q is %q, not a newline (every extractor skips it)", a.padOf, b))
		}
	}
	return nil
}

// arNumber parses a decimal or octal header field: digits, then spaces.
// A sign or other bytes are refused: bsdtar reads "+2" as 0 where
// binutils reads 2.
func arNumber(s string, base int, what string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad ar %s field %q", what, s)
		}
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad ar %s field %q", what, s)
	}
	return n, nil
}

// debPeek is how much of a .deb member's content is looked at: the format
// version, and the magic number of a control or data member.
const debPeek = 512

// debState follows a .deb as dpkg-deb 1.21 reads it, by the stored short
// names (trailing spaces and one '/' dropped, to the first NUL; no GNU or
// BSD long names):
//
//  1. "debian-binary" first, holding "<major>.<minor>\n" with major 2
//     (anything may follow the newline);
//  2. then members starting with '_', skipped wherever they are;
//  3. "control.tar" with no extension, ".gz", ".xz" or ".zst"; a second
//     control member is refused; any other member before it too;
//  4. "data.tar" with no extension, ".gz", ".xz", ".zst", ".bz2" or
//     ".lzma"; any other member between control and data is refused;
//  5. dpkg-deb stops at the data member: what comes after is never read.
//
// It decompresses a member by its name, not by its bytes.
type debState struct {
	active  bool
	stage   int // debControl, debData, debDone, debRefused
	control bool
}

const (
	debControl = iota // the control member is next
	debData           // the data member is next
	debDone           // dpkg-deb has stopped reading
	debRefused        // dpkg-deb refuses the package
)

// member follows one member of a .deb; head is the start of its content.
func (d *debState) member(a *arReader, e *Entry, index int, dpkgName string, head []byte) {
	refuse := func(construct, format string, args ...any) {
		a.once(ambiguous(construct, format, args...))
		d.stage = debRefused
	}
	if index == 0 {
		if dpkgName != "debian-binary" {
			refuse("deb ar long name", "the first member's name is stored as %q: dpkg-deb reads no long names and refuses the package (not a Debian binary archive)", e.ar.rawName)
			return
		}
		if msg := debVersionProblem(head, e.Size); msg != "" {
			e.Ambiguities = append(e.Ambiguities, ambiguous("deb format version", "%s", msg))
			if !strings.HasPrefix(msg, "dpkg-deb accepts") {
				d.stage = debRefused
			}
		}
		return
	}
	switch {
	case d.stage == debRefused:
		return
	case d.stage == debDone:
		if !strings.HasPrefix(dpkgName, "_") {
			a.once(ambiguous("deb member after data.tar", "dpkg-deb stops at the data member and never reads %q (nor what follows)", e.Name))
		}
		return
	case strings.HasPrefix(dpkgName, "_"):
		return // dpkg-deb skips it
	case strings.HasPrefix(dpkgName, "#1/"), strings.HasPrefix(dpkgName, "/"):
		refuse("deb ar long name", "member %q is stored as %q: dpkg-deb reads no long names and refuses the package", e.Name, e.ar.rawName)
		return
	}
	if ext, ok := strings.CutPrefix(dpkgName, "control.tar"); ok {
		switch {
		case d.control:
			refuse("deb member order", "a second control member %q: dpkg-deb refuses the package", dpkgName)
		case ext != "" && ext != ".gz" && ext != ".xz" && ext != ".zst":
			refuse("deb member compression", "control member %q: dpkg-deb refuses its compression", dpkgName)
		default:
			d.control, d.stage = true, debData
			debCheckMagic(e, ext, head)
		}
		return
	}
	if d.stage == debControl {
		what := "an unknown member"
		if strings.HasPrefix(dpkgName, "data.tar") {
			what = "the data member"
		}
		refuse("deb member order", "%s %q comes before control.tar: dpkg-deb refuses the package", what, dpkgName)
		return
	}
	ext, ok := strings.CutPrefix(dpkgName, "data.tar")
	switch {
	case !ok:
		refuse("deb member order", "an unknown member %q between control.tar and data.tar: dpkg-deb refuses the package", dpkgName)
	case ext != "" && ext != ".gz" && ext != ".xz" && ext != ".zst" && ext != ".bz2" && ext != ".lzma":
		refuse("deb member compression", "data member %q: dpkg-deb refuses its compression", dpkgName)
	default:
		d.stage = debDone
		if ext == ".lzma" {
			e.Ambiguities = append(e.Ambiguities, ambiguous("deb member compression",
				"data member %q: dpkg-deb decompresses lzma, which this reader does not read", dpkgName))
			return
		}
		debCheckMagic(e, ext, head)
	}
}

// end notes the members dpkg-deb needs and never found.
func (d *debState) end(a *arReader) {
	if !d.active {
		return
	}
	switch d.stage {
	case debControl:
		a.once(ambiguous("deb member order", "no control.tar member: dpkg-deb refuses the package"))
	case debData:
		a.once(ambiguous("deb member order", "no data.tar member: dpkg-deb refuses the package"))
	}
	d.stage = debRefused
}

// debCheckMagic records an ambiguity on a control or data member whose
// bytes are not compressed as its name says: dpkg-deb decompresses by the
// name (and fails), where a reader that detects the compression reads it.
func debCheckMagic(e *Entry, ext string, head []byte) {
	want := map[string]Compression{"": NoCompression, ".gz": Gzip, ".xz": Xz, ".zst": Zstd, ".bz2": Bzip2}[ext]
	if got := DetectCompression(head); got != want {
		e.Ambiguities = append(e.Ambiguities, ambiguous("deb member compression",
			"%q holds %s data: dpkg-deb decompresses it as %s and fails", e.Name, got, want))
	}
}

// debVersionProblem says what is unusual in a debian-binary member whose
// content starts with head: "" for "2.0\n", "dpkg-deb accepts ..." for
// another version 2 (and anything after its newline), else why dpkg-deb
// refuses the package.
func debVersionProblem(head []byte, size int64) string {
	if size == 4 && string(head) == "2.0\n" {
		return ""
	}
	text := arCString(string(head))
	nl := strings.IndexByte(text, '\n')
	if nl < 0 {
		if int64(len(head)) < size && strings.IndexByte(string(head), 0) < 0 {
			return fmt.Sprintf("a format version of %d bytes with no newline in the first %d: not modeled", size, len(head))
		}
		return fmt.Sprintf("format version %q has no newline: dpkg-deb refuses the package", clipName(string(head)))
	}
	major, minor, ok := strings.Cut(text[:nl], ".")
	if !ok || major == "" || minor == "" || strings.Trim(major, "0123456789") != "" || strings.Trim(minor, "0123456789") != "" {
		return fmt.Sprintf("format version %q: dpkg-deb refuses the package", text[:nl])
	}
	if n, err := strconv.ParseUint(major, 10, 32); err != nil || n != 2 {
		return fmt.Sprintf("format version %q: dpkg-deb refuses the package (not 2.x)", text[:nl])
	}
	return fmt.Sprintf("dpkg-deb accepts format version %q (a .deb holds \"2.0\\n\")", clipName(string(head)))
}

// exactReader turns an early end of a length-limited reader into
// errTruncated instead of a short, silent EOF.
type exactReader struct{ r *io.LimitedReader }

func (x *exactReader) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if err == io.EOF && x.r.N > 0 {
		return n, errTruncated
	}
	if err == nil && n == 0 && x.r.N > 0 && len(p) > 0 {
		return 0, errTruncated
	}
	return n, err
}

// arWriter writes ar archives. Members keep their stored name variant and
// mode type bits when they came from an ar; new long names use the BSD form.
type arWriter struct {
	w       io.Writer
	started bool
	err     error
}

func (a *arWriter) WriteEntry(e *Entry, content io.Reader) error {
	if a.err != nil {
		return a.err
	}
	if e.Type != TypeRegular {
		return fmt.Errorf("%w: ar member %q is a %v", ErrUnsupported, e.Name, e.Type)
	}
	if !a.started {
		a.started = true
		if _, err := io.WriteString(a.w, arMagic); err != nil {
			return a.fail(err)
		}
	}
	raw, bsd, modeType := "", false, int64(0o100000)
	if e.ar != nil {
		raw, bsd, modeType = e.ar.rawName, e.ar.bsdName, e.ar.modeType
	}
	if raw == "" {
		if len(e.Name) <= 15 && !strings.ContainsAny(e.Name, " /") {
			raw = e.Name + "/"
		} else {
			bsd = true
		}
	}
	size := e.Size
	var prefix []byte
	if bsd {
		prefix = []byte(e.Name)
		raw = "#1/" + strconv.Itoa(len(prefix))
		size += int64(len(prefix))
	}
	mtime := e.ModTime.Unix()
	if mtime < 0 {
		mtime = 0
	}
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8o%-10d`\n", raw, mtime, e.UID, e.GID, modeType|e.Mode, size)
	if len(hdr) != arHeaderSize {
		return a.fail(fmt.Errorf("ar member %q: header fields do not fit", e.Name))
	}
	if _, err := io.WriteString(a.w, hdr); err != nil {
		return a.fail(err)
	}
	if _, err := a.w.Write(prefix); err != nil {
		return a.fail(err)
	}
	if n, err := io.Copy(a.w, io.LimitReader(content, e.Size)); err != nil {
		return a.fail(err)
	} else if n != e.Size {
		return a.fail(fmt.Errorf("ar member %q: content is %d bytes, header says %d", e.Name, n, e.Size))
	}
	if size%2 == 1 {
		if _, err := a.w.Write([]byte{'\n'}); err != nil {
			return a.fail(err)
		}
	}
	return nil
}

func (a *arWriter) fail(err error) error { a.err = err; return err }

func (a *arWriter) Close() error {
	if a.err != nil {
		return a.err
	}
	if !a.started {
		_, err := io.WriteString(a.w, arMagic)
		return err
	}
	return nil
}
