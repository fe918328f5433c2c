package archive

import (
	"fmt"
	"strings"
)

// Pass is a named normalization a user can switch on and off.
type Pass struct {
	Name    string
	Applies string // the formats it touches, for help text
	Summary string // what it does, one line
}

// Passes lists every normalization pass in the order they are applied.
var Passes = []Pass{
	{"tar-order", "tar", "sort entries by path, bytewise (hardlinks re-pointed to the first name)"},
	{"tar-mtime", "tar", "set every mtime to the epoch (--clamp: only those later than it)"},
	{"tar-owner", "tar", "uid and gid 0, user and group names empty"},
	{"tar-mode", "tar", "clear group and other write bits; exec, setuid, setgid are kept and reported"},
	{"tar-pax", "tar", "drop atime, ctime, sub-second mtimes and non-essential pax records (comments, inode, dev)"},
	{"tar-xattr", "tar", "drop extended attributes and ACLs"},
	{"tar-devices", "tar", "zero device numbers on entries that are not devices"},
	{"gzip-header", "gzip", "no file name, no comment, no extra field, MTIME 0, OS byte 255"},
	{"zip-order", "zip", "sort entries by name, bytewise"},
	{"zip-time", "zip", "DOS time from the epoch in UTC (--clamp: only later ones); drop extended and NTFS timestamps"},
	{"zip-extra", "zip", "drop extra fields (Info-ZIP unix uid/gid and the like) and comments"},
	{"ar-header", "ar", "member mtime from the epoch, uid and gid 0, mode 0644 (0755 when executable)"},
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
	return s.on["tar-mtime"] || s.on["zip-time"] || s.on["ar-header"]
}
