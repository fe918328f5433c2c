// Package archivetest makes hostile inputs for tests of archive readers:
// decompression bombs, headers that lie, names that climb out, nesting a
// thousand levels deep. Every generator streams to an io.Writer and costs
// little to run, so a test can make a gzip of 20 GiB of zeros in a few
// milliseconds and a few MiB of disk, and nothing big is ever committed.
//
// The bombs are well-formed: their checksums and sizes are right, so a
// reader that stops them must do so by a cap, not by luck.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mtime is the modification time of every generated entry.
var Mtime = time.Unix(1700000000, 0).UTC()

// zeroChunk is how many zero bytes one repeated deflate chunk holds.
const zeroChunk = 1 << 20

var (
	deflateOnce         sync.Once
	deflateFirst        []byte // the first chunk: a literal, then matches
	deflateRepeat       []byte // every later chunk, byte for byte the same
	deflateErr          error
	crcZeroChunk        uint32
	deflateFinal        = []byte{0x03, 0x00} // a final, empty, fixed-Huffman block
	errNotRepeatingFlat = fmt.Errorf("archivetest: deflate chunks of zeros do not repeat")
)

// prepareDeflate compresses three chunks of zeros, each ended by a sync
// flush (so each ends on a byte boundary), and keeps the first and the
// repeating one: a deflate stream of n chunks is the first, then the
// repeating one n-1 times.
func prepareDeflate() {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		deflateErr = err
		return
	}
	zeros := make([]byte, zeroChunk)
	var chunks [][]byte
	for range 3 {
		start := buf.Len()
		if _, err := zw.Write(zeros); err != nil {
			deflateErr = err
			return
		}
		if err := zw.Flush(); err != nil {
			deflateErr = err
			return
		}
		chunks = append(chunks, bytes.Clone(buf.Bytes()[start:]))
	}
	if !bytes.Equal(chunks[1], chunks[2]) {
		deflateErr = errNotRepeatingFlat
		return
	}
	deflateFirst, deflateRepeat = chunks[0], chunks[1]
	crcZeroChunk = crc32.ChecksumIEEE(zeros)
}

// DeflateZeros writes a raw deflate stream of n zero bytes (n a multiple
// of 1 MiB) and returns its CRC-32 and its compressed size.
func DeflateZeros(w io.Writer, n int64) (crc uint32, written int64, err error) {
	deflateOnce.Do(prepareDeflate)
	if deflateErr != nil {
		return 0, 0, deflateErr
	}
	if n <= 0 || n%zeroChunk != 0 {
		return 0, 0, fmt.Errorf("archivetest: %d zeros: want a positive multiple of %d", n, zeroChunk)
	}
	cw := &countWriter{w: w}
	if _, err := cw.Write(deflateFirst); err != nil {
		return 0, cw.n, err
	}
	for i := int64(1); i < n/zeroChunk; i++ {
		if _, err := cw.Write(deflateRepeat); err != nil {
			return 0, cw.n, err
		}
	}
	if _, err := cw.Write(deflateFinal); err != nil {
		return 0, cw.n, err
	}
	return CRC32Zeros(n), cw.n, nil
}

// GzipZeros writes one gzip member that decompresses to n zero bytes (n a
// multiple of 1 MiB), CRC-32 and size right. 20 GiB take 20 MiB.
func GzipZeros(w io.Writer, n int64) error {
	hdr := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	crc, _, err := DeflateZeros(w, n)
	if err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc)
	binary.LittleEndian.PutUint32(trailer[4:], uint32(n))
	_, err = w.Write(trailer[:])
	return err
}

// ZipZeros writes a zip holding one deflated entry of n zero bytes (n a
// multiple of 1 MiB; zip64 when it needs to be): a zip with a ratio of
// about 1000 to 1.
func ZipZeros(w io.Writer, name string, n int64) error {
	var data bytes.Buffer
	crc, size, err := DeflateZeros(&data, n)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	fw, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: Mtime,
		CRC32: crc, CompressedSize64: uint64(size), UncompressedSize64: uint64(n)})
	if err != nil {
		return err
	}
	if _, err := fw.Write(data.Bytes()); err != nil {
		return err
	}
	return zw.Close()
}

