package archive_test

// Hostile input, read in-process: decompression bombs, headers that lie,
// overlong names and pax records, data hidden after the end, truncation
// at every offset of every format. Each case must end quickly, in little
// memory, with the entries read or a *FormatError that says what was
// wrong (and, for a cap, which flag raises it). Bigger inputs and the
// binary's exit codes and memory are tested end to end in
// cmd/reproof/hostile_archive_e2e_test.go.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/archive/archivetest"
	"github.com/reproof/reproof/internal/testenv"
)

// readStream opens path and reads every entry and its content, as a
// comparison does (with digests); it returns the entry names and the
// first error.
func readStream(path string, limits archive.Limits) (names []string, s *archive.Stream, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only
	s, err = archive.Open(f, filepath.Base(path), archive.Options{Limits: limits, Digest: true, TempDir: filepath.Dir(path)})
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if cerr := s.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing: %w", cerr)
		}
	}()
	if !s.Format.IsArchive() {
		_, err = io.Copy(io.Discard, s)
		return nil, s, err
	}
	for {
		e, err := s.Next()
		if err == io.EOF {
			return names, s, nil
		}
		if err != nil {
			return names, s, err
		}
		names = append(names, e.Name)
		if _, err := io.Copy(io.Discard, s); err != nil {
			return names, s, err
		}
	}
}

// hostileCase is one hostile input and what reading it must give.
type hostileCase struct {
	name   string
	write  func(w io.Writer) error
	limits archive.Limits
	// want is a part of the error message ("--max-bytes"); "" when the
	// input must be read without error.
	want string
	// check, when set, looks at what was read without error.
	check func(t *testing.T, names []string, s *archive.Stream)
}

