package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// tarReader reads tar headers itself, strictly and streaming: every
// construct as GNU tar 1.34 reads it (the strictest mainstream
// extractor, run as root), with an Ambiguity on the entry wherever
// bsdtar, Python's tarfile or Go's archive/tar read it differently, or
// where the construct is not modeled. What every tool refuses (a bad
// checksum, a size that is no number, truncation) is an error. The
// table of constructs and what each tool does is in tar_strict_test.go.
type tarReader struct {
	br   *bufio.Reader
	n    int64 // bytes consumed
	blk  [blockSize]byte
	left int64 // stored data bytes of the current entry not read yet
	pad  int64 // then padding to the block
	data tarData
	// seen maps the cleaned names of the entries so far (hashed with a
	// seed of this reader, so no input can make two names collide on
	// purpose) to their types: a hardlink's target must be one of them.
	seen     seenSet
	seenSeed maphash.Seed
	amb      []Ambiguity // outside any one entry
	// held is what came before a pax global header: it applies to the
	// entry after the global header.
	held pending
}

func newTarReader(r io.Reader, _ *countingReader, br *bufio.Reader) *tarReader {
	if br == nil || io.Reader(br) != r {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	t := &tarReader{br: br, seenSeed: maphash.MakeSeed()}
	t.data.t = t
	return t
}

func (t *tarReader) offset() int64 { return t.n }

func (t *tarReader) ambiguities() []Ambiguity { return t.amb }

// maxSpecial caps the data of a pax header, a GNU long name or link and
// a sparse map, whatever Limits say (as archive/tar did).
const maxSpecial = 1 << 20

var (
	errFieldTooLong = errors.New("header field too long (more than 1 MiB)")
	errNoMarker     = errors.New("no end-of-archive marker (truncated?)")
)

// readBlock reads one block into t.blk: io.EOF when the stream ended
// before it, errTruncated when inside it.
func (t *tarReader) readBlock() error {
	n, err := io.ReadFull(t.br, t.blk[:])
	t.n += int64(n)
	switch {
	case err == io.EOF:
		return io.EOF
	case err != nil:
		return truncated(err)
	}
	return nil
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

// readData reads stored data of the current entry.
func (t *tarReader) readData(p []byte) (int, error) {
	if t.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > t.left {
		p = p[:t.left]
	}
	n, err := t.br.Read(p)
	t.n += int64(n)
	t.left -= int64(n)
	if err == io.EOF && t.left > 0 {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return n, err
}

// tarData reads the stored content of a plain entry.
type tarData struct{ t *tarReader }

func (d *tarData) Read(p []byte) (int, error) { return d.t.readData(p) }

// skip discards what is left of the current entry and its padding.
func (t *tarReader) skip() error {
	n := t.left + t.pad
	t.left, t.pad = 0, 0
	for n > 0 {
		k := int(min(n, math.MaxInt32))
		d, err := t.br.Discard(k)
		t.n += int64(d)
		n -= int64(d)
		if err != nil {
			return truncated(err)
		}
	}
	return nil
}

// readSpecial reads the data of a pax header or GNU long name.
func (t *tarReader) readSpecial(size int64) ([]byte, error) {
	if size > maxSpecial {
		return nil, errFieldTooLong
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(t.br, buf)
	t.n += int64(n)
	if err != nil {
		return nil, truncated(err)
	}
	t.pad = pad512(size)
	return buf, t.skip()
}

// pending is what the headers before an entry said: a pax header, GNU
// long names.
type pending struct {
	pax                *paxValues
	longName, longLink *string
	amb                []Ambiguity
	kinds              []string
}

func (p *pending) any() bool { return len(p.kinds) > 0 }

func (t *tarReader) next() (*Entry, io.Reader, error) {
	if err := t.skip(); err != nil {
		return nil, nil, err
	}
	pend := t.held
	t.held = pending{}
	start := t.n
	for {
		if err := t.readBlock(); err != nil {
			if err == io.EOF {
				return nil, nil, errNoMarker
			}
			return nil, nil, err
		}
		if t.blk == zeroBlock {
			// The end-of-archive marker: two zero blocks, or one (GNU tar,
			// bsdtar and Python all stop at the first).
			switch err := t.readBlock(); {
			case err == io.EOF:
			case err != nil:
				return nil, nil, err
			case t.blk != zeroBlock:
				return nil, nil, errors.New("data after the end-of-archive marker (trailing garbage)")
			}
			if pend.any() {
				t.amb = append(t.amb, ambiguous("extended header with no entry after it",
					"%s at offset %d, then the end of the archive: GNU tar ignores it, bsdtar and Python's tarfile report a damaged archive", strings.Join(pend.kinds, ", "), start))
			}
			return nil, nil, io.EOF
		}
		h, err := parseHeader(&t.blk)
		if err != nil {
			return nil, nil, err
		}
		if h.flag != 'g' {
			pend.amb = append(pend.amb, h.amb...)
		}
		switch h.flag {
		case 'x', 'L', 'K', 'g':
		default:
			return t.entry(h, start, &pend)
		}
		data, err := t.readSpecial(h.size)
		if err != nil {
			return nil, nil, err
		}
		switch h.flag {
		case 'g':
			// The headers before it still apply to the entry after it
			// (GNU tar, bsdtar and Python agree; archive/tar drops them).
			e, err := t.global(h, start, data, &pend)
			t.held = pend
			return e, nil, err
		case 'x':
			if pend.pax != nil {
				pend.amb = append(pend.amb, ambiguous("two pax headers before one entry",
					"GNU tar applies only the second, Python's tarfile the first, bsdtar both (the first winning)"))
			}
			recs, amb := parsePAX(data)
			if err := nulError(recs); err != nil {
				return nil, nil, err
			}
			pend.pax = newPAXValues(recs, amb)
			pend.kinds = append(pend.kinds, "a pax header")
		case 'L', 'K':
			s := cString(data)
			p, what := &pend.longName, "name"
			if h.flag == 'K' {
				p, what = &pend.longLink, "link"
			}
			if *p != nil {
				pend.amb = append(pend.amb, ambiguous("two GNU long "+what+"s before one entry",
					"%q, then %q: GNU tar and bsdtar take the second, Python's tarfile the first", **p, s))
			}
			*p = &s
			pend.kinds = append(pend.kinds, "a GNU long "+what)
		}
	}
}

// global returns the entry of a pax global header. Its records are not
// applied to the entries after it (as bsdtar and Go's archive/tar); every
// record but a comment is an ambiguity, since GNU tar and Python's
// tarfile do apply them.
func (t *tarReader) global(h *rawHeader, off int64, data []byte, pend *pending) (*Entry, error) {
	e := &Entry{Type: TypePAXGlobal, Name: h.name, Offset: off, ContentOffset: -1}
	e.Ambiguities = append(e.Ambiguities, h.amb...)
	if pend.any() {
		e.Ambiguities = append(e.Ambiguities, ambiguous("pax global header after an extended header",
			"%s before a global header: GNU tar, bsdtar and Python's tarfile apply it to the entry after, Go's archive/tar to none", strings.Join(pend.kinds, ", ")))
	}
	recs, amb := parsePAX(data)
	if err := nulError(recs); err != nil {
		return nil, err
	}
	e.Ambiguities = append(e.Ambiguities, amb...)
	for _, r := range recs {
		if e.PAXRecords == nil {
			e.PAXRecords = map[string]string{}
		}
		e.PAXRecords[r.key] = r.value
	}
	for _, k := range sortedKeys(e.PAXRecords) {
		if k != "comment" {
			e.Ambiguities = append(e.Ambiguities, ambiguous("pax global record",
				"%s=%q: GNU tar and Python's tarfile apply it to the entries after it, bsdtar and Go's archive/tar ignore it", k, clipName(e.PAXRecords[k])))
		}
	}
	return e, nil
}

// entry builds the entry of header h with what the headers before it
// said, and frames its data.
func (t *tarReader) entry(h *rawHeader, off int64, pend *pending) (*Entry, io.Reader, error) {
	e := &Entry{
		Name:          h.name,
		Linkname:      h.linkname,
		Mode:          h.mode & ModePerm,
		UID:           int(h.uid),
		GID:           int(h.gid),
		Uname:         h.uname,
		Gname:         h.gname,
		ModTime:       time.Unix(h.mtime, 0).UTC(),
		Devmajor:      h.devmajor,
		Devminor:      h.devminor,
		Offset:        off,
		ContentOffset: -1,
		Ambiguities:   pend.amb,
	}
	if h.atime != 0 {
		e.AccessTime = time.Unix(h.atime, 0).UTC()
	}
	if h.ctime != 0 {
		e.ChangeTime = time.Unix(h.ctime, 0).UTC()
	}
	pax := pend.pax
	if pend.longName != nil {
		e.Name = *pend.longName
		if _, ok := pax.get("path"); ok {
			e.Ambiguities = append(e.Ambiguities, ambiguous("GNU long name with a pax path",
				"GNU tar takes the pax path, bsdtar and Python's tarfile the header that comes first"))
		}
	}
	if pend.longLink != nil {
		e.Linkname = *pend.longLink
		if _, ok := pax.get("linkpath"); ok {
			e.Ambiguities = append(e.Ambiguities, ambiguous("GNU long link with a pax linkpath",
				"GNU tar takes the pax linkpath, bsdtar and Python's tarfile the header that comes first"))
		}
	}
	size := h.size
	if pax != nil && pax.size >= 0 {
		if h.size != 0 && h.sizeIsOctal && h.size != 0o77777777777 && h.size != pax.size {
			e.Ambiguities = append(e.Ambiguities, ambiguous("pax size differs from the header's",
				"pax size %d, header %d: pax-aware tools read %d bytes, a ustar reader %d", pax.size, h.size, pax.size, h.size))
		}
		size = pax.size
	}

	sparse, err := t.sparseKind(h, pax)
	if err != nil {
		return nil, nil, err
	}
	applyPAX(e, pax, sparse != sparseNone)
	if name, ok := pax.get("GNU.sparse.name"); ok {
		// GNU tar, bsdtar and Python's tarfile all name the file so,
		// sparse or not.
		if p, ok := pax.get("path"); ok && p != name {
			e.Ambiguities = append(e.Ambiguities, ambiguous("GNU.sparse.name differs from the pax path",
				"GNU tar and bsdtar extract %q, Python's tarfile %q", name, p))
		}
		e.Name = name
	}

	stored := int64(0) // data bytes after the header
	switch h.flag {
	case '0', '7', 0:
		e.Type = TypeRegular
		if strings.HasSuffix(e.Name, "/") {
			// GNU tar and bsdtar make a directory and read no data;
			// Python's tarfile does so for type NUL only.
			e.Type = TypeDir
			if h.flag != 0 {
				e.Ambiguities = append(e.Ambiguities, ambiguous("regular file named like a directory",
					"type %q named %q: GNU tar and bsdtar make a directory (reading no data), Python's tarfile a file", h.flag, e.Name))
			}
		} else {
			stored = size
		}
	case '1':
		e.Type = TypeHardlink
		if size > 0 {
			e.Ambiguities = append(e.Ambiguities, ambiguous("hardlink with data",
				"size %d: GNU tar and Python's tarfile read no data after it, bsdtar reads it into the link (in a pax archive)", size))
		}
	case '2':
		e.Type = TypeSymlink
	case '3':
		e.Type = TypeCharDevice
	case '4':
		e.Type = TypeBlockDevice
	case '5':
		e.Type = TypeDir
	case '6':
		e.Type = TypeFIFO
	case 'S':
		e.Type = TypeRegular
		stored = size
		if h.format != formatGNU {
			e.Ambiguities = append(e.Ambiguities, ambiguous("old GNU sparse header without the GNU magic",
				"GNU tar, bsdtar and Python's tarfile read its map, Go's archive/tar refuses it"))
		}
	case 'D':
		e.Type, stored = TypeDir, size
		e.Ambiguities = append(e.Ambiguities, ambiguous("GNU dumpdir",
			"type 'D': GNU tar and bsdtar make a directory (skipping its listing), Python's tarfile a file of it"))
	default:
		e.Type, stored = TypeRegular, size
		e.Ambiguities = append(e.Ambiguities, unknownType(h.flag))
	}
	switch e.Type {
	case TypeSymlink, TypeDir, TypeFIFO, TypeCharDevice, TypeBlockDevice:
		if pax != nil && pax.size > 0 && stored == 0 {
			e.Ambiguities = append(e.Ambiguities, ambiguous("pax size on an entry without data",
				"size %d on a %v: bsdtar skips that much data after it, GNU tar and Python's tarfile read the next header there", pax.size, e.Type))
		}
	}
	t.checkNames(e)

	t.checkSeen(e)
	t.seen.put(t.nameKey(e.Name), seenEntry{typ: e.Type, linked: e.Type == TypeHardlink})
	if e.Type == TypeHardlink {
		k := t.nameKey(e.Linkname)
		if s, ok := t.seen.get(k); ok && s.typ == TypeRegular {
			t.seen.put(k, seenEntry{typ: TypeRegular, linked: true})
		}
	}
	t.left, t.pad = stored, pad512(stored)
	if e.Type != TypeRegular {
		return e, nil, nil
	}
	switch sparse {
	case sparseOldGNU, sparsePAX1:
		var spans []sparseSpan
		var real int64
		if sparse == sparseOldGNU {
			spans, real, err = t.oldGNUSparse()
		} else {
			real, _ = parseDecimal(pax.m["GNU.sparse.realsize"], math.MaxInt64)
			spans, err = t.paxSparseMap()
		}
		if err != nil {
			return nil, nil, err
		}
		if err := checkSparse(spans, real, t.left); err != nil {
			return nil, nil, err
		}
		e.Ambiguities = append(e.Ambiguities, sparseEndAmbiguity(spans, real)...)
		e.Ambiguities = append(e.Ambiguities, sparseAlignAmbiguity(spans)...)
		e.Size = real
		return e, &sparseReader{t: t, spans: spans, real: real}, nil
	}
	if real, ok := pax.get("GNU.sparse.realsize"); ok && sparse == sparseNone {
		// Every tool sizes the file by it, zeros after the stored bytes.
		if n, ok := parseDecimal(real, math.MaxInt64); ok && n >= stored {
			e.Size = n
			return e, &sparseReader{t: t, spans: []sparseSpan{{0, stored}}, real: n}, nil
		}
	}
	e.Size = stored
	e.ContentOffset = t.n
	return e, &t.data, nil
}

type sparseKind uint8

const (
	sparseNone sparseKind = iota
	sparseOldGNU
	sparsePAX1
)

// sparseKind tells whether an entry is a sparse file this reader models,
// flagging the GNU.sparse records it does not.
func (t *tarReader) sparseKind(h *rawHeader, pax *paxValues) (sparseKind, error) {
	if h.flag == 'S' {
		return sparseOldGNU, nil
	}
	if pax == nil {
		return sparseNone, nil
	}
	if pax.m["GNU.sparse.major"] != "1" || pax.m["GNU.sparse.minor"] != "0" {
		for _, k := range [...]string{"GNU.sparse.numblocks", "GNU.sparse.offset", "GNU.sparse.numbytes", "GNU.sparse.map", "GNU.sparse.size"} {
			if _, ok := pax.m[k]; ok {
				pax.amb = append(pax.amb, ambiguous("pax sparse 0.x (not modeled)",
					"%s: GNU tar and bsdtar expand the file by it; read here as stored", k))
				break
			}
		}
		return sparseNone, nil
	}
	_, hasName := pax.get("GNU.sparse.name")
	_, hasReal := parseDecimal(pax.m["GNU.sparse.realsize"], math.MaxInt64)
	if !hasName || !hasReal || (h.flag != '0' && h.flag != 0) {
		pax.amb = append(pax.amb, ambiguous("incomplete pax sparse entry",
			"GNU.sparse 1.0 without a name or a real size, or on type %q: GNU tar reads it as a plain file, bsdtar and Python's tarfile expand it", h.flag))
		return sparseNone, nil
	}
	for k := range pax.m {
		switch k {
		case "GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.name", "GNU.sparse.realsize":
		default:
			if strings.HasPrefix(k, paxSparsePrefix) {
				pax.amb = append(pax.amb, ambiguous("GNU.sparse record outside a sparse entry",
					"%s in a 1.0 sparse entry: not modeled", k))
			}
		}
	}
	return sparsePAX1, nil
}

func unknownType(flag byte) Ambiguity {
	switch flag {
	case 'M':
		return ambiguous("GNU multi-volume continuation",
			"type 'M': GNU tar refuses it, bsdtar and Python's tarfile extract a file of its data")
	case 'V':
		return ambiguous("GNU volume label",
			"type 'V': GNU tar skips it, bsdtar reports a damaged archive, Python's tarfile extracts a file")
	}
	return ambiguous("unknown type flag",
		"type %q: GNU tar, bsdtar and Python's tarfile extract a regular file of its data; others may not", flag)
}

// checkNames flags names and link targets that the extractors place or
// resolve differently.
func (t *tarReader) checkNames(e *Entry) {
	if e.Type == TypePAXGlobal {
		return
	}
	name := e.Name
	switch {
	case name == "":
		e.Ambiguities = append(e.Ambiguities, ambiguous("empty name",
			"GNU tar extracts it as \".\", the others skip it or fail"))
	case !utf8.ValidString(name):
		e.Ambiguities = append(e.Ambiguities, ambiguous("name not valid UTF-8",
			"%q: the tools write the bytes, Python's tarfile decodes them by the locale's encoding", name))
	}
	if name != "" {
		checkPath(e, "name", name, e.Type == TypeDir)
	}
	if e.Type != TypeDir && strings.HasSuffix(name, "/") {
		e.Ambiguities = append(e.Ambiguities, ambiguous("non-directory named like a directory",
			"a %v named %q: the tools strip the slash or fail", e.Type, name))
	}
	if e.Type != TypeHardlink {
		if (e.Type == TypeSymlink) && !utf8.ValidString(e.Linkname) {
			e.Ambiguities = append(e.Ambiguities, ambiguous("name not valid UTF-8",
				"link target %q: Python's tarfile decodes it by the locale's encoding", e.Linkname))
		}
		return
	}
	target := e.Linkname
	if !utf8.ValidString(target) {
		e.Ambiguities = append(e.Ambiguities, ambiguous("name not valid UTF-8",
			"hardlink target %q: Python's tarfile decodes it by the locale's encoding", target))
	}
	if !checkPath(e, "hardlink target", target, false) {
		return
	}
	seen, ok := t.seen.get(t.nameKey(target))
	typ := seen.typ
	switch {
	case !ok:
		e.Ambiguities = append(e.Ambiguities, ambiguous("hardlink to an entry not stored before it",
			"target %q: GNU tar links to whatever is on disk there, bsdtar and Python's tarfile fail", target))
	case typ == TypeDir:
		e.Ambiguities = append(e.Ambiguities, ambiguous("hardlink to a directory",
			"target %q: GNU tar and bsdtar fail, Python's tarfile makes a directory", target))
	}
}

// checkPath flags an absolute name, a ".." component and a name that
// path.Clean changes (but for a leading "./" and a directory's trailing
// "/"); it reports whether the name was clean.
func checkPath(e *Entry, what, name string, dir bool) bool {
	if strings.HasPrefix(name, "/") {
		e.Ambiguities = append(e.Ambiguities, ambiguous("absolute name",
			"%s %q: GNU tar and bsdtar strip the leading \"/\", Python's tarfile writes outside the directory", what, name))
		return false
	}
	if name == ".." || strings.HasPrefix(name, "../") || strings.HasSuffix(name, "/..") || strings.Contains(name, "/../") {
		e.Ambiguities = append(e.Ambiguities, ambiguous("name with a .. component",
			"%s %q: GNU tar and bsdtar skip it, Python's tarfile writes outside the directory", what, name))
		return false
	}
	n := strings.TrimPrefix(name, "./")
	if dir {
		n = strings.TrimSuffix(n, "/")
	}
	if n != "" && n != "." && path.Clean(n) != n {
		e.Ambiguities = append(e.Ambiguities, ambiguous("name not in clean form",
			"%s %q: the tools resolve it differently (GNU tar strips what climbs, bsdtar refuses, Python's tarfile joins as stored)", what, name))
		return false
	}
	return true
}

// checkSeen flags an entry stored under a symlink stored before it, and
// one that replaces an earlier entry of its name of another type or with
// hardlinks (a file stored again, a directory stored again, are
// replaced alike by every tool): Python's tarfile writes through the symlink or into the
// earlier file's inode, or fails; GNU tar and bsdtar replace it, or
// refuse to extract through a symlink (bsdtar).
func (t *tarReader) checkSeen(e *Entry) {
	name := cleanKey(e.Name)
	for i := strings.IndexByte(name, '/'); i > 0; {
		if s, ok := t.seen.get(maphash.String(t.seenSeed, name[:i])); ok && s.typ == TypeSymlink {
			e.Ambiguities = append(e.Ambiguities, ambiguous("name under a symlink",
				"%q is a symlink stored before: GNU tar and Python's tarfile extract through it, bsdtar refuses", name[:i]))
			break
		}
		j := strings.IndexByte(name[i+1:], '/')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if s, ok := t.seen.get(t.nameKey(e.Name)); ok && (s.typ != e.Type || s.linked) && s.typ != TypeDir {
		e.Ambiguities = append(e.Ambiguities, ambiguous("entry stored twice",
			"a %v, then a %v named %q: GNU tar and bsdtar replace the first, Python's tarfile writes through it (a symlink, a hardlinked file)", s.typ, e.Type, e.Name))
	} else if ok && s.typ == TypeDir && e.Type != TypeDir {
		e.Ambiguities = append(e.Ambiguities, ambiguous("entry stored twice",
			"a directory, then a %v named %q: GNU tar and bsdtar replace it, Python's tarfile fails", e.Type, e.Name))
	}
}

// seenEntry is what the reader keeps of an entry stored: its type, and
// whether it is one of a set of hardlinks.
type seenEntry struct {
	typ    EntryType
	linked bool
}

func (t *tarReader) nameKey(name string) uint64 { return maphash.String(t.seenSeed, cleanKey(name)) }

// cleanKey is the name the extractors create for a stored name: without
// a leading "./" or a trailing "/".
func cleanKey(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	return strings.TrimSuffix(name, "/")
}

func pad512(n int64) int64 { return (512 - n%512) % 512 }

// entryFromTar maps a header read by archive/tar back to an entry: for
// the tar-order pass's spill file, which holds entries this package wrote
// itself (archive/tar, pax records as tarHeader puts them), never input.
func entryFromTar(h *tar.Header) (*Entry, error) {
	e := &Entry{
		Name:       h.Name,
		Linkname:   h.Linkname,
		Mode:       h.Mode & ModePerm,
		UID:        h.Uid,
		GID:        h.Gid,
		Uname:      h.Uname,
		Gname:      h.Gname,
		ModTime:    h.ModTime.UTC(),
		AccessTime: utcOrZero(h.AccessTime),
		ChangeTime: utcOrZero(h.ChangeTime),
		Devmajor:   h.Devmajor,
		Devminor:   h.Devminor,
	}
	switch h.Typeflag {
	case tar.TypeReg:
		e.Type = TypeRegular
		e.Size = h.Size
	case tar.TypeXGlobalHeader:
		e.Type = TypePAXGlobal
		e.PAXRecords = cloneMap(h.PAXRecords)
		e.ModTime = e.ModTime.Truncate(0)
		return e, nil
	default:
		t, ok := entryTypeOfFlag[h.Typeflag]
		if !ok {
			return nil, fmt.Errorf("%w: tar entry %q has type %q", ErrUnsupported, h.Name, string(h.Typeflag))
		}
		e.Type = t
	}
	for k, v := range h.PAXRecords {
		switch {
		case k == "SCHILY.fflags":
			e.Flags = v
		case paxFieldKeys[k]:
		case strings.HasPrefix(k, paxXattrPrefix):
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[strings.TrimPrefix(k, paxXattrPrefix)] = v
		default:
			if e.PAXRecords == nil {
				e.PAXRecords = map[string]string{}
			}
			e.PAXRecords[k] = v
		}
	}
	return e, nil
}

var entryTypeOfFlag = map[byte]EntryType{
	tar.TypeDir: TypeDir, tar.TypeSymlink: TypeSymlink, tar.TypeLink: TypeHardlink,
	tar.TypeChar: TypeCharDevice, tar.TypeBlock: TypeBlockDevice, tar.TypeFifo: TypeFIFO,
}
