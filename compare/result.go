package compare

import (
	"sort"

	"github.com/reproof/reproof/internal/exitcode"
)

// Kind is the type of a difference.
type Kind string

// Difference kinds. The order of this list is the order differences of one
// path are reported in.
const (
	KindType        Kind = "type"        // file vs directory vs symlink, device numbers
	KindMissing     Kind = "missing"     // in A, not in B
	KindExtra       Kind = "extra"       // in B, not in A
	KindDuplicate   Kind = "duplicate"   // a name stored more than once on one side
	KindContent     Kind = "content"     // the bytes differ
	KindSize        Kind = "size"        // the sizes differ (always with content)
	KindLink        Kind = "link"        // symlink or hardlink target
	KindMode        Kind = "mode"        // permission bits
	KindOwner       Kind = "owner"       // uid, gid, user or group name
	KindMtime       Kind = "mtime"       // modification time
	KindXattr       Kind = "xattr"       // extended attributes
	KindPax         Kind = "pax"         // pax records, atime/ctime stored in the archive
	KindOrder       Kind = "order"       // entries stored in a different order
	KindCompression Kind = "compression" // same payload, different compressed bytes or header
	// KindAmbiguous is a construct that the mainstream extractors read
	// differently, or that reproof does not model: what a user gets
	// depends on the tool, so the pair is never equivalent.
	KindAmbiguous Kind = "ambiguous"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{
	KindAmbiguous, KindType, KindMissing, KindExtra, KindDuplicate, KindContent, KindSize, KindLink,
	KindMode, KindOwner, KindMtime, KindXattr, KindPax, KindOrder, KindCompression,
}

func (k Kind) rank() int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds)
}

// Difference is one typed difference at one path.
type Difference struct {
	// Path names the entry: the path inside the compared archive or
	// directory, with "!/" entering a nested archive ("lib/app.jar!/a.class").
	// The empty path is the compared input itself.
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
	// Detail says what differs in one line ("0644 → 0755").
	Detail string `json:"detail"`
	// Old and New are the two values, when the kind has them (a mode, a
	// time in RFC 3339 UTC, an owner "uid/gid uname/gname", a target).
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// SameContent is set on a link difference where a hardlink on one side
	// and a regular file on the other hold the same bytes: the link
	// structure differs, the content does not.
	SameContent bool `json:"same_content,omitempty"`
	// Privileged is set on an owner difference of an entry with setuid,
	// setgid or sticky bits: whose privileges it runs with, not who
	// packed it.
	Privileged bool `json:"privileged,omitempty"`
	// Diff shows a content difference.
	Diff *ContentDiff `json:"diff,omitempty"`
}

// IsContent reports whether the difference changes what a user gets
// (exit 1) rather than being one of the harmless differences of metadata,
// order or compression (exit 3): everything outside the closed list in
// Harmless is content.
func (d Difference) IsContent() bool { return !Harmless(d) }

// ContentDiff shows how two contents differ.
type ContentDiff struct {
	// Format is how the contents were compared: "text" (a unified diff),
	// "binary" (hexdump windows) or "elf" (by section). Nested archives
	// carry no ContentDiff: their own differences follow under their path.
	Format string `json:"format"`
	// Unified is the rendered diff: a unified diff for text, hexdump
	// windows for binary, the section hexdump for ELF.
	Unified string `json:"unified,omitempty"`
	// Sections lists the ELF sections that differ, with the build IDs.
	Sections []string `json:"sections,omitempty"`
	BuildID  []string `json:"build_id,omitempty"` // A and B, when either has one
	// Omitted counts lines or regions left out by the caps.
	Omitted int `json:"omitted,omitempty"`
}

// Input describes one side of the comparison.
type Input struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`   // "file" or "directory"
	Format string `json:"format"` // archive format ("tar+gzip"), "raw" for plain files
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// Result is the outcome of a comparison.
type Result struct {
	A, B Input
	// Entries counts the entries read on each side, nested ones included.
	EntriesA, EntriesB int64
	// Differences, sorted by path then kind. Empty when identical.
	Differences []Difference
	// Incomplete lists the limits reached (depth, entries, bytes) and the
	// nested inputs that could not be read: where the comparison stopped
	// short. A non-empty list makes the status StatusIncomplete.
	Incomplete []string
	// Image is set when the inputs were container images (package
	// image): what each reference resolved to, the verdict per platform.
	Image *ImageSummary
}

// Status summarizes a Result the way the exit code does.
type Status int

// Statuses, valued as the exit codes of reproof diff.
const (
	StatusIdentical    Status = exitcode.OK
	StatusDiffers      Status = exitcode.Differs
	StatusIncomplete   Status = exitcode.Error
	StatusMetadataOnly Status = exitcode.Normalized
)

func (s Status) String() string {
	switch s {
	case StatusIdentical:
		return "identical"
	case StatusDiffers:
		return "content differs"
	case StatusIncomplete:
		return "incomplete"
	case StatusMetadataOnly:
		return "only metadata, order or compression differ"
	}
	return "unknown"
}

// Status returns the result's status: incomplete wins, then any content
// difference, then any other difference.
func (r *Result) Status() Status {
	switch {
	case len(r.Incomplete) > 0:
		return StatusIncomplete
	case len(r.Differences) == 0:
		return StatusIdentical
	}
	for _, d := range r.Differences {
		if d.IsContent() {
			return StatusDiffers
		}
	}
	return StatusMetadataOnly
}

// sortDifferences orders differences by path (bytewise), then kind.
func sortDifferences(ds []Difference) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Path != ds[j].Path {
			return ds[i].Path < ds[j].Path
		}
		return ds[i].Kind.rank() < ds[j].Kind.rank()
	})
}
