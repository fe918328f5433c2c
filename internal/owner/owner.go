// Package owner names what a reproof process leaves on the host (work
// directories, temp files, containers, runtime state) after the process that
// made it, so that a later run can tell a dead run's leftovers from a live
// run's and remove them.
//
// An owner is identified by the kernel's boot, the pid namespace, the pid and
// the process's start time: a pid reused after a crash has another start time,
// and anything made before a reboot has another boot. A name from another pid
// namespace of the same boot (a container sharing a cache volume) is never
// judged dead: its process cannot be seen from here.
package owner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ID identifies one process of one boot.
type ID struct {
	Boot  string // first 8 hex digits of /proc/sys/kernel/random/boot_id
	PIDNS uint64 // inode of the pid namespace, 0 when unknown
	PID   int
	Start uint64 // start time in clock ticks since boot (/proc/PID/stat field 22)
}

var (
	selfOnce sync.Once
	self     ID
)

// Self returns the ID of the running process.
func Self() ID {
	selfOnce.Do(func() {
		self = ID{Boot: bootID(), PIDNS: pidNamespace("self"), PID: os.Getpid()}
		self.Start, _ = startTime(self.PID)
	})
	return self
}

// String is the ID's form in names and labels: BOOT.PIDNS.PID.START, which
// holds no '-' so that it can sit between a prefix and a random suffix.
func (id ID) String() string {
	return fmt.Sprintf("%s.%d.%d.%d", id.Boot, id.PIDNS, id.PID, id.Start)
}

// Parse reads an ID in the form String writes.
func Parse(s string) (ID, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 || parts[0] == "" {
		return ID{}, fmt.Errorf("owner %q: want BOOT.PIDNS.PID.START", s)
	}
	ns, err1 := strconv.ParseUint(parts[1], 10, 64)
	pid, err2 := strconv.Atoi(parts[2])
	start, err3 := strconv.ParseUint(parts[3], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil || pid <= 0 {
		return ID{}, fmt.Errorf("owner %q: want BOOT.PIDNS.PID.START", s)
	}
	return ID{Boot: parts[0], PIDNS: ns, PID: pid, Start: start}, nil
}

// Dead reports whether the owner is certainly gone: it ran in an earlier boot,
// or in this pid namespace and its pid is free or now names a process that
// started at another time. An owner in another namespace is never dead.
func (id ID) Dead() bool {
	me := Self()
	if id.Boot != me.Boot {
		return me.Boot != "" // without a boot id, nothing can be judged
	}
	if id.PIDNS != me.PIDNS {
		return false
	}
	if id == me {
		return false
	}
	start, err := startTime(id.PID)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return start != id.Start
}

// TempDir makes a new directory in parent named prefix, the running
// process's ID, '-' and a random suffix.
func TempDir(parent, prefix string) (string, error) {
	return os.MkdirTemp(parent, prefix+Self().String()+"-")
}

// TempFile makes a new file in dir named like TempDir's directories.
func TempFile(dir, prefix string) (*os.File, error) {
	return os.CreateTemp(dir, prefix+Self().String()+"-")
}

// Of returns the owner recorded in a name made by TempDir or TempFile with
// the same prefix.
func Of(name, prefix string) (ID, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return ID{}, false
	}
	token, _, ok := strings.Cut(rest, "-")
	if !ok {
		return ID{}, false
	}
	id, err := Parse(token)
	return id, err == nil
}

// Sweep removes every entry of parent named by TempDir or TempFile with
// prefix whose owner is dead, and returns the paths it removed. Entries of
// live owners, of other namespaces and names it cannot read stay. A missing
// parent is not an error.
func Sweep(parent, prefix string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", parent, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		id, ok := Of(e.Name(), prefix)
		if !ok || !id.Dead() {
			continue
		}
		path := filepath.Join(parent, e.Name())
		if err := removeAll(path); err != nil {
			errs = append(errs, fmt.Errorf("sweep %s: %w", path, err))
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

// removeAll removes path, first making its directories writable: a build
// may leave read-only trees behind.
func removeAll(path string) error {
	if err := os.RemoveAll(path); err == nil {
		return nil
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	id := strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}

func pidNamespace(pid string) uint64 {
	link, err := os.Readlink("/proc/" + pid + "/ns/pid")
	if err != nil {
		return 0
	}
	// "pid:[4026531836]"
	inner := strings.TrimSuffix(strings.TrimPrefix(link, "pid:["), "]")
	n, err := strconv.ParseUint(inner, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// startTime reads field 22 of /proc/PID/stat. The command name (field 2) is
// in parentheses and may hold spaces, so fields are counted after its ')'.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Beside prepares a temporary name next to path (a report, an output
// directory written through a rename): it returns path's directory and
// the prefix "."+base(path)+tag for TempDir or TempFile, after removing
// what dead runs left there under that prefix. Those leftovers live in the
// user's directories, where no start-up sweep of $TMPDIR looks; a failure
// to remove one does not stop this run (gc reports it).
func Beside(path, tag string) (dir, prefix string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	prefix = "." + base + tag
	Sweep(dir, prefix) //nolint:errcheck // see above
	return dir, prefix
}
