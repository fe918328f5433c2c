package archive

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
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
	files  []*zip.File
	layout *zipLayout // what the strict pass found
	i      int
	rc     io.ReadCloser
}

func (z *zipReader) ambiguities() []Ambiguity { return z.layout.container }

func newZipReader(ra io.ReaderAt, size int64, limits Limits) (*zipReader, string, error) {
	// archive/zip reads the whole central directory into memory: check
	// what its end record claims first.
	end, ok := readZipEnd(ra, size)
	if !ok {
		return nil, "", &FormatError{Format: "zip", Offset: size, Err: errors.New("no end of central directory record (truncated?)")}
	}
	if end.count > uint64(limits.MaxEntries) {
		return nil, "", limitError("--max-entries", "more than %d entries", limits.MaxEntries)
	}
	if end.cdSize > uint64(limits.MaxMetadata) {
		return nil, "", limitError("--max-metadata", "a central directory of %d bytes, more than %s", end.cdSize, FormatSize(limits.MaxMetadata))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		// "zip: not a valid zip file": the directory the end record
		// points at is not there, or is damaged.
		return nil, "", &FormatError{Format: "zip", Offset: int64(end.cdOffset), Entry: "",
			Err: &prefixStripped{msg: "bad central directory: " + strings.TrimPrefix(err.Error(), "zip: "), err: err}}
	}
	if int64(len(zr.File)) > limits.MaxEntries {
		return nil, "", limitError("--max-entries", "more than %d entries", limits.MaxEntries)
	}
	if err := checkZipOverlap(zr.File, size); err != nil {
		return nil, "", err
	}
	layout, err := zipStrict(ra, size, end, zr.File)
	if err != nil {
		return nil, "", err
	}
	return &zipReader{files: zr.File, layout: layout}, zr.Comment, nil
}

// checkZipOverlap refuses entries whose data overlap, or run past the end
// of the file (size bytes): the "better zip bomb" makes thousands of
// entries out of one compressed kernel, each decompressed again. No zip
// tool writes overlapping entries; unzip refuses them too.
func checkZipOverlap(files []*zip.File, size int64) error {
	type span struct {
		start, end int64
		name       string
	}
	spans := make([]span, 0, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return &FormatError{Format: "zip", Entry: f.Name, Offset: -1, Err: err}
		}
		end := off + int64(f.CompressedSize64)
		if f.CompressedSize64 > uint64(size) || end > size {
			return &FormatError{Format: "zip", Entry: f.Name, Offset: off,
				Err: fmt.Errorf("%d bytes of data run past the end of the file (%d bytes): %w", f.CompressedSize64, size, errTruncated)}
		}
		spans = append(spans, span{off, end, f.Name})
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start < spans[i-1].end+30 { // a local header is at least 30 bytes
			return &FormatError{Format: "zip", Offset: spans[i].start,
				Err: fmt.Errorf("entries %q and %q overlap in the file (a zip bomb?)", spans[i-1].name, spans[i].name)}
		}
	}
	return nil
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
	e.Ambiguities = z.layout.entries[z.i-1]
	modeled := f.Flags&0x41 == 0 && (f.Method == zip.Store || f.Method == zip.Deflate)
	switch e.Type {
	case TypeDir:
		return e, nil, nil
	case TypeSymlink:
		if !modeled {
			// Encrypted or in a method not modeled: the target is
			// not read (the entry carries the ambiguity).
			return e, nil, nil
		}
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
	if !modeled {
		// Content in another method (bzip2, lzma, zstd...) is carried
		// raw; encrypted content is not readable. Both are ambiguities.
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
