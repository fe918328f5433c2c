package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenDetectsByContent(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"gnu.tar", "tar"},
		{"pax.tar", "tar"},
		{"ustar.tar", "tar"},
		{"t.tar.gz", "tar+gzip"},
		{"t.tar.xz", "tar+xz"},
		{"t.tar.zst", "tar+zstd"},
		{"t.tar.bz2", "tar+bzip2"},
		{"multi.gz", "gzip"},
		{"t.zip", "zip"},
		{"t.cpio", "cpio"},
		{"t.a", "ar"},
		{"t.deb", "deb"},
		{"sparse-gnu.tar", "tar"},
		{"nested.tar.gz", "tar+gzip"},
		{"plain.txt", "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			// Copy under a misleading name: detection must not look at it.
			data, err := os.ReadFile(filepath.Join("testdata/seed", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "misnamed.txt")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer closeOK(t, f)
			s, err := Open(f, path, Options{})
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.file, err)
			}
			defer closeOK(t, s)
			if got := s.Format.String(); got != tt.want {
				t.Errorf("Open(%q).Format = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

func TestDetectContainerRejectsLookalikes(t *testing.T) {
	// A 512-byte block with "ustar" at the right place but a wrong
	// checksum is not a tar; nor is a lone "PK" or text that starts with
	// "!<arch" but not the full magic.
	blk := make([]byte, 1024)
	copy(blk, "name")
	copy(blk[257:], "ustar\x0000")
	copy(blk[148:], "0000000\x00")
	for name, head := range map[string][]byte{
		"bad tar checksum": blk,
		"PK only":          []byte("PK and then text"),
		"partial ar magic": []byte("!<arch> no newline"),
		"empty":            nil,
		"short zeros":      make([]byte, 100),
	} {
		if c, _ := DetectContainer(head); c != Raw {
			t.Errorf("DetectContainer(%s) = %v, want raw", name, c)
		}
	}
}

func TestDetectCompressionNeedsFullMagic(t *testing.T) {
	for _, head := range [][]byte{
		{0x1f},             // half a gzip magic
		[]byte("BZh9abc"),  // bzip2 magic without a block signature
		{0xfd, '7', 'z'},   // truncated xz magic
		[]byte("\x28\xb5"), // truncated zstd magic
	} {
		if c := DetectCompression(head); c != NoCompression {
			t.Errorf("DetectCompression(%q) = %v, want none", head, c)
		}
	}
	if c := DetectCompression(bytes.Repeat([]byte{0}, 16)); c != NoCompression {
		t.Errorf("DetectCompression(zeros) = %v, want none", c)
	}
}
