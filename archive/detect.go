package archive

import (
	"bufio"
	"bytes"
	"io"
)

// peekSize is how much of a stream detection looks at.
const peekSize = 1024

// DetectCompression names the compression of a stream from its first bytes.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b, 0x08}):
		return Gzip
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case len(head) >= 10 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9' &&
		(bytes.Equal(head[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || // block
			bytes.Equal(head[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})): // empty stream
		return Bzip2
	}
	return NoCompression
}

// DetectContainer names the container format of an uncompressed stream from
// its first bytes (at least 512 of them for tar).
func DetectContainer(head []byte) (c Container, deb bool) {
	switch {
	case bytes.HasPrefix(head, []byte("!<arch>\n")):
		rest := head[8:]
		deb = bytes.HasPrefix(rest, []byte("debian-binary   ")) || bytes.HasPrefix(rest, []byte("debian-binary/  "))
		return Ar, deb
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")),
		bytes.HasPrefix(head, []byte("PK\x07\x08PK\x03\x04")):
		return Zip, false
	case bytes.HasPrefix(head, []byte("070701")), bytes.HasPrefix(head, []byte("070702")):
		return Cpio, false
	case isTarHeader(head):
		return Tar, false
	}
	return Raw, false
}

// isTarHeader reports whether head starts with a tar header block: a ustar
// or GNU magic, or a V7 header whose checksum is right, or the two zero
// blocks of an empty archive.
func isTarHeader(head []byte) bool {
	if len(head) < 512 {
		return false
	}
	blk := (*[blockSize]byte)(head[:blockSize])
	if len(head) >= 1024 && allZero(head[:1024]) {
		return true
	}
	magic := blk[257:265]
	if bytes.Equal(magic[:6], []byte("ustar\x00")) || bytes.Equal(magic, []byte("ustar  \x00")) {
		return checksumOK(blk) // the tar reader's own check: detection and reading agree
	}
	return blk[0] != 0 && checksumOK(blk)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// peek returns up to n bytes from br without consuming them; a short
// stream is not an error.
func peek(br *bufio.Reader, n int) ([]byte, error) {
	head, err := br.Peek(n)
	if err == io.EOF || err == bufio.ErrBufferFull {
		err = nil
	}
	return head, err
}
