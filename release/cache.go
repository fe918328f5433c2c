package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// cache is the download cache:
//
//	DIR/blobs/sha256/<hex>   downloaded bytes, named by their SHA-256, read-only
//	DIR/urls/<hex>           one JSON entry per URL (named by the URL's SHA-256):
//	                         the URL without a password, size, digests, ETag
//	DIR/tmp/                 downloads in progress
//
// A blob appears only by renaming a complete, verified temp file, and an
// entry only after its blob, so a reader never sees a partial file. Entries
// hold no tokens: tokens travel in headers, never in URLs we record.
type cache struct{ dir string }

type cacheEntry struct {
	URL          string `json:"url"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	SHA512       string `json:"sha512"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

func (c cache) entryPath(rawURL string) string {
	key := sha256.Sum256([]byte(rawURL))
	return filepath.Join(c.dir, "urls", hex.EncodeToString(key[:]))
}

func (c cache) blobPath(sha256hex string) string {
	return filepath.Join(c.dir, "blobs", "sha256", sha256hex)
}

// lookup returns the cached download of a when there is one, it matches
// what a publishes (size, digest), and its blob still hashes to the digest
// recorded for it. An entry that fails those checks is removed, and its
// blob too when the blob is what failed.
func (c cache) lookup(ctx context.Context, a Asset) (Downloaded, bool) {
	entryPath := c.entryPath(a.URL)
	data, err := os.ReadFile(entryPath)
	if err != nil {
		return Downloaded{}, false
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil || e.URL != redactURL(a.URL) || !isHexDigest(e.SHA256) || e.Size < 0 {
		os.Remove(entryPath)
		return Downloaded{}, false
	}
	if (a.SHA256 != "" && a.SHA256 != e.SHA256) || (a.Size >= 0 && a.Size != e.Size) {
		// The release now publishes other bytes under this URL.
		os.Remove(entryPath)
		return Downloaded{}, false
	}
	blob := c.blobPath(e.SHA256)
	fi, err := os.Lstat(blob)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		os.Remove(entryPath)
		if err == nil {
			os.Remove(blob)
		}
		return Downloaded{}, false
	}
	f, err := os.Open(blob)
	if err != nil {
		return Downloaded{}, false
	}
	sums, n, err := hashStream(ctx, f, nil)
	f.Close()
	if err != nil {
		return Downloaded{}, false
	}
	if n != e.Size || sums.sha256 != e.SHA256 {
		os.Remove(blob) // tampered with or rotted: fetch it again
		os.Remove(entryPath)
		return Downloaded{}, false
	}
	return Downloaded{Asset: a, Path: blob, SHA256: sums.sha256, SHA512: sums.sha512, Size: n, Cached: true}, true
}

// tempFile creates the cache's directories and a temp file in DIR/tmp.
func (c cache) tempFile(prefix string) (*os.File, error) {
	for _, d := range []string{"tmp", "urls", filepath.Join("blobs", "sha256")} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("creating the cache: %w", err)
		}
	}
	f, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), prefix+"*")
	if err != nil {
		return nil, fmt.Errorf("creating the cache: %w", err)
	}
	return f, nil
}

// commit makes the verified temp file tmp the blob of e and records e as
// the entry of rawURL. It returns the blob's path. On error the caller
// still removes tmp.
func (c cache) commit(tmp *os.File, e cacheEntry, rawURL string) (string, error) {
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	blob := c.blobPath(e.SHA256)
	if err := os.Rename(tmp.Name(), blob); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	if err := c.writeEntry(e, rawURL); err != nil {
		return "", err
	}
	return blob, nil
}

func (c cache) writeEntry(e cacheEntry, rawURL string) (err error) {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	f, err := c.tempFile("entry-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("writing to the cache: %w", err)
		}
	}()
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), c.entryPath(rawURL))
}
