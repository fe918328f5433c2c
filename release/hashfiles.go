package release

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// FileDigest is the digest of one file, or why it could not be computed.
type FileDigest struct {
	Path   string
	Digest string // lowercase hex
	Size   int64
	Err    error
}

// hashBufferSize is the read size: large reads keep the system call count
// low, and the hash runs at memory speed (SHA-NI where the CPU has it).
const hashBufferSize = 1 << 20

// HashFiles computes the digest of each file with alg, reading every file
// once, spreading files over workers (default GOMAXPROCS). Results come
// back in the order of paths whatever order the workers finish in.
func HashFiles(ctx context.Context, paths []string, alg Algorithm, workers int) []FileDigest {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]FileDigest, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(paths)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, hashBufferSize)
			for i := range next {
				out[i] = hashFile(ctx, paths[i], alg, buf)
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func hashFile(ctx context.Context, p string, alg Algorithm, buf []byte) FileDigest {
	d := FileDigest{Path: p}
	h := alg.New()
	if h == nil {
		d.Err = fmt.Errorf("unknown digest algorithm %q", alg)
		return d
	}
	f, err := os.Open(p)
	if err != nil {
		d.Err = err
		return d
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		d.Err = fmt.Errorf("%q is a directory", p)
		return d
	}
	// One goroutine reads while this one hashes: the copy out of the page
	// cache overlaps the hash instead of adding to it.
	type chunk struct {
		b   []byte
		err error
	}
	full := make(chan chunk, 2)
	free := make(chan []byte, 3)
	free <- buf
	free <- make([]byte, len(buf))
	free <- make([]byte, len(buf))
	// The reader must be gone before returning: buf is the caller's, and
	// the next file reuses it. Closing the file ends a read that waits on a
	// pipe (reproof sums <(...)), so that cancelling does not hang.
	stop, gone := make(chan struct{}), make(chan struct{})
	defer func() {
		close(stop)
		f.Close()
		<-gone
	}()
	go func() {
		defer close(gone)
		defer close(full)
		for {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			n, err := f.Read(b)
			select {
			case full <- chunk{b[:n], err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var c chunk
		select {
		case c = <-full:
		case <-ctx.Done():
			d.Err = ctx.Err()
			return d
		}
		if err := ctx.Err(); err != nil {
			d.Err = err
			return d
		}
		h.Write(c.b)
		d.Size += int64(len(c.b))
		free <- c.b[:cap(c.b)]
		if c.err == io.EOF {
			break
		}
		if c.err != nil {
			d.Err = fmt.Errorf("reading %q: %w", p, c.err)
			return d
		}
	}
	d.Digest = hex.EncodeToString(h.Sum(nil))
	return d
}