func bytesOf(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

func mustTar(t *testing.T, entries ...archivetest.TarEntry) []byte {
	t.Helper()
	b, err := archivetest.Tar(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func seed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/seed", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostileArchives(t *testing.T) {
	small := archive.Limits{MaxBytes: 64 << 20}
	hello := mustTar(t, archivetest.File("a", "hello\n"))
	dups := make([]archivetest.TarEntry, 1000)
	for i := range dups {
		dups[i] = archivetest.File("dup", fmt.Sprint(i))
	}
	longNames := make([]archivetest.TarEntry, 300)
	for i := range longNames {
		longNames[i] = archivetest.File(fmt.Sprintf("%04d/%s", i, strings.Repeat("n", 4000)), "")
	}
	cases := []hostileCase{
		{name: "gzip of 20 GiB of zeros (an empty tar and padding)",
			write: func(w io.Writer) error { return archivetest.GzipZeros(w, 20<<30) },
			want:  "more than 16 MiB of zero padding after the end-of-archive marker"},
		{name: "gzip of a tar of a 20 GiB file", limits: small, want: "(--max-bytes)",
			write: func(w io.Writer) error {
				if _, err := w.Write(gzipped(t, archivetest.RawHeader("big", tar.TypeReg, 20<<30))); err != nil {
					return err
				}
				return archivetest.GzipZeros(w, 20<<30) // a second member
			}},
		{name: "zip of 8 GiB of zeros (ratio 1000:1)", limits: small, want: "(--max-bytes)",
			write: func(w io.Writer) error { return archivetest.ZipZeros(w, "zeros", 8<<30) }},
		{name: "zip of 1000 entries sharing one 1 GiB kernel", want: "overlap",
			write: func(w io.Writer) error { return archivetest.ZipOverlap(w, 1000, 1<<30) }},
		{name: "tar of 1001 entries", limits: archive.Limits{MaxEntries: 1000}, want: "more than 1000 entries (--max-entries)",
			write: func(w io.Writer) error { return archivetest.ManyEmptyFiles(w, 1001) }},
		{name: "zip of 1001 entries", limits: archive.Limits{MaxEntries: 1000}, want: "more than 1000 entries (--max-entries)",
			write: func(w io.Writer) error {
				zw := zip.NewWriter(w)
				for i := range 1001 {
					if _, err := zw.Create(fmt.Sprint(i)); err != nil {
						return err
					}
				}
				return zw.Close()
			}},
		{name: "tar header claiming 8 GiB in a 2 KiB file", want: "truncated",
			write: bytesOf(append(archivetest.RawHeader("big", tar.TypeReg, 8<<30), make([]byte, 1536)...))},
		{name: "cpio header claiming 4 GiB in a 1 KiB file", want: "truncated",
			write: bytesOf(append([]byte("070701"+strings.Repeat("00000000", 1)+"000081a4"+strings.Repeat("00000000", 4)+
				"ffffffff"+strings.Repeat("00000000", 4)+"00000004"+"00000000"+"big\x00"), make([]byte, 1024)...))},
		{name: "ar member claiming 9 GB in a 1 KiB file", want: "truncated",
			write: bytesOf(append([]byte("!<arch>\n"+fmt.Sprintf("%-16s%-12d%-6d%-6d%-8o%-10d`\n", "big/", 0, 0, 0, 0o644, 9999999999)), make([]byte, 1024)...))},
		{name: "zip entry claiming 8 GiB stored in a 1 KiB file", want: "truncated",
			write: func(w io.Writer) error {
				zw := zip.NewWriter(w)
				fw, err := zw.CreateRaw(&zip.FileHeader{Name: "big", Method: zip.Store, CompressedSize64: 8 << 30, UncompressedSize64: 8 << 30})
				if err != nil {
					return err
				}
				if _, err := fw.Write(make([]byte, 1024)); err != nil {
					return err
				}
				return zw.Close()
			}},
		{name: "sparse file of 1 TiB", limits: small, want: "(--max-bytes)",
			write: bytesOf(archivetest.SparseTar(1<<40, [][2]int64{{1<<40 - 5, 5}}, []byte("data\n")))},
		{name: "sparse map past the file's size", want: "tar",
			write: bytesOf(archivetest.SparseTar(100, [][2]int64{{50, 100}}, make([]byte, 100)))},
		{name: "sparse map with overlapping spans", want: "tar",
			write: bytesOf(archivetest.SparseTar(100, [][2]int64{{0, 10}, {5, 10}}, make([]byte, 20)))},
		{name: "sparse map claiming more data than stored", want: "tar",
			write: bytesOf(archivetest.SparseTar(1<<20, [][2]int64{{0, 1 << 19}}, []byte("data\n")))},
		{name: "GNU long name of 100 MiB", want: "header field too long",
			write: func(w io.Writer) error { return archivetest.LongNameTar(w, 100<<20) }},
		{name: "GNU long name of 5000 bytes", want: "name of 5000 bytes, more than 4096 (--max-name)",
			write: func(w io.Writer) error { return archivetest.LongNameTar(w, 5000) }},
		{name: "pax path record of 100 MiB", want: "header field too long",
			write: func(w io.Writer) error { return archivetest.PaxRecordTar(w, "path", 100<<20) }},
		{name: "pax comment of 200 KiB", limits: archive.Limits{MaxPaxBytes: 64 << 10}, want: "(--max-pax)",
			write: func(w io.Writer) error { return archivetest.PaxRecordTar(w, "comment", 200<<10) }},
		{name: "300 names of 4000 bytes", limits: archive.Limits{MaxMetadata: 1 << 20}, want: "more than 1 MiB of names and pax records (--max-metadata)",
			write: bytesOf(mustTar(t, longNames...))},
		{name: "xz block claiming a 4 GiB dictionary", want: "claims a 4.0 GiB dictionary, more than 128 MiB (--max-window)",
			write: func(w io.Writer) error { return archivetest.XzBlocks(w, 40, 1) }},
		{name: "xz of 5000 one-byte blocks claiming 64 MiB dictionaries",
			write: func(w io.Writer) error { return archivetest.XzBlocks(w, 30, 5000) }},
		{name: "zstd frame claiming a 2 GiB window", want: "zstd frame window larger than 128 MiB (--max-window)",
			write: bytesOf([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x09, 0x00, 0x00, 'x'})},
		{name: "1000 entries of the same name", write: bytesOf(mustTar(t, dups...)),
			check: func(t *testing.T, names []string, _ *archive.Stream) {
				if len(names) != 1000 || names[0] != "dup" || names[999] != "dup" {
					t.Errorf("read %d entries (%q...), want all 1000 named dup", len(names), names[:min(3, len(names))])
				}
			}},
		{name: "tar with data after the end-of-archive marker", want: "data after the end-of-archive marker (trailing garbage)",
			write: bytesOf(append(bytes.Clone(hello), "hidden"...))},
		{name: "tar with 17 MiB of zeros after the end", want: "more than 16 MiB of zero padding",
			write: bytesOf(append(bytes.Clone(hello), make([]byte, 17<<20)...))},
		{name: "tar without its end-of-archive marker", want: "no end-of-archive marker (truncated?)",
			write: bytesOf(hello[:len(hello)-1024])},
		{name: "tar.gz with data after the last member", want: "gzip at offset",
			write: bytesOf(append(gzipped(t, hello), "hidden"...))},
		{name: "tar.gz with zero padding after the last member", write: bytesOf(append(gzipped(t, hello), make([]byte, 512)...)),
			check: func(t *testing.T, names []string, s *archive.Stream) {
				if s.TrailingZeros != 512 {
					t.Errorf("TrailingZeros = %d, want 512", s.TrailingZeros)
				}
			}},
		{name: "tar.xz with data after the stream", want: "data after the end of the xz stream (trailing garbage)",
			write: bytesOf(append(seed(t, "t.tar.xz"), "hidden!!"...))},
		{name: "tar.bz2 with data after the stream", want: "data after the end of the stream (trailing garbage)",
			write: bytesOf(append(seed(t, "t.tar.bz2"), "hidden!!"...))},
		{name: "tar.zst with data after the frame", want: "zstd at offset",
			write: bytesOf(append(seed(t, "t.tar.zst"), "hidden!!"...))},
		{name: "garbage named .tar.gz",
			write: func(w io.Writer) error {
				b := make([]byte, 64<<10)
				r := rand.NewChaCha8([32]byte{1})
				r.Read(b)
				b[0] = 'x' // not by chance a magic number
				_, err := w.Write(b)
				return err
			},
			check: func(t *testing.T, names []string, s *archive.Stream) {
				if s.Format.IsArchive() || s.Format.Compression != archive.NoCompression {
					t.Errorf("random bytes detected as %v, want raw", s.Format)
				}
			}},
		{name: "gzip of 32 KiB of zeros and then data (an ISO image)", write: bytesOf(gzipped(t, append(make([]byte, 32<<10), "CD001"...))),
			check: func(t *testing.T, names []string, s *archive.Stream) {
				if s.Format.IsArchive() {
					t.Errorf("detected as %v, want a compressed plain file", s.Format)
				}
			}},
		{name: "garbage behind a gzip magic", want: "gzip",
			write: bytesOf(append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, bytes.Repeat([]byte{0xff}, 4096)...))},
	}
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("case-%d.tar.gz", i))
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.write(f); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.Remove(path); err != nil {
					t.Error(err)
				}
			}()
			var names []string
			var s *archive.Stream
			start := time.Now()
			peak := archivetest.PeakHeap(func() { names, s, err = readStream(path, tc.limits) })
			elapsed := time.Since(start)
			t.Logf("%v, peak heap %d MiB", elapsed.Round(time.Millisecond), peak>>20)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("reading it: %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("reading it: error %v, want one saying %q", err, tc.want)
			}
			var fe *archive.FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error %v is not a *archive.FormatError", err)
			}
			if strings.Contains(tc.want, "(--") && !errors.Is(err, archive.ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			if tc.check != nil {
				tc.check(t, names, s)
			}
			if elapsed > 20*time.Second {
				t.Errorf("took %v, want it stopped early", elapsed)
			}
			if peak > 160<<20 {
				t.Errorf("peak heap %d MiB, want less than 160", peak>>20)
			}
			if left, err := filepath.Glob(filepath.Join(dir, "reproof-*")); err != nil || len(left) > 0 {
				t.Errorf("left %q behind", left)
			}
		})
	}
}

