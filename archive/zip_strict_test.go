package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchZip is a zip of n small deflated files, as a release zip of many
// sources would be.
func benchZip(b *testing.B, n int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range n {
		w, err := zw.Create(fmt.Sprintf("src/pkg%02d/file%04d.go", i%50, i))
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(w, "package pkg\n\n// file %d\nvar x%d = %q\n", i, i, bytes.Repeat([]byte("abc"), i%40))
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkZipRead opens a zip of 2,000 entries and reads every entry with
// digests, as diff does.
func BenchmarkZipRead(b *testing.B) {
	data := benchZip(b, 2000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Open(bytes.NewReader(data), "bench.zip", Options{Digest: true})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, s); err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
	}
}
