// Package mountinfo reads this process's mount table and removes the
// mounts under a directory: what reproof's runc runtime and the test
// environment's private Docker engine leave to clean up.
package mountinfo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Point  string // the mount point, unescaped
	FSType string
	// Root is the directory of the filesystem mounted at Point, unescaped
	// ("/" unless a subtree is mounted); SuperOptions are the
	// filesystem's own options ("rw,memory" for a cgroup v1 hierarchy).
	Root         string
	SuperOptions string
}

// Read returns the mounts of this process's mount namespace.
func Read() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source options
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		m := Mount{Point: unescape(fields[4]), FSType: fields[sep+1], Root: unescape(fields[3])}
		if sep+3 < len(fields) {
			m.SuperOptions = fields[sep+3]
		}
		mounts = append(mounts, m)
	}
	return mounts, sc.Err()
}

// unescape undoes the octal escapes (\040 for space, …) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Under returns the mount points at or under dir, deepest first. The mount
// table holds real paths: a symlink in dir is resolved first.
func Under(dir string) ([]string, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	mounts, err := Read()
	if err != nil {
		return nil, err
	}
	var points []string
	for _, m := range mounts {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			points = append(points, m.Point)
		}
	}
	sort.Slice(points, func(i, j int) bool {
		if len(points[i]) != len(points[j]) {
			return len(points[i]) > len(points[j])
		}
		return points[i] > points[j]
	})
	return points, nil
}

// UnmountUnder lazily detaches everything mounted at or under dir, deepest
// first, in up to five passes (a detach can uncover a mount below it), and
// names what is still mounted after them.
func UnmountUnder(dir string) error {
	for range 5 {
		points, err := Under(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			syscall.Unmount(p, syscall.MNT_DETACH) //nolint:errcheck // checked by the next pass
		}
	}
	points, err := Under(dir)
	if err == nil && len(points) > 0 {
		err = fmt.Errorf("still mounted under %s: %s", dir, strings.Join(points, ", "))
	}
	return err
}
