package rebuild

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/bmatcuk/doublestar/v4"
)

// Artifact is one rebuilt file, copied out of the checkout.
type Artifact struct {
	Name   string // the file name in the output directory (the base name)
	Path   string // where the build left it, relative to the checkout
	Size   int64
	SHA256 string // hex
	SHA512 string // hex
}

// ErrNoArtifacts: the build succeeded but produced nothing an artifact
// pattern matches. It counts as a failed build.
var ErrNoArtifacts = errors.New("the build produced no artifact")

// ValidateArtifactPattern checks a --artifacts glob: relative to the
// checkout, no "..", and valid doublestar syntax.
func ValidateArtifactPattern(p string) error {
	switch {
	case p == "":
		return errors.New("empty artifact pattern")
	case path.IsAbs(p) || filepath.IsAbs(p):
		return fmt.Errorf("artifact pattern %q: must be relative to the checkout", p)
	case !doublestar.ValidatePattern(p):
		return fmt.Errorf("artifact pattern %q: invalid glob", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("artifact pattern %q: must not contain a .. component", p)
		}
	}
	return nil
}

// collectArtifacts copies the files under src matching patterns into out,
// hashing them on the way. The checkout was written by the build, which is
// untrusted: every file is opened through an os.Root, so a symlink cannot
// make reproof copy anything from outside the checkout, and only regular
// files are taken. Two artifacts with the same base name are an error, since
// published releases are flat lists of names.
func collectArtifacts(src string, patterns []string, out string) ([]Artifact, error) {
	root, err := os.OpenRoot(src)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	seen := map[string]string{} // base name -> path
	var paths []string
	for _, p := range patterns {
		matches, err := doublestar.Glob(root.FS(), p, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
		if err != nil {
			return nil, fmt.Errorf("artifact pattern %q: %w", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%w matching %q", ErrNoArtifacts, p)
		}
		for _, m := range matches {
			base := path.Base(m)
			if prev, ok := seen[base]; ok {
				if prev == m {
					continue // matched by two patterns
				}
				return nil, fmt.Errorf("artifacts %s and %s have the same name; the output directory is flat", prev, m)
			}
			seen[base] = m
			paths = append(paths, m)
		}
	}
	sort.Strings(paths)

	arts := make([]Artifact, 0, len(paths))
	for _, p := range paths {
		a, err := copyArtifact(root, p, out)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", p, err)
		}
		arts = append(arts, a)
	}
	sort.Slice(arts, func(i, j int) bool { return arts[i].Name < arts[j].Name })
	return arts, nil
}

func copyArtifact(root *os.Root, p, out string) (Artifact, error) {
	// O_NONBLOCK: opening a FIFO the build left would wait for a writer
	// for ever; it is refused below like any other non-regular file.
	in, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Artifact{}, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return Artifact{}, err
	}
	if !fi.Mode().IsRegular() {
		return Artifact{}, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	name := path.Base(p)
	mode := os.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755 // keep binaries runnable; nothing else of the mode is kept
	}
	f, err := os.OpenFile(filepath.Join(out, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return Artifact{}, err
	}
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(f, h256, h512), in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{
		Name:   name,
		Path:   p,
		Size:   n,
		SHA256: hex.EncodeToString(h256.Sum(nil)),
		SHA512: hex.EncodeToString(h512.Sum(nil)),
	}, nil
}
