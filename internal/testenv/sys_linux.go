package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// processExitTimeout bounds waits for killed processes and busy cgroups.
const processExitTimeout = 10 * time.Second

func checkPlatform() error { return nil }

// daemonSysProcAttr puts a daemon in its own process group and has the
// kernel send it SIGTERM if the test process dies without stopping it.
func daemonSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// killProcessesUsing kills every process (but this one) whose command line
// names dir or a path under it — dockerd, containerd and shims of an engine —
// and waits until they are gone.
func killProcessesUsing(dir string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	self := os.Getpid()
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || !namesPath(cmdline, dir) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			pids = append(pids, pid)
		}
	}
	return waitGone(pids, "processes using "+dir)
}

// namesPath reports whether a NUL-separated command line contains dir as a
// whole path or a prefix of one.
func namesPath(cmdline []byte, dir string) bool {
	for _, arg := range bytes.Split(cmdline, []byte{0}) {
		for i := bytes.Index(arg, []byte(dir)); i >= 0; {
			end := i + len(dir)
			if end == len(arg) || arg[end] == '/' {
				return true
			}
			j := bytes.Index(arg[end:], []byte(dir))
			if j < 0 {
				break
			}
			i = end + j
		}
	}
	return false
}

func waitGone(pids []int, what string) error {
	deadline := time.Now().Add(processExitTimeout)
	for {
		var alive []int
		for _, pid := range pids {
			if processAlive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still running after SIGKILL: %v", what, alive)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	point  string
	fstype string
	super  string // super options, e.g. "rw,memory"
}

func readMounts() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []mountInfo
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source super
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+3 >= len(fields) {
			continue
		}
		mounts = append(mounts, mountInfo{
			point:  unescapeMount(fields[4]),
			fstype: fields[sep+1],
			super:  fields[sep+3],
		})
	}
	return mounts, sc.Err()
}

// unescapeMount undoes the octal escapes (\040 for space, …) of mountinfo.
func unescapeMount(s string) string {
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

// mountsUnder returns the mount points at or under dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	var points []string
	for _, m := range mounts {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			points = append(points, m.point)
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

// unmountUnder lazily unmounts everything mounted at or under dir: overlay
// layers under the data root, the netns/default bind under the exec root,
// the private bind mounts the storage driver makes.
func unmountUnder(dir string) error {
	for pass := 0; pass < 5; pass++ {
		points, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
		}
	}
	points, err := mountsUnder(dir)
	if err == nil && len(points) > 0 {
		err = fmt.Errorf("still mounted: %s", strings.Join(points, ", "))
	}
	return err
}

// cgroupDirs returns the existing cgroup directories named name, in every
// mounted hierarchy, both at the root and under this process's own cgroup
// (a relative --cgroup-parent lands there).
func cgroupDirs(name string) ([]string, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	own := map[string]bool{"/": true}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if parts := strings.SplitN(line, ":", 3); len(parts) == 3 {
				own[parts[2]] = true
			}
		}
	}
	seen := map[string]bool{}
	var dirs []string
	for _, m := range mounts {
		if m.fstype != "cgroup" && m.fstype != "cgroup2" {
			continue
		}
		for p := range own {
			d := filepath.Join(m.point, p, name)
			if seen[d] {
				continue
			}
			seen[d] = true
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				dirs = append(dirs, d)
			}
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// removeCgroups kills what still runs in the cgroups named name and removes
// them, children first.
func removeCgroups(name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("refusing to remove cgroups named %q", name)
	}
	roots, err := cgroupDirs(name)
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		for i := len(dirs) - 1; i >= 0; i-- { // WalkDir is pre-order: reverse is children first
			errs = append(errs, removeCgroup(dirs[i]))
		}
	}
	return errors.Join(errs...)
}

func removeCgroup(dir string) error {
	deadline := time.Now().Add(processExitTimeout)
	for {
		var pids []int
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					pids = append(pids, pid)
				}
			}
		}
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %q (processes %v): %w", dir, pids, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
