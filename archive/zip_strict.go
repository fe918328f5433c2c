package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file is the strict structural reader of the zip layout: the end of
// central directory record (and its zip64 form), every central directory
// record, every local file header and data descriptor, and the bytes in
// between. It reads headers only (never content), keeps O(entries) state,
// and cross-checks every structure archive/zip relies on. Where Info-ZIP
// unzip 6.0, bsdtar, Python's zipfile and Go's archive/zip would extract
// different files, names, contents or modes, or where the construct is not
// modeled, it records an Ambiguity. The reading of the entries stays that
// of archive/zip (central directory names and sizes, its base offset).

const (
	zipLocalSig      = 0x04034b50
	zipCentralSig    = 0x02014b50
	zipEndSig        = 0x06054b50
	zip64EndSig      = 0x06064b50
	zip64LocatorSig  = 0x07064b50
	zipDescriptorSig = 0x08074b50

	zipLocalLen   = 30
	zipCentralLen = 46
	zipEndLen     = 22
	zip64EndLen   = 56
	zip64LocLen   = 20
)

// zipEnd is the end of central directory as archive/zip reads it.
type zipEnd struct {
	pos        int64 // offset of the end record (32-bit form)
	commentLen int
	disk       uint32 // number of this disk
	cdDisk     uint32 // disk where the central directory starts
	diskCount  uint64 // entries on this disk
	count      uint64 // entries in all
	cdSize     uint64
	cdOffset   uint64
	// endOff is where the end of the directory is for the offset
	// adjustment: the zip64 end record when used, else pos.
	endOff int64
	zip64  bool // values come from a zip64 end record
	// seen are the other facts found on the way, for the strict pass.
	raw32     [3]uint64 // count, cdSize, cdOffset of the 32-bit record
	locator   bool      // a zip64 locator precedes the end record
	locRecOff int64     // the zip64 record offset the locator gives
	otherEnds int       // other end record signatures in the tail
}

// readZipEnd finds the end of central directory record as archive/zip
// does (the last signature in the tail with room for a record after it)
// and follows a zip64 locator when archive/zip would. ok is false when
// there is no record: archive/zip then says what is wrong.
func readZipEnd(ra io.ReaderAt, size int64) (end *zipEnd, ok bool) {
	const window = 65 * 1024 // archive/zip's widest search
	tail := make([]byte, min(size, window))
	tailOff := size - int64(len(tail))
	if _, err := ra.ReadAt(tail, tailOff); err != nil && err != io.EOF {
		return nil, false
	}
	i := len(tail) - zipEndLen
	for ; i >= 0; i-- {
		if tail[i] == 'P' && tail[i+1] == 'K' && tail[i+2] == 5 && tail[i+3] == 6 {
			break
		}
	}
	if i < 0 {
		return nil, false
	}
	le := binary.LittleEndian
	r := tail[i:]
	end = &zipEnd{
		pos:        tailOff + int64(i),
		disk:       uint32(le.Uint16(r[4:])),
		cdDisk:     uint32(le.Uint16(r[6:])),
		diskCount:  uint64(le.Uint16(r[8:])),
		count:      uint64(le.Uint16(r[10:])),
		cdSize:     uint64(le.Uint32(r[12:])),
		cdOffset:   uint64(le.Uint32(r[16:])),
		commentLen: int(le.Uint16(r[20:])),
	}
	end.endOff = end.pos
	end.raw32 = [3]uint64{end.count, end.cdSize, end.cdOffset}
	end.otherEnds = bytes.Count(tail[:i], []byte("PK\x05\x06")) + bytes.Count(tail[i+4:], []byte("PK\x05\x06"))
	if end.pos < zip64LocLen {
		return end, true
	}
	var loc [zip64LocLen]byte
	if _, err := ra.ReadAt(loc[:], end.pos-zip64LocLen); err != nil || le.Uint32(loc[:]) != zip64LocatorSig {
		return end, true
	}
	end.locator = true
	end.locRecOff = int64(le.Uint64(loc[8:]))
	// archive/zip follows the locator only when a field is maxed out (it
	// compares the 32-bit size with 0xffff), the locator names disk 0
	// of 1 disk, and the record is there.
	if end.count != 0xffff && end.cdSize != 0xffff && end.cdOffset != 0xffffffff {
		return end, true
	}
	if le.Uint32(loc[4:]) != 0 || le.Uint32(loc[16:]) != 1 || end.locRecOff < 0 || end.locRecOff > size-zip64EndLen {
		return end, true
	}
	var rec [zip64EndLen]byte
	if _, err := ra.ReadAt(rec[:], end.locRecOff); err != nil || le.Uint32(rec[:]) != zip64EndSig {
		return end, true
	}
	end.zip64, end.endOff = true, end.locRecOff
	end.disk, end.cdDisk = le.Uint32(rec[16:]), le.Uint32(rec[20:])
	end.diskCount, end.count = le.Uint64(rec[24:]), le.Uint64(rec[32:])
	end.cdSize, end.cdOffset = le.Uint64(rec[40:]), le.Uint64(rec[48:])
	return end, true
}

