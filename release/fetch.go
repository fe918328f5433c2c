package release

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reproof/reproof/internal/owner"
)

// Fetcher downloads assets into a content-addressed cache, verifying them
// while they stream. A download lands in the cache only when it is a
// complete, successful answer for the file and every check it can be held
// to has passed: the announced Content-Length, the size and digest the
// source publishes, and MaxSize.
//
// The cache never vouches for bytes on its own. A cached file is used
// without a request only when the source publishes its digest
// (Asset.SHA256, e.g. GitHub's asset digest) and the cached bytes hash to
// it. Otherwise the server is asked on every use whether the file changed:
// a conditional GET with the ETag and Last-Modified it sent with the
// bytes; 304 Not Modified reuses them, 200 replaces them, and a server
// that sent no usable validator is simply asked for the file again.
//
// Some answers are used for the run but never cached: a text/html body
// for a file whose name is not .html or .htm (an error page served with
// 200; Warnings reports it, naming the URL and the content type), and a
// body whose end only the closing connection marked (no Content-Length,
// not chunked) when the release lists neither its size nor its digest.
// Their bytes stay in a directory of the run's own until Close.
//
// Transient failures are retried with backoff. The first Fetch removes
// what crashed runs left in the cache (SweepCache).
//
// Assets of a DirSource are hashed where they are, never copied.
type Fetcher struct {
	src   Source
	cache cache
	opts  SourceOptions

	sweep sync.Once

	mu       sync.Mutex
	runDir   string // DIR/tmp/run-OWNER-*: this run's uncached files, "" until one is kept
	warnings []string
}

// NewFetcher returns a fetcher for src that caches under cacheDir (callers
// usually pass os.UserCacheDir()/reproof). It uses opts.Retries,
// RetryBackoff, MaxSize and Progress; the source brings its own timeouts.
func NewFetcher(src Source, cacheDir string, opts SourceOptions) *Fetcher {
	return &Fetcher{src: src, cache: cache{dir: cacheDir}, opts: opts.withDefaults()}
}

// Downloaded is a fetched asset.
type Downloaded struct {
	Asset Asset
	// Path is the blob in the cache (read-only), a DirSource's own file,
	// or, for an answer that was not cached, a file of the fetcher's that
	// Close removes.
	Path   string
	SHA256 string // hex, computed from the bytes
	SHA512 string // hex, computed from the bytes
	Size   int64
	// Cached: the bytes came from the cache, either without a request
	// (the release publishes their digest) or because the server answered
	// 304 Not Modified (then Revalidated is set too).
	Cached      bool
	Revalidated bool
}

// Fetch returns the verified bytes of a, from the cache when the release
// vouches for them or the server says they are current. Errors are one
// line naming the asset and its URL; they wrap ErrNotFound,
// ErrDigestMismatch, ErrTooLarge or a *StatusError where those apply, and
// the context's error when it ends the fetch.
func (f *Fetcher) Fetch(ctx context.Context, a Asset) (Downloaded, error) {
	a.SHA256 = strings.ToLower(a.SHA256)
	if a.SHA256 != "" && !isHexDigest(a.SHA256) {
		return Downloaded{}, &fetchError{name: a.Name, url: a.URL, err: fmt.Errorf("malformed expected sha256 %q", a.SHA256)}
	}
	if dir, ok := f.src.(*DirSource); ok {
		return f.hashLocal(ctx, dir, a)
	}
	if a.URL == "" {
		return Downloaded{}, &fetchError{name: a.Name, err: errors.New("the asset has no URL")}
	}
	if f.cache.dir == "" {
		return Downloaded{}, &fetchError{name: a.Name, url: a.URL, err: errors.New("no cache directory")}
	}
	f.sweep.Do(func() {
		if _, err := f.cache.sweep(); err != nil {
			f.warn(fmt.Sprintf("cleaning the download cache %s: %v", f.cache.dir, err))
		}
	})
	cached, entry, inCache := f.cache.lookup(ctx, a)
	if inCache && a.SHA256 != "" {
		return cached, nil // lookup checked the bytes against the published digest
	}
	dctx := ctx
	if inCache {
		if v, ok := entry.validators(); ok {
			dctx = withValidators(ctx, v)
		}
	}
	if a.Size > f.opts.MaxSize {
		return Downloaded{}, &fetchError{name: a.Name, url: a.URL,
			err: fmt.Errorf("%w: the release lists %d bytes, more than the cap of %d", ErrTooLarge, a.Size, f.opts.MaxSize)}
	}
	var d Downloaded
	notModified := false
	attempts, err := retry(ctx, f.opts.Retries, f.opts.RetryBackoff, func() error {
		var err error
		d, err = f.download(dctx, a)
		if errors.Is(err, errNotModified) {
			notModified = true
			return nil
		}
		return err
	})
	if err != nil {
		return Downloaded{}, &fetchError{name: a.Name, url: a.URL, err: withAttempts(err, attempts)}
	}
	if notModified {
		cached.Revalidated = true
		return cached, nil
	}
	return d, nil
}

