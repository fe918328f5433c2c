package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// entrySummary is what the reader tests compare: the fields every format
// can state, plus the content digest.
type entrySummary struct {
	Type     EntryType
	Linkname string
	Mode     int64
	Size     int64
	Digest   string
}

// closeOK closes c, failing the test if that fails: a Stream's Close
// removes its spill files.
func closeOK(t testing.TB, c io.Closer) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func readAll(t *testing.T, path string, opts Options) (Format, map[string]entrySummary, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, f)
	opts.Digest = true
	s, err := Open(f, path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	defer closeOK(t, s)
	got := map[string]entrySummary{}
	var order []string
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next in %q: %v", path, err)
		}
		if _, err := io.Copy(io.Discard, s); err != nil {
			t.Fatalf("reading %q in %q: %v", e.Name, path, err)
		}
		name := strings.TrimPrefix(strings.TrimSuffix(e.Name, "/"), "./")
		got[name] = entrySummary{e.Type, e.Linkname, e.Mode, e.Size, hex.EncodeToString(e.Digest)}
		order = append(order, name)
	}
	return s.Format, got, order
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestReaderEntryModel(t *testing.T) {
	hello := entrySummary{Type: TypeRegular, Mode: 0o644, Size: 6, Digest: digestOf("hello\n")}
	run := entrySummary{Type: TypeRegular, Mode: 0o755, Size: 18, Digest: digestOf("#!/bin/sh\necho hi\n")}
	long := "t/dir/" + strings.Repeat("long-name-", 12)
	for _, file := range []string{"gnu.tar", "pax.tar", "t.tar.gz", "t.tar.xz", "t.tar.zst", "t.tar.bz2"} {
		t.Run(file, func(t *testing.T) {
			_, got, _ := readAll(t, filepath.Join("testdata/seed", file), Options{})
			want := map[string]entrySummary{
				"t/run.sh": run,
				"t/link":   {Type: TypeSymlink, Linkname: "hello.txt", Mode: 0o777},
				"t/empty":  {Type: TypeDir, Mode: 0o755},
				long:       {Type: TypeRegular, Mode: 0o644, Size: 5, Digest: digestOf("long\n")},
			}
			for name, w := range want {
				g, ok := got[name]
				if !ok {
					t.Errorf("%s: entry %q missing (have %d entries)", file, name, len(got))
					continue
				}
				if g != w {
					t.Errorf("%s: entry %q = %+v, want %+v", file, name, g, w)
				}
			}
			// Which name of the hardlinked pair holds the content depends
			// on tar's walk; one must, and the other must link to it.
			a, b := got["t/hello.txt"], got["t/dir/hard"]
			holder, link, holderName := a, b, "t/hello.txt"
			if a.Type == TypeHardlink {
				holder, link, holderName = b, a, "t/dir/hard"
			}
			if holder != hello || link.Type != TypeHardlink || link.Linkname != holderName {
				t.Errorf("%s: hardlinked pair = %+v, %+v; want one holding %+v and one linking to it", file, a, b, hello)
			}
		})
	}
}

func TestReaderSparse(t *testing.T) {
	want := make([]byte, 2<<20)
	copy(want[1<<20:], "data\n")
	for _, file := range []string{"sparse-gnu.tar", "sparse-pax.tar"} {
		_, got, _ := readAll(t, filepath.Join("testdata/seed", file), Options{})
		g := got["sparse"]
		if g.Type != TypeRegular || g.Size != int64(len(want)) || g.Digest != digestOf(string(want)) {
			t.Errorf("%s: sparse = %+v, want a %d-byte regular file with the holes filled", file, g, len(want))
		}
	}
}