// zipLayout is what the strict pass found.
type zipLayout struct {
	// entries holds the ambiguities of each central directory record,
	// in the order of the records (that of archive/zip's File).
	entries [][]Ambiguity
	// container holds the ambiguities outside any one entry.
	container []Ambiguity
}

// zipSpan is the extent of one entry in the file: local header, data and
// data descriptor.
type zipSpan struct {
	start, end int64
}

// zipStrict cross-checks the layout of the zip that archive/zip read into
// files. It returns an error only when the file cannot be read.
func zipStrict(ra io.ReaderAt, size int64, end *zipEnd, files []*zip.File) (*zipLayout, error) {
	z := &zipStrictPass{ra: ra, size: size, end: end, files: files,
		layout: &zipLayout{entries: make([][]Ambiguity, len(files))}}
	if err := z.run(); err != nil {
		return nil, err
	}
	return z.layout, nil
}

type zipStrictPass struct {
	ra     io.ReaderAt
	size   int64
	end    *zipEnd
	files  []*zip.File
	layout *zipLayout
	base   int64 // archive/zip's base offset, added to every offset
	spans  []zipSpan
	buf    []byte
}

func (z *zipStrictPass) container(construct, format string, args ...any) {
	z.layout.container = append(z.layout.container, ambiguous(construct, format, args...))
}

func (z *zipStrictPass) entry(i int, construct, format string, args ...any) {
	z.layout.entries[i] = append(z.layout.entries[i], ambiguous(construct, format, args...))
}

