package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reproof/reproof/internal/owner"
)

// cache is the download cache:
//
//	DIR/blobs/sha256/<hex>   downloaded bytes, named by their SHA-256, read-only
//	DIR/urls/<hex>           one JSON entry per URL (named by the URL's SHA-256):
//	                         the URL without a password, size, digests, and the
//	                         validators the server sent (ETag, Last-Modified, Date)
//	DIR/tmp/                 downloads in progress (download-OWNER-*), entries being
//	                         written (entry-OWNER-*), and the files of a run that
//	                         are not cached (run-OWNER-*/): OWNER names the
//	                         process (internal/owner), so that a later run removes
//	                         what a dead one left
//
// A blob appears only by renaming a complete, verified temp file, and an
// entry only after its blob, so a reader never sees a partial file. Entries
// hold no tokens: tokens travel in headers, never in URLs we record.
//
// An entry is never trusted on its own: a cached file is reused without a
// request only when the release vouches for its digest (Asset.SHA256);
// otherwise the server is asked whether it changed (a conditional GET with
// the entry's validators), and without validators the file is fetched
// again.
type cache struct{ dir string }

type cacheEntry struct {
	URL          string `json:"url"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	SHA512       string `json:"sha512"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Date is the Date of the response that brought the bytes: it says
	// whether Last-Modified (and an ETag derived from it) can tell this
	// version from one written in the same second.
	Date string `json:"date,omitempty"`
}

// Prefixes of the names in DIR/tmp, each followed by the owner's ID.
const (
	tmpDownload = "download-"
	tmpEntry    = "entry-"
	tmpRun      = "run-"
)

// legacyTempAge is how old a temp file without an owner in its name (made
// by a reproof older than internal/owner) must be before a sweep removes
// it: its maker cannot be asked whether it still runs.
const legacyTempAge = 24 * time.Hour

func (c cache) entryPath(rawURL string) string {
	key := sha256.Sum256([]byte(rawURL))
	return filepath.Join(c.dir, "urls", hex.EncodeToString(key[:]))
}

func (c cache) blobPath(sha256hex string) string {
	return filepath.Join(c.dir, "blobs", "sha256", sha256hex)
}

