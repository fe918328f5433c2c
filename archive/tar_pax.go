package archive

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// paxRecord is one "key=value" record of a pax extended header.
type paxRecord struct{ key, value string }

// parsePAX splits the data of a pax header into records, strictly: each
// is "<length> <key>=<value>\n" with the length counting the whole
// record. GNU tar applies the records before a malformed one and drops
// the rest; bsdtar skips only the bad one; Python's tarfile may read on
// into the next header. A malformed record is an ambiguity, and the
// records are those GNU tar applies.
func parsePAX(data []byte) ([]paxRecord, []Ambiguity) {
	var recs []paxRecord
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		n, ok := int64(0), sp > 0 && sp <= 19
		if ok {
			n, ok = parseDecimal(string(data[:sp]), int64(len(data)))
		}
		if !ok || n <= int64(sp)+1 || data[n-1] != '\n' {
			return recs, []Ambiguity{ambiguous("malformed pax record",
				"%q: GNU tar drops it and the records after it, bsdtar skips it, Python's tarfile may read another header", clip(data, 40))}
		}
		rec := data[sp+1 : n-1]
		eq := bytes.IndexByte(rec, '=')
		if eq <= 0 {
			return recs, []Ambiguity{ambiguous("malformed pax record",
				"%q has no key: GNU tar drops it and the records after it, bsdtar skips it", clip(data, 40))}
		}
		recs = append(recs, paxRecord{string(rec[:eq]), string(rec[eq+1:])})
		data = data[n:]
	}
	return recs, nil
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// paxKnown are the pax keys this reader models, besides the xattr and
// sparse families: those that set a field, and those kept as they are in
// Entry.PAXRecords because no extractor changes what it writes by them
// (ACLs are kept to be compared, not applied here).
var paxKnown = map[string]bool{
	"path": true, "linkpath": true, "size": true, "uid": true, "gid": true,
	"uname": true, "gname": true, "mtime": true, "atime": true, "ctime": true,
	"comment": true, "charset": true, "hdrcharset": true,
	"SCHILY.acl.access": true, "SCHILY.acl.default": true, "SCHILY.acl.ace": true,
	"SCHILY.fflags": true, "SCHILY.dev": true, "SCHILY.ino": true, "SCHILY.nlink": true,
	"SCHILY.devmajor": true, "SCHILY.devminor": true, "SCHILY.filetype": true, "SCHILY.realsize": true,
	"LIBARCHIVE.creationtime": true,
}

// paxFieldKeys are pax records that Entry represents as fields, not in
// PAXRecords.
var paxFieldKeys = map[string]bool{
	"path": true, "linkpath": true, "size": true, "uid": true, "gid": true,
	"uname": true, "gname": true, "mtime": true, "atime": true, "ctime": true,
	"SCHILY.fflags": true,
}

const (
	paxXattrPrefix     = "SCHILY.xattr."
	paxLibarchiveXattr = "LIBARCHIVE.xattr."
	paxSparsePrefix    = "GNU.sparse."
)

// paxValues are the records of the 'x' header of one entry, last record
// of a key winning (as in every tool), with what they set.
type paxValues struct {
	m    map[string]string
	amb  []Ambiguity
	size int64 // -1 when no valid size record
}

func newPAXValues(recs []paxRecord, amb []Ambiguity) *paxValues {
	p := &paxValues{m: make(map[string]string, len(recs)), amb: amb, size: -1}
	for _, r := range recs {
		p.m[r.key] = r.value
	}
	if v, ok := p.m["size"]; ok && v != "" {
		if n, ok := parseDecimal(v, math.MaxInt64); ok {
			p.size = n
		} else {
			p.amb = append(p.amb, ambiguous("malformed pax number",
				"size=%q: GNU tar ignores it, bsdtar and Python's tarfile read another size", v))
		}
	}
	return p
}

// nulError refuses a record key with a NUL byte, and a NUL in a name
// record (as Go's archive/tar does; Python's tarfile fails on one, GNU
// tar and bsdtar cut the name there).
func nulError(recs []paxRecord) error {
	for _, r := range recs {
		switch {
		case strings.IndexByte(r.key, 0) >= 0:
			return fmt.Errorf("invalid pax header: key %q holds a NUL byte", r.key)
		case r.key == "path" || r.key == "linkpath" || r.key == "uname" || r.key == "gname":
			if strings.IndexByte(r.value, 0) >= 0 {
				return fmt.Errorf("invalid pax header: %s %q holds a NUL byte", r.key, r.value)
			}
		}
	}
	return nil
}