func (z *zipStrictPass) readAt(n int, off int64) ([]byte, error) {
	if cap(z.buf) < n {
		z.buf = make([]byte, n)
	}
	b := z.buf[:n]
	if off < 0 || off > z.size-int64(n) {
		return nil, io.ErrUnexpectedEOF
	}
	if _, err := z.ra.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

func (z *zipStrictPass) run() error {
	if err := z.checkEnd(); err != nil {
		return err
	}
	cdStart := z.base + int64(z.end.cdOffset)
	consumed, err := z.checkCentral(cdStart)
	if err != nil {
		return err
	}
	cdEnd := cdStart + consumed
	z.checkGaps(cdStart, cdEnd)
	return nil
}

// checkEnd checks the end records and settles the base offset.
func (z *zipStrictPass) checkEnd() error {
	e := z.end
	le := binary.LittleEndian
	if tail := z.size - (e.pos + zipEndLen + int64(e.commentLen)); tail > 0 {
		z.container("bytes after the end record",
			"%d bytes follow the end of central directory record and its comment: archive/zip ignores them, other readers search the tail differently", tail)
	}
	if e.otherEnds > 0 {
		z.container("second end record",
			"%d more end of central directory signatures in the last 65 KiB: unzip and archive/zip take the last, bsdtar the last that looks valid", e.otherEnds)
	}
	if e.disk != 0 || e.cdDisk != 0 {
		z.container("multi-disk zip",
			"the end record names disk %d and central directory disk %d: archive/zip ignores disks, unzip and Python refuse a multi-disk archive", e.disk, e.cdDisk)
	}
	if e.diskCount != e.count {
		z.container("entry counts disagree",
			"the end record counts %d entries on this disk and %d in all", e.diskCount, e.count)
	}
	if e.locator {
		// Python reads the zip64 record right before the locator,
		// whatever the locator says, and uses it even when no 32-bit
		// field is maxed out; archive/zip follows the locator only
		// when one is.
		pyOff := e.pos - zip64LocLen - zip64EndLen
		var py [zip64EndLen]byte
		pyOK := pyOff >= 0
		if pyOK {
			if _, err := z.ra.ReadAt(py[:], pyOff); err != nil || le.Uint32(py[:]) != zip64EndSig {
				pyOK = false
			}
		}
		switch {
		case !pyOK || e.locRecOff != pyOff:
			z.container("zip64 end record misplaced",
				"the zip64 locator points at offset %d, Python reads the zip64 end record right before the locator (offset %d)", e.locRecOff, pyOff)
		case le.Uint64(py[4:]) != zip64EndLen-12:
			z.container("zip64 end record extended",
				"the zip64 end record holds %d bytes of extensible data, not modeled", int64(le.Uint64(py[4:]))-(zip64EndLen-12))
		case !e.zip64:
			z.container("zip64 end record ignored",
				"no field of the end record is maxed out: archive/zip ignores the zip64 end record, Python uses it")
		}
		if e.zip64 {
			for i, name := range []string{"entry count", "directory size", "directory offset"} {
				v64 := [3]uint64{e.count, e.cdSize, e.cdOffset}[i]
				max := [3]uint64{0xffff, 0xffffffff, 0xffffffff}[i]
				if e.raw32[i] != max && e.raw32[i] != v64 {
					z.container("zip64 end record disagrees",
						"the end record's %s is %d, its zip64 form says %d", name, e.raw32[i], v64)
				}
			}
		}
	}
	// The base offset: archive/zip's, unzip's and Python's "extra bytes"
	// rule adds the difference between where the directory ends and
	// where the end record is to every offset; archive/zip drops it
	// again when a directory record is found at the stored offset.
	delta := e.endOff - int64(e.cdSize) - int64(e.cdOffset)
	z.base = delta
	if delta > 0 {
		if b, err := z.readAt(4, int64(e.cdOffset)); err == nil && le.Uint32(b) == zipCentralSig {
			z.base = 0
		}
	}
	if delta != 0 {
		how := "archive/zip too"
		if z.base == 0 {
			how = "archive/zip does not (it finds a directory at the stored offset)"
		}
		z.container("central directory offset adjusted",
			"the central directory (%d bytes at offset %d) ends %d bytes before the end record: unzip and Python add %d to every offset, %s", e.cdSize, e.cdOffset, delta, delta, how)
	}
	return nil
}

// checkCentral reads the central directory records as archive/zip did,
// checks each against archive/zip's reading and its local header, and
// returns the bytes the records take.
func (z *zipStrictPass) checkCentral(cdStart int64) (int64, error) {
	le := binary.LittleEndian
	if cdStart < 0 || cdStart > z.size {
		return 0, &FormatError{Format: "zip", Offset: cdStart, Err: errors.New("central directory outside the file")}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(z.ra, cdStart, z.size-cdStart), 32<<10)
	var consumed int64
	var hdr [zipCentralLen]byte
	var rec []byte
	z.spans = make([]zipSpan, 0, len(z.files))
	for i, f := range z.files {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return 0, &FormatError{Format: "zip", Offset: cdStart + consumed, Err: fmt.Errorf("central directory record %d: %w", i, errTruncated)}
		}
		n := int(le.Uint16(hdr[28:])) + int(le.Uint16(hdr[30:])) + int(le.Uint16(hdr[32:]))
		rec = append(rec[:0], hdr[:]...)
		rec = slices.Grow(rec, n)[:zipCentralLen+n]
		if _, err := io.ReadFull(br, rec[zipCentralLen:]); err != nil {
			return 0, &FormatError{Format: "zip", Offset: cdStart + consumed, Err: fmt.Errorf("central directory record %d: %w", i, errTruncated)}
		}
		c, err := parseZipCentral(rec)
		if err != nil {
			return 0, &FormatError{Format: "zip", Entry: clipName(f.Name), Offset: cdStart + consumed, Err: err}
		}
		consumed += int64(len(rec))
		if err := z.checkEntry(i, f, &c); err != nil {
			return 0, err
		}
	}
	e := z.end
	if uint64(len(z.files)) != e.count {
		z.container("entry counts disagree",
			"the end record counts %d entries, the central directory holds %d: unzip reads %d records, archive/zip reads records while they parse", e.count, len(z.files), e.count)
	}
	if uint64(consumed) != e.cdSize {
		z.container("central directory size disagrees",
			"the end record says the central directory takes %d bytes, its %d records take %d: Python reads records while within the size, archive/zip while they parse", e.cdSize, len(z.files), consumed)
	}
	return consumed, nil
}

