package compare

// HarmlessKinds is the closed list of difference kinds that may make two
// artifacts equivalent: what no mainstream extractor turns into a
// different file, content, name, link or permission. It is the one place
// the rule lives (docs/SECURITY.md quotes it, and a test holds the two
// together). Every other kind — content, size, type, link (hardlink vs
// copy included), mode (setuid, setgid, sticky, group or other write, exec
// bits), xattr (capabilities, ACLs, file flags), missing, extra,
// duplicate, ambiguous — is content.
//
//   - mtime: modification times, of entries and of zip records;
//   - order: entry order (where extraction depends on order the readers
//     report the construct as ambiguous instead: a hardlink before its
//     target, a path through a symlink stored earlier, a .deb's members);
//   - owner: uid, gid, user and group names of entries without setuid,
//     setgid or sticky bits (for those, see Difference.Privileged);
//   - pax: records no extractor applies (atime, ctime, comment, inode and
//     device numbers of the packing host, creation time) and header
//     encodings that every modelled field agrees on;
//   - compression: gzip header fields, compressor and its settings,
//     zip compression method and level, zip extra time fields and
//     comments.
var HarmlessKinds = []Kind{KindMtime, KindOrder, KindOwner, KindPax, KindCompression}

// Harmless reports whether d is on the closed list: its kind is in
// HarmlessKinds and, for an owner difference, the entry carries no
// special bits.
func Harmless(d Difference) bool {
	if d.Kind == KindOwner && d.Privileged {
		return false
	}
	for _, k := range HarmlessKinds {
		if d.Kind == k {
			return true
		}
	}
	return false
}
