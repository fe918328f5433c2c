package compare

import (
	"time"

	"github.com/reproof/reproof/archive"
)

// entryMeta is what a comparison keeps of an entry: the fields it
// compares, packed, because it holds one for every entry of both sides
// (a million each at the default --max-entries). Owners are shared by
// the entries that have the same; fields that most entries leave empty
// are kept aside. About 100 bytes, where an archive.Entry takes 264.
type entryMeta struct {
	name          string // the stored name; "" when it is the key
	Size          int64
	ContentOffset int64
	Mode          int64
	mtimeSec      int64
	mtimeNsec     int32
	Type          archive.EntryType
	hasDigest     bool
	own           *owner
	digest        [32]byte
	rare          *rareMeta
}

// owner is an entry's owner, interned per tree.
type owner struct {
	uid, gid     int
	uname, gname string
}

// rareMeta holds what few entries have.
type rareMeta struct {
	linkname           string
	devmajor, devminor int64
	xattrs, pax        map[string]string
	flags              string
	// ambiguities are the constructs of the entry's headers that the
	// extractors read differently (archive.Entry.Ambiguities).
	ambiguities []archive.Ambiguity
	// For a hardlink: the size and digest of the content it links to,
	// when the target is in the tree.
	linkSize   int64
	linkDigest []byte
	file       string // for directory trees: the file on disk
}

// ModTime returns the modification time, in UTC.
func (m *entryMeta) ModTime() time.Time { return time.Unix(m.mtimeSec, int64(m.mtimeNsec)).UTC() }

// Digest returns the SHA-256 of the content, or nil when it was not
// computed.
func (m *entryMeta) Digest() []byte {
	if !m.hasDigest {
		return nil
	}
	return m.digest[:]
}

func (m *entryMeta) setDigest(d []byte) {
	m.hasDigest = len(d) == len(m.digest)
	copy(m.digest[:], d)
}

func (m *entryMeta) owner() owner {
	if m.own == nil {
		return owner{}
	}
	return *m.own
}

func (m *entryMeta) rareFields() *rareMeta {
	if m.rare == nil {
		return &rareMeta{}
	}
	return m.rare
}

// ensureRare returns the rare fields, set aside now if they were not.
func (m *entryMeta) ensureRare() *rareMeta {
	if m.rare == nil {
		m.rare = &rareMeta{}
	}
	return m.rare
}

// Linkname, Devmajor, Devminor, Xattrs and PAXRecords are the rare
// fields.
func (m *entryMeta) Linkname() string              { return m.rareFields().linkname }
func (m *entryMeta) Devmajor() int64               { return m.rareFields().devmajor }
func (m *entryMeta) Devminor() int64               { return m.rareFields().devminor }
func (m *entryMeta) Xattrs() map[string]string     { return m.rareFields().xattrs }
func (m *entryMeta) PAXRecords() map[string]string { return m.rareFields().pax }
func (m *entryMeta) Flags() string                 { return m.rareFields().flags }

// special reports whether the entry has setuid, setgid or sticky bits.
func (m *entryMeta) special() bool {
	return m.Mode&(archive.ModeSetuid|archive.ModeSetgid|archive.ModeSticky) != 0
}
func (x *entryInfo) linkTarget() (int64, []byte) {
	r := x.e.rareFields()
	return r.linkSize, r.linkDigest
}
func (x *entryInfo) file() string { return x.e.rareFields().file }
func (x *entryInfo) setLinkTarget(size int64, d []byte) {
	r := x.e.ensureRare()
	r.linkSize, r.linkDigest = size, d
}

// arena holds a tree's entryInfos in stored order, in chunks, so that a
// million entries are a few hundred allocations, not a million.
type arena struct {
	chunks [][]entryInfo
	n      int
	owners map[owner]*owner
}

const arenaChunk = 512

// at returns the entry stored at position i.
func (a *arena) at(i int) *entryInfo { return &a.chunks[i/arenaChunk][i%arenaChunk] }

func (a *arena) newEntry(key string, e *archive.Entry) *entryInfo {
	if a.n%arenaChunk == 0 {
		a.chunks = append(a.chunks, make([]entryInfo, arenaChunk))
	}
	x := a.at(a.n)
	a.n++
	x.key = key
	m := &x.e
	m.Type = e.Type
	if e.Name != key {
		m.name = e.Name
	}
	m.Size, m.ContentOffset, m.Mode = e.Size, e.ContentOffset, e.Mode
	m.mtimeSec, m.mtimeNsec = e.ModTime.Unix(), int32(e.ModTime.Nanosecond())
	m.setDigest(e.Digest)
	if o := (owner{e.UID, e.GID, e.Uname, e.Gname}); o != (owner{}) {
		if a.owners == nil {
			a.owners = map[owner]*owner{}
		}
		if a.owners[o] == nil {
			a.owners[o] = &o
		}
		m.own = a.owners[o]
	}
	if e.Linkname != "" || e.Devmajor != 0 || e.Devminor != 0 || len(e.Xattrs) > 0 || len(e.PAXRecords) > 0 ||
		e.Flags != "" || len(e.Ambiguities) > 0 {
		r := m.ensureRare()
		r.linkname, r.devmajor, r.devminor, r.xattrs, r.pax = e.Linkname, e.Devmajor, e.Devminor, e.Xattrs, e.PAXRecords
		r.flags, r.ambiguities = e.Flags, e.Ambiguities
	}
	return x
}

// name returns the entry's name as stored.
func (x *entryInfo) name() string {
	if x.e.name == "" {
		return x.key
	}
	return x.e.name
}