// zipCentral is one central directory record.
type zipCentral struct {
	creator, needed, flags, method uint16
	crc                            uint32
	csize32, usize32               uint32
	csize, usize                   uint64
	disk                           uint32
	external                       uint32
	offset                         int64 // as stored (zip64 resolved), before the base
	name, extra                    []byte
}

func parseZipCentral(rec []byte) (c zipCentral, err error) {
	le := binary.LittleEndian
	if le.Uint32(rec) != zipCentralSig {
		return c, errors.New("not a central directory record")
	}
	nl, xl := int(le.Uint16(rec[28:])), int(le.Uint16(rec[30:]))
	c = zipCentral{
		creator: le.Uint16(rec[4:]), needed: le.Uint16(rec[6:]), flags: le.Uint16(rec[8:]), method: le.Uint16(rec[10:]),
		crc: le.Uint32(rec[16:]), csize32: le.Uint32(rec[20:]), usize32: le.Uint32(rec[24:]),
		disk: uint32(le.Uint16(rec[34:])), external: le.Uint32(rec[38:]), offset: int64(le.Uint32(rec[42:])),
		name: rec[zipCentralLen : zipCentralLen+nl], extra: rec[zipCentralLen+nl : zipCentralLen+nl+xl],
	}
	c.csize, c.usize = uint64(c.csize32), uint64(c.usize32)
	return c, nil
}

// zipExtraField returns the data of the first extra field id, and how many
// there are.
func zipExtraField(extra []byte, id uint16) (data []byte, count int, malformed bool) {
	le := binary.LittleEndian
	for len(extra) >= 4 {
		fid, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+n > len(extra) {
			return data, count, true
		}
		if fid == id {
			if count == 0 {
				data = extra[4 : 4+n]
			}
			count++
		}
		extra = extra[4+n:]
	}
	return data, count, len(extra) != 0
}

// zip64Values reads a zip64 extra field as archive/zip, unzip and Python
// do: a value for each 32-bit field that is maxed out, in the order usize,
// csize, offset.
func zip64Values(field []byte, usize, csize, offset bool) (u, c, o uint64, ok bool) {
	le := binary.LittleEndian
	take := func(dst *uint64) bool {
		if len(field) < 8 {
			return false
		}
		*dst, field = le.Uint64(field), field[8:]
		return true
	}
	if usize && !take(&u) || csize && !take(&c) || offset && !take(&o) {
		return 0, 0, 0, false
	}
	return u, c, o, true
}

