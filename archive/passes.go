package archive

import (
	"fmt"
	"strings"
)

// Pass is a named normalization a user can switch on and off: one value
// holding everything about it.
type Pass struct {
	Name    string
	Applies string // the formats it touches, for help text
	Summary string // what it does, one line
	// NeedsEpoch is set when the pass sets or clamps times to
	// SOURCE_DATE_EPOCH.
	NeedsEpoch bool
	// Hides lists the kinds of difference (compare.Kind values: "mtime",
	// "order", ...) this pass may make disappear. Every one is on the
	// closed list of harmless kinds (compare.HarmlessKinds; a test holds
	// them together): a pass never rewrites what an extractor applies.
	Hides []string
	// applies reports whether the pass touches a stream of this input
	// and output format.
	applies func(in, out Format) bool
	// entry rewrites one entry, recording what it changed; nil for the
	// passes that act on the whole stream (order, gzip header).
	entry func(n *normalizer, e *Entry)
}

func container(c Container) func(in, out Format) bool {
	return func(in, _ Format) bool { return in.Container == c }
}

func gzipped(in, out Format) bool { return in.Compression == Gzip || out.Compression == Gzip }

// Passes lists every normalization pass in the order they are applied.
var Passes = []Pass{
	{Name: "tar-order", Applies: "tar", Summary: "sort entries by path, bytewise (hardlinks re-pointed to the first name)",
		Hides: []string{"order"}, applies: container(Tar)},
	{Name: "tar-mtime", Applies: "tar", Summary: "set every mtime to the epoch (--clamp: only those later than it)",
		NeedsEpoch: true, Hides: []string{"mtime"}, applies: container(Tar), entry: tarEntry(tarMtime)},
	{Name: "tar-owner", Applies: "tar", Summary: "uid and gid 0, user and group names empty; kept on entries with setuid, setgid or sticky bits",
		Hides: []string{"owner"}, applies: container(Tar), entry: tarEntry(tarOwner)},
	{Name: "tar-mode", Applies: "tar", Summary: "mode 0777 on symlinks (never applied on Linux); every mode bit of other entries is kept",
		applies: container(Tar), entry: tarEntry(tarMode)},
	{Name: "tar-pax", Applies: "tar", Summary: "drop atime, ctime, sub-second mtimes and pax records no extractor applies (comments, inode, dev)",
		Hides: []string{"pax"}, applies: container(Tar), entry: tarPax},
	{Name: "tar-xattr", Applies: "tar", Summary: "drop extended attributes outside the security, system, trusted and user namespaces (never applied on Linux)",
		Hides: []string{"pax"}, applies: container(Tar), entry: tarEntry(tarXattr)},
	{Name: "tar-devices", Applies: "tar", Summary: "zero device numbers on entries that are not devices",
		applies: container(Tar), entry: tarEntry(tarDevices)},
	{Name: "gzip-header", Applies: "gzip", Summary: "no file name, no comment, no extra field, MTIME 0, OS byte 255",
		Hides: []string{"compression"}, applies: gzipped},
	{Name: "zip-order", Applies: "zip", Summary: "sort entries by name, bytewise",
		Hides: []string{"order"}, applies: container(Zip)},
	{Name: "zip-time", Applies: "zip", Summary: "DOS time from the epoch in UTC (--clamp: only later ones); drop extended and NTFS timestamps",
		NeedsEpoch: true, Hides: []string{"mtime", "compression"}, applies: container(Zip), entry: zipTime},
	{Name: "zip-extra", Applies: "zip", Summary: "drop extra fields (Info-ZIP unix uid/gid and the like) and comments",
		Hides: []string{"mtime", "owner", "pax", "compression"}, applies: container(Zip), entry: zipExtra},
	{Name: "ar-header", Applies: "ar", Summary: "member mtime from the epoch, uid and gid 0 (modes are kept)",
		NeedsEpoch: true, Hides: []string{"mtime", "owner"}, applies: container(Ar), entry: arHeader},
}

// PassSet is a set of passes, by name.
type PassSet struct{ on map[string]bool }

// AllPasses returns the set of every pass.
func AllPasses() PassSet {
	s := PassSet{on: map[string]bool{}}
	for _, p := range Passes {
		s.on[p.Name] = true
	}
	return s
}

// Has reports whether the pass is in the set.
func (s PassSet) Has(name string) bool { return s.on[name] }

// Names returns the passes in the set, in application order.
func (s PassSet) Names() []string {
	var names []string
	for _, p := range Passes {
		if s.on[p.Name] {
			names = append(names, p.Name)
		}
	}
	return names
}

func (s PassSet) String() string {
	if n := s.Names(); len(n) > 0 {
		return strings.Join(n, ",")
	}
	return "none"
}

// ParsePasses reads a pass list: "all", "none", or comma-separated names,
// where "-name" removes a pass. A list that starts with a removal starts
// from all passes ("-tar-mtime" is every pass but tar-mtime).
func ParsePasses(spec string) (PassSet, error) {
	s := PassSet{on: map[string]bool{}}
	items := strings.Split(spec, ",")
	for i, item := range items {
		item = strings.TrimSpace(item)
		switch {
		case item == "all":
			s = AllPasses()
		case item == "none":
			s = PassSet{on: map[string]bool{}}
		case strings.HasPrefix(item, "-"):
			name := item[1:]
			if !knownPass(name) {
				return PassSet{}, fmt.Errorf("unknown pass %q", name)
			}
			if i == 0 {
				s = AllPasses()
			}
			delete(s.on, name)
		case item == "":
			return PassSet{}, fmt.Errorf("empty pass name in %q", spec)
		default:
			if !knownPass(item) {
				return PassSet{}, fmt.Errorf("unknown pass %q", item)
			}
			s.on[item] = true
		}
	}
	return s, nil
}

func knownPass(name string) bool {
	for _, p := range Passes {
		if p.Name == name {
			return true
		}
	}
	return false
}

// NeedsEpoch reports whether any pass in s uses the epoch, so callers can
// demand one only when it matters.
func (s PassSet) NeedsEpoch() bool {
	for _, p := range Passes {
		if p.NeedsEpoch && s.on[p.Name] {
			return true
		}
	}
	return false
}
