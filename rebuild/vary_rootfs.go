package rebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/reproof/reproof/internal/owner"
)

// rootfsCacheMu serializes the unpacking of one image into a rootfs cache
// by the builds of one process (reproof check runs several at once).
var rootfsCacheMu sync.Mutex

// cachedRootfs makes rootfs (an empty directory) the root filesystem of
// image digest from the cache directory dir: the image is unpacked there
// once, under its digest, and each build mounts an overlay of it, with
// its own upper directory in scratch, so that what the build's runtime
// writes (mountpoints) never reaches the cache. It returns false, with no
// error, when the overlay cannot be mounted here (overlayfs on overlayfs,
// say): the caller unpacks the image itself.
func (r *runc) cachedRootfs(ctx context.Context, spec *RunSpec, dir, scratch, rootfs string) (bool, error) {
	lower, err := r.unpackOnce(ctx, spec, dir)
	if err != nil {
		return false, err
	}
	upper, work := filepath.Join(scratch, "rootfs-upper"), filepath.Join(scratch, "rootfs-work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return false, err
		}
	}
	if err := os.Chmod(upper, 0o755); err != nil {
		return false, err
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if strings.ContainsAny(lower+upper+work, ",:") {
		return false, nil // overlayfs option syntax cannot say these paths
	}
	if err := unix.Mount("overlay", rootfs, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		os.Remove(upper)
		os.Remove(work)
		return false, nil
	}
	return true, nil
}

// unpackOnce returns the directory in the cache dir holding spec's image
// unpacked, unpacking it first if no build has yet.
func (r *runc) unpackOnce(ctx context.Context, spec *RunSpec, dir string) (string, error) {
	rootfsCacheMu.Lock()
	defer rootfsCacheMu.Unlock()
	lower := filepath.Join(dir, strings.ReplaceAll(spec.Image.Digest, ":", "-"))
	if fi, err := os.Stat(lower); err == nil && fi.IsDir() {
		return lower, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	tmp, err := owner.TempDir(dir, "reproof-rebuild-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if _, err := unpackRootfs(ctx, spec.Image.Image, tmp, r.limits); err != nil {
		removeTree(tmp)
		return "", fmt.Errorf("unpacking image %s: %w", spec.Image.Digest, err)
	}
	if err := os.Rename(tmp, lower); err != nil {
		removeTree(tmp)
		return "", err
	}
	return lower, nil
}