// ZipOverlap writes a zip whose central directory lists entries files, all
// pointing at the one local file of n deflated zeros (n a multiple of 1
// MiB, below 4 GiB): every entry decompresses the same kernel, so the zip
// holds entries*n bytes in the size of one. Names are "f0", "f1", ...
func ZipOverlap(w io.Writer, entries int, n int64) error {
	if n >= 1<<32 || entries >= 1<<16 {
		return fmt.Errorf("archivetest: ZipOverlap(%d, %d): too big for a zip without zip64", entries, n)
	}
	var data bytes.Buffer
	crc, size, err := DeflateZeros(&data, n)
	if err != nil {
		return err
	}
	cw := &countWriter{w: w}
	le := binary.LittleEndian
	local := make([]byte, 30)
	le.PutUint32(local[0:], 0x04034b50)
	le.PutUint16(local[4:], 20)
	le.PutUint16(local[8:], zip.Deflate)
	le.PutUint32(local[14:], crc)
	le.PutUint32(local[18:], uint32(size))
	le.PutUint32(local[22:], uint32(n))
	le.PutUint16(local[26:], 2)
	if _, err := cw.Write(append(local, "f0"...)); err != nil {
		return err
	}
	if _, err := cw.Write(data.Bytes()); err != nil {
		return err
	}
	cdStart := cw.n
	for i := range entries {
		name := fmt.Sprintf("f%d", i)
		cd := make([]byte, 46)
		le.PutUint32(cd[0:], 0x02014b50)
		le.PutUint16(cd[4:], 20)
		le.PutUint16(cd[6:], 20)
		le.PutUint16(cd[10:], zip.Deflate)
		le.PutUint32(cd[16:], crc)
		le.PutUint32(cd[20:], uint32(size))
		le.PutUint32(cd[24:], uint32(n))
		le.PutUint16(cd[28:], uint16(len(name)))
		if _, err := cw.Write(append(cd, name...)); err != nil {
			return err
		}
	}
	eocd := make([]byte, 22)
	le.PutUint32(eocd[0:], 0x06054b50)
	le.PutUint16(eocd[8:], uint16(entries))
	le.PutUint16(eocd[10:], uint16(entries))
	le.PutUint32(eocd[12:], uint32(cw.n-cdStart))
	le.PutUint32(eocd[16:], uint32(cdStart))
	_, err = cw.Write(eocd)
	return err
}

// CRC32Zeros returns the CRC-32 (IEEE) of n zero bytes, without reading
// them: the CRCs of 1 MiB chunks combined as zlib's crc32_combine does.
func CRC32Zeros(n int64) uint32 {
	deflateOnce.Do(prepareDeflate)
	crc := uint32(0)
	for ; n >= zeroChunk; n -= zeroChunk {
		crc = crc32Combine(crc, crcZeroChunk, zeroChunk)
	}
	return crc32Combine(crc, crc32.ChecksumIEEE(make([]byte, n)), n)
}

// crc32Combine returns the CRC-32 of A then B from crc1 = CRC(A), crc2 =
// CRC(B) and len2 = len(B): crc1 times x^(8*len2) modulo the polynomial,
// plus crc2 (zlib's method).
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	return multModP(x2nModP(len2, 3), crc1) ^ crc2
}

const crcPoly = 0xedb88320 // IEEE, reflected

// multModP multiplies a and b modulo the CRC polynomial (reflected).
func multModP(a, b uint32) uint32 {
	m, p := uint32(1)<<31, uint32(0)
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
}

// x2nModP returns x^(n * 2^k) modulo the CRC polynomial.
func x2nModP(n int64, k uint) uint32 {
	var table [32]uint32
	p := uint32(1) << 30 // x^1
	table[0] = p
	for i := 1; i < 32; i++ {
		p = multModP(p, p)
		table[i] = p
	}
	p = 1 << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multModP(table[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TarEntry is one entry of a tar made by Tar.
type TarEntry struct {
	Header  tar.Header
	Content []byte
}

// File is a regular file entry.
func File(name, content string) TarEntry {
	return TarEntry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(content)),
		ModTime: Mtime, Format: tar.FormatPAX}, Content: []byte(content)}
}

// Link is a symlink (typeflag tar.TypeSymlink) or hardlink (tar.TypeLink).
func Link(typeflag byte, name, target string) TarEntry {
	return TarEntry{Header: tar.Header{Typeflag: typeflag, Name: name, Linkname: target, Mode: 0o777,
		ModTime: Mtime, Format: tar.FormatPAX}}
}

// Dir is a directory entry.
func Dir(name string) TarEntry {
	return TarEntry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: Mtime, Format: tar.FormatPAX}}
}

