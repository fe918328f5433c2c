package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// DirSource is a published release in a local directory: every regular
// file below it, at any depth, is an asset named by its slash-separated
// path relative to the directory. Symbolic links, devices and pipes are
// not assets. Nothing in the directory is ever written.
//
// A DirSource made for a regular file is a one-file release: that file,
// named by its base name, is its only asset.
type DirSource struct {
	dir  string // as the user named it
	abs  string // the directory, absolute
	only string // the one file's name for a one-file release, else ""
}

// NewDirSource returns the source for the directory dir, or for the
// one-file release of dir when it is a regular file.
func NewDirSource(dir string) (*DirSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("published directory %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("published directory %q: %w", dir, err)
	}
	switch {
	case fi.IsDir():
		return &DirSource{dir: dir, abs: abs}, nil
	case fi.Mode().IsRegular():
		return &DirSource{dir: dir, abs: filepath.Dir(abs), only: filepath.Base(abs)}, nil
	}
	return nil, fmt.Errorf("published directory %q: not a directory or a regular file", dir)
}

// List walks the directory in lexical order. A directory with no regular
// file is an error.
func (s *DirSource) List(ctx context.Context) (*Listing, error) {
	if s.only != "" {
		f, _, err := s.openRegular(s.asset(s.only, -1))
		if err != nil {
			return nil, fmt.Errorf("listing published file %q: %w", s.dir, err)
		}
		fi, err := f.Stat()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("listing published file %q: %w", s.dir, err)
		}
		return &Listing{Source: s.dir, Assets: []Asset{s.asset(s.only, fi.Size())}, How: "single file"}, nil
	}
	root, err := os.OpenRoot(s.abs)
	if err != nil {
		return nil, fmt.Errorf("listing published directory %q: %w", s.dir, err)
	}
	defer root.Close()
	var assets []Asset
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		assets = append(assets, s.asset(name, fi.Size()))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing published directory %q: %w", s.dir, err)
	}
	assets, err = checkAssets(assets)
	if err != nil {
		return nil, fmt.Errorf("listing published directory %q: %w", s.dir, err)
	}
	if len(assets) == 0 {
		return nil, fmt.Errorf("listing published directory %q: the directory lists no files", s.dir)
	}
	return &Listing{Source: s.dir, Assets: assets, How: "directory, " + countFiles(len(assets))}, nil
}

func (s *DirSource) asset(name string, size int64) Asset {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(s.abs, filepath.FromSlash(name)))}
	return Asset{Name: name, URL: u.String(), Size: size}
}

// Asset returns the asset for a file in the directory, by its
// slash-separated relative name, without looking at the file.
func (s *DirSource) Asset(name string) Asset {
	return s.asset(name, -1)
}

// Open opens the asset's file. Names that would leave the directory, also
// through symbolic links, are refused.
func (s *DirSource) Open(ctx context.Context, a Asset) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, _, err := s.openRegular(a)
	return f, err
}

// openRegular opens a regular file of the directory and returns it with
// its path.
func (s *DirSource) openRegular(a Asset) (*os.File, string, error) {
	name := filepath.FromSlash(a.Name)
	path := filepath.Join(s.abs, name)
	if err := checkAssetName(a.Name); err != nil || !filepath.IsLocal(name) {
		return nil, "", fmt.Errorf("opening %q in %q: not a file name inside the directory", a.Name, s.dir)
	}
	if s.only != "" && a.Name != s.only {
		return nil, "", fmt.Errorf("opening %q in %q: %w (a one-file release)", a.Name, s.dir, ErrNotFound)
	}
	root, err := os.OpenRoot(s.abs)
	if err != nil {
		return nil, "", fmt.Errorf("opening %q in %q: %w", a.Name, s.dir, err)
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrNotFound
		}
		return nil, "", fmt.Errorf("opening %q in %q: %w", a.Name, s.dir, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("opening %q in %q: not a regular file", a.Name, s.dir)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, "", fmt.Errorf("opening %q in %q: %w", a.Name, s.dir, err)
	}
	return f, path, nil
}