func TestReaderOtherContainers(t *testing.T) {
	long := strings.Repeat("long-name-", 12)
	tests := []struct {
		file string
		want map[string]entrySummary
	}{
		{"t.zip", map[string]entrySummary{
			"t/hello.txt": {Type: TypeRegular, Mode: 0o644, Size: 6, Digest: digestOf("hello\n")},
			"t/link":      {Type: TypeSymlink, Linkname: "hello.txt", Mode: 0o777},
			"t/empty":     {Type: TypeDir, Mode: 0o755},
		}},
		{"t.cpio", map[string]entrySummary{
			"hello.txt": {Type: TypeRegular, Mode: 0o644, Size: 6, Digest: digestOf("hello\n")},
			"run.sh":    {Type: TypeRegular, Mode: 0o755, Size: 18, Digest: digestOf("#!/bin/sh\necho hi\n")},
			"link":      {Type: TypeSymlink, Linkname: "hello.txt", Mode: 0o777},
			"empty":     {Type: TypeDir, Mode: 0o755},
		}},
		{"t.a", map[string]entrySummary{
			"hello.txt": {Type: TypeRegular, Mode: 0o644, Size: 6, Digest: digestOf("hello\n")},
			long:        {Type: TypeRegular, Mode: 0o644, Size: 5, Digest: digestOf("long\n")},
		}},
		{"t.deb", map[string]entrySummary{
			"debian-binary": {Type: TypeRegular, Mode: 0o644, Size: 4, Digest: digestOf("2.0\n")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, got, _ := readAll(t, filepath.Join("testdata/seed", tt.file), Options{})
			for name, w := range tt.want {
				if g := got[name]; g != w {
					t.Errorf("%s: entry %q = %+v, want %+v", tt.file, name, g, w)
				}
			}
		})
	}
}

func TestReaderMultiMemberGzip(t *testing.T) {
	f, err := os.Open("testdata/seed/multi.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, f)
	s, err := Open(f, "multi.gz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, s)
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first\nsecond\n" {
		t.Errorf("multi-member gzip content = %q, want both members", got)
	}
}

func TestReaderLimits(t *testing.T) {
	// A gzip bomb: 64 MiB of one byte in a few KiB.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	if _, err := zw.Write(bytes.Repeat([]byte{'a'}, 64<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(bytes.NewReader(bomb.Bytes()), "bomb.gz", Options{Limits: Limits{MaxBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, s)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("reading a 64 MiB bomb with a 1 MiB cap: err = %v, want ErrLimit", err)
	}
	closeOK(t, s)

	f, err := os.Open("testdata/seed/pax.tar")
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, f)
	s, err = Open(f, "pax.tar", Options{Limits: Limits{MaxEntries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeOK(t, s)
	for err == nil {
		_, err = s.Next()
	}
	if !errors.Is(err, ErrLimit) {
		t.Errorf("reading 9 entries with a cap of 2: err = %v, want ErrLimit", err)
	}
}

// TestReaderTruncated cuts every seed at many offsets: each cut must end
// in io.EOF or a *FormatError, never a panic or a silent short read of an
// entry.
func TestReaderTruncated(t *testing.T) {
	seeds, err := filepath.Glob("testdata/seed/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(data)/64)
		for cut := 0; cut < len(data); cut += step {
			drain(t, filepath.Base(path), data[:cut])
		}
	}
}

// drain reads everything in data; it fails the test on anything but a
// clean end or a typed error.
func drain(t *testing.T, name string, data []byte) {
	t.Helper()
	s, err := Open(bytes.NewReader(data), name, Options{Digest: true, Limits: Limits{MaxBytes: 64 << 20}})
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("Open(%s, %d bytes): untyped error %v", name, len(data), err)
		}
		return
	}
	clean := false
	defer func() {
		// After a read error, Close repeats it.
		if err := s.Close(); clean && err != nil {
			t.Errorf("Close(%s, %d bytes) after a clean end: %v", name, len(data), err)
		}
	}()
	for {
		e, err := s.Next()
		if err == io.EOF {
			clean = true
			return
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("Next(%s, %d bytes): untyped error %v", name, len(data), err)
			}
			return
		}
		n, err := io.Copy(io.Discard, s)
		if err != nil {
			return
		}
		if e.Type.HasContent() && n != e.Size && s.Format.Container != Zip {
			t.Errorf("%s cut at %d: entry %q gave %d bytes, header says %d, and no error", name, len(data), e.Name, n, e.Size)
		}
	}
}