// Tar returns a tar of the entries, written by archive/tar.
func Tar(entries ...TarEntry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("archivetest: tar entry %q: %w", h.Name, err)
		}
		if _, err := tw.Write(e.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RawHeader returns one ustar header block for name (at most 100 bytes)
// with the typeflag and size given and a right checksum: a header that
// can claim any size, whatever follows it.
func RawHeader(name string, typeflag byte, size int64) []byte {
	blk := make([]byte, 512)
	copy(blk, name)
	copy(blk[100:], "0000644\x00")
	copy(blk[108:], "0000000\x00")
	copy(blk[116:], "0000000\x00")
	if size < 1<<33 {
		copy(blk[124:], fmt.Sprintf("%011o\x00", size))
	} else { // base-256, as GNU tar writes big sizes
		blk[124] = 0x80
		binary.BigEndian.PutUint64(blk[128:136], uint64(size))
	}
	copy(blk[136:], fmt.Sprintf("%011o\x00", Mtime.Unix()))
	blk[156] = typeflag
	copy(blk[257:], "ustar\x0000")
	setChecksum(blk)
	return blk
}

func setChecksum(blk []byte) {
	copy(blk[148:156], "        ")
	sum := 0
	for _, c := range blk {
		sum += int(c)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

// ManyEmptyFiles writes a tar of n empty regular files named
// "d/%08d" and its end-of-archive marker, building each header from a
// template (no archive/tar, no fmt: a million entries take a moment).
func ManyEmptyFiles(w io.Writer, n int) error {
	return manyEntries(w, n, RawHeader("d/00000000", tar.TypeReg, 0))
}

// ManyHardlinks writes a tar of an empty file "d/00000000" and n-1
// hardlinks to it, "d/00000001" on.
func ManyHardlinks(w io.Writer, n int) error {
	if _, err := w.Write(RawHeader("d/00000000", tar.TypeReg, 0)); err != nil {
		return err
	}
	link := RawHeader("d/00000000", tar.TypeLink, 0)
	copy(link[157:], "d/00000000")
	setChecksum(link)
	return manyEntries(&skipFirst{w: w, skip: 512}, n, link)
}

// skipFirst drops the first skip bytes written.
type skipFirst struct {
	w    io.Writer
	skip int
}

func (s *skipFirst) Write(p []byte) (int, error) {
	n := len(p)
	k := min(s.skip, len(p))
	s.skip -= k
	if _, err := s.w.Write(p[k:]); err != nil {
		return 0, err
	}
	return n, nil
}

// manyEntries writes n copies of the header tmpl, named "d/%08d" from 0,
// and the end-of-archive marker.
func manyEntries(w io.Writer, n int, tmpl []byte) error {
	base := 0 // the checksum without the name's digits
	for i, c := range tmpl {
		switch {
		case i >= 148 && i < 156:
			base += ' '
		case i < 2 || i >= 10:
			base += int(c)
		}
	}
	buf := make([]byte, 0, 512*1024)
	var name [8]byte
	for i := range n {
		v, sum := i%100000000, base
		for k := 7; k >= 0; k-- {
			name[k] = byte('0' + v%10)
			v /= 10
			sum += int(name[k])
		}
		buf = append(buf, tmpl...)
		blk := buf[len(buf)-512:]
		copy(blk[2:10], name[:])
		for k := 5; k >= 0; k-- { // "%06o\x00 "
			blk[148+k] = byte('0' + sum%8)
			sum /= 8
		}
		blk[154], blk[155] = 0, ' '
		if len(buf) == cap(buf) {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, make([]byte, 1024)...)
	_, err := w.Write(buf)
	return err
}

// PaxRecordTar writes a tar whose one file "f" has a pax extended header
// holding one record key=value of n bytes of 'a' (streamed: a 100 MiB
// record costs no memory), then the file.
func PaxRecordTar(w io.Writer, key string, n int64) error {
	body := " " + key + "=" // the record: "<len> key=<value>\n"
	l := int64(len(body)) + n + 1
	for d := int64(len(fmt.Sprint(l))); ; d++ {
		if int64(len(fmt.Sprint(l+d))) == d {
			l += d
			break
		}
	}
	rec := fmt.Sprint(l) + body
	if _, err := w.Write(RawHeader("PaxHeaders/f", tar.TypeXHeader, l)); err != nil {
		return err
	}
	if err := writeRepeated(w, []byte(rec), 'a', n, []byte("\n")); err != nil {
		return err
	}
	if _, err := w.Write(make([]byte, pad512(l))); err != nil {
		return err
	}
	if _, err := w.Write(RawHeader("f", tar.TypeReg, 0)); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, 1024))
	return err
}

// LongNameTar writes a tar whose one file has a GNU long name ('L'
// header) of n bytes of 'a'.
func LongNameTar(w io.Writer, n int64) error {
	if _, err := w.Write(RawHeader("././@LongLink", 'L', n+1)); err != nil {
		return err
	}
	if err := writeRepeated(w, nil, 'a', n, []byte{0}); err != nil {
		return err
	}
	if _, err := w.Write(make([]byte, pad512(n+1))); err != nil {
		return err
	}
	if _, err := w.Write(RawHeader("short", tar.TypeReg, 0)); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, 1024))
	return err
}

