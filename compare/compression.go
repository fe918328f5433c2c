package compare

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/reproof/reproof/archive"
)

// compressionDifference describes how the compression layers of a and b
// differ: the algorithms, the gzip header fields, the xz and zstd stream
// settings. ok is false when the layers show no difference of their own
// (the payloads differ and the headers agree).
func compressionDifference(a, b string, fa, fb archive.Format, payloadEqual bool) (Difference, bool) {
	same := ""
	if payloadEqual {
		same = "; decompressed payload identical"
	}
	if fa.Compression != fb.Compression {
		return Difference{Kind: KindCompression, Old: fa.Compression.String(), New: fb.Compression.String(),
			Detail: fmt.Sprintf("%v → %v%s", fa.Compression, fb.Compression, same)}, true
	}
	ha, errA := readHead(a, 64<<10)
	hb, errB := readHead(b, 64<<10)
	if errA != nil || errB != nil {
		return Difference{}, false
	}
	var fields []string
	switch fa.Compression {
	case archive.Gzip:
		fields = diffFields(gzipFields(ha), gzipFields(hb))
	case archive.Xz:
		fields = diffFields(xzFields(ha), xzFields(hb))
	case archive.Zstd:
		fields = diffFields(zstdFields(ha), zstdFields(hb))
	case archive.Bzip2:
		fields = diffFields(bzip2Fields(ha), bzip2Fields(hb))
	}
	switch {
	case len(fields) > 0:
		return Difference{Kind: KindCompression, Detail: fmt.Sprintf("%v %s%s", fa.Compression, strings.Join(fields, ", "), same)}, true
	case payloadEqual:
		return Difference{Kind: KindCompression,
			Detail: fmt.Sprintf("%v streams differ with the same settings in their headers (another level or implementation)%s", fa.Compression, same)}, true
	}
	return Difference{}, false
}

// field is one named header value.
type field struct{ name, value string }

func diffFields(a, b []field) []string {
	var out []string
	for i := range a {
		if i < len(b) && a[i].value != b[i].value {
			out = append(out, fmt.Sprintf("%s %s → %s", a[i].name, a[i].value, b[i].value))
		}
	}
	return out
}

// gzipFields parses a gzip member header (RFC 1952).
func gzipFields(h []byte) []field {
	if len(h) < 10 {
		return nil
	}
	flg := h[3]
	mtime := binary.LittleEndian.Uint32(h[4:8])
	mt := "0"
	if mtime != 0 {
		mt = time.Unix(int64(mtime), 0).UTC().Format(time.RFC3339)
	}
	xfl := map[byte]string{0: "0", 2: "2 (slowest)", 4: "4 (fastest)"}[h[8]]
	if xfl == "" {
		xfl = fmt.Sprint(h[8])
	}
	name, comment, extra := `""`, `""`, "none"
	rest := h[10:]
	if flg&0x04 != 0 && len(rest) >= 2 { // FEXTRA
		n := int(binary.LittleEndian.Uint16(rest))
		if 2+n <= len(rest) {
			extra = fmt.Sprintf("%d bytes", n)
			rest = rest[2+n:]
		}
	}
	cstring := func() string {
		i := 0
		for i < len(rest) && rest[i] != 0 {
			i++
		}
		s := string(rest[:i])
		rest = rest[min(i+1, len(rest)):]
		return fmt.Sprintf("%q", clip(s))
	}
	if flg&0x08 != 0 { // FNAME
		name = cstring()
	}
	if flg&0x10 != 0 { // FCOMMENT
		comment = cstring()
	}
	return []field{
		{"name", name}, {"mtime", mt}, {"OS", fmt.Sprint(h[9])}, {"XFL", xfl},
		{"comment", comment}, {"extra", extra}, {"header CRC", fmt.Sprint(flg&0x02 != 0)},
	}
}

// xzFields parses the xz stream header and the first block header's
// filter flags (the LZMA2 dictionary size).
func xzFields(h []byte) []field {
	if len(h) < 12 {
		return nil
	}
	checks := map[byte]string{0: "none", 1: "CRC32", 4: "CRC64", 10: "SHA-256"}
	check := checks[h[7]&0x0f]
	if check == "" {
		check = fmt.Sprint(h[7] & 0x0f)
	}
	dict := "?"
	if len(h) > 12 && h[12] != 0 { // block header
		size := (int(h[12]) + 1) * 4
		if 12+size <= len(h) {
			bh := h[12 : 12+size]
			flags := bh[1]
			p := 2
			if flags&0x40 != 0 {
				p += uvarintLen(bh[p:])
			}
			if flags&0x80 != 0 {
				p += uvarintLen(bh[p:])
			}
			// First filter: ID, props size, props. LZMA2 is 0x21, one prop byte.
			if p+3 <= len(bh) && bh[p] == 0x21 && bh[p+1] == 1 {
				dict = lzma2Dict(bh[p+2])
			}
		}
	}
	return []field{{"check", check}, {"dictionary", dict}}
}

func uvarintLen(b []byte) int {
	_, n := binary.Uvarint(b)
	if n <= 0 {
		return len(b)
	}
	return n
}

func lzma2Dict(p byte) string {
	if p > 40 {
		return "?"
	}
	if p == 40 {
		return "4 GiB"
	}
	size := uint64(2|(p&1)) << (p/2 + 11)
	return archive.FormatSize(int64(size))
}

// zstdFields parses the first zstd frame header.
func zstdFields(h []byte) []field {
	if len(h) < 6 {
		return nil
	}
	fhd := h[4]
	single := fhd&0x20 != 0
	window := "content size"
	if !single {
		wd := h[5]
		exp, mant := uint64(wd>>3), uint64(wd&7)
		base := uint64(1) << (10 + exp)
		window = archive.FormatSize(int64(base + base/8*mant))
	}
	return []field{
		{"checksum", fmt.Sprint(fhd&0x04 != 0)},
		{"single segment", fmt.Sprint(single)},
		{"window", window},
		{"content size stored", fmt.Sprint(fhd>>6 != 0 || single)},
		{"dictionary ID", fmt.Sprint(fhd&0x03 != 0)},
	}
}

func bzip2Fields(h []byte) []field {
	if len(h) < 4 {
		return nil
	}
	return []field{{"block size", fmt.Sprintf("%c00k", h[3])}}
}