// checkEntry checks one central directory record against archive/zip's
// File and against the entry's local header and data descriptor.
func (z *zipStrictPass) checkEntry(i int, f *zip.File, c *zipCentral) error {
	le := binary.LittleEndian
	name := f.Name
	if name != string(c.name) {
		name = string(c.name)
	}

	// zip64: the central values of maxed-out fields.
	z64, n64, malformed := zipExtraField(c.extra, 0x0001)
	if malformed {
		z.entry(i, "malformed extra field", "the central directory record's extra fields do not parse: readers stop at different places")
	}
	if n64 > 1 {
		z.entry(i, "duplicate zip64 field", "%d zip64 extra fields in the central directory record", n64)
	}
	if n64 > 0 {
		mu, mc, mo := c.usize32 == 0xffffffff, c.csize32 == 0xffffffff, c.offset == 0xffffffff
		if u, cs, o, ok := zip64Values(z64, mu, mc, mo); ok {
			if mu {
				c.usize = u
			}
			if mc {
				c.csize = cs
			}
			if mo {
				c.offset = int64(o)
			}
			// A reader taking the values by position (usize, csize,
			// offset) must find the same ones.
			for k, v := range []uint64{c.usize, c.csize, uint64(c.offset)} {
				if len(z64) >= 8*(k+1) && le.Uint64(z64[8*k:]) != v {
					z.entry(i, "zip64 field disagrees",
						"the zip64 extra field holds %d at the place of the %s, which is %d: readers taking the values by position or only for maxed-out fields disagree",
						le.Uint64(z64[8*k:]), [3]string{"size", "compressed size", "header offset"}[k], v)
					break
				}
			}
		}
	}
	// archive/zip's reading must be ours: a mismatch means a construct
	// this pass does not model.
	if f.Name != name || f.Method != c.method || f.Flags != c.flags || f.CRC32 != c.crc ||
		f.CompressedSize64 != c.csize || f.UncompressedSize64 != c.usize || f.ExternalAttrs != c.external || f.CreatorVersion != c.creator {
		z.entry(i, "archive/zip reads otherwise", "archive/zip's reading of the central directory record differs from the strict reader's")
	}
	if c.disk != 0 {
		z.entry(i, "multi-disk zip", "the entry starts on disk %d: archive/zip ignores disks, unzip and Python refuse", c.disk)
	}
	z.checkFlags(i, c)
	z.checkName(i, c, name)
	z.checkMode(i, c, name)

	// The local header.
	hoff := z.base + c.offset
	lh, err := z.readAt(zipLocalLen, hoff)
	if err != nil || le.Uint32(lh) != zipLocalSig {
		return &FormatError{Format: "zip", Entry: clipName(name), Offset: hoff, Err: errors.New("no local file header where the central directory says")}
	}
	l := struct {
		needed, flags, method uint16
		crc, csize32, usize32 uint32
		nl, xl                int
	}{le.Uint16(lh[4:]), le.Uint16(lh[6:]), le.Uint16(lh[8:]), le.Uint32(lh[14:]), le.Uint32(lh[18:]), le.Uint32(lh[22:]), int(le.Uint16(lh[26:])), int(le.Uint16(lh[28:]))}
	rest, err := z.readAt(l.nl+l.xl, hoff+zipLocalLen)
	if err != nil {
		return &FormatError{Format: "zip", Entry: clipName(name), Offset: hoff, Err: fmt.Errorf("local file header: %w", errTruncated)}
	}
	lname, lextra := rest[:l.nl], rest[l.nl:]
	dataOff := hoff + zipLocalLen + int64(l.nl+l.xl)
	if goOff, err := f.DataOffset(); err != nil || goOff != dataOff {
		z.entry(i, "archive/zip reads otherwise", "archive/zip finds the data at offset %d, the strict reader at %d", goOff, dataOff)
	}
	if string(lname) != name {
		z.entry(i, "local name differs",
			"the local header names %q, the central directory %q: unzip and archive/zip extract %q, Python refuses the entry, a streaming reader (bsdtar from a pipe) extracts %q", clipName(string(lname)), clipName(name), clipName(name), clipName(string(lname)))
	}
	if l.method != c.method {
		z.entry(i, "local method differs",
			"the local header says method %d, the central directory %d: a streaming reader decompresses by the local one", l.method, c.method)
	}
	const flagMask = 0x0001 | 0x0008 | 0x0040 | 0x0800 | 0x2000
	if l.flags&flagMask != c.flags&flagMask {
		z.entry(i, "local flags differ",
			"the local header's flags are %#04x, the central directory's %#04x (encryption, data descriptor, UTF-8 bits)", l.flags, c.flags)
	}
	if l.needed != c.needed && (l.needed > 46 || c.needed > 46) {
		z.entry(i, "version needed differs", "the local header needs version %d, the central directory %d", l.needed, c.needed)
	}
	if u, _, malformed := zipExtraField(lextra, 0x7075); u != nil || malformed {
		if un, ok := zipUnicodePath(u, lname); ok && un != string(lname) || malformed {
			z.entry(i, "unicode path field", "the local header carries an Info-ZIP Unicode Path field naming %q", clipName(un))
		}
	}
	// Sizes and CRC: in the local header unless a data descriptor
	// carries them (then they may be zero).
	lcsize, lusize := uint64(l.csize32), uint64(l.usize32)
	if l.csize32 == 0xffffffff || l.usize32 == 0xffffffff {
		if lz, _, _ := zipExtraField(lextra, 0x0001); lz != nil {
			// A local zip64 field holds both sizes, usize first.
			if len(lz) >= 16 {
				lusize, lcsize = le.Uint64(lz), le.Uint64(lz[8:])
			} else if len(lz) >= 8 && l.usize32 == 0xffffffff {
				lusize = le.Uint64(lz)
			}
		}
	}
	// With a data descriptor, each local value may be zero instead
	// (bsdtar writes the size it knows and zeros for the rest).
	dd := c.flags&0x8 != 0
	if l.crc != c.crc && !(dd && l.crc == 0) || lcsize != c.csize && !(dd && lcsize == 0) || lusize != c.usize && !(dd && lusize == 0) {
		z.entry(i, "local sizes differ",
			"the local header says CRC %08x, %d compressed and %d bytes, the central directory CRC %08x, %d and %d: unzip and archive/zip read by the central directory, a streaming reader by the local header",
			l.crc, lcsize, lusize, c.crc, c.csize, c.usize)
	}
	end := dataOff + int64(c.csize)
	if c.csize > uint64(z.size) || end > z.size || end < dataOff {
		return &FormatError{Format: "zip", Entry: clipName(name), Offset: dataOff,
			Err: fmt.Errorf("%d bytes of data run past the end of the file (%d bytes): %w", c.csize, z.size, errTruncated)}
	}
	if c.flags&0x8 != 0 || l.flags&0x8 != 0 {
		end += z.checkDescriptor(i, end, c)
	}
	z.spans = append(z.spans, zipSpan{hoff, end})
	return nil
}

