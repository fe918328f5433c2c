package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
)

// FuzzTarDifferential reads any input with this package's tar reader and,
// independently, with Go's archive/tar. Where ours reads the whole
// archive with no error and no ambiguity, archive/tar must read the same
// entries: the same cleaned names, types, sizes, contents, link targets,
// modes, owners and modification times. A disagreement is a bug of ours
// or a construct that must be flagged (then kept under
// testdata/fuzz/FuzzTarDifferential).
//
// The seed corpus holds archives made by GNU tar 1.34 (--format=gnu,
// posix, ustar, oldgnu, each also with --sparse), bsdtar 3.6 (default,
// pax, ustar, with xattrs and file flags) and Python's tarfile (GNU, pax,
// ustar), from a small tree of files, a directory, a symlink, a hardlink,
// a long name and a sparse file (see tar_strict_test.go's
// TestTarSeedsReadLikeTools for how they read).
func FuzzTarDifferential(f *testing.F) {
	seedsOf(f, "*.tar")
	f.Fuzz(func(t *testing.T, data []byte) {
		// Most mutations of a header break its checksum, which every
		// reader refuses alike: read the input with its checksums
		// repaired too, so that the fuzzer reaches the fields.
		tarDifferential(t, data)
		if fixed := fixTarChecksums(data); !bytes.Equal(fixed, data) {
			tarDifferential(t, fixed)
		}
	})
}

func tarDifferential(t *testing.T, data []byte) {
	{
		ours, ok := readOursForDiff(data)
		if !ok {
			return
		}
		theirs, err := readGoTarForDiff(data)
		if err != nil {
			t.Fatalf("our reader read %d entries with no ambiguity; archive/tar fails: %v\nours: %q", len(ours), err, ours)
		}
		if len(theirs) != len(ours) {
			t.Fatalf("our reader read %d entries, archive/tar %d\nours:   %q\ntheirs: %q", len(ours), len(theirs), ours, theirs)
		}
		for i := range ours {
			if ours[i] != theirs[i] {
				t.Fatalf("entry %d: ours %q, archive/tar %q", i, ours[i], theirs[i])
			}
		}
	}
}

// fixTarChecksums returns data with the checksum of every header block
// set right, walking the archive as a tar reader frames it (roughly: it
// only steers the fuzzer, it judges nothing).
func fixTarChecksums(data []byte) []byte {
	b := bytes.Clone(data)
	paxSize := int64(-1)
	for off := 0; off+blockSize <= len(b); {
		blk := (*[blockSize]byte)(b[off : off+blockSize])
		if *blk == zeroBlock {
			break
		}
		copy(blk[148:156], "        ")
		sum := 0
		for _, c := range blk {
			sum += int(c)
		}
		copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
		h, err := parseHeader(blk)
		if err != nil {
			break
		}
		off += blockSize
		size := h.size
		if paxSize >= 0 {
			size, paxSize = paxSize, -1
		}
		switch h.flag {
		case '1', '2', '3', '4', '5', '6':
			continue
		case 'S':
			for more := blk[482] != 0; more && off+blockSize <= len(b); off += blockSize {
				more = b[off+504] != 0
			}
		case 'x':
			if size <= maxSpecial && off+int(size) <= len(b) {
				recs, _ := parsePAX(b[off : off+int(size)])
				for _, r := range recs {
					if n, ok := parseDecimal(r.value, math.MaxInt32); r.key == "size" && ok {
						paxSize = n
					}
				}
			}
		}
		if size < 0 || size > int64(len(b)) {
			break
		}
		off += int(size + pad512(size))
	}
	return b
}

// diffMaxContent bounds what the differential reading hashes.
const diffMaxContent = 4 << 20

// readOursForDiff reads data with our tar reader; ok is false on an
// error, an ambiguity, or an entry too big to hash cheaply.
func readOursForDiff(data []byte) (out []string, ok bool) {
	br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	r := newTarReader(br, nil, br)
	for range 1000 {
		e, content, err := r.next()
		if err == io.EOF {
			return out, len(r.ambiguities()) == 0
		}
		if err != nil || len(e.Ambiguities) > 0 || e.Size > diffMaxContent {
			return nil, false
		}
		sum := sha256.New()
		if content != nil {
			n, err := io.Copy(sum, content)
			if err != nil || n != e.Size {
				return nil, false
			}
		}
		out = append(out, diffSummary(e, sum.Sum(nil)))
	}
	return nil, false
}

// readGoTarForDiff reads data with archive/tar.
func readGoTarForDiff(data []byte) ([]string, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	var out []string
	for range 1001 {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		e := &Entry{Name: h.Name, Linkname: h.Linkname, Mode: h.Mode & ModePerm, UID: h.Uid, GID: h.Gid,
			Uname: h.Uname, Gname: h.Gname, ModTime: h.ModTime}
		switch h.Typeflag {
		case tar.TypeReg, 0, tar.TypeCont, tar.TypeGNUSparse: // 0: the old NUL typeflag (tar.TypeRegA)
			e.Type, e.Size = TypeRegular, h.Size
		case tar.TypeXGlobalHeader:
			e.Type = TypePAXGlobal
		default:
			t, ok := entryTypeOfFlag[h.Typeflag]
			if !ok {
				return out, fmt.Errorf("type %q", h.Typeflag)
			}
			e.Type = t
		}
		sum := sha256.New()
		if e.Type == TypeRegular {
			n, err := io.Copy(sum, io.LimitReader(tr, diffMaxContent+1))
			if err != nil {
				return out, err
			}
			if n != e.Size {
				return out, fmt.Errorf("entry %q: %d bytes of content, size %d", h.Name, n, e.Size)
			}
		}
		out = append(out, diffSummary(e, sum.Sum(nil)))
	}
	return out, fmt.Errorf("more than 1000 entries")
}

// diffSummary is what the differential reading compares of an entry.
func diffSummary(e *Entry, sum []byte) string {
	if e.Type == TypePAXGlobal {
		return "pax-global " + e.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %q mode=%o owner=%d:%d(%q:%q) mtime=%d", e.Type, cleanKey(e.Name), e.Mode, e.UID, e.GID, e.Uname, e.Gname, e.ModTime.Unix())
	switch e.Type {
	case TypeRegular:
		fmt.Fprintf(&b, " size=%d sha256=%x", e.Size, sum[:8])
	case TypeHardlink:
		fmt.Fprintf(&b, " -> %q", cleanKey(e.Linkname))
	case TypeSymlink:
		fmt.Fprintf(&b, " -> %q", e.Linkname)
	}
	return b.String()
}
