package archive

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The layout of a tar header block, as GNU tar 1.34 and bsdtar read it.
// Each format puts different things after the link name:
//
//	v7     nothing (zeros)
//	ustar  magic "ustar\x00", version "00", uname, gname, devmajor,
//	       devminor, a 155-byte name prefix at 345
//	star   ustar with "tar\x00" at 508: a 131-byte prefix at 345, then
//	       atime and ctime at 476 and 488
//	GNU    magic "ustar  \x00", uname, gname, devices, then at 345 atime,
//	       ctime, offset, the old sparse map and the real size: no prefix
const blockSize = 512

type tarFormat uint8

const (
	formatV7 tarFormat = iota
	formatUSTAR
	formatGNU
	formatSTAR
)

var zeroBlock [blockSize]byte

// rawHeader is one header block, decoded.
type rawHeader struct {
	format   tarFormat
	flag     byte
	name     string // with the ustar/star prefix
	linkname string
	mode     int64
	uid, gid int64
	size     int64
	mtime    int64
	uname    string
	gname    string
	devmajor int64
	devminor int64
	atime    int64 // GNU format (incremental dumps), star; 0 when unset
	ctime    int64
	// sizeIsOctal reports whether the size field held an octal number (the
	// one a pax size may be compared with).
	sizeIsOctal bool
	amb         []Ambiguity
}

// errBadChecksum is the error of a header block whose checksum does not
// match (or that is no header at all).
var errBadChecksum = errors.New("invalid tar header (checksum mismatch)")

// parseHeader decodes a header block. Numeric fields are read as GNU tar
// reads them; where bsdtar, Python's tarfile or Go's archive/tar read one
// differently the header carries an Ambiguity. Only what every tool
// refuses (a bad checksum, a size that is no number) is an error.
func parseHeader(b *[blockSize]byte) (*rawHeader, error) {
	if !checksumOK(b) {
		return nil, errBadChecksum
	}
	h := &rawHeader{flag: b[156]}
	switch {
	case string(b[257:263]) == "ustar\x00":
		h.format = formatUSTAR
		if string(b[508:512]) == "tar\x00" {
			h.format = formatSTAR
		}
		if string(b[263:265]) != "00" {
			h.amb = append(h.amb, ambiguous("unusual tar magic",
				"magic \"ustar\\x00\" with version %q: GNU tar reads the name prefix, Go's archive/tar does not", b[263:265]))
		}
	case string(b[257:263]) == "ustar ":
		h.format = formatGNU
		if string(b[263:265]) != " \x00" {
			h.amb = append(h.amb, ambiguous("unusual tar magic",
				"magic \"ustar \" with version %q: tools tell GNU from ustar headers differently", b[263:265]))
		}
	default:
		h.format = formatV7
		if !allZero(b[265:329]) || b[345] != 0 {
			h.amb = append(h.amb, ambiguous("v7 header with ustar fields",
				"owner names or a name prefix in a header without the ustar magic: Python's tarfile reads them, GNU tar and bsdtar ignore them"))
		}
	}
	h.name = cString(b[0:100])
	h.linkname = cString(b[157:257])

	size, bad := parseNumber(b[124:136])
	switch bad {
	case "":
		if size < 0 {
			return nil, fmt.Errorf("invalid tar header: negative size %d", size)
		}
	case numTrailing:
		h.amb = append(h.amb, ambiguous("numeric field with bytes after its end",
			"size field %q: GNU tar reads %d, Python's tarfile or Go's archive/tar refuse it", b[124:136], size))
	case numBlank, numEmpty:
		size = 0
		if bad == numBlank {
			h.amb = append(h.amb, ambiguous("blank numeric field", "the size field holds only spaces: GNU tar reports an error, the others read 0"))
		}
	default:
		return nil, fmt.Errorf("invalid tar header: size field %q is %s", b[124:136], bad)
	}
	h.size = size
	h.sizeIsOctal = b[124]&0x80 == 0

	h.mode = h.number(b[100:108], "mode", 0o7777)
	h.uid = h.number(b[108:116], "uid", 0)
	h.gid = h.number(b[116:124], "gid", 0)
	h.mtime = h.number(b[136:148], "mtime", 0)
	for _, id := range [...]struct {
		v    int64
		what string
	}{{h.uid, "uid"}, {h.gid, "gid"}} {
		if id.v < 0 || id.v > math.MaxUint32-1 {
			h.amb = append(h.amb, ambiguous("owner id out of range",
				"%s %d: GNU tar refuses it, the others set another owner", id.what, id.v))
		}
	}
	if h.format == formatV7 {
		return h, nil
	}
	h.uname = cString(b[265:297])
	h.gname = cString(b[297:329])
	// Python's tarfile and archive/tar read the device fields of every
	// entry (and refuse a header where they are not numbers).
	h.devmajor = h.number(b[329:337], "devmajor", 0)
	h.devminor = h.number(b[337:345], "devminor", 0)
	switch h.format {
	case formatUSTAR:
		if p := cString(b[345:500]); p != "" {
			h.name = p + "/" + h.name
		}
	case formatSTAR:
		p := cString(b[345:476])
		if p != cString(b[345:500]) {
			h.amb = append(h.amb, ambiguous("star prefix",
				"a 131-byte star prefix running into the time fields: GNU tar reads %q, Python's tarfile more", p))
		}
		if p != "" {
			h.name = p + "/" + h.name
		}
		if b[476] != 0 || b[488] != 0 {
			h.atime = h.number(b[476:488], "atime", 0)
			h.ctime = h.number(b[488:500], "ctime", 0)
		}
	case formatGNU:
		if b[345] != 0 && h.flag != 'L' && h.flag != 'K' && h.flag != 'S' {
			h.amb = append(h.amb, ambiguous("GNU header with times in the prefix area",
				"GNU tar and bsdtar read bytes 345-500 as atime, ctime and sparse data; Python's tarfile reads them as a name prefix %q", cString(b[345:500])))
		}
		if b[345] != 0 {
			h.atime = h.number(b[345:357], "atime", 0)
		}
		if b[357] != 0 {
			h.ctime = h.number(b[357:369], "ctime", 0)
		}
	}
	return h, nil
}