// checkDescriptor checks the data descriptor at off and returns its length.
func (z *zipStrictPass) checkDescriptor(i int, off int64, c *zipCentral) int64 {
	le := binary.LittleEndian
	avail := min(24, z.size-off)
	b, err := z.readAt(int(avail), off)
	if err != nil {
		b = nil
	}
	// The four forms: with or without signature, 32- or 64-bit sizes.
	for _, form := range []struct {
		sig  bool
		wide bool
	}{{true, false}, {true, true}, {false, false}, {false, true}} {
		n := 12
		if form.wide {
			n = 20
		}
		p := b
		if form.sig {
			if len(p) < 4 || le.Uint32(p) != zipDescriptorSig {
				continue
			}
			p, n = p[4:], n+4
		}
		if len(p) < 12 || form.wide && len(p) < 20 {
			continue
		}
		crc := le.Uint32(p)
		var cs, us uint64
		if form.wide {
			cs, us = le.Uint64(p[4:]), le.Uint64(p[12:])
		} else {
			cs, us = uint64(le.Uint32(p[4:])), uint64(le.Uint32(p[8:]))
		}
		if crc == c.crc && cs == c.csize && us == c.usize {
			return int64(n)
		}
	}
	z.entry(i, "data descriptor disagrees",
		"no data descriptor after the data matches the central directory's CRC %08x and sizes %d and %d: a streaming reader takes other values", c.crc, c.csize, c.usize)
	if len(b) >= 4 && le.Uint32(b) == zipDescriptorSig {
		return 16
	}
	return 12
}

// checkFlags flags encryption, methods not modeled and versions unzip
// does not extract.
func (z *zipStrictPass) checkFlags(i int, c *zipCentral) {
	if c.flags&0x1 != 0 || c.flags&0x40 != 0 {
		z.entry(i, "encrypted entry", "the entry is encrypted (flags %#04x): its content is not readable as stored", c.flags)
	}
	if c.method != zip.Store && c.method != zip.Deflate && (c.csize != 0 || c.usize != 0) {
		z.entry(i, fmt.Sprintf("method %d not modeled", c.method),
			"the content is compressed with method %d, which is not decompressed here: only its size is compared", c.method)
	}
	if c.needed&0xff > 46 {
		z.entry(i, "version needed beyond unzip",
			"the entry needs version %d.%d to extract: unzip 6.0 skips it (it does 4.6), Python refuses above 6.3, archive/zip and bsdtar extract it", c.needed&0xff/10, c.needed&0xff%10)
	}
}