// writeRepeated writes head, n copies of b, then tail.
func writeRepeated(w io.Writer, head []byte, b byte, n int64, tail []byte) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte{b}, 1<<20)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	_, err := w.Write(tail)
	return err
}

func pad512(n int64) int64 { return (512 - n%512) % 512 }

// SparseTar returns a pax (GNU 1.0 sparse format) tar of one file "f" of
// realSize bytes whose sparse map is the given (offset, length) pairs,
// with data data stored for them: the map may lie (overlap, run past
// realSize, claim more data than is stored).
func SparseTar(realSize int64, spans [][2]int64, data []byte) []byte {
	var sparseMap strings.Builder
	fmt.Fprintf(&sparseMap, "%d\n", len(spans))
	for _, s := range spans {
		fmt.Fprintf(&sparseMap, "%d\n%d\n", s[0], s[1])
	}
	m := []byte(sparseMap.String())
	m = append(m, make([]byte, pad512(int64(len(m))))...)
	stored := int64(len(m)) + int64(len(data))
	records := paxRecords(map[string]string{
		"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
		"GNU.sparse.name": "f", "GNU.sparse.realsize": fmt.Sprint(realSize),
	})
	var out bytes.Buffer
	out.Write(RawHeader("PaxHeaders/f", tar.TypeXHeader, int64(len(records))))
	out.WriteString(records)
	out.Write(make([]byte, pad512(int64(len(records)))))
	out.Write(RawHeader("GNUSparseFile.0/f", tar.TypeReg, stored))
	out.Write(m)
	out.Write(data)
	out.Write(make([]byte, pad512(stored)))
	out.Write(make([]byte, 1024))
	return out.Bytes()
}

// paxRecords encodes records in key order.
func paxRecords(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		body := " " + k + "=" + m[k] + "\n"
		l := len(body)
		for d := len(fmt.Sprint(l)); ; d++ {
			if len(fmt.Sprint(l+d)) == d {
				l += d
				break
			}
		}
		b.WriteString(fmt.Sprint(l) + body)
	}
	return b.String()
}

// WrapTar returns a tar holding data as the one file name.
func WrapTar(name string, data []byte) ([]byte, error) {
	e := File(name, "")
	e.Header.Size, e.Content = int64(len(data)), data
	return Tar(e)
}

// WrapGzip returns data in a gzip stream of stored deflate blocks: a
// gzip without compression, cheap to make and to nest.
func WrapGzip(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data)+len(data)/65535*5+32)
	out = append(out, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255)
	for rest := data; ; {
		n := min(len(rest), 65535)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		out = append(out, final)
		out = binary.LittleEndian.AppendUint16(out, uint16(n))
		out = binary.LittleEndian.AppendUint16(out, ^uint16(n))
		out = append(out, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data))), nil
}