// number reads a numeric field other than the size, flagging what the
// tools read differently; onError is what GNU tar makes of a field it
// cannot read (-1, masked for a mode).
func (h *rawHeader) number(f []byte, what string, onError int64) int64 {
	v, bad := parseNumber(f)
	switch bad {
	case "", numEmpty:
		if bad == "" && v < 0 && f[0] == 0xff {
			h.amb = append(h.amb, ambiguous("negative base-256 number",
				"%s %d: GNU tar warns or refuses, the others take it", what, v))
		}
		return v
	case numTrailing:
		h.amb = append(h.amb, ambiguous("numeric field with bytes after its end",
			"%s field %q: GNU tar reads %d, Python's tarfile or Go's archive/tar refuse it", what, f, v))
		return v
	case numBlank:
		h.amb = append(h.amb, ambiguous("blank numeric field",
			"the %s field holds only spaces: GNU tar reports an error, the others read 0", what))
		return onError
	default:
		h.amb = append(h.amb, ambiguous("numeric field with garbage",
			"%s field %q is %s: GNU tar reports an error, bsdtar and Python's tarfile refuse the header", what, f, bad))
		return onError
	}
}

const (
	numEmpty    = "empty"         // all NUL: 0, for every tool
	numBlank    = "blank"         // spaces only
	numGarbage  = "not a number"  // a byte no tool accepts
	numOverflow = "out of range"  // more than an int64
	numTrailing = "not one token" // bytes after the terminator that tools treat differently
)

// parseNumber reads a numeric header field: octal digits after optional
// spaces, ended by a NUL or a space or the field's end (GNU tar's rule),
// or GNU base-256 (first byte 0x80, or 0xff for a negative number). It
// returns "" or one of the num* reasons the field is not plainly a
// number.
func parseNumber(f []byte) (int64, string) {
	if len(f) == 0 {
		return 0, numEmpty
	}
	if f[0] == 0x80 || f[0] == 0xff {
		// Big-endian two's complement after the marker byte; bytes
		// beyond the last eight must only extend the sign.
		fill := byte(0)
		var v uint64
		if f[0] == 0xff {
			fill, v = 0xff, math.MaxUint64
		}
		for i := 1; i < len(f); i++ {
			if i < len(f)-8 {
				if f[i] != fill {
					return 0, numOverflow
				}
				continue
			}
			v = v<<8 | uint64(f[i])
		}
		x := int64(v)
		if (fill == 0) != (x >= 0) {
			return 0, numOverflow
		}
		return x, ""
	}
	if f[0]&0x80 != 0 {
		return 0, numGarbage
	}
	i := 0
	for i < len(f) && f[i] == ' ' {
		i++
	}
	if i == len(f) {
		return 0, numBlank
	}
	if f[i] == 0 && i == 0 && allZero(f) {
		return 0, numEmpty
	}
	var v int64
	for ; i < len(f) && f[i] >= '0' && f[i] <= '7'; i++ {
		if v > math.MaxInt64>>3 {
			return 0, numOverflow
		}
		v = v<<3 | int64(f[i]-'0')
	}
	if i == len(f) {
		return v, ""
	}
	if f[i] != 0 && f[i] != ' ' {
		return 0, numGarbage
	}
	// After the terminator: GNU tar stops reading, Python's tarfile
	// reads up to the first NUL and strips spaces, Go's archive/tar
	// wants only spaces and NULs. Those agree on spaces and NULs alone.
	for _, c := range f[i:] {
		if c != 0 && c != ' ' {
			return v, numTrailing
		}
	}
	return v, ""
}

// checksumOK reports whether the block's checksum field matches the sum
// of its bytes (with the field as spaces), unsigned or signed (some old
// tars summed signed chars; GNU tar, bsdtar and Python accept both).
func checksumOK(b *[blockSize]byte) bool {
	want, bad := parseNumber(b[148:156])
	if bad != "" {
		return false
	}
	var u, s int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		u += int64(c)
		s += int64(int8(c))
	}
	return want == u || want == s
}

// cString returns the bytes of a field up to its first NUL: every tool
// stops there, whatever follows.
func cString(f []byte) string {
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	}
	return string(f)
}

// parseDecimal reads a pax number: plain decimal digits, as GNU tar
// wants (no sign, no spaces, no base prefix), within max.
func parseDecimal(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > max {
		return 0, false
	}
	return v, true
}
