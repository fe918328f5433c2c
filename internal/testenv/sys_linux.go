package testenv

import (
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

	"github.com/reproof/reproof/internal/mountinfo"
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

// cgroupDirs returns the existing cgroup directories named name, in every
// mounted hierarchy, both at the root and under this process's own cgroup
// (a relative --cgroup-parent lands there).
func cgroupDirs(name string) ([]string, error) {
	mounts, err := mountinfo.Read()
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
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		for p := range own {
			d := filepath.Join(m.Point, p, name)
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
					syscall.Kill(pid, syscall.SIGKILL) //nolint:errcheck // it may be gone already; waited for below
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

// unmountUnder lazily unmounts everything mounted at or under dir: overlay
// layers under the data root, the netns/default bind under the exec root,
// the private bind mounts the storage driver makes.
func unmountUnder(dir string) error { return mountinfo.UnmountUnder(dir) }