// TestTruncatedEveryFormat cuts a real-tool archive of every format at
// many offsets: each cut gives an error that names the offset or the
// entry, or, where the cut falls after the end of the archive (in
// padding) or at a member boundary of an ar archive (which has no end
// marker), the entries of the whole archive (of a prefix, for ar).
func TestTruncatedEveryFormat(t *testing.T) {
	files, err := filepath.Glob("testdata/seed/*")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, file := range files {
		switch filepath.Base(file) {
		case "plain.txt", "long.zst", "plain.bz2":
			// Not an archive; and the same formats as t.tar.zst and
			// t.tar.bz2, more costly to decode (a 128 MiB window).
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			full, s, err := readStream(file, archive.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			isAr := s.Format.Container == archive.Ar
			path := filepath.Join(dir, filepath.Base(file))
			cuts := 0
			for cut := 0; cut < len(data); cut++ {
				if s.Format.Compression != archive.NoCompression || s.Format.Container == archive.Zip || !s.Format.IsArchive() {
					// A stream checked as a whole: every offset near its
					// ends, a sample between.
					if cut >= 64 && len(data)-cut > 64 && cut%29 != 0 {
						continue
					}
				} else if cut >= 600 && len(data)-cut > 64 && cut%512 > 1 && cut%512 != 511 && cut%97 != 0 {
					continue // every offset near the ends and the blocks' edges, a sample between
				}
				cuts++
				if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
					t.Fatal(err)
				}
				names, s, err := readStream(path, archive.Limits{})
				if err == nil {
					if s == nil || !s.Format.IsArchive() {
						continue // too short to be detected: read as plain bytes
					}
					if slicesEqual(names, full) || (isAr && isPrefix(names, full)) {
						continue
					}
					t.Errorf("cut at %d of %d: read %d of %d entries without error", cut, len(data), len(names), len(full))
					continue
				}
				var fe *archive.FormatError
				if !errors.As(err, &fe) {
					t.Errorf("cut at %d: error %v is not a *archive.FormatError", cut, err)
				} else if fe.Offset < 0 && fe.Entry == "" {
					t.Errorf("cut at %d: error %q names neither an offset nor an entry", cut, err)
				}
			}
			t.Logf("%d cuts of %d bytes", cuts, len(data))
		})
	}
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && isPrefix(a, b)
}