// Warnings returns, sorted, what the fetcher noticed that a report should
// say: answers it did not cache because they looked like error pages,
// and leftovers of crashed runs it could not remove.
func (f *Fetcher) Warnings() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := slices.Clone(f.warnings)
	slices.Sort(w)
	return slices.Compact(w)
}

func (f *Fetcher) warn(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.warnings = append(f.warnings, msg)
}

// Close removes the files of answers that were not cached; their
// Downloaded.Path is gone afterwards. A run that crashes before Close
// leaves them to the next run's sweep.
func (f *Fetcher) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runDir == "" {
		return nil
	}
	err := os.RemoveAll(f.runDir) // read-only files in a writable directory
	f.runDir = ""
	if err != nil {
		return fmt.Errorf("removing the uncached downloads: %w", err)
	}
	return nil
}

// response is what the server said of a body, besides the bytes.
type response struct {
	size                     int64 // Content-Length, -1 if not announced
	contentType              string
	etag, lastModified, date string
	// delimited: the body's end is marked by its framing (a
	// Content-Length or chunked encoding), not only by the connection
	// closing, which a cut connection can look like.
	delimited bool
}

func responseOf(body io.ReadCloser) response {
	rb, ok := body.(*remoteBody)
	if !ok {
		return response{size: -1, delimited: true}
	}
	return response{size: rb.size, contentType: rb.contentType, etag: rb.etag, lastModified: rb.lastModified, date: rb.date, delimited: rb.delimited}
}

