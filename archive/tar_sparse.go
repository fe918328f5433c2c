package archive

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// A sparse file is stored as its data spans only; the holes between them
// (and after the last) read as zeros. Two encodings are modeled: old GNU
// ('S' headers: the map in the header and in extension blocks) and pax
// 1.0 (GNU tar --sparse --format=posix: GNU.sparse.major=1, minor=0, name
// and realsize records, the map in decimal lines at the start of the
// data). A map that overlaps, is out of order, runs past the real size
// or does not account for the stored bytes exactly is an error: GNU tar,
// bsdtar and Python's tarfile each fill such a file differently.

type sparseSpan struct{ off, n int64 }

// maxSparseMap caps the bytes of a pax 1.0 sparse map (as a pax header).
const maxSparseMap = maxSpecial

// oldGNUSparse reads the map of an 'S' header (the block is in t.blk) and
// of its extension blocks, and returns it with the real size.
func (t *tarReader) oldGNUSparse() ([]sparseSpan, int64, error) {
	real, bad := parseNumber(t.blk[483:495])
	if bad != "" && bad != numEmpty || real < 0 {
		return nil, 0, fmt.Errorf("invalid sparse header: real size %q", t.blk[483:495])
	}
	var spans []sparseSpan
	add := func(area []byte, count int) (bool, error) {
		for i := range count {
			f := area[i*24 : i*24+24]
			if f[0] == 0 {
				return false, nil
			}
			off, bad1 := parseNumber(f[:12])
			n, bad2 := parseNumber(f[12:])
			if bad1 != "" || bad2 != "" || off < 0 || n < 0 {
				return false, fmt.Errorf("invalid sparse map entry %q", f)
			}
			if len(spans) >= maxSparseMap/24 {
				return false, errFieldTooLong
			}
			spans = append(spans, sparseSpan{off, n})
		}
		return true, nil
	}
	if _, err := add(t.blk[386:482], 4); err != nil {
		return nil, 0, err
	}
	for more := t.blk[482] != 0; more; more = t.blk[504] != 0 {
		if err := t.readBlock(); err != nil {
			return nil, 0, truncated(err)
		}
		if _, err := add(t.blk[:504], 21); err != nil {
			return nil, 0, err
		}
	}
	return spans, real, nil
}

// paxSparseMap reads the map at the start of a pax 1.0 sparse entry's
// data: the number of spans, then offset and length of each, one decimal
// number a line, padded to a block. It consumes whole blocks of t.left.
func (t *tarReader) paxSparseMap() ([]sparseSpan, error) {
	var (
		spans []sparseSpan
		want  = int64(-1) // numbers still to read, once the count is known
		num   []byte
		nums  []int64
		read  int64
	)
	for want != 0 {
		if t.left < blockSize {
			return nil, errors.New("invalid sparse map: the data ends inside it")
		}
		if read += blockSize; read > maxSparseMap {
			return nil, errFieldTooLong
		}
		if err := t.readBlock(); err != nil {
			return nil, truncated(err)
		}
		t.left -= blockSize
		for _, c := range t.blk {
			if want == 0 {
				break
			}
			if c != '\n' {
				if c < '0' || c > '9' || len(num) >= 19 {
					return nil, fmt.Errorf("invalid sparse map: %q", append(num, c))
				}
				num = append(num, c)
				continue
			}
			v, ok := parseDecimal(string(num), math.MaxInt64)
			if !ok {
				return nil, fmt.Errorf("invalid sparse map: %q", num)
			}
			num = num[:0]
			if want < 0 {
				if v > maxSparseMap/4 {
					return nil, errFieldTooLong
				}
				want = 2 * v
				continue
			}
			nums = append(nums, v)
			want--
		}
	}
	for i := 0; i+1 < len(nums); i += 2 {
		spans = append(spans, sparseSpan{nums[i], nums[i+1]})
	}
	return spans, nil
}

// checkSparse checks that the spans are in order, apart, within the real
// size, and hold exactly the stored bytes.
func checkSparse(spans []sparseSpan, real, stored int64) error {
	end := int64(0)
	total := int64(0)
	for _, s := range spans {
		if s.off < end {
			return fmt.Errorf("invalid sparse map: span at %d overlaps or comes before the one ending at %d", s.off, end)
		}
		if s.n > real || s.off > real-s.n {
			return fmt.Errorf("invalid sparse map: span of %d bytes at %d runs past the file's size %d", s.n, s.off, real)
		}
		end = s.off + s.n
		total += s.n
	}
	if total != stored {
		return fmt.Errorf("invalid sparse map: spans hold %d bytes, %d are stored", total, stored)
	}
	return nil
}

// sparseEndAmbiguity flags a map whose last span ends before the real
// size: GNU tar writes a file only as long as the last span (it relies on
// a final empty span at the real size, which it always writes), bsdtar
// and Python's tarfile write the real size.
func sparseEndAmbiguity(spans []sparseSpan, real int64) []Ambiguity {
	end := int64(0)
	if len(spans) > 0 {
		end = spans[len(spans)-1].off + spans[len(spans)-1].n
	}
	if end == real {
		return nil
	}
	return []Ambiguity{ambiguous("sparse map without its end",
		"the last span ends at %d, the real size is %d: GNU tar extracts %d bytes, bsdtar and Python's tarfile %d", end, real, end, real)}
}

// sparseAlignAmbiguity flags a span, before the last one holding data,
// whose length is not a multiple of the block size: GNU tar reads each
// span's data from a block boundary (its own archives only have such
// spans), bsdtar and Python's tarfile read the spans back to back.
func sparseAlignAmbiguity(spans []sparseSpan) []Ambiguity {
	last := -1
	for i, s := range spans {
		if s.n > 0 {
			last = i
		}
	}
	for i, s := range spans[:max(last, 0)] {
		if s.n%blockSize != 0 {
			return []Ambiguity{ambiguous("sparse span not a multiple of 512 bytes",
				"span %d of %d bytes: GNU tar reads the next span from a block boundary, bsdtar and Python's tarfile right after it", i, s.n)}
		}
	}
	return nil
}

// sparseReader reads a sparse file expanded: the stored spans from the
// tar stream, zeros between them.
type sparseReader struct {
	t     *tarReader
	spans []sparseSpan
	pos   int64
	real  int64
}

func (s *sparseReader) Read(p []byte) (int, error) {
	if s.pos >= s.real {
		return 0, io.EOF
	}
	for len(s.spans) > 0 && s.pos >= s.spans[0].off+s.spans[0].n {
		s.spans = s.spans[1:]
	}
	if len(s.spans) == 0 || s.pos < s.spans[0].off {
		next := s.real
		if len(s.spans) > 0 {
			next = s.spans[0].off
		}
		n := int(min(int64(len(p)), next-s.pos))
		clear(p[:n])
		s.pos += int64(n)
		return n, nil
	}
	sp := s.spans[0]
	k := min(int64(len(p)), sp.off+sp.n-s.pos)
	n, err := s.t.readData(p[:k])
	s.pos += int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
