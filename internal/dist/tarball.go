package dist

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one regular file, or directory, of an archive or image layer.
type File struct {
	Name string // slash-separated, relative: "reproof-v1.0.0-linux-amd64/reproof"
	Mode int64  // permission bits, such as 0o755; a directory may add the sticky bit
	Data []byte // the contents of a regular file
	Dir  bool   // a directory (Data must be empty)
}

// GzipLevel is the compression level of every gzip stream dist writes.
// compress/gzip at a fixed level and a fixed Go version is deterministic;
// the release pins both (go.mod's toolchain, the build image).
const GzipLevel = gzip.BestCompression

// WriteTar writes files as a tar archive: entries sorted bytewise by name
// (the directories leading to the files included, mode 0755 unless given),
// owned by 0:0 without names, every mtime epoch, no other times. Names
// must be clean relative paths; a name given twice is an error.
func WriteTar(w io.Writer, files []File, epoch time.Time) error {
	entries, err := tarEntries(files)
	if err != nil {
		return err
	}
	mtime := epoch.UTC().Truncate(time.Second)
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		if e.file == nil {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			if e.mode&0o1000 != 0 {
				hdr.Mode = e.mode&0o777 | 0o1000 // c_ISVTX
			}
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.file.Data))
		}
		// PAX only where USTAR cannot hold a field: long names.
		if len(hdr.Name) <= 100 {
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar entry %q: %w", e.name, err)
		}
		if e.file != nil {
			if _, err := tw.Write(e.file.Data); err != nil {
				return fmt.Errorf("tar entry %q: %w", e.name, err)
			}
		}
	}
	return tw.Close()
}

// WriteTarGz writes files as WriteTar does, gzip-compressed at GzipLevel
// with no name and no time in the gzip header.
func WriteTarGz(w io.Writer, files []File, epoch time.Time) error {
	return WriteTarGzLevel(w, files, epoch, GzipLevel)
}

// WriteTarGzLevel is WriteTarGz at another compress/gzip level (the build
// image's large layers take gzip.BestSpeed).
func WriteTarGzLevel(w io.Writer, files []File, epoch time.Time, level int) error {
	zw, err := gzip.NewWriterLevel(w, level)
	if err != nil {
		return err
	}
	if err := WriteTar(zw, files, epoch); err != nil {
		return err
	}
	return zw.Close()
}

type tarEntry struct {
	name string
	mode int64
	file *File // nil for a directory
	// implicit: a directory added for the files below it, not given.
	implicit bool
}

// tarEntries sorts files and adds their parent directories.
func tarEntries(files []File) ([]tarEntry, error) {
	byName := map[string]tarEntry{}
	for i := range files {
		f := &files[i]
		if f.Name == "" || f.Name != path.Clean(f.Name) || path.IsAbs(f.Name) || f.Name == ".." || strings.HasPrefix(f.Name, "../") {
			return nil, fmt.Errorf("archive member %q: not a clean relative path", f.Name)
		}
		allowed := int64(0o777)
		if f.Dir {
			allowed = 0o1777
		}
		if f.Mode&^allowed != 0 {
			return nil, fmt.Errorf("archive member %q: mode %#o has bits beyond the permissions", f.Name, f.Mode)
		}
		if f.Dir && len(f.Data) != 0 {
			return nil, fmt.Errorf("archive member %q: a directory with contents", f.Name)
		}
		e, dup := byName[f.Name]
		switch {
		case dup && e.file == nil && f.Dir && e.implicit:
			// A directory added for a file below it, now given its mode.
		case dup && (e.file == nil) != f.Dir:
			return nil, fmt.Errorf("archive member %q: both a file and a directory", f.Name)
		case dup:
			return nil, fmt.Errorf("archive member %q: given twice", f.Name)
		}
		if f.Dir {
			byName[f.Name] = tarEntry{name: f.Name, mode: f.Mode}
		} else {
			byName[f.Name] = tarEntry{name: f.Name, mode: f.Mode, file: f}
		}
		for d := path.Dir(f.Name); d != "."; d = path.Dir(d) {
			if e, ok := byName[d]; ok {
				if e.file != nil {
					return nil, fmt.Errorf("archive member %q: both a file and a directory", d)
				}
				break // its parents are there already
			}
			byName[d] = tarEntry{name: d, mode: 0o755, implicit: true}
		}
	}
	entries := make([]tarEntry, 0, len(byName))
	for _, e := range byName {
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}