// download makes one attempt: stream into a temp file, hashing, then
// check and move into the cache, or into the run's directory when the
// answer may not be cached. The temp file never outlives a failure. A
// conditional GET answered 304 returns errNotModified.
func (f *Fetcher) download(ctx context.Context, a Asset) (d Downloaded, err error) {
	body, err := f.src.Open(ctx, a)
	if err != nil {
		var ferr *fetchError
		if errors.As(err, &ferr) {
			err = ferr.err // Fetch names the asset itself
		}
		return Downloaded{}, err
	}
	defer body.Close()

	resp := responseOf(body)
	announced := resp.size
	maxSize := f.opts.MaxSize
	if announced > maxSize {
		return Downloaded{}, fmt.Errorf("%w: the server announces %d bytes, more than the cap of %d", ErrTooLarge, announced, maxSize)
	}
	if a.Size >= 0 && announced >= 0 && announced != a.Size {
		return Downloaded{}, fmt.Errorf("the server announces %d bytes, the release lists %d", announced, a.Size)
	}
	limit, listed := maxSize, a.Size >= 0 && a.Size < maxSize
	if listed {
		limit = a.Size
	}

	tmp, err := f.cache.tempFile(tmpDownload)
	if err != nil {
		return Downloaded{}, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	total := announced
	if total < 0 {
		total = a.Size
	}
	bar := newProgressBar(f.opts.Progress, a.Name, total)
	h256, h512 := sha256.New(), sha512.New()
	w := io.MultiWriter(cacheWriter{tmp}, h256, h512, bar)
	n, err := io.CopyBuffer(w, io.LimitReader(body, limit+1), make([]byte, 256<<10))
	bar.finish()
	if err != nil {
		return Downloaded{}, err
	}
	switch {
	case n > limit && listed:
		return Downloaded{}, fmt.Errorf("%w: the server sent more than the %d bytes the release lists", ErrTooLarge, a.Size)
	case n > limit:
		return Downloaded{}, fmt.Errorf("%w: the body is larger than the cap of %d bytes", ErrTooLarge, maxSize)
	case a.Size >= 0 && n != a.Size:
		// Without a Content-Length a cut connection looks like an end.
		return Downloaded{}, &transientError{err: fmt.Errorf("truncated: the body ended after %d of the %d bytes the release lists", n, a.Size)}
	}
	d = Downloaded{Asset: a, SHA256: hex.EncodeToString(h256.Sum(nil)), SHA512: hex.EncodeToString(h512.Sum(nil)), Size: n}
	if a.SHA256 != "" && d.SHA256 != a.SHA256 {
		return Downloaded{}, fmt.Errorf("%w: the download has sha256 %s, the release publishes %s", ErrDigestMismatch, d.SHA256, a.SHA256)
	}

	// What the URL serves now replaces what the cache held for it,
	// whether or not it may be cached itself.
	cacheable := true
	switch {
	case looksLikeErrorPage(a.Name, resp.contentType):
		cacheable = false
		f.warn(fmt.Sprintf("%s answered with %s for %q, which is not an HTML file (an error page?): used as the published file in this run, not cached",
			redactURL(a.URL), resp.contentType, a.Name))
	case !resp.delimited && a.Size < 0 && a.SHA256 == "":
		cacheable = false // nothing tells a complete body from a cut one
	}
	if !cacheable {
		if err := f.cache.forget(a.URL); err != nil {
			return Downloaded{}, err
		}
		d.Path, err = f.keep(tmp, d.SHA256)
		if err != nil {
			return Downloaded{}, err
		}
		return d, nil
	}
	d.Path, err = f.cache.commit(tmp, cacheEntry{
		URL: redactURL(a.URL), Size: n, SHA256: d.SHA256, SHA512: d.SHA512,
		ETag: resp.etag, LastModified: resp.lastModified, Date: resp.date,
	}, a.URL)
	if err != nil {
		return Downloaded{}, err
	}
	return d, nil
}

// keep moves a verified download that may not be cached into the run's
// own directory, read-only, named by its SHA-256, and returns its path.
func (f *Fetcher) keep(tmp *os.File, sha256hex string) (string, error) {
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runDir == "" {
		dir, err := owner.TempDir(filepath.Join(f.cache.dir, "tmp"), tmpRun)
		if err != nil {
			return "", fmt.Errorf("writing to the cache: %w", err)
		}
		f.runDir = dir
	}
	p := filepath.Join(f.runDir, sha256hex)
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("writing to the cache: %w", err)
	}
	return p, nil
}

// looksLikeErrorPage: an HTML answer for a file whose name does not say
// HTML is, most likely, a server's error or login page sent with 200.
func looksLikeErrorPage(name, contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	if mt != "text/html" && mt != "application/xhtml+xml" {
		return false
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm", ".xhtml":
		return false
	}
	return true
}

