package rebuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/mountinfo"
)

// Limits bound what a build may take of the machine. Docker, podman and
// runc apply the same ones; reaching one stops the build, which then fails
// with a *BuildError naming it. In Options a zero field means its default
// (see ResolveLimits).
type Limits struct {
	// Pids caps the processes and threads the build has at once (the pids
	// cgroup). A build that reaches it is killed: a fork that fails is
	// how a fork bomb looks, and a build that keeps forking gets nowhere.
	Pids int64
	// Memory caps the build's memory in bytes (the memory cgroup, swap
	// included, so no swap): anonymous memory, page cache and the tmpfs
	// /tmp and HOME. When the kernel's OOM killer kills a process of the
	// build for it, the build is killed.
	Memory int64
	// CPUs caps the CPU time the build gets, in CPUs (the CFS quota): 1.5
	// is one and a half CPUs' worth. The CPUs the build sees are the
	// host's.
	CPUs float64
	// TmpfsSize caps each of the build's tmpfs mounts, /tmp and HOME, in
	// bytes. Their pages count toward Memory too. Filling one stops the
	// build.
	TmpfsSize int64
	// OutputSize caps the checkout the build runs in (the source, and all
	// it writes there: its output), in bytes. Reaching it stops the build.
	OutputSize int64
}

// The defaults of the limits, and how long reproof waits for a container
// engine to answer one call.
const (
	DefaultPids = 4096
	// DefaultMemory, or half of the host's memory if that is less.
	DefaultMemory = 8 << 30
	// DefaultTmpfsSize, or Memory if that is less.
	DefaultTmpfsSize = 2 << 30
	// DefaultOutputSize, or half of the free space of the filesystem that
	// holds the work directory if that is less.
	DefaultOutputSize = 16 << 30
	// DefaultEngineTimeout bounds each wait for docker, podman or runc to
	// answer (version, inspect, create, kill, rm, ...; for an image load,
	// each wait for it to take more of the image), unless the build's own
	// timeout is shorter (but never less than 10 seconds).
	DefaultEngineTimeout = time.Minute
	// minEngineTimeout is the least engine timeout a short build timeout
	// makes.
	minEngineTimeout = 10 * time.Second
)

// Floors below which a limit is refused: a build needs a shell and a few
// processes, a little memory, and a checkout.
const (
	minPids   = 8
	minMemory = 16 << 20
	minSize   = 1 << 20
)

// ResolveLimits fills the zero fields of l with their defaults for this
// host, workDir being where the work directory will be made (its
// filesystem holds the output). It refuses limits too small to run a
// build and a CPU count that is not positive.
func ResolveLimits(l Limits, workDir string) (Limits, error) {
	if l.Pids == 0 {
		l.Pids = DefaultPids
	}
	if l.Memory == 0 {
		l.Memory = DefaultMemory
		if host := hostMemory(); host > 0 && host/2 < l.Memory {
			l.Memory = host / 2
		}
	}
	if l.CPUs == 0 {
		l.CPUs = float64(runtime.NumCPU())
	}
	if l.TmpfsSize == 0 {
		l.TmpfsSize = min(int64(DefaultTmpfsSize), l.Memory)
	}
	if l.OutputSize == 0 {
		l.OutputSize = DefaultOutputSize
		var st unix.Statfs_t
		if unix.Statfs(workDir, &st) == nil {
			if free := int64(st.Bavail) * int64(st.Bsize); free/2 < l.OutputSize {
				l.OutputSize = max(free/2, minSize)
			}
		}
	}
	switch {
	case l.Pids < minPids:
		return l, fmt.Errorf("process limit %d: want at least %d", l.Pids, minPids)
	case l.Memory < minMemory:
		return l, fmt.Errorf("memory limit %s: want at least %s", FormatSize(l.Memory), FormatSize(minMemory))
	case !(l.CPUs > 0) || l.CPUs > 1<<20:
		return l, fmt.Errorf("CPU limit %g: want a positive number of CPUs", l.CPUs)
	case l.TmpfsSize < minSize:
		return l, fmt.Errorf("tmpfs size %s: want at least %s", FormatSize(l.TmpfsSize), FormatSize(minSize))
	case l.OutputSize < minSize:
		return l, fmt.Errorf("output limit %s: want at least %s", FormatSize(l.OutputSize), FormatSize(minSize))
	}
	return l, nil
}

