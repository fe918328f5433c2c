package archive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// addSeeds adds every real-tool sample under testdata/seed to the corpus.
func addSeeds(f *testing.F) {
	paths, err := filepath.Glob("testdata/seed/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// fuzzLimits keep each input cheap: a bomb stops at 4 MiB.
var fuzzLimits = Limits{MaxEntries: 1000, MaxBytes: 4 << 20}

// FuzzOpen reads any input through every format reader: it must end in a
// clean EOF or a typed error, within the limits, without panicking.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(bytes.NewReader(data), "fuzz", Options{Digest: true, Limits: fuzzLimits, TempDir: t.TempDir()})
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Open: untyped error %v", err)
			}
			return
		}
		for {
			_, err := s.Next()
			if err == io.EOF {
				closeOK(t, s)
				return
			}
			if err != nil {
				break
			}
			if _, err := io.Copy(io.Discard, s); err != nil {
				break
			}
		}
		s.Close() //nolint:errcheck // after a read error, Close repeats it
	})
}

// FuzzNormalize checks, for any input Normalize accepts, that its output
// is a readable archive and a fixed point: normalizing it again gives the
// same bytes.
func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	opts := NormalizeOptions{Passes: AllPasses(), Epoch: time.Unix(1700000000, 0), HasEpoch: true, Limits: fuzzLimits}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts.TempDir = t.TempDir()
		var once bytes.Buffer
		if _, err := Normalize(context.Background(), bytes.NewReader(data), "fuzz", &once, opts); err != nil {
			return
		}
		// The output stores sparse files in full, so it may decompress to
		// more than the input did: read it again without the input's cap.
		again := opts
		again.Limits = Limits{}
		var twice bytes.Buffer
		if _, err := Normalize(context.Background(), bytes.NewReader(once.Bytes()), "normalized", &twice, again); err != nil {
			t.Fatalf("normalizing the output again: %v", err)
		}
		if !bytes.Equal(once.Bytes(), twice.Bytes()) {
			t.Fatalf("normalize is not idempotent: %d bytes, then %d bytes", once.Len(), twice.Len())
		}
	})
}

// seedsOf adds the real-tool samples under testdata/seed whose names
// match one of the patterns.
func seedsOf(f *testing.F, patterns ...string) {
	for _, pattern := range patterns {
		paths, err := filepath.Glob(filepath.Join("testdata/seed", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// fuzzContainer reads data with one container's reader, whatever its
// first bytes say (so the fuzzer need not keep a magic number intact):
// every entry, every content, within fuzzLimits, to a clean end or an
// error, never a panic.
func fuzzContainer(t *testing.T, data []byte, c Container) {
	cnt := &countingReader{r: bytes.NewReader(data), max: fuzzLimits.MaxBytes}
	br := bufio.NewReaderSize(cnt, 64<<10)
	var r entryReader
	switch c {
	case Tar:
		r = newTarReader(br, cnt, br)
	case Ar:
		r = newArReader(br, cnt, br)
	case Cpio:
		r = newCpioReader(br, cnt, br)
	case Zip:
		zr, _, err := newZipReader(bytes.NewReader(data), int64(len(data)), fuzzLimits.withDefaults())
		if err != nil {
			return
		}
		r = zr
	}
	for range fuzzLimits.MaxEntries {
		e, content, err := r.next()
		if err != nil {
			return
		}
		if e == nil {
			t.Fatal("next returned no entry and no error")
		}
		if content != nil {
			if _, err := io.Copy(io.Discard, io.LimitReader(content, fuzzLimits.MaxBytes)); err != nil {
				return
			}
		}
		_ = r.offset()
	}
}

// fuzzCompression decompresses data with one decoder, within fuzzLimits.
func fuzzCompression(t *testing.T, data []byte, c Compression) {
	cnt := &countingReader{max: fuzzLimits.MaxBytes}
	br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	dec, _, err := decompressor(c, br, fuzzLimits.withDefaults(), cnt.charge, func() int64 { return 0 })
	if err != nil {
		return
	}
	defer dec.Close() //nolint:errcheck // a decompressor's Close repeats the read error checked below
	cnt.r = layerErrors{dec, c}
	_, err = io.Copy(io.Discard, cnt)
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q is not one line", err)
	}
}

func FuzzTar(f *testing.F) {
	seedsOf(f, "*.tar")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, data, Tar) })
}

func FuzzZip(f *testing.F) {
	seedsOf(f, "*.zip")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, data, Zip) })
}

func FuzzAr(f *testing.F) {
	seedsOf(f, "*.a", "*.deb")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, data, Ar) })
}

func FuzzCpio(f *testing.F) {
	seedsOf(f, "*.cpio")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContainer(t, data, Cpio) })
}

func FuzzGzip(f *testing.F) {
	seedsOf(f, "*.gz")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCompression(t, data, Gzip) })
}

func FuzzXz(f *testing.F) {
	seedsOf(f, "*.xz")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCompression(t, data, Xz) })
}

func FuzzZstd(f *testing.F) {
	seedsOf(f, "*.zst")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCompression(t, data, Zstd) })
}

func FuzzBzip2(f *testing.F) {
	seedsOf(f, "*.bz2")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzCompression(t, data, Bzip2) })
}