// hashLocal hashes a DirSource file where it is.
func (f *Fetcher) hashLocal(ctx context.Context, dir *DirSource, a Asset) (Downloaded, error) {
	file, path, err := dir.openRegular(a)
	if err != nil {
		return Downloaded{}, err
	}
	defer file.Close()
	fail := func(err error) (Downloaded, error) {
		return Downloaded{}, &fetchError{name: a.Name, url: path, err: err}
	}
	fi, err := file.Stat()
	if err != nil {
		return fail(err)
	}
	if fi.Size() > f.opts.MaxSize {
		return fail(fmt.Errorf("%w: %d bytes, more than the cap of %d", ErrTooLarge, fi.Size(), f.opts.MaxSize))
	}
	bar := newProgressBar(f.opts.Progress, a.Name, fi.Size())
	sums, n, err := hashStream(ctx, io.LimitReader(file, f.opts.MaxSize+1), bar)
	bar.finish()
	if err != nil {
		return fail(err)
	}
	switch {
	case n > f.opts.MaxSize:
		return fail(fmt.Errorf("%w: the file grew past the cap of %d bytes", ErrTooLarge, f.opts.MaxSize))
	case a.Size >= 0 && n != a.Size:
		return fail(fmt.Errorf("the file has %d bytes, the listing said %d", n, a.Size))
	case a.SHA256 != "" && sums.sha256 != a.SHA256:
		return fail(fmt.Errorf("%w: the file has sha256 %s, the release publishes %s", ErrDigestMismatch, sums.sha256, a.SHA256))
	}
	return Downloaded{Asset: a, Path: path, SHA256: sums.sha256, SHA512: sums.sha512, Size: n}, nil
}

type digests struct{ sha256, sha512 string }

// hashStream reads r to the end, hashing, and stops when ctx ends.
func hashStream(ctx context.Context, r io.Reader, extra io.Writer) (digests, int64, error) {
	h256, h512 := sha256.New(), sha512.New()
	ws := []io.Writer{h256, h512}
	if extra != nil {
		ws = append(ws, extra)
	}
	n, err := io.CopyBuffer(io.MultiWriter(ws...), ctxReader{ctx, r}, make([]byte, 256<<10))
	if err != nil {
		return digests{}, n, err
	}
	return digests{sum(h256), sum(h512)}, n, nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// cacheWriter tells a failed write to the cache (a full disk) from a
// failed read from the network.
type cacheWriter struct{ f *os.File }

func (w cacheWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("writing to the cache: %w", err)
	}
	return n, err
}

// retry runs op until it succeeds, fails for good (an error that is not a
// *transientError), has had its attempts, or ctx ends. The wait between
// attempts starts at backoff and doubles up to maxRetryDelay; a server's
// Retry-After lengthens it, within the same bound. It returns how many
// attempts ran.
func retry(ctx context.Context, attempts int, backoff time.Duration, op func() error) (int, error) {
	delay := backoff
	for n := 1; ; n++ {
		err := op()
		if err == nil {
			return n, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return n, cerr
		}
		var terr *transientError
		if n >= attempts || !errors.As(err, &terr) {
			return n, err
		}
		wait := delay
		if terr.after > wait {
			wait = min(terr.after, maxRetryDelay)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, maxRetryDelay)
	}
}

// withAttempts notes in err how many attempts were made, when more than one.
func withAttempts(err error, attempts int) error {
	if err == nil || attempts <= 1 {
		return err
	}
	return &attemptsError{err: err, attempts: attempts}
}

type attemptsError struct {
	err      error
	attempts int
}

func (e *attemptsError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts)", e.err, e.attempts)
}
func (e *attemptsError) Unwrap() error { return e.err }

// fetchError is a failed fetch: what, from where, and why.
type fetchError struct {
	name string
	url  string
	err  error
}

func (e *fetchError) Error() string {
	if e.url == "" {
		return fmt.Sprintf("fetching %q: %v", e.name, e.err)
	}
	return fmt.Sprintf("fetching %q from %s: %v", e.name, redactURL(e.url), e.err)
}

func (e *fetchError) Unwrap() error { return e.err }

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
