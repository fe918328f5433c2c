package archive

import (
	"fmt"
	"strings"
	"time"
)

// The per-entry passes. Each records what it changed, entry by entry, so
// that a report can name what it hid. None of them touches what an
// extractor applies to the extracted file: contents, names, types, link
// targets, mode bits of files and directories, the owner of an entry with
// special bits, applied extended attributes, ACLs and file flags.

// newTime is the time a time pass gives t: the epoch, or with Clamp the
// earlier of the two.
func (n *normalizer) newTime(t time.Time) time.Time {
	epoch := n.opts.Epoch.UTC()
	if n.opts.Clamp && !t.After(epoch) {
		return t
	}
	return epoch
}

// tarEntry wraps a tar pass that leaves pax global headers alone: they
// carry only records, no mtime, owner or mode of their own.
func tarEntry(f func(n *normalizer, e *Entry)) func(n *normalizer, e *Entry) {
	return func(n *normalizer, e *Entry) {
		if e.Type != TypePAXGlobal {
			f(n, e)
		}
	}
}

func tarMtime(n *normalizer, e *Entry) {
	if t := n.newTime(e.ModTime); !t.Equal(e.ModTime) {
		n.log.record("tar-mtime", func() string {
			return fmt.Sprintf("%q: mtime %s → %s", e.Name, formatTime(e.ModTime), formatTime(t))
		})
		e.ModTime = t
	}
}

// tarOwner clears owners, except of entries with setuid, setgid or sticky
// bits: there the owner decides whose privileges a program runs with, or
// who may delete others' files.
func tarOwner(n *normalizer, e *Entry) {
	if e.UID == 0 && e.GID == 0 && e.Uname == "" && e.Gname == "" {
		return
	}
	if e.Mode&(ModeSetuid|ModeSetgid|ModeSticky) != 0 {
		n.keep(fmt.Sprintf("owner %d/%d of %q (mode %04o)", e.UID, e.GID, e.Name, e.Mode))
		return
	}
	n.log.record("tar-owner", func() string {
		return fmt.Sprintf("%q: owner %d/%d (%s/%s) → 0/0", e.Name, e.UID, e.GID, e.Uname, e.Gname)
	})
	e.UID, e.GID, e.Uname, e.Gname = 0, 0, "", ""
}

// tarMode sets the mode of symlinks, which no extractor applies (a
// symlink has no mode of its own on Linux), to 0777, as lstat reports it.
// Every bit of every other entry is kept: GNU tar run as root applies
// them all, umask or not.
func tarMode(n *normalizer, e *Entry) {
	if e.Type == TypeSymlink && e.Mode != 0o777 {
		n.log.record("tar-mode", func() string {
			return fmt.Sprintf("%q: symlink mode %04o → 0777", e.Name, e.Mode)
		})
		e.Mode = 0o777
	}
}

func tarPax(n *normalizer, e *Entry) {
	if e.Type == TypePAXGlobal {
		if len(e.PAXRecords) > 0 {
			n.log.record("tar-pax", func() string {
				return fmt.Sprintf("pax global header: %s dropped", describeRecords(e.PAXRecords))
			})
			e.PAXRecords = nil
		}
		return
	}
	var dropped []string
	if !e.AccessTime.IsZero() {
		dropped = append(dropped, "atime")
		e.AccessTime = time.Time{}
	}
	if !e.ChangeTime.IsZero() {
		dropped = append(dropped, "ctime")
		e.ChangeTime = time.Time{}
	}
	if hasSubSecond(e.ModTime) {
		dropped = append(dropped, "sub-second mtime")
		e.ModTime = e.ModTime.Truncate(time.Second)
	}
	for _, k := range sortedKeys(e.PAXRecords) {
		if appliedRecord(k) {
			continue
		}
		dropped = append(dropped, k)
		delete(e.PAXRecords, k)
	}
	if len(dropped) > 0 {
		n.log.record("tar-pax", func() string {
			return fmt.Sprintf("%q: %s dropped", e.Name, joinPlain(dropped))
		})
	}
}

