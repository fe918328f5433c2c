package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reproof/reproof/archive"
)

// BenchmarkNormalize measures Normalize on a generated tar.gz shaped like a
// source release: a few thousand text files (compressible), a few large
// incompressible blobs, directories, symlinks and hardlinks, stored in
// reverse order with varied times and owners so every tar pass has work.
// The MB/s figure is uncompressed tar bytes per second. The side-by-side
// with GNU tar and gzip, and the 1 GiB memory check, are in
// bench/normalize.sh (make bench); the figures are in docs/BENCHMARKS.md.
func BenchmarkNormalize(b *testing.B) {
	tarBytes, tgz := benchArchive(b)
	b.Logf("input: %.1f MB of tar (%d files), %.1f MB gzipped",
		float64(tarBytes)/1e6, benchFiles, float64(len(tgz))/1e6)

	all := archive.AllPasses()
	noOrder, err := archive.ParsePasses("-tar-order")
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		input  []byte
		passes archive.PassSet
	}{
		{"tar.gz/all-passes", tgz, all},
		{"tar.gz/no-tar-order", tgz, noOrder}, // no spill file: the cost of sorting
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opts := archive.NormalizeOptions{
				Passes:   c.passes,
				Epoch:    time.Unix(1700000000, 0).UTC(),
				HasEpoch: true,
				TempDir:  b.TempDir(),
			}
			b.SetBytes(tarBytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := archive.Normalize(context.Background(), bytes.NewReader(c.input), "bench.tar.gz", io.Discard, opts); err != nil {
					b.Fatalf("Normalize: %v", err)
				}
			}
		})
	}
}

// benchFiles is the number of regular files in the benchmark archive.
const benchFiles = 4000

// benchArchive builds the benchmark input once per process: it returns the
// size of the uncompressed tar and the gzipped tar. The contents come from
// a seeded generator, so every run measures the same bytes.
func benchArchive(b *testing.B) (int64, []byte) {
	b.Helper()
	benchOnce.Do(func() { benchTarSize, benchTgz, benchErr = buildBenchArchive() })
	if benchErr != nil {
		b.Fatalf("building benchmark archive: %v", benchErr)
	}
	return benchTarSize, benchTgz
}

var (
	benchOnce    sync.Once
	benchTarSize int64
	benchTgz     []byte
	benchErr     error
)

type benchFile struct {
	hdr     tar.Header
	content []byte
}

func buildBenchArchive() (int64, []byte, error) {
	rng := rand.New(rand.NewChaCha8([32]byte{'r', 'e', 'p', 'r', 'o', 'o', 'f'}))
	words := strings.Fields(`func return if else for range type struct interface package import
		var const err nil error string int64 byte len make append context reader writer close
		archive entry header tar gzip normalize epoch mtime owner mode pax sort spill offset`)
	text := func(n int) []byte {
		var buf bytes.Buffer
		for buf.Len() < n {
			buf.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(8) == 0 {
				buf.WriteString("\n\t")
			} else {
				buf.WriteByte(' ')
			}
		}
		return buf.Bytes()[:n]
	}
	blob := func(n int) []byte {
		p := make([]byte, n)
		for i := 0; i+8 <= n; i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				p[i+j] = byte(v >> (8 * j))
			}
		}
		return p
	}
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	hdr := func(name string, flag byte) tar.Header {
		return tar.Header{
			Name: name, Typeflag: flag, Mode: 0o664, Uid: 1000, Gid: 1000, Uname: "builder", Gname: "builder",
			ModTime: base.Add(time.Duration(rng.IntN(1e6)) * time.Second), Format: tar.FormatGNU,
		}
	}

	var files []benchFile
	dirs := 0
	for i := range benchFiles {
		dir := fmt.Sprintf("release-1.0/pkg%03d/", i/40)
		if i%40 == 0 {
			h := hdr(dir, tar.TypeDir)
			h.Mode = 0o775
			files = append(files, benchFile{hdr: h})
			dirs++
		}
		name := fmt.Sprintf("%sfile%04d.go", dir, i)
		var c []byte
		switch {
		case i%1000 == 999: // a few large, incompressible blobs
			name = fmt.Sprintf("%sasset%04d.bin", dir, i)
			c = blob(4<<20 + rng.IntN(1<<20))
		default:
			c = text(256 + rng.IntN(12<<10))
		}
		h := hdr(name, tar.TypeReg)
		h.Size = int64(len(c))
		if i%97 == 0 {
			h.Mode = 0o775 // executable, group-writable
		}
		files = append(files, benchFile{hdr: h, content: c})
		switch i % 500 {
		case 1:
			l := hdr(name+".link", tar.TypeSymlink)
			l.Linkname = fmt.Sprintf("file%04d.go", i)
			files = append(files, benchFile{hdr: l})
		case 2:
			l := hdr(name+".hard", tar.TypeLink)
			l.Linkname = name
			files = append(files, benchFile{hdr: l})
		}
	}
	// Reverse path order (hardlinks stay after their target) so tar-order
	// moves nearly every entry.
	sort.SliceStable(files, func(i, j int) bool {
		a, c := files[i].hdr, files[j].hdr
		if (a.Typeflag == tar.TypeLink) != (c.Typeflag == tar.TypeLink) {
			return c.Typeflag == tar.TypeLink
		}
		return a.Name > c.Name
	})

	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := f.hdr
		if err := tw.WriteHeader(&h); err != nil {
			return 0, nil, err
		}
		if _, err := tw.Write(f.content); err != nil {
			return 0, nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, nil, err
	}
	var tgz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&tgz, gzip.BestSpeed)
	if err != nil {
		return 0, nil, err
	}
	zw.Name, zw.ModTime = "release-1.0.tar", base
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return 0, nil, err
	}
	if err := zw.Close(); err != nil {
		return 0, nil, err
	}
	return int64(raw.Len()), tgz.Bytes(), nil
}
