package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/reproof/reproof/rebuild"
)

// ErrDigestMismatch is wrapped when bytes do not hash to the digest, or do
// not have the size, that names them. It is rebuild's sentinel.
var ErrDigestMismatch = rebuild.ErrDigestMismatch

// verifier passes a blob on while hashing and counting it, and fails at
// the end (or as soon as the size is passed) unless the bytes are exactly
// size bytes hashing to digest.
type verifier struct {
	r    io.Reader
	what string
	want v1.Hash
	size int64 // -1: unknown
	h    hash.Hash
	n    int64
	err  error
}

func newVerifier(r io.Reader, what string, want v1.Hash, size int64) (*verifier, error) {
	if want.Algorithm != "sha256" {
		return nil, fmt.Errorf("%s: digest algorithm %q is not supported (sha256 only)", what, want.Algorithm)
	}
	return &verifier{r: r, what: what, want: want, size: size, h: sha256.New()}, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.size >= 0 && int64(len(p)) > v.size-v.n+1 {
		p = p[:v.size-v.n+1] // read at most one byte past the size
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.size >= 0 && v.n > v.size {
		v.err = fmt.Errorf("%s: more than the %d bytes its descriptor says: %w", v.what, v.size, ErrDigestMismatch)
		return 0, v.err
	}
	if err == io.EOF {
		if err := v.check(); err != nil {
			v.err = err
			return n, err
		}
	} else if err != nil {
		v.err = err
	}
	return n, err
}

func (v *verifier) check() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("%s: %d bytes, its descriptor says %d: %w", v.what, v.n, v.size, ErrDigestMismatch)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
		return fmt.Errorf("%s: bytes hash to sha256:%s, not %s: %w", v.what, got, v.want, ErrDigestMismatch)
	}
	return nil
}

// finish reads what is left of the blob and verifies it.
func (v *verifier) finish() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	return nil
}

// readAll reads a small blob (a manifest, a config) of at most max bytes
// and verifies it.
func readAll(r io.Reader, what string, want v1.Hash, size, max int64) ([]byte, error) {
	if size > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d read for one", what, size, max)
	}
	v, err := newVerifier(r, what, want, size)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(v, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than the %d bytes read for one", what, max)
	}
	if !errors.Is(v.err, io.EOF) && v.err != nil {
		return nil, v.err
	}
	return b, v.finish()
}

// digestOf returns the sha256 digest of b.
func digestOf(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}