// get returns a record's value; an empty value deletes the record (POSIX),
// so it counts as absent.
func (p *paxValues) get(key string) (string, bool) {
	if p == nil {
		return "", false
	}
	v, ok := p.m[key]
	return v, ok && v != ""
}

// applyPAX sets the entry's fields from the records, as GNU tar does, and
// flags the records the tools read differently or that are not modeled.
// sparse tells whether the records made a modeled sparse entry (its
// GNU.sparse records are then accounted for).
func applyPAX(e *Entry, p *paxValues, sparse bool) {
	if p == nil {
		return
	}
	e.Ambiguities = append(e.Ambiguities, p.amb...)
	keys := make([]string, 0, len(p.m))
	for k := range p.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := p.m[k]
		if v == "" {
			if k != "comment" {
				e.Ambiguities = append(e.Ambiguities, ambiguous("pax record with an empty value",
					"%s=: POSIX deletes the record (bsdtar reads the header field), GNU tar sets it empty (a path becomes \".\"), Python's tarfile fails", k))
			}
			continue
		}
		if strings.IndexByte(v, 0) >= 0 && !strings.HasPrefix(k, paxXattrPrefix) {
			e.Ambiguities = append(e.Ambiguities, ambiguous("pax record with a NUL byte",
				"%q: tools cut it at the NUL or refuse it", k))
		}
		switch {
		case k == "path":
			e.Name = v
			checkPAXText(e, k, v)
		case k == "linkpath":
			e.Linkname = v
			checkPAXText(e, k, v)
		case k == "size":
			// set by the reader (it frames the data)
		case k == "uid" || k == "gid":
			n, ok := parseDecimal(v, math.MaxUint32-1)
			if !ok {
				e.Ambiguities = append(e.Ambiguities, ambiguous("malformed pax number",
					"%s=%q: GNU tar ignores it, Python's tarfile may take it", k, v))
				continue
			}
			if k == "uid" {
				e.UID = int(n)
			} else {
				e.GID = int(n)
			}
		case k == "uname":
			e.Uname = v
		case k == "gname":
			e.Gname = v
		case k == "mtime" || k == "atime" || k == "ctime":
			t, ok := parsePAXTime(v)
			if !ok {
				e.Ambiguities = append(e.Ambiguities, ambiguous("malformed pax number",
					"%s=%q: GNU tar ignores it, the others read it their way", k, v))
				continue
			}
			switch k {
			case "mtime":
				e.ModTime = t
			case "atime":
				e.AccessTime = t
			case "ctime":
				e.ChangeTime = t
			}
		case k == "hdrcharset":
			if v != "ISO-IR 10646 2000 UTF-8" {
				e.Ambiguities = append(e.Ambiguities, ambiguous("pax hdrcharset other than UTF-8",
					"hdrcharset=%q: GNU tar ignores it, bsdtar and Python's tarfile decode names by it", v))
			}
		case k == "SCHILY.fflags":
			e.Flags = sortFlags(v)
		case k == "SCHILY.devmajor" || k == "SCHILY.devminor":
			n, ok := parseDecimal(v, math.MaxInt64)
			dev := e.Devmajor
			if k == "SCHILY.devminor" {
				dev = e.Devminor
			}
			if !ok || n != dev {
				e.Ambiguities = append(e.Ambiguities, ambiguous("pax device number differs from the header's",
					"%s=%q, header %d: bsdtar uses the record, GNU tar the header", k, v, dev))
			}
		case k == "SCHILY.filetype":
			if schilyFiletype[v] != e.Type || e.Type == TypePAXGlobal {
				e.Ambiguities = append(e.Ambiguities, ambiguous("pax file type differs from the header's",
					"SCHILY.filetype=%q on a %v: bsdtar uses the record, GNU tar the type flag", v, e.Type))
			}
		case k == "SCHILY.realsize":
			e.Ambiguities = append(e.Ambiguities, ambiguous("SCHILY.realsize outside a sparse entry",
				"SCHILY.realsize=%q: bsdtar sizes the file by it, GNU tar ignores it", v))
		case strings.HasPrefix(k, paxXattrPrefix):
			if e.Xattrs == nil {
				e.Xattrs = map[string]string{}
			}
			e.Xattrs[strings.TrimPrefix(k, paxXattrPrefix)] = v
		case strings.HasPrefix(k, paxLibarchiveXattr):
			applyLibarchiveXattr(e, p, k, v)
		case strings.HasPrefix(k, paxSparsePrefix):
			if !sparse {
				e.Ambiguities = append(e.Ambiguities, ambiguous("GNU.sparse record outside a sparse entry",
					"%s=%q: GNU tar, bsdtar and Python's tarfile may rename or resize the file by it", k, v))
			}
		case !paxKnown[k]:
			e.Ambiguities = append(e.Ambiguities, ambiguous("unknown pax record",
				"%q: not modeled (GNU tar ignores it with a warning; bsdtar or a later tool may apply it)", k))
		}
		if !paxFieldKeys[k] && !strings.HasPrefix(k, paxXattrPrefix) && !strings.HasPrefix(k, paxLibarchiveXattr) &&
			!strings.HasPrefix(k, paxSparsePrefix) {
			if e.PAXRecords == nil {
				e.PAXRecords = map[string]string{}
			}
			e.PAXRecords[k] = v
		}
	}
}

