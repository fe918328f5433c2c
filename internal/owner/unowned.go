package owner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SweepUnowned removes every entry of parent whose name starts with prefix
// but records no owner (made by a reproof older than this package) and that
// was last modified more than age ago, and returns the paths it removed.
// Such a name cannot say whether its maker still runs, so only its age can
// retire it. A missing parent is not an error.
func SweepUnowned(parent, prefix string, age time.Duration) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep %s: %w", parent, err)
	}
	cutoff := time.Now().Add(-age)
	var removed []string
	var errs []error
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if _, owned := Of(e.Name(), prefix); owned {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
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