func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestXzLikeXzUtils reads xz streams made by xz itself in every shape it
// writes (one block or many, sizes in the block headers or not, several
// streams with padding between them, each check type): the guard in front
// of the decoder, which lowers the dictionary of blocks it sees whole,
// must never change what is decoded.
func TestXzLikeXzUtils(t *testing.T) {
	testenv.RequireTools(t, "xz")
	dir := t.TempDir()
	text := make([]byte, 0, 250<<10)
	for i := 0; len(text) < 250<<10; i++ {
		text = fmt.Appendf(text, "line %d\n", i)
	}
	random := make([]byte, 150<<10)
	rand.NewChaCha8([32]byte{2}).Read(random)
	input := append(text, random...)
	if err := os.WriteFile(filepath.Join(dir, "in"), input, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
xz -9 -T1 -c in >one-block.xz
xz -6 -T1 --block-size=16KiB -c in >blocks-no-sizes.xz
xz -6 -T2 --block-size=16KiB -c in >blocks-with-sizes.xz
xz -1 --block-size=200KiB -T2 -c in >big-blocks.xz
xz -1 -C none -c in >check-none.xz
xz -1 -C crc32 -c in >check-crc32.xz
xz -1 -C sha256 -c in >check-sha256.xz
{ xz -1 -c in; head -c 8 /dev/zero; xz -1 --block-size=4KiB -T2 -c in; xz -1 -C none -c in; } >streams.xz
xz -t streams.xz
`
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"one-block.xz", "blocks-no-sizes.xz", "blocks-with-sizes.xz", "big-blocks.xz",
		"check-none.xz", "check-crc32.xz", "check-sha256.xz", "streams.xz"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, c, err := archive.OpenPayload(f, archive.Options{})
		if err != nil {
			t.Fatalf("OpenPayload(%s): %v", name, err)
		}
		got, err := io.ReadAll(r)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		want := input
		if name == "streams.xz" {
			want = bytes.Repeat(input, 3)
		}
		if err != nil || c != archive.Xz || !bytes.Equal(got, want) {
			t.Errorf("reading %s: %d bytes (%v), %v; want the %d bytes xz -d gives", name, len(got), c, err, len(want))
		}
	}
}
