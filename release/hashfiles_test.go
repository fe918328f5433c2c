package release

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// TestHashFiles hashes files with HashFiles and with the real sha256sum
// and sha512sum: the same digests and sizes, in the order given, whatever
// the number of workers; a missing file, a directory and an unknown
// algorithm are errors of that file only.
func TestHashFiles(t *testing.T) {
	testenv.RequireTools(t, "sh", "sha256sum", "sha512sum")
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, hashBufferSize - 1, hashBufferSize, hashBufferSize + 1, 3*hashBufferSize + 12345}
	var names []string
	for i, size := range sizes {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		name := filepath.Join(dir, "file"+string(rune('a'+i)))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	missing, subdir := filepath.Join(dir, "missing"), filepath.Join(dir, "subdir")
	if err := os.Mkdir(subdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The errors in the middle: the files after them are still hashed.
	paths := append(append([]string{}, names[:2]...), missing, subdir)
	paths = append(paths, names[2:]...)

	for _, alg := range []Algorithm{SHA256, SHA512} {
		want := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(runScript(t, dir, nil, string(alg)+`sum -- "$@"`, names...))), "\n") {
			digest, name, ok := strings.Cut(line, "  ")
			if !ok {
				t.Fatalf("%ssum printed %q", alg, line)
			}
			want[name] = digest
		}
		for _, workers := range []int{0, 1, 3, 64} {
			got := HashFiles(t.Context(), paths, alg, workers)
			if len(got) != len(paths) {
				t.Fatalf("HashFiles(%s, %d workers) = %d results, want %d", alg, workers, len(got), len(paths))
			}
			for i, d := range got {
				if d.Path != paths[i] {
					t.Errorf("HashFiles(%s, %d workers)[%d].Path = %q, want %q", alg, workers, i, d.Path, paths[i])
				}
				switch d.Path {
				case missing:
					if !errors.Is(d.Err, fs.ErrNotExist) || d.Digest != "" {
						t.Errorf("HashFiles(%s) of a missing file = %+v, want a not-exist error", alg, d)
					}
				case subdir:
					if d.Err == nil || d.Digest != "" {
						t.Errorf("HashFiles(%s) of a directory = %+v, want an error", alg, d)
					}
				default:
					fi, err := os.Stat(d.Path)
					if err != nil {
						t.Fatal(err)
					}
					if d.Err != nil || d.Digest != want[d.Path] || d.Size != fi.Size() {
						t.Errorf("HashFiles(%s, %d workers) of %d bytes = %q, %d bytes, %v; want %q (%ssum), %d bytes",
							alg, workers, fi.Size(), d.Digest, d.Size, d.Err, want[d.Path], alg, fi.Size())
					}
				}
			}
		}
	}

	if got := HashFiles(t.Context(), names[:1], Algorithm("crc32"), 1); got[0].Err == nil {
		t.Errorf("HashFiles(crc32) = %+v, want an unknown-algorithm error", got[0])
	}
	if got := HashFiles(t.Context(), nil, SHA256, 0); len(got) != 0 {
		t.Errorf("HashFiles(no paths) = %v, want nothing", got)
	}
}

// TestHashFilesCancelWhileReading cancels while a read waits on a pipe
// (reproof sums <(...)): HashFiles returns, the pipe's result says it
// was cancelled, and the worker goes on to the next file with its buffer.
func TestHashFilesCancelWhileReading(t *testing.T) {
	dir := t.TempDir()
	fifo, regular := filepath.Join(dir, "fifo"), filepath.Join(dir, "regular")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(regular, []byte("after the pipe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A writer that writes a little, then nothing: the reader has handed
	// one chunk over and waits for more. O_RDWR does not wait for a reader.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close() //nolint:errcheck // the fifo's writer, there only to hold it open
	if _, err := w.Write([]byte("the first chunk\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan []FileDigest, 1)
	go func() { done <- HashFiles(ctx, []string{fifo, regular}, SHA256, 1) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case got := <-done:
		if !errors.Is(got[0].Err, context.Canceled) {
			t.Errorf("HashFiles of the pipe = %+v, want context.Canceled", got[0])
		}
		if !errors.Is(got[1].Err, context.Canceled) && got[1].Err != nil {
			t.Errorf("HashFiles of the file after the pipe = %+v", got[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HashFiles still waits on the pipe 10 s after the context was cancelled")
	}
}
