package archive

import (
	"archive/zip"
	"fmt"
	"io"
	"io/fs"

	"github.com/klauspost/compress/flate"
)

type zipWriter struct {
	zw *zip.Writer
}

func newZipWriter(w io.Writer, comment string) *zipWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, ZipDeflateLevel)
	})
	if comment != "" {
		zw.SetComment(comment)
	}
	return &zipWriter{zw: zw}
}

// zipHeader maps an entry to a zip file header. Entries read from a zip
// keep their stored DOS time, extra fields, comment and creator; others
// get the DOS time of ModTime in UTC and no extra fields.
func zipHeader(e *Entry) (*zip.FileHeader, error) {
	fh := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
	mode := fs.FileMode(e.Mode & 0o777)
	if e.Mode&ModeSetuid != 0 {
		mode |= fs.ModeSetuid
	}
	if e.Mode&ModeSetgid != 0 {
		mode |= fs.ModeSetgid
	}
	if e.Mode&ModeSticky != 0 {
		mode |= fs.ModeSticky
	}
	switch e.Type {
	case TypeRegular:
	case TypeDir:
		mode |= fs.ModeDir
		fh.Method = zip.Store
	case TypeSymlink:
		mode |= fs.ModeSymlink
	default:
		return nil, fmt.Errorf("%w: zip entry %q of type %v", ErrUnsupported, e.Name, e.Type)
	}
	if z := e.zip; z != nil {
		fh.Method = z.method
		fh.Comment = z.comment
		fh.NonUTF8 = z.nonUTF8
		//lint:ignore SA1019 setting Modified makes archive/zip add an extended-timestamp field; the DOS fields are the bytes we mean
		fh.ModifiedDate, fh.ModifiedTime = z.modDate, z.modTime
		fh.Extra = withoutZip64(z.extra)
		fh.CreatorVersion = z.creatorVersion
		fh.ExternalAttrs = z.externalAttrs
		if z.creatorVersion>>8 == 3 || z.creatorVersion>>8 == 19 { // Unix, OS X: mode in the high bits
			fh.ExternalAttrs = z.externalAttrs&0xffff | uint32(unixMode(mode, e.Type))<<16
		}
	} else {
		//lint:ignore SA1019 as above: the DOS fields alone, no extended timestamp
		fh.ModifiedDate, fh.ModifiedTime = dosTime(e.ModTime)
		fh.SetMode(mode)
	}
	if e.Type == TypeDir {
		fh.Method = zip.Store
	}
	return fh, nil
}

func (z *zipWriter) WriteEntry(e *Entry, content io.Reader) error {
	fh, err := zipHeader(e)
	if err != nil {
		return err
	}
	if e.zip != nil && e.zip.file != nil && e.zip.method != zip.Store && e.zip.method != zip.Deflate && e.Type == TypeRegular {
		return z.copyRaw(fh, e)
	}
	w, err := z.zw.CreateHeader(fh)
	if err != nil {
		return fmt.Errorf("writing zip header for %q: %w", e.Name, err)
	}
	switch e.Type {
	case TypeSymlink:
		_, err = io.WriteString(w, e.Linkname)
	case TypeRegular:
		var n int64
		n, err = io.Copy(w, io.LimitReader(content, e.Size))
		if err == nil && n != e.Size {
			err = fmt.Errorf("content is %d bytes, header says %d", n, e.Size)
		}
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", e.Name, err)
	}
	return nil
}

// copyRaw copies an entry compressed with a method this package does not
// decompress (bzip2, lzma, zstd, ...) as stored.
func (z *zipWriter) copyRaw(fh *zip.FileHeader, e *Entry) error {
	src := e.zip.file
	fh.CRC32 = src.CRC32
	fh.CompressedSize64 = src.CompressedSize64
	fh.UncompressedSize64 = src.UncompressedSize64
	r, err := src.OpenRaw()
	if err != nil {
		return fmt.Errorf("reading raw %q: %w", e.Name, err)
	}
	w, err := z.zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("writing zip header for %q: %w", e.Name, err)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return fmt.Errorf("copying raw %q: %w", e.Name, err)
	}
	if n != int64(src.CompressedSize64) {
		// The header claims more than the file holds: a copy would
		// claim it too, and read what follows as this entry's data.
		return fmt.Errorf("copying raw %q: %d of %d compressed bytes: %w", e.Name, n, src.CompressedSize64, errTruncated)
	}
	return nil
}

func (z *zipWriter) Close() error { return z.zw.Close() }

// unixMode returns the st_mode bits of a zip entry's external attributes.
func unixMode(m fs.FileMode, t EntryType) uint16 {
	mode := uint16(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	switch t {
	case TypeDir:
		mode |= 0o040000
	case TypeSymlink:
		mode |= 0o120000
	default:
		mode |= 0o100000
	}
	return mode
}

// withoutZip64 drops the zip64 extended information field (0x0001), which
// the zip writer regenerates itself when sizes need it.
func withoutZip64(extra []byte) []byte { return withoutFields(extra, zip64Field) }

var zip64Field = map[uint16]bool{0x0001: true}
