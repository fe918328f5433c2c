package owner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Entry is a file or directory named by TempDir or TempFile, with the
// owner its name records.
type Entry struct {
	Path  string
	Owner ID
}

// FindDead returns the entries of parent named by TempDir or TempFile with
// prefix whose owner is dead, in name order, without removing anything:
// what Sweep would remove. A missing parent is not an error.
func FindDead(parent, prefix string) ([]Entry, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking for leftovers in %s: %w", parent, err)
	}
	var dead []Entry
	for _, e := range entries { // ReadDir sorts by name
		if id, ok := Of(e.Name(), prefix); ok && id.Dead() {
			dead = append(dead, Entry{Path: filepath.Join(parent, e.Name()), Owner: id})
		}
	}
	return dead, nil
}

// Scan returns the owner recorded anywhere in a name made by TempDir or
// TempFile, whatever its prefix: the first '-'-separated part of the name
// that parses as an ID. It is for directories that hold only temporary
// names (a cache's tmp directory), where the prefixes are not known.
func Scan(name string) (ID, bool) {
	for part := range strings.SplitSeq(name, "-") {
		if id, err := Parse(part); err == nil {
			return id, true
		}
	}
	return ID{}, false
}

// RemoveAll removes path and everything in it, first giving its
// directories back their write and search permissions where a build took
// them away. Symbolic links are never followed.
func RemoveAll(path string) error { return removeAll(path) }
