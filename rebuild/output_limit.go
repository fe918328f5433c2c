package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outputVolume holds the checkout the build writes its output into, and
// enforces the output limit on it. As root it is a filesystem of its own:
// an ext4 image (a sparse file in the work directory) mounted through a
// loop device at dir, which can hold no more than a little over the limit
// whatever the build does. Without root, or where no loop device can be
// had, dir is a plain directory whose usage is watched instead.
//
// Either way the limit counts the blocks in use under dir (the checkout
// with its .git, and everything the build writes there); reaching it
// stops the build.
type outputVolume struct {
	dir     string
	limit   int64
	image   string // the ext4 image; "" when watched
	mounted bool
	why     string // why the limit is watched rather than mounted
}

// Sizes of the output filesystem beyond the limit: room for ext4's own
// metadata (about 3% with one inode per 8 KiB) and some slack, so that the
// filesystem fills a little after the limit is reached, not before.
const (
	outputSlackFixed = 8 << 20
	outputSlackShare = 16 // 1/16 of the limit
)

// outputHashSeed is the directory hash seed of every output filesystem.
const outputHashSeed = "5e6f1d2c-0b7a-4e38-9c41-72d3a8f0b6e5"

// Where mkfs.ext4 is looked for, beyond PATH (a user's PATH may lack sbin).
var sbinPath = []string{"/usr/sbin", "/sbin"}

// newOutputVolume makes dir (which must not exist) the output volume of
// limit bytes, using work for the image file. t bounds mkfs and mount.
func newOutputVolume(ctx context.Context, dir, work string, limit int64, t time.Duration) (*outputVolume, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	v := &outputVolume{dir: dir, limit: limit}
	if os.Geteuid() != 0 {
		v.why = "not root"
		return v, nil
	}
	if err := v.mount(ctx, filepath.Join(work, "output.ext4"), t); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.why = oneLine(err)
		os.Remove(filepath.Join(work, "output.ext4"))
		return v, nil
	}
	return v, nil
}

// mount makes and mounts the ext4 image at v.dir.
func (v *outputVolume) mount(ctx context.Context, image string, t time.Duration) error {
	mkfs, err := lookSbin("mkfs.ext4")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(image, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	size := v.limit + v.limit/outputSlackShare + outputSlackFixed
	size -= size % 4096
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// No journal and lazy inode tables: nothing is written for space the
	// build does not use, and the image stays sparse. A fixed directory
	// hash seed: directories list their entries in the same order in
	// every build (a random seed, mkfs's default, would shuffle them from
	// one build to the next; reproof check varies the order on purpose).
	if err := runBounded(ctx, t, mkfs, "-q", "-F", "-m", "0", "-b", "4096", "-i", "8192",
		"-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard,hash_seed="+outputHashSeed, image); err != nil {
		return err
	}
	mount, err := lookSbin("mount")
	if err != nil {
		return err
	}
	// noinit_itable: the kernel does not zero the inode tables in the
	// background either. util-linux sets up the loop device with
	// autoclear, so unmounting releases it.
	if err := runBounded(ctx, t, mount, "-t", "ext4", "-o", "loop,nosuid,nodev,noinit_itable", "--", image, v.dir); err != nil {
		return err
	}
	v.image, v.mounted = image, true
	// An empty directory is what the checkout wants.
	if err := os.Remove(filepath.Join(v.dir, "lost+found")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(err, v.Close())
	}
	return os.Chmod(v.dir, 0o755)
}

// Enforcement says how the limit is held, for the progress line and the
// provenance: "filesystem" (a filesystem of its own, the limit plus slack
// in size), or "watched (WHY)".
func (v *outputVolume) Enforcement() string {
	if v.mounted {
		return "filesystem"
	}
	return "watched (" + v.why + ")"
}

// used is the space in use under dir, in bytes.
func (v *outputVolume) used() (int64, error) {
	if v.mounted {
		var st unix.Statfs_t
		if err := unix.Statfs(v.dir, &st); err != nil {
			return 0, err
		}
		return int64(st.Blocks-st.Bfree) * int64(st.Bsize), nil
	}
	var total int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(v.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return nil // unreadable: what can be read still counts
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			return nil
		}
		if st.Nlink > 1 && !d.IsDir() {
			k := [2]uint64{st.Dev, st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total, err
}

// Exceeded tells whether the output has reached the limit.
func (v *outputVolume) Exceeded() bool {
	n, err := v.used()
	return err == nil && n >= v.limit
}

// Watch looks at the output while the build runs and calls stop with the
// limit once it is reached; the function it returns ends the watch. A
// mounted volume is cheap to look at (statfs); a watched directory is
// walked, less often when the walk takes long.
func (v *outputVolume) Watch(stop func(*LimitReached)) (end func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		interval := watchInterval
		if !v.mounted {
			interval = time.Second
		}
		for {
			start := time.Now()
			if v.Exceeded() {
				stop(outputReached(v.limit))
				return
			}
			wait := max(interval, 10*time.Since(start))
			select {
			case <-quit:
				return
			case <-time.After(wait):
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// Close unmounts the volume (the loop device goes with it); the image is
// removed with the work directory.
func (v *outputVolume) Close() error {
	if !v.mounted {
		return nil
	}
	if err := unix.Unmount(v.dir, 0); err != nil {
		// Something still holds it (a build process in its last
		// moments): detach it, the kernel frees it when released.
		if derr := unix.Unmount(v.dir, unix.MNT_DETACH); derr != nil {
			return fmt.Errorf("unmounting the output filesystem %s: %w", v.dir, err)
		}
	}
	v.mounted = false
	return nil
}

// runBounded runs a command that should take little time, with deadline t.
func runBounded(ctx context.Context, t time.Duration, bin string, args ...string) error {
	cctx, cancel := context.WithTimeoutCause(ctx, t, errNoAnswer)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(context.Cause(cctx), errNoAnswer):
		return fmt.Errorf("%s did not finish within %s", filepath.Base(bin), t)
	}
	msg := strings.Join(strings.Fields(string(out)), " ")
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%s: %s", filepath.Base(bin), msg)
}

// lookSbin finds a system program in PATH or the sbin directories.
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinPath {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found (Debian packages e2fsprogs, mount)", name)
}