// hostMemory is the host's RAM in bytes, 0 if unknown.
func hostMemory() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// String is the limits as the progress line and docs give them.
func (l Limits) String() string {
	return fmt.Sprintf("processes %d, memory %s, CPUs %s, tmpfs %s each, output %s",
		l.Pids, FormatSize(l.Memory), formatCPUs(l.CPUs), FormatSize(l.TmpfsSize), FormatSize(l.OutputSize))
}

func formatCPUs(c float64) string { return strconv.FormatFloat(c, 'f', -1, 64) }

// FormatSize writes a byte count in binary units as people read them:
// "64 MiB", "1.5 GiB", "1000 bytes".
func FormatSize(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + units[u]
}

// LimitReached is a limit the build reached, for which it was stopped.
type LimitReached struct {
	// Name is the limit's name as the spec spells it: "pids_limit",
	// "memory", "tmpfs_size" or "output_limit".
	Name string
	// Value is the limit: bytes, or processes for pids_limit.
	Value int64
	msg   string
}

// Error is the sentence that says so: "build killed: memory limit 64 MiB
// reached".
func (l *LimitReached) Error() string { return l.msg }

func pidsReached(n int64) *LimitReached {
	return &LimitReached{Name: "pids_limit", Value: n, msg: fmt.Sprintf("build killed: process limit %d reached", n)}
}

func memoryReached(n int64) *LimitReached {
	return &LimitReached{Name: "memory", Value: n, msg: fmt.Sprintf("build killed: memory limit %s reached", FormatSize(n))}
}

func tmpfsReached(dir string, n int64) *LimitReached {
	return &LimitReached{Name: "tmpfs_size", Value: n, msg: fmt.Sprintf("build stopped: %s exceeded %s", dir, FormatSize(n))}
}

func outputReached(n int64) *LimitReached {
	return &LimitReached{Name: "output_limit", Value: n, msg: fmt.Sprintf("build stopped: output exceeded %s", FormatSize(n))}
}

// limitBuildError is Run's result for a build stopped at a limit.
func limitBuildError(l *LimitReached) *BuildError {
	return &BuildError{ExitCode: -1, Signal: "SIGKILL", Limit: l}
}

// limitCause is the limit ctx was cancelled for, if it was.
func limitCause(cause error) *LimitReached {
	var l *LimitReached
	if errors.As(cause, &l) {
		return l
	}
	return nil
}

// watchInterval is how often a running build is looked at for the limits
// the kernel does not stop by itself (a fork that fails, a full tmpfs or
// output filesystem).
const watchInterval = 200 * time.Millisecond

// limitWatch looks at a running build's cgroups and filesystems for the
// limits it reaches. The kernel enforces the limits; the watch tells that
// one was reached, which the kernel only counts.
type limitWatch struct {
	limits Limits
	// The files the kernel counts limit events in: pids.events ("max N"),
	// and memory.events (cgroup v2) or memory.oom_control (v1)
	// ("oom_kill N"). Empty when not found.
	pidsEvents, memEvents string
	// tmpfs are the build's tmpfs mounts seen through its init's
	// /proc/PID/root, with their names in the container.
	tmpfs [][2]string

	once sync.Once
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	hit  *LimitReached
}