// lookup returns the cached download of a and its entry when there is
// one, it matches what a publishes (size, digest), and its blob still
// hashes to the digest recorded for it. An entry that fails those checks
// is removed, and its blob too when the blob is what failed. Whether the
// copy may be used without asking the server is the caller's decision.
func (c cache) lookup(ctx context.Context, a Asset) (Downloaded, cacheEntry, bool) {
	entryPath := c.entryPath(a.URL)
	data, err := os.ReadFile(entryPath)
	if err != nil {
		return Downloaded{}, cacheEntry{}, false
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil || e.URL != redactURL(a.URL) || !isHexDigest(e.SHA256) || e.Size < 0 {
		os.Remove(entryPath)
		return Downloaded{}, cacheEntry{}, false
	}
	if (a.SHA256 != "" && a.SHA256 != e.SHA256) || (a.Size >= 0 && a.Size != e.Size) {
		// The release now publishes other bytes under this URL.
		os.Remove(entryPath)
		return Downloaded{}, cacheEntry{}, false
	}
	blob := c.blobPath(e.SHA256)
	fi, err := os.Lstat(blob)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != e.Size {
		os.Remove(entryPath)
		if err == nil {
			os.Remove(blob)
		}
		return Downloaded{}, cacheEntry{}, false
	}
	f, err := os.Open(blob)
	if err != nil {
		return Downloaded{}, cacheEntry{}, false
	}
	sums, n, err := hashStream(ctx, f, nil)
	f.Close()
	if err != nil {
		return Downloaded{}, cacheEntry{}, false
	}
	if n != e.Size || sums.sha256 != e.SHA256 {
		os.Remove(blob) // tampered with or rotted: fetch it again
		os.Remove(entryPath)
		return Downloaded{}, cacheEntry{}, false
	}
	return Downloaded{Asset: a, Path: blob, SHA256: sums.sha256, SHA512: sums.sha512, Size: n, Cached: true}, e, true
}

// validators are what a conditional GET sends: If-None-Match with a strong
// ETag, If-Modified-Since with a Last-Modified.
type validators struct{ etag, lastModified string }

// minValidatorAge is how long before the response's Date its Last-Modified
// must lie for the entry's validators to tell this version of the file from
// another (RFC 9110, 8.8.2.2: a Last-Modified is a strong validator when it
// is at least 60 seconds before the Date). A file changed again within the
// second it was served has the same Last-Modified, and servers such as
// nginx derive their ETag from it.
const minValidatorAge = 60 * time.Second

// validators returns what the server can be asked with, and false when
// the entry holds nothing a server could revalidate reliably: no strong
// ETag and no Last-Modified, or a Last-Modified too close to (or without)
// the response's Date. A weak ETag (W/"...") promises equivalent content,
// not the same bytes, and is not used.
func (e cacheEntry) validators() (validators, bool) {
	var v validators
	if e.ETag != "" && !strings.HasPrefix(e.ETag, "W/") {
		v.etag = e.ETag
	}
	if e.LastModified != "" {
		lm, err1 := http.ParseTime(e.LastModified)
		date, err2 := http.ParseTime(e.Date)
		if err1 != nil || err2 != nil || date.Sub(lm) < minValidatorAge {
			return validators{}, false
		}
		v.lastModified = e.LastModified
	}
	return v, v.etag != "" || v.lastModified != ""
}

// set adds the conditional headers to h.
func (v validators) set(h http.Header) {
	if v.etag != "" {
		h.Set("If-None-Match", v.etag)
	}
	if v.lastModified != "" {
		h.Set("If-Modified-Since", v.lastModified)
	}
}

// validatorsKey carries the validators of a conditional GET through
// Source.Open to web.get.
type validatorsKey struct{}

func withValidators(ctx context.Context, v validators) context.Context {
	return context.WithValue(ctx, validatorsKey{}, v)
}

// validatorsFrom returns the validators Fetch put in ctx for a conditional
// GET of an asset.
func validatorsFrom(ctx context.Context) (validators, bool) {
	v, ok := ctx.Value(validatorsKey{}).(validators)
	return v, ok
}

// errNotModified is a conditional GET answered 304 Not Modified.
var errNotModified = errors.New("not modified")

// mkdirs creates the cache's directories.
func (c cache) mkdirs() error {
	for _, d := range []string{"tmp", "urls", filepath.Join("blobs", "sha256")} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o700); err != nil {
			return fmt.Errorf("creating the cache: %w", err)
		}
	}
	return nil
}

// tempFile creates the cache's directories and a temp file in DIR/tmp
// named prefix, the process's owner ID and a random suffix.
func (c cache) tempFile(prefix string) (*os.File, error) {
	if err := c.mkdirs(); err != nil {
		return nil, err
	}
	f, err := owner.TempFile(filepath.Join(c.dir, "tmp"), prefix)
	if err != nil {
		return nil, fmt.Errorf("creating the cache: %w", err)
	}
	return f, nil
}

// sweep removes what dead processes left in DIR/tmp: their downloads in
// progress, half-written entries and uncached run files; and temp files
// of an older reproof once they are a day old. It returns what it removed.
func (c cache) sweep() ([]string, error) {
	tmp := filepath.Join(c.dir, "tmp")
	var removed []string
	var errs []error
	for _, prefix := range []string{tmpDownload, tmpEntry, tmpRun} {
		r, err := owner.Sweep(tmp, prefix)
		removed = append(removed, r...)
		errs = append(errs, err)
		r, err = owner.SweepUnowned(tmp, prefix, legacyTempAge)
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// SweepCache removes from the download cache at dir what crashed runs
// left: partial downloads and temporary files whose process is gone (see
// internal/owner). A Fetcher does this when it is first used; `reproof gc`
// calls it directly. It returns the paths it removed.
func SweepCache(dir string) ([]string, error) {
	return cache{dir: dir}.sweep()
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

// forget removes the entry of rawURL, if any: what the URL serves now is
// not to be reused.
func (c cache) forget(rawURL string) error {
	if err := os.Remove(c.entryPath(rawURL)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing a cache entry: %w", err)
	}
	return nil
}

func (c cache) writeEntry(e cacheEntry, rawURL string) (err error) {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	f, err := c.tempFile(tmpEntry)
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
