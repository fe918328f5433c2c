package check

import (
	"slices"

	"github.com/reproof/reproof/compare"
)

// Hint is a known cause of a difference and its usual fix, keyed by the
// variation that brings it out and the kind of difference it makes
// (compare.Kind; "" matches any kind). docs/check.md lists the table.
type Hint struct {
	Variation string
	Kind      compare.Kind
	Text      string
}

// Hints is the table, most specific first: for each culprit the first
// entry whose variation and kind match a difference is given, and the
// kind-only entries ("" variation) add what any variation's difference of
// that kind means.
var Hints = []Hint{
	{"build-path", "", "the checkout path is embedded: build with -trimpath (Go), -ffile-prefix-map=$PWD=. (C, C++), --remap-path-prefix (Rust)"},
	{"user", compare.KindOwner, "archive entries take the build user as owner: tar --owner=0 --group=0 --numeric-owner"},
	{"user", "", "the build user's name or UID is embedded (whoami, id, $USER): leave it out"},
	{"umask", compare.KindMode, "file modes come from the umask: set them explicitly (install -m, chmod, tar --mode=go-w)"},
	{"umask", "", "file modes come from the umask: set them explicitly (install -m, chmod, tar --mode=go-w)"},
	{"timezone", compare.KindMtime, "times are stored in local time (zip): run the archiver with TZ=UTC"},
	{"timezone", "", "a date is formatted in the local time zone: format it in UTC (date -u, TZ=UTC)"},
	{"locale", compare.KindOrder, "the order follows the locale's collation: sort with LC_ALL=C"},
	{"locale", "", "sorting or messages depend on the locale: set LC_ALL=C for sort, ls and the tools whose output is kept"},
	{"hostname", "", "the host name is embedded (a version string, a build banner): leave it out"},
	{"home", "", "the home directory is embedded (a cache or config path, ~ expanded): keep it out of the artifacts"},
	{"environment", "", "the build records its environment (an env dump, a build-info block): record only the variables it needs"},
	{"cpus", "", "the output depends on the number of CPUs (parallel jobs finishing in another order, -j$(nproc)): sort what the jobs produce, or make it independent of the job count"},
	{"file-order", compare.KindOrder, "entries are stored in directory order: tar --sort=name, or sort the file list (LC_ALL=C sort)"},
	{"file-order", "", "inputs are taken in directory order (globbing, find, readdir): sort them"},
	{"kernel", "", "the kernel version (uname -r) is embedded: leave it out"},
	{"aslr", "", "memory addresses reach the output (pointers printed or hashed, iteration in address order): do not print or hash pointers"},
	{"time", compare.KindMtime, "file times come from the clock: set them from SOURCE_DATE_EPOCH (tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime, touch -d @$SOURCE_DATE_EPOCH)"},
	{"time", compare.KindCompression, "gzip stores the time in its header: gzip -n"},
	{"time", "", "the current time is embedded: use SOURCE_DATE_EPOCH instead of the clock"},
	{"", compare.KindOrder, "archive members in directory order: tar --sort=name"},
	{"", compare.KindMtime, "archive mtimes: tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime"},
	{"", compare.KindCompression, "compressor headers: gzip -n (no name, no time)"},
}

// hintsFor returns the hints for a culprit (its variations) given the
// differences it makes, in table order, without repeats.
func hintsFor(vars []string, diffs []compare.Difference) []string {
	kinds := map[compare.Kind]bool{}
	for _, d := range diffs {
		kinds[d.Kind] = true
	}
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, v := range vars {
		for _, h := range Hints {
			if h.Variation == v && (h.Kind == "" || kinds[h.Kind]) {
				add(h.Text)
				break
			}
		}
	}
	for _, h := range Hints {
		if h.Variation == "" && kinds[h.Kind] {
			add(h.Text)
		}
	}
	return out
}