// appliedRecord reports whether a pax record kept in Entry.PAXRecords is
// applied by an extractor to the extracted file: ACLs (GNU tar --acls,
// bsdtar by default), and extended attributes and file flags in the
// record forms a reader did not decode into Entry.Xattrs and Entry.Flags.
func appliedRecord(k string) bool {
	for _, p := range []string{"SCHILY.acl.", "SCHILY.fflags", "SCHILY.xattr.", "LIBARCHIVE.xattr."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// XattrApplied reports whether an extended attribute of this name is set
// on the extracted file by an extractor on Linux: the security, system,
// trusted and user namespaces. Others (macOS's com.apple.*) cannot be set
// there and are dropped with a warning by GNU tar and bsdtar alike.
func XattrApplied(name string) bool {
	for _, ns := range []string{"security.", "system.", "trusted.", "user."} {
		if strings.HasPrefix(name, ns) {
			return true
		}
	}
	return false
}

func tarXattr(n *normalizer, e *Entry) {
	var dropped []string
	for _, k := range sortedKeys(e.Xattrs) {
		if !XattrApplied(k) {
			dropped = append(dropped, k)
			delete(e.Xattrs, k)
		}
	}
	if len(e.Xattrs) == 0 {
		e.Xattrs = nil
	}
	if len(dropped) > 0 {
		n.log.record("tar-xattr", func() string {
			return fmt.Sprintf("%q: %s dropped", e.Name, joinPlain(dropped))
		})
	}
}

func tarDevices(n *normalizer, e *Entry) {
	if e.Type != TypeCharDevice && e.Type != TypeBlockDevice && (e.Devmajor != 0 || e.Devminor != 0) {
		n.log.record("tar-devices", func() string {
			return fmt.Sprintf("%q: device %d,%d → 0,0", e.Name, e.Devmajor, e.Devminor)
		})
		e.Devmajor, e.Devminor = 0, 0
	}
}

func zipTime(n *normalizer, e *Entry) {
	z := e.zip
	t := n.newTime(e.ModTime)
	date, tm := dosTime(t)
	ext := withoutFields(z.extra, zipTimeFields)
	if date != z.modDate || tm != z.modTime || len(ext) != len(z.extra) {
		n.log.record("zip-time", func() string {
			return fmt.Sprintf("%q: time %s → %s", e.Name, formatTime(e.ModTime), formatTime(fromDosTime(date, tm)))
		})
	}
	z.modDate, z.modTime, z.extra = date, tm, ext
	e.ModTime = fromDosTime(date, tm)
}

func zipExtra(n *normalizer, e *Entry) {
	z := e.zip
	var dropped []string
	if len(withoutZip64(z.extra)) > 0 {
		dropped = append(dropped, "extra fields "+describeExtra(z.extra))
	}
	if z.comment != "" {
		dropped = append(dropped, fmt.Sprintf("comment %q", z.comment))
	}
	if len(dropped) > 0 {
		n.log.record("zip-extra", func() string {
			return fmt.Sprintf("%q: %s dropped", e.Name, joinPlain(dropped))
		})
	}
	z.extra, z.comment = nil, ""
}

// arHeader sets member times and owners; modes are kept (binutils ar x
// applies them).
func arHeader(n *normalizer, e *Entry) {
	t := n.newTime(e.ModTime)
	if !t.Equal(e.ModTime) || e.UID != 0 || e.GID != 0 {
		n.log.record("ar-header", func() string {
			return fmt.Sprintf("%q: mtime %s, owner %d/%d → %s, 0/0", e.Name, formatTime(e.ModTime), e.UID, e.GID, formatTime(t))
		})
	}
	e.ModTime, e.UID, e.GID = t, 0, 0
}
