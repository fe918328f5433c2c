package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
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
		defer s.Close()
		for {
			_, err := s.Next()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, s); err != nil {
				return
			}
		}
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