// zipUnicodePath decodes an Info-ZIP Unicode Path field (0x7075): ok when
// unzip and bsdtar would use it for the header name hdr (version 1, CRC of
// the header name).
func zipUnicodePath(field, hdr []byte) (string, bool) {
	if len(field) < 5 || field[0] != 1 || binary.LittleEndian.Uint32(field[1:]) != crc32.ChecksumIEEE(hdr) {
		return "", false
	}
	return string(field[5:]), true
}

// checkName flags names that the extractors turn into different paths.
func (z *zipStrictPass) checkName(i int, c *zipCentral, name string) {
	u, _, _ := zipExtraField(c.extra, 0x7075)
	if un, ok := zipUnicodePath(u, c.name); ok && un != name {
		z.entry(i, "unicode path field",
			"the Info-ZIP Unicode Path field names %q, the header %q: unzip and bsdtar extract %q, Python and archive/zip %q", clipName(un), clipName(name), clipName(un), clipName(name))
	}
	ascii := true
	for j := 0; j < len(name); j++ {
		if name[j] >= 0x80 {
			ascii = false
			break
		}
	}
	switch {
	case !ascii && c.flags&0x800 == 0:
		z.entry(i, "non-UTF-8 name",
			"the name %q has non-ASCII bytes and no UTF-8 flag: Python (and unzip for DOS-made archives) decode it as CP437, archive/zip keeps the bytes", clipName(name))
	case c.flags&0x800 != 0 && !utf8.ValidString(name):
		z.entry(i, "invalid UTF-8 name", "the name %q is flagged UTF-8 but is not: Python refuses it, archive/zip keeps the bytes", clipName(name))
	}
	if strings.IndexByte(name, 0) >= 0 {
		z.entry(i, "NUL in name", "the name %q holds a NUL byte: unzip, bsdtar and Python cut it there, archive/zip keeps it", clipName(name))
	}
	if strings.IndexByte(name, '\\') >= 0 {
		z.entry(i, "backslash in name",
			"the name %q holds a backslash: bsdtar (and unzip for DOS-made archives) make it a directory separator, Python and archive/zip keep it", clipName(name))
	}
	if reason := unclean(name); reason != "" {
		z.entry(i, "name not clean", "the name %q %s: extractors strip, refuse or keep it differently", clipName(name), reason)
	}
}

// unclean says how a name is not a plain relative path ("" when it is):
// absolute, with ".." components, or changed by path.Clean other than a
// leading "./" or a directory's trailing "/".
func unclean(name string) string {
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	switch {
	case n == "" || n == ".":
		return "is empty"
	case strings.HasPrefix(n, "/"):
		return "is absolute"
	case n == ".." || strings.HasPrefix(n, "../") || strings.HasSuffix(n, "/..") || strings.Contains(n, "/../"):
		return `has ".." components`
	case path.Clean(n) != n:
		return fmt.Sprintf("cleans to %q", clipName(path.Clean(n)))
	}
	return ""
}

// Hosts ("version made by", high byte) whose Unix mode (the high 16 bits
// of the external attributes) unzip 6.0 applies, and those archive/zip
// reads. bsdtar reads the Unix mode of host 3 only.
var (
	unzipUnixHosts = map[uint16]bool{1: true, 2: true, 3: true, 5: true, 12: true, 13: true, 16: true, 17: true, 18: true, 30: true}
	goUnixHosts    = map[uint16]bool{3: true, 19: true}
	goDOSHosts     = map[uint16]bool{0: true, 11: true, 14: true}
)

var zipHostNames = map[uint16]string{0: "MS-DOS", 1: "Amiga", 2: "OpenVMS", 3: "Unix", 5: "Atari ST", 11: "NTFS", 12: "QDOS",
	13: "Acorn", 14: "VFAT", 16: "BeOS", 17: "Tandem", 18: "OS/400", 19: "OS X", 30: "AtheOS"}

func zipHostName(h uint16) string {
	if n, ok := zipHostNames[h]; ok {
		return fmt.Sprintf("%d (%s)", h, n)
	}
	return fmt.Sprint(h)
}

