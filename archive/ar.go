package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
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

type arReader struct {
	br       *bufio.Reader
	cnt      *countingReader
	started  bool
	longName []byte // GNU "//" table
	pad      bool
	cur      *io.LimitedReader
}

func newArReader(r *bufio.Reader, cnt *countingReader, _ *bufio.Reader) *arReader {
	return &arReader{br: r, cnt: cnt}
}

func (a *arReader) offset() int64 { return bufferedOffset(a.cnt, a.br) }

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
	raw := field(0, 16)
	stored := size // bytes after the header, BSD name included
	meta := &arMeta{rawName: raw, modeType: mode &^ ModePerm}
	name := raw
	switch {
	case raw == "/" || raw == "/SYM64/" || raw == "__.SYMDEF" || raw == "__.SYMDEF SORTED":
		// symbol table: a member like any other
	case raw == "//":
		if size > maxArTable {
			return nil, nil, fmt.Errorf("%w: ar long-name table of %d bytes", ErrLimit, size)
		}
	case strings.HasPrefix(raw, "#1/"):
		nlen, err := strconv.ParseInt(raw[3:], 10, 64)
		if err != nil || nlen < 0 || nlen > 4096 || nlen > size {
			return nil, nil, fmt.Errorf("bad BSD ar name %q", raw)
		}
		buf := make([]byte, nlen)
		if _, err := io.ReadFull(a.br, buf); err != nil {
			return nil, nil, errTruncated
		}
		name = string(bytes.TrimRight(buf, "\x00"))
		size -= nlen
		meta.bsdName = true
	case strings.HasPrefix(raw, "/") && len(raw) > 1:
		off, err := strconv.ParseInt(raw[1:], 10, 64)
		if err != nil || off < 0 || off >= int64(len(a.longName)) {
			return nil, nil, fmt.Errorf("bad GNU ar long-name reference %q", raw)
		}
		rest := a.longName[off:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			end = len(rest)
		}
		name = strings.TrimSuffix(string(rest[:end]), "/")
	default:
		name = strings.TrimSuffix(raw, "/")
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
		ar:            meta,
	}
	a.pad = stored%2 == 1
	a.cur = &io.LimitedReader{R: a.br, N: size}
	if raw == "//" {
		table, err := io.ReadAll(a.cur)
		if err != nil || int64(len(table)) != size {
			return nil, nil, errTruncated
		}
		a.longName = table
		return e, bytes.NewReader(table), nil
	}
	e.ContentOffset = a.offset()
	return e, &exactReader{r: a.cur}, nil
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
		if _, err := a.br.ReadByte(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

func arNumber(s string, base int, what string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad ar %s field %q", what, s)
	}
	return n, nil
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