// watchLimits starts watching the build whose init is pid; the cgroup path
// of pid must contain mustContain (the container's ID or name), so that a
// pid of another machine (a remote engine) is never watched in its place.
// onHit is called once, from the watch's goroutine, with the first limit
// reached. What cannot be found is not watched: the limits still hold,
// and only the message that names them is lost.
func watchLimits(pid int, mustContain string, spec *RunSpec, onHit func(*LimitReached)) *limitWatch {
	w := &limitWatch{limits: spec.Limits, stop: make(chan struct{}), done: make(chan struct{})}
	if pid > 0 {
		w.pidsEvents, w.memEvents = cgroupEventFiles(pid, mustContain)
		if w.pidsEvents != "" || w.memEvents != "" { // it is ours: its root is the container's
			root := fmt.Sprintf("/proc/%d/root", pid)
			for _, d := range []string{"/tmp", spec.Home} {
				w.tmpfs = append(w.tmpfs, [2]string{root + d, d})
			}
		}
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(watchInterval)
		defer tick.Stop()
		for {
			if l := w.check(true); l != nil {
				onHit(l)
				return
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// watchWhenStarted finds the build's init with find, asking until it
// gives a PID (for up to t), and then watches the build's limits, calling
// onHit with the first one reached. It returns the function that stops the
// watch and returns the limit reached, if any; final takes one more look
// at the cgroups once the build has exited (see limitWatch.Stop).
func watchWhenStarted(spec *RunSpec, t time.Duration, find func(context.Context) (pid int, id string, err error), onHit func(*LimitReached)) func(final bool) *LimitReached {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu    sync.Mutex
		w     *limitWatch
		found = make(chan struct{})
	)
	go func() {
		defer close(found)
		deadline := time.Now().Add(t)
		for ctx.Err() == nil && time.Now().Before(deadline) {
			if pid, id, err := find(ctx); err == nil && pid > 0 {
				mu.Lock()
				if ctx.Err() == nil {
					w = watchLimits(pid, id, spec, onHit)
				}
				mu.Unlock()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	var (
		once   sync.Once
		result *LimitReached
	)
	return func(final bool) *LimitReached {
		once.Do(func() {
			mu.Lock()
			cancel()
			mu.Unlock()
			<-found
			if w != nil {
				result = w.Stop(final)
			}
		})
		return result
	}
}

// check looks once; tmpfs says whether the tmpfs mounts are looked at (not
// once the build has exited: its /proc/PID is then another process's or
// none). The first limit found is kept.
func (w *limitWatch) check(tmpfs bool) *LimitReached {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hit != nil {
		return w.hit
	}
	switch {
	case w.pidsEvents != "" && eventCount(w.pidsEvents, "max") > 0:
		w.hit = pidsReached(w.limits.Pids)
	case w.memEvents != "" && eventCount(w.memEvents, "oom_kill") > 0:
		w.hit = memoryReached(w.limits.Memory)
	case tmpfs:
		for _, t := range w.tmpfs {
			if fsFull(t[0], w.limits.TmpfsSize) {
				w.hit = tmpfsReached(t[1], w.limits.TmpfsSize)
				break
			}
		}
	}
	return w.hit
}

// Stop ends the watch and returns the limit reached, if any; final takes
// one more look at the cgroups (for runc, whose cgroups outlive the build
// until its container is deleted).
func (w *limitWatch) Stop(final bool) *LimitReached {
	w.once.Do(func() { close(w.stop) })
	<-w.done
	if final {
		return w.check(false)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hit
}

// fsFull tells whether the filesystem at dir has reached limit bytes: less
// than a small margin is left of it.
func fsFull(dir string, limit int64) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	margin := min(int64(1<<20), limit/64)
	return int64(st.Bavail)*int64(st.Bsize) < margin
}

// eventCount reads the counter key of a cgroup flat-keyed file ("max 3",
// "oom_kill 1"); 0 if absent or unreadable.
func eventCount(file, key string) int64 {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// cgroupEventFiles finds the pids and memory event files of the cgroups
// pid is in, on cgroup v1 (a hierarchy per controller) or v2 (one unified
// hierarchy), "" for those not found or not under a path containing
// mustContain.
func cgroupEventFiles(pid int, mustContain string) (pids, memory string) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", ""
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return "", ""
	}
	// dir finds the directory of cgroup path in the hierarchy mounted
	// with fstype and, for v1, the controller among its options.
	dir := func(fstype, controller, path string) string {
		if !strings.Contains(path, mustContain) {
			return ""
		}
		for _, m := range mounts {
			if m.FSType != fstype {
				continue
			}
			if controller != "" && !hasOption(m.SuperOptions, controller) {
				continue
			}
			rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.Root, "/"))
			if !ok {
				continue
			}
			d := filepath.Join(m.Point, rel)
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				return d
			}
		}
		return ""
	}
	var unified string
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			switch c {
			case "pids":
				if d := dir("cgroup", "pids", parts[2]); d != "" {
					pids = filepath.Join(d, "pids.events")
				}
			case "memory":
				if d := dir("cgroup", "memory", parts[2]); d != "" {
					memory = filepath.Join(d, "memory.oom_control")
				}
			}
		}
	}
	if unified != "" && (pids == "" || memory == "") {
		if d := dir("cgroup2", "", unified); d != "" {
			if _, err := os.Stat(filepath.Join(d, "pids.events")); err == nil && pids == "" {
				pids = filepath.Join(d, "pids.events")
			}
			if _, err := os.Stat(filepath.Join(d, "memory.events")); err == nil && memory == "" {
				memory = filepath.Join(d, "memory.events")
			}
		}
	}
	return pids, memory
}

func hasOption(options, want string) bool {
	for _, o := range strings.Split(options, ",") {
		if o == want {
			return true
		}
	}
	return false
}