// checkMode flags external attributes that the extractors turn into
// different types or modes.
func (z *zipStrictPass) checkMode(i int, c *zipCentral, name string) {
	host := c.creator >> 8
	unix := c.external >> 16
	dos := c.external & 0xff
	slash := strings.HasSuffix(name, "/")
	switch {
	case unix != 0 && host != 3 && (unzipUnixHosts[host] || goUnixHosts[host]):
		who := "unzip applies it, archive/zip and bsdtar do not"
		if goUnixHosts[host] {
			who = "archive/zip applies it, unzip and bsdtar do not"
		}
		z.entry(i, "zip host system", "made by host %s with Unix mode %#o: %s", zipHostName(host), unix, who)
	case host == 3 && unix == 0 && dos&0x11 != 0, !goDOSHosts[host] && !unzipUnixHosts[host] && dos&0x11 != 0:
		z.entry(i, "DOS attributes ignored",
			"made by host %s with MS-DOS attributes %#02x: unzip applies them, archive/zip does not", zipHostName(host), dos)
	case (host == 11 || host == 14) && dos&0x01 != 0 && !slash:
		z.entry(i, "DOS attributes ignored",
			"made by host %s with the MS-DOS read-only attribute: unzip and archive/zip apply it, bsdtar does not", zipHostName(host))
	}
	goDir := goUnixHosts[host] && unix&0o170000 == 0o040000 || goDOSHosts[host] && dos&0x10 != 0
	if goDir && !slash {
		z.entry(i, "directory attributes on a file name",
			"the attributes say directory but the name %q has no trailing slash: archive/zip and bsdtar make a directory, unzip a file", clipName(name))
	}
	if slash && (c.usize != 0 || c.csize > 2 || host == 3 && unix&0o170000 != 0 && unix&0o170000 != 0o040000) {
		z.entry(i, "non-directory named with a slash",
			"the name %q ends in a slash but the entry has %d bytes or a Unix mode %#o: extractors make a directory and drop the rest", clipName(name), c.usize, unix)
	}
	if host == 3 {
		switch unix & 0o170000 {
		case 0, 0o100000, 0o040000, 0o120000:
		default:
			z.entry(i, "Unix file type not modeled",
				"the Unix mode %#o is neither a file, a directory nor a symlink: unzip and bsdtar make a regular file", unix)
		}
	}
}

// checkGaps flags bytes that no structure accounts for: before the first
// entry, between entries, before the central directory and between it and
// the end record.
func (z *zipStrictPass) checkGaps(cdStart, cdEnd int64) {
	slices.SortFunc(z.spans, func(a, b zipSpan) int { return cmp.Compare(a.start, b.start) })
	pos := int64(0)
	first := true
	for _, s := range z.spans {
		if s.start > pos {
			if first {
				z.gap("bytes before the first entry", pos, s.start, "a self-extractor stub or a hidden entry: streaming readers scan it, unzip and archive/zip skip it")
			} else {
				z.gap("bytes between entries", pos, s.start, "not in the central directory: a streaming reader (bsdtar from a pipe) reads an entry there, unzip and archive/zip do not")
			}
		}
		first = false
		pos = max(pos, s.end)
	}
	if cdStart > pos {
		what := "bytes before the central directory"
		if first {
			what = "bytes before the first entry"
		}
		z.gap(what, pos, cdStart, "not in the central directory: a streaming reader reads an entry there, unzip and archive/zip do not")
	}
	endStart := z.end.pos
	if z.end.locator {
		endStart -= zip64LocLen
		if z.end.locRecOff == endStart-zip64EndLen {
			endStart -= zip64EndLen
		}
	}
	if endStart > cdEnd {
		z.gap("bytes before the end record", cdEnd, endStart, "between the central directory and the end record")
	}
}

func (z *zipStrictPass) gap(construct string, from, to int64, why string) {
	hidden := ""
	if b, err := z.readAt(4, from); err == nil && binary.LittleEndian.Uint32(b) == zipLocalSig {
		hidden = " holding a local file header"
	}
	z.container(construct, "%d bytes at offset %d%s: %s", to-from, from, hidden, why)
}
