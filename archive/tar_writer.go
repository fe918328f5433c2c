package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"time"
)

type tarWriter struct {
	tw *tar.Writer
}

func newTarWriter(w io.Writer) *tarWriter { return &tarWriter{tw: tar.NewWriter(w)} }

func (t *tarWriter) WriteEntry(e *Entry, content io.Reader) error {
	h, err := tarHeader(e)
	if err != nil {
		return err
	}
	if err := t.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing tar header for %q: %w", e.Name, err)
	}
	if h.Size == 0 {
		return nil
	}
	n, err := io.Copy(t.tw, io.LimitReader(content, h.Size))
	if err != nil {
		return fmt.Errorf("writing %q: %w", e.Name, err)
	}
	if n != h.Size {
		return fmt.Errorf("writing %q: content is %d bytes, header says %d", e.Name, n, h.Size)
	}
	return nil
}

func (t *tarWriter) Close() error { return t.tw.Close() }

var tarTypeflags = map[EntryType]byte{
	TypeRegular:     tar.TypeReg,
	TypeDir:         tar.TypeDir,
	TypeSymlink:     tar.TypeSymlink,
	TypeHardlink:    tar.TypeLink,
	TypeCharDevice:  tar.TypeChar,
	TypeBlockDevice: tar.TypeBlock,
	TypeFIFO:        tar.TypeFifo,
	TypePAXGlobal:   tar.TypeXGlobalHeader,
}

// tarHeader maps an entry to the tar header that represents it. The format
// is the first of USTAR, PAX, GNU that can hold the entry, so the same
// entry always gives the same bytes; PAX is forced when the entry has pax
// records, xattrs, access or change times, or sub-second times.
func tarHeader(e *Entry) (*tar.Header, error) {
	flag, ok := tarTypeflags[e.Type]
	if !ok {
		return nil, fmt.Errorf("%w: tar entry %q of type %v", ErrUnsupported, e.Name, e.Type)
	}
	h := &tar.Header{
		Typeflag: flag,
		Name:     e.Name,
		Mode:     e.Mode & ModePerm,
		Uid:      e.UID,
		Gid:      e.GID,
		Uname:    e.Uname,
		Gname:    e.Gname,
		ModTime:  e.ModTime,
		Devmajor: e.Devmajor,
		Devminor: e.Devminor,
	}
	switch e.Type {
	case TypeRegular:
		h.Size = e.Size
	case TypeSymlink, TypeHardlink:
		h.Linkname = e.Linkname
	case TypePAXGlobal:
		h.PAXRecords = cloneMap(e.PAXRecords)
		h.Format = tar.FormatPAX
		return h, nil
	}
	if len(e.PAXRecords) > 0 || len(e.Xattrs) > 0 || e.Flags != "" {
		h.PAXRecords = make(map[string]string, len(e.PAXRecords)+len(e.Xattrs)+1)
		for k, v := range e.PAXRecords {
			h.PAXRecords[k] = v
		}
		for k, v := range e.Xattrs {
			h.PAXRecords[paxXattrPrefix+k] = v
		}
		if e.Flags != "" {
			h.PAXRecords["SCHILY.fflags"] = e.Flags
		}
	}
	if len(h.PAXRecords) > 0 || !e.AccessTime.IsZero() || !e.ChangeTime.IsZero() || hasSubSecond(e.ModTime) {
		h.Format = tar.FormatPAX
		h.AccessTime, h.ChangeTime = e.AccessTime, e.ChangeTime
	}
	return h, nil
}

func hasSubSecond(t time.Time) bool { return t.Nanosecond() != 0 }
