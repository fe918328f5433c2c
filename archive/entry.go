package archive

import (
	"fmt"
	"sort"
	"time"
)

// EntryType is the kind of filesystem object an entry describes.
type EntryType uint8

// Entry types, shared by every container format.
const (
	TypeRegular EntryType = iota
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeCharDevice
	TypeBlockDevice
	TypeFIFO
	// TypePAXGlobal is a pax global extended header: it carries only
	// PAXRecords, which apply to the entries after it.
	TypePAXGlobal
	// TypeSocket is a Unix domain socket: found in directory trees (and in
	// cpio), never written.
	TypeSocket
)

var entryTypeNames = [...]string{
	TypeRegular:     "file",
	TypeDir:         "dir",
	TypeSymlink:     "symlink",
	TypeHardlink:    "hardlink",
	TypeCharDevice:  "char-device",
	TypeBlockDevice: "block-device",
	TypeFIFO:        "fifo",
	TypePAXGlobal:   "pax-global-header",
	TypeSocket:      "socket",
}

func (t EntryType) String() string {
	if int(t) < len(entryTypeNames) {
		return entryTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", t)
}

// HasContent reports whether entries of this type carry content bytes.
func (t EntryType) HasContent() bool { return t == TypeRegular }

// Mode bits beyond the nine permission bits, as in tar's mode field.
const (
	ModeSetuid = 0o4000
	ModeSetgid = 0o2000
	ModeSticky = 0o1000
	ModePerm   = 0o7777
)

// Entry is one member of an archive, whatever the container format. Fields
// a format cannot express are left zero.
type Entry struct {
	Name     string    // as stored in the archive; directories may end in "/"
	Type     EntryType // what kind of object it is
	Linkname string    // target of a symlink or hardlink
	Mode     int64     // permission bits with setuid, setgid and sticky (ModePerm)
	UID, GID int
	Uname    string
	Gname    string
	Size     int64 // content size in bytes; 0 unless Type.HasContent()
	ModTime  time.Time
	// AccessTime and ChangeTime are set only when the archive stored them
	// (pax atime/ctime records, GNU tar's incremental fields).
	AccessTime time.Time
	ChangeTime time.Time
	Devmajor   int64
	Devminor   int64
	// Xattrs are extended attributes (tar SCHILY.xattr.* records), keyed
	// by attribute name.
	Xattrs map[string]string
	// Flags are the file flags, comma-separated in bytewise order, by the
	// names bsdtar stores in SCHILY.fflags ("nodump,uappnd"); for a
	// directory tree, the inode flags chattr sets, by the same names.
	Flags string
	// PAXRecords are the pax records not represented by another field:
	// comments, vendor records, LIBARCHIVE.* and the like.
	PAXRecords map[string]string
	// Offset is the byte offset of the entry's header within the
	// (decompressed) container stream.
	Offset int64
	// ContentOffset is the byte offset of the content within the
	// (decompressed) container stream when it is stored there in one piece
	// (tar, ar, cpio); -1 otherwise (zip, sparse files, no content).
	ContentOffset int64
	// Digest is the SHA-256 of the content. It is set once the content has
	// been read to the end, and only when the Reader computes digests.
	Digest []byte
	// Ambiguities lists the constructs of this entry's headers that the
	// mainstream extractors read differently, or that this package does
	// not model (see Ambiguity). The other fields hold one reading.
	Ambiguities []Ambiguity

	zip *zipMeta // set for entries read from or destined for a zip
	ar  *arMeta  // set for entries read from an ar archive
}

// Clone returns a deep copy of e.
func (e *Entry) Clone() *Entry {
	c := *e
	c.Xattrs = cloneMap(e.Xattrs)
	c.PAXRecords = cloneMap(e.PAXRecords)
	if e.Digest != nil {
		c.Digest = append([]byte(nil), e.Digest...)
	}
	c.Ambiguities = append([]Ambiguity(nil), e.Ambiguities...)
	if e.zip != nil {
		z := *e.zip
		z.extra = append([]byte(nil), e.zip.extra...)
		c.zip = &z
	}
	if e.ar != nil {
		a := *e.ar
		c.ar = &a
	}
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// sortedKeys returns the keys of m in bytewise order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
