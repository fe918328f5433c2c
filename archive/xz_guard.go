package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// xzGuard sits between an xz stream and the ulikunitz/xz decoder, which
// allocates whatever dictionary a block header claims (up to 4 GiB), and
// allocates it anew for every block. The guard follows the structure of
// the stream as its bytes pass (stream header, block headers, LZMA2 chunk
// headers, index, footer, padding) without decoding anything, and stops
// at a block whose dictionary is larger than maxDict before the decoder
// sees it. Each block's dictionary is charged to the byte budget: a
// stream of many tiny blocks costs what the decoder spends on them.
//
// The guard fails closed: a structure it cannot follow is an error (the
// decoder would refuse it too), except a stream that ends early, which it
// passes on for the decoder to call truncated.
type xzGuard struct {
	r       *bufio.Reader
	maxDict int64
	charge  func(int64) error

	state      xzState
	skip       int64 // bytes that pass before the next structure
	off        int64 // bytes passed
	blockStart int64 // offset of the current block header
	indexStart int64 // offset of the current index
	checkSize  int64 // bytes of the current stream's block check
	records    uint64
	passAll    bool   // the stream ended early: the decoder reports it
	pending    []byte // a rewritten block header, passed before the rest
}

type xzState uint8

const (
	xzStreamHeader xzState = iota
	xzBlockOrIndex
	xzChunk
	xzBlockEnd
	xzIndexRecords
	xzIndexEnd
	xzFooter
	xzStreamPadding
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

func newXzGuard(r io.Reader, maxDict int64, charge func(int64) error) *xzGuard {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 1024 {
		br = bufio.NewReaderSize(r, 4096)
	}
	return &xzGuard{r: br, maxDict: maxDict, charge: charge}
}

func (g *xzGuard) Read(p []byte) (int, error) {
	for len(g.pending) == 0 && g.skip == 0 && !g.passAll {
		if err := g.next(); err != nil {
			return 0, err
		}
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	if !g.passAll && int64(len(p)) > g.skip {
		p = p[:g.skip]
	}
	n, err := g.r.Read(p)
	g.off += int64(n)
	if !g.passAll {
		g.skip -= int64(n)
	}
	return n, err
}

// peek returns the next n bytes, or ok false when the stream ends before
// them (the guard then passes everything on).
func (g *xzGuard) peek(n int) ([]byte, bool, error) {
	b, err := g.r.Peek(n)
	if len(b) == n {
		return b, true, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		g.passAll = true
		return nil, false, nil
	}
	return nil, false, err
}

// varints parses n xz variable-length integers after skip bytes, and
// returns them followed by the bytes they take with the skipped ones.
func (g *xzGuard) varints(skip, n int) ([]uint64, bool, error) {
	want := skip + 10*n
	b, err := g.r.Peek(want)
	short := len(b) < want
	if short && err != io.EOF {
		return nil, false, err
	}
	out := make([]uint64, 0, n+1)
	p := skip
	for range n {
		v, k := binary.Uvarint(b[p:])
		if k <= 0 {
			if short {
				g.passAll = true
				return nil, false, nil
			}
			return nil, false, errors.New("bad xz integer")
		}
		out = append(out, v)
		p += k
	}
	return append(out, uint64(p)), true, nil
}

// next reads the structure that starts at the current offset and sets
// how many bytes pass before the next one.
func (g *xzGuard) next() error {
	switch g.state {
	case xzStreamHeader:
		b, ok, err := g.peek(12)
		if !ok {
			return err
		}
		if !bytes.Equal(b[:6], xzMagic) {
			return errors.New("bad xz stream header")
		}
		g.checkSize = xzCheckSize(b[7] & 0x0f)
		g.skip, g.state = 12, xzBlockOrIndex
	case xzBlockOrIndex:
		b, ok, err := g.peek(1)
		if !ok {
			return err
		}
		if b[0] == 0 { // index indicator, then the number of records
			ints, ok, err := g.varints(1, 1)
			if !ok {
				return err
			}
			g.indexStart, g.records = g.off, ints[0]
			g.skip, g.state = int64(ints[1]), xzIndexRecords
			return nil
		}
		size := (int(b[0]) + 1) * 4
		hdr, ok, err := g.peek(size)
		if !ok {
			return err
		}
		rewritten, err := g.blockHeader(hdr)
		if err != nil {
			return err
		}
		g.blockStart = g.off
		g.state = xzChunk
		if rewritten == nil {
			g.skip = int64(size)
			return nil
		}
		if _, err := g.r.Discard(size); err != nil {
			return err
		}
		g.off += int64(size)
		g.pending = rewritten
	case xzChunk:
		b, ok, err := g.peek(1)
		if !ok {
			return err
		}
		c := b[0]
		switch {
		case c == 0: // end of the LZMA2 data
			g.skip, g.state = 1, xzBlockEnd
		case c == 1 || c == 2: // uncompressed chunk
			b, ok, err := g.peek(3)
			if !ok {
				return err
			}
			g.skip = 3 + int64(binary.BigEndian.Uint16(b[1:3])) + 1
		case c >= 0x80: // LZMA chunk, with a properties byte from 0xc0
			hdr := 5
			if c >= 0xc0 {
				hdr = 6
			}
			b, ok, err := g.peek(hdr)
			if !ok {
				return err
			}
			g.skip = int64(hdr) + int64(binary.BigEndian.Uint16(b[3:5])) + 1
		default:
			return fmt.Errorf("bad LZMA2 chunk control byte %#x", c)
		}
	case xzBlockEnd:
		g.skip = pad4(g.off-g.blockStart) + g.checkSize
		g.state = xzBlockOrIndex
		if g.skip == 0 {
			return g.next()
		}
	case xzIndexRecords:
		if g.records == 0 {
			g.state = xzIndexEnd
			return g.next()
		}
		ints, ok, err := g.varints(0, 2) // unpadded size, uncompressed size
		if !ok {
			return err
		}
		g.records--
		g.skip = int64(ints[2])
	case xzIndexEnd:
		g.skip, g.state = pad4(g.off-g.indexStart)+4, xzFooter
	case xzFooter:
		g.skip, g.state = 12, xzStreamPadding
	case xzStreamPadding:
		b, err := g.r.Peek(4)
		switch {
		case len(b) == 0 && err == io.EOF:
			return io.EOF
		case len(b) < 4:
			if err == io.EOF {
				g.passAll = true // padding cut short: the decoder says so
				return nil
			}
			return err
		case bytes.Equal(b, []byte{0, 0, 0, 0}):
			g.skip = 4
		case bytes.Equal(b, xzMagic[:4]):
			g.state = xzStreamHeader
			return g.next()
		default:
			return errors.New("data after the end of the xz stream (trailing garbage)")
		}
	}
	return nil
}

// xzBlockCost is what a block costs the decoder besides its dictionary
// (its state, its check), charged to the byte budget for every block.
const xzBlockCost = 64 << 10

// blockHeader checks a block header's filter chain: LZMA2 alone (the only
// filter the decoder reads), with a dictionary within the cap. When the
// whole block is in the buffer already, its size is known, and a
// dictionary larger than it (which the decoder would allocate all the
// same) is lowered in a copy of the header, returned to be passed on
// instead: a stream of tiny blocks claiming big dictionaries costs
// nothing then.
func (g *xzGuard) blockHeader(hdr []byte) ([]byte, error) {
	hdr = bytes.Clone(hdr) // the look-ahead below may move the buffer
	flags := hdr[1]
	if flags&0x3c != 0 {
		return nil, errors.New("bad xz block header flags")
	}
	p := 2
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} { // compressed, uncompressed size
		if present {
			_, k := binary.Uvarint(hdr[p:])
			if k <= 0 {
				return nil, errors.New("bad xz block header")
			}
			p += k
		}
	}
	// Only LZMA2 alone is read: the first filter must be it, and the last.
	filters := int(flags&3) + 1
	{
		id, k := binary.Uvarint(hdr[p:])
		if k <= 0 {
			return nil, errors.New("bad xz block header")
		}
		p += k
		propSize, k := binary.Uvarint(hdr[p:])
		if k <= 0 || propSize > uint64(len(hdr)-p-k) {
			return nil, errors.New("bad xz block header")
		}
		p += k
		props := hdr[p : p+int(propSize)]
		propAt := p
		p += int(propSize)
		if id != 0x21 || filters != 1 {
			return nil, fmt.Errorf("%w: xz filter %#x (only LZMA2 alone is read)", ErrUnsupported, id)
		}
		if len(props) != 1 || props[0] > 40 {
			return nil, errors.New("bad LZMA2 dictionary size")
		}
		dict := lzma2DictSize(props[0])
		if dict > g.maxDict {
			return nil, limitError("--max-window", "xz block at offset %d claims a %s dictionary, more than %s", g.off, FormatSize(dict), FormatSize(g.maxDict))
		}
		var rewritten []byte
		if size, ok := g.bufferedBlockSize(len(hdr)); ok {
			if need := lzma2DictProp(max(size, 4096)); need < props[0] {
				rewritten = hdr
				rewritten[propAt] = need
				binary.LittleEndian.PutUint32(rewritten[len(hdr)-4:], crc32.ChecksumIEEE(rewritten[:len(hdr)-4]))
				dict = lzma2DictSize(need)
			}
		}
		return rewritten, g.charge(dict + xzBlockCost)
	}
}

// bufferedBlockSize returns the uncompressed size of the block whose
// header of hdrLen bytes starts the buffer, when its LZMA2 chunks end in
// the buffer.
func (g *xzGuard) bufferedBlockSize(hdrLen int) (int64, bool) {
	buf, _ := g.r.Peek(g.r.Size())
	var size int64
	for p := hdrLen; p < len(buf); {
		c := buf[p]
		switch {
		case c == 0:
			return size, true
		case (c == 1 || c == 2) && p+3 <= len(buf):
			n := int(binary.BigEndian.Uint16(buf[p+1:])) + 1
			size += int64(n)
			p += 3 + n
		case c >= 0x80 && p+5 <= len(buf):
			size += int64(c&0x1f)<<16 + int64(binary.BigEndian.Uint16(buf[p+1:])) + 1
			p += 5 + int(binary.BigEndian.Uint16(buf[p+3:])) + 1
			if c >= 0xc0 {
				p++
			}
		default:
			return 0, false
		}
	}
	return 0, false
}

// lzma2DictProp returns the smallest LZMA2 dictionary size property whose
// size is at least n.
func lzma2DictProp(n int64) byte {
	for p := byte(0); p < 40; p++ {
		if lzma2DictSize(p) >= n {
			return p
		}
	}
	return 40
}

// lzma2DictSize decodes an LZMA2 dictionary size property (0 to 40).
func lzma2DictSize(p byte) int64 {
	if p == 40 {
		return 1<<32 - 1
	}
	return int64(2|p&1) << (p/2 + 11)
}

// xzCheckSize returns the size of a block check of the given type.
func xzCheckSize(id byte) int64 {
	if id == 0 {
		return 0
	}
	return 4 << ((id - 1) / 3)
}

// sizeString shows a byte count the way the caps are given: "64 MiB".
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