// checkPAXText flags a pax path or link that is not UTF-8: pax says UTF-8,
// and the tools convert such names each their own way (or not at all).
func checkPAXText(e *Entry, k, v string) {
	if !utf8.ValidString(v) {
		e.Ambiguities = append(e.Ambiguities, ambiguous("pax name not valid UTF-8",
			"%s=%q: bsdtar warns and may convert it, GNU tar and Python's tarfile write the bytes", k, v))
	}
}

var schilyFiletype = map[string]EntryType{
	"file": TypeRegular, "directory": TypeDir, "symlink": TypeSymlink, "character special": TypeCharDevice,
	"block special": TypeBlockDevice, "fifo": TypeFIFO, "socket": TypeSocket,
}

// applyLibarchiveXattr decodes a LIBARCHIVE.xattr record (the name
// URL-encoded, the value base64) into Entry.Xattrs, flagging a value that
// differs from the SCHILY.xattr record of the same name (GNU tar reads
// that one, bsdtar this one).
func applyLibarchiveXattr(e *Entry, p *paxValues, k, v string) {
	name, err := url.PathUnescape(strings.TrimPrefix(k, paxLibarchiveXattr))
	val, err2 := base64.StdEncoding.DecodeString(v)
	if err2 != nil {
		val, err2 = base64.RawStdEncoding.DecodeString(v)
	}
	if err != nil || err2 != nil || name == "" {
		e.Ambiguities = append(e.Ambiguities, ambiguous("malformed LIBARCHIVE.xattr record",
			"%q: bsdtar decodes it its way, GNU tar ignores it", k))
		return
	}
	if s, ok := p.m[paxXattrPrefix+name]; ok {
		if s != string(val) {
			e.Ambiguities = append(e.Ambiguities, ambiguous("xattr stored twice with different values",
				"%q: GNU tar applies the SCHILY.xattr value, bsdtar the LIBARCHIVE.xattr one", name))
		}
		return // the SCHILY value is kept
	}
	if e.Xattrs == nil {
		e.Xattrs = map[string]string{}
	}
	e.Xattrs[name] = string(val)
}

// sortFlags returns file flags comma-separated in bytewise order.
func sortFlags(v string) string {
	fs := strings.Split(v, ",")
	out := fs[:0]
	for _, f := range fs {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// parsePAXTime reads a pax time: decimal seconds, optionally negative,
// optionally with a fraction (kept to the nanosecond).
func parsePAXTime(s string) (time.Time, bool) {
	secs, frac, dot := strings.Cut(s, ".")
	neg := strings.HasPrefix(secs, "-")
	if neg {
		secs = secs[1:]
	}
	n, ok := parseDecimal(secs, math.MaxInt64)
	if !ok || (dot && frac == "") {
		return time.Time{}, false
	}
	var ns int64
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		if i < 9 {
			ns = ns*10 + int64(c-'0')
		}
	}
	for i := len(frac); i < 9; i++ {
		ns *= 10
	}
	if neg {
		n, ns = -n, -ns
	}
	return time.Unix(n, ns).UTC(), true
}
