package archive

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// zipMeta keeps the zip fields that have no place in Entry, so that a zip
// rewritten without a pass that touches them keeps them.
type zipMeta struct {
	method         uint16
	modDate        uint16 // MS-DOS date and time, as stored
	modTime        uint16
	extra          []byte // extra fields of the central directory record
	comment        string
	creatorVersion uint16
	nonUTF8        bool
	externalAttrs  uint32
	file           *zip.File // source entry, for methods copied raw
}

// maxLinkTarget caps the size of a symlink target stored as content.
const maxLinkTarget = 64 << 10

type zipReader struct {
	files []*zip.File
	i     int
	rc    io.ReadCloser
}

func newZipReader(ra io.ReaderAt, size int64, limits Limits) (*zipReader, string, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, "", err
	}
	if int64(len(zr.File)) > limits.MaxEntries {
		return nil, "", fmt.Errorf("%w: more than %d entries (--max-entries)", ErrLimit, limits.MaxEntries)
	}
	return &zipReader{files: zr.File}, zr.Comment, nil
}

func (z *zipReader) offset() int64 {
	if z.i > 0 && z.i <= len(z.files) {
		if off, err := z.files[z.i-1].DataOffset(); err == nil {
			return off
		}
	}
	return -1
}

func (z *zipReader) next() (*Entry, io.Reader, error) {
	if z.rc != nil {
		z.rc.Close()
		z.rc = nil
	}
	if z.i >= len(z.files) {
		return nil, nil, io.EOF
	}
	f := z.files[z.i]
	z.i++
	e := entryFromZip(f)
	if off, err := f.DataOffset(); err == nil {
		e.Offset = off
	}
	switch e.Type {
	case TypeDir:
		return e, nil, nil
	case TypeSymlink:
		if f.UncompressedSize64 > maxLinkTarget {
			return nil, nil, fmt.Errorf("symlink %q: target of %d bytes is too long", f.Name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("symlink %q: %w", f.Name, err)
		}
		target, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget))
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("symlink %q: %w", f.Name, err)
		}
		e.Linkname = string(target)
		return e, nil, nil
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		// Content in another method (bzip2, lzma, zstd...) is carried raw.
		return e, nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("entry %q: %w", f.Name, err)
	}
	z.rc = rc
	return e, rc, nil
}

func entryFromZip(f *zip.File) *Entry {
	mode := f.Mode()
	e := &Entry{
		ContentOffset: -1,
		Name:          f.Name,
		Mode:          int64(mode.Perm()),
		ModTime:       f.Modified.UTC(),
		zip: &zipMeta{
			method:         f.Method,
			modDate:        f.ModifiedDate,
			modTime:        f.ModifiedTime,
			extra:          f.Extra,
			comment:        f.Comment,
			creatorVersion: f.CreatorVersion,
			nonUTF8:        f.NonUTF8,
			externalAttrs:  f.ExternalAttrs,
			file:           f,
		},
	}
	if mode&fs.ModeSetuid != 0 {
		e.Mode |= ModeSetuid
	}
	if mode&fs.ModeSetgid != 0 {
		e.Mode |= ModeSetgid
	}
	if mode&fs.ModeSticky != 0 {
		e.Mode |= ModeSticky
	}
	switch {
	case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
		e.Type = TypeDir
	case mode&fs.ModeSymlink != 0:
		e.Type = TypeSymlink
	default:
		e.Type = TypeRegular
		e.Size = int64(f.UncompressedSize64)
	}
	return e
}