// WrapZip returns a zip holding data stored as the one entry name.
func WrapZip(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: Mtime})
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Nest wraps inner levels times: a tar every tenth level, a zip five
// levels later, gzip streams between ("level-N" names the entry of each
// container level). An archive nested levels deep, about 0.2 KiB a level.
func Nest(levels int, inner []byte) ([]byte, error) {
	data := inner
	var err error
	for i := range levels {
		switch i % 10 {
		case 0:
			data, err = WrapTar(fmt.Sprintf("level-%d", i), data)
		case 5:
			data, err = WrapZip(fmt.Sprintf("level-%d", i), data)
		default:
			data, err = WrapGzip(data)
		}
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// XzBlocks writes an xz stream of blocks blocks, each holding the one
// byte 'x' in an uncompressed LZMA2 chunk, each with a block header that
// claims the LZMA2 dictionary size property dictProp (40: 4 GiB; 18: 1
// MiB; 26: 16 MiB; 30: 64 MiB; 32: 128 MiB): a valid stream of a few
// bytes per block whose decoder allocates a dictionary per block.
func XzBlocks(w io.Writer, dictProp byte, blocks int) error {
	le := binary.LittleEndian
	crc := func(b []byte) []byte { return le.AppendUint32(nil, crc32.ChecksumIEEE(b)) }
	flags := []byte{0, 1} // CRC32 checks
	out := &countWriter{w: w}
	if _, err := out.Write(append(append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, flags...), crc(flags)...)); err != nil {
		return err
	}
	hdr := []byte{2, 0, 0x21, 1, dictProp, 0, 0, 0}
	block := append(hdr, crc(hdr)...)
	block = append(block, 1, 0, 0, 'x', 0) // uncompressed chunk of 1 byte, end
	block = append(block, 0, 0, 0)         // block padding
	block = append(block, crc([]byte("x"))...)
	for range blocks {
		if _, err := out.Write(block); err != nil {
			return err
		}
	}
	index := []byte{0}
	index = binary.AppendUvarint(index, uint64(blocks))
	for range blocks {
		index = binary.AppendUvarint(index, 12+5+4) // unpadded size
		index = binary.AppendUvarint(index, 1)
	}
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = append(index, crc(index)...)
	if _, err := out.Write(index); err != nil {
		return err
	}
	footer := le.AppendUint32(nil, uint32(len(index)/4-1))
	footer = append(footer, flags...)
	footer = append(append(crc(footer), footer...), 'Y', 'Z')
	_, err := out.Write(footer)
	return err
}

// PaxEntryTar returns a tar of one regular file: a pax extended header
// holding records (written as given, whatever archive/tar would allow: a
// path with a NUL, a sparse map that lies), then a ustar header named
// name, then content.
func PaxEntryTar(name string, records map[string]string, content string) []byte {
	recs := paxRecords(records)
	var out bytes.Buffer
	out.Write(RawHeader("PaxHeaders/x", tar.TypeXHeader, int64(len(recs))))
	out.WriteString(recs)
	out.Write(make([]byte, pad512(int64(len(recs)))))
	out.Write(RawHeader(name, tar.TypeReg, int64(len(content))))
	out.WriteString(content)
	out.Write(make([]byte, pad512(int64(len(content)))))
	out.Write(make([]byte, 1024))
	return out.Bytes()
}

// ZipEntry is one entry of a zip made by Zip. A symlink has Mode
// fs.ModeSymlink and its target as Content.
type ZipEntry struct {
	Name    string
	Mode    fs.FileMode
	Content string
}

// Zip returns a zip of the entries, names as given ("../x" included).
func Zip(entries ...ZipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: Mtime}
		h.SetMode(e.Mode | 0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, e.Content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CpioEntry is one entry of a cpio made by Cpio: mode holds the file
// type bits (0o100000 regular, 0o120000 symlink with the target as
// content, 0o040000 directory).
type CpioEntry struct {
	Name    string
	Mode    uint32
	Content string
}

// Cpio returns a cpio archive ("newc") of the entries and its trailer.
func Cpio(entries ...CpioEntry) []byte {
	var out bytes.Buffer
	write := func(name string, mode uint32, content string) {
		fmt.Fprintf(&out, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			1, mode, 0, 0, 1, Mtime.Unix(), len(content), 0, 0, 0, 0, len(name)+1, 0)
		out.WriteString(name + "\x00")
		out.Write(make([]byte, (4-(110+len(name)+1)%4)%4))
		out.WriteString(content)
		out.Write(make([]byte, (4-len(content)%4)%4))
	}
	for _, e := range entries {
		write(e.Name, e.Mode, e.Content)
	}
	write("TRAILER!!!", 0, "")
	return out.Bytes()
}

// Ar returns an ar archive of the members name → content, in the order
// given, names stored in the BSD way ("#1/N" and the name before the
// content), so any name can be written.
func Ar(members ...[2]string) []byte {
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	for _, m := range members {
		name, content := m[0], m[1]
		size := len(name) + len(content)
		fmt.Fprintf(&out, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", fmt.Sprintf("#1/%d", len(name)), Mtime.Unix(), 0, 0, 0o100644, size)
		out.WriteString(name + content)
		if size%2 == 1 {
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
