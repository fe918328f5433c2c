package release

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reproof/reproof/internal/idle"
)

// HTTPSource is a published release under a base URL. List reads, in
// this order:
//
//   - a JSON index, when the URL ends in ".json" (Garage's
//     _releases.json): its artifacts, named by their path relative to the
//     index's directory;
//   - one file, when the URL does not end in "/" and answers 200 with a
//     body that is not HTML (https://host/path/pkg.tgz);
//   - the directory listing page the server makes (nginx, Apache or
//     lighttpd autoindex, Python's http.server): the files it links to in
//     the directory itself (see parseHTMLListing);
//   - an S3 bucket's ListObjectsV2 listing of the directory's prefix, all
//     pages, when the directory answers 404 or 403 or with XML (path
//     style, https://host/bucket/dir/, tried first, then virtual-host
//     style, https://bucket.host/dir/), or when the URL is itself a
//     listing request (https://host/bucket?list-type=2&prefix=dir/);
//   - otherwise nothing: the URL has no listing, List returns no assets,
//     says why in Listing.How, and the caller names the assets with Asset.
//
// A listing that names no file is an error: the source lists no files.
type HTTPSource struct {
	spec  string // the URL without a password
	base  string // the base URL without a trailing "/"
	dir   bool   // the URL ends in "/" (or has no path): never one file
	index string // the JSON index's URL, "" if none
	// s3 is the bucket and prefix when the URL is an S3 listing request.
	s3  *s3Bucket
	web *web
	// single is set when List found the URL to be one file: Asset then
	// names files beside it, under parent.
	single atomic.Bool
	parent string // the URL's directory, without a trailing "/"
}

// NewHTTPSource returns the source for assets under the http or https
// URL base, or listed by the JSON index at that URL.
func NewHTTPSource(base string, opts SourceOptions) (*HTTPSource, error) {
	opts = opts.withDefaults()
	u, err := parseHTTPURL(base)
	if err != nil {
		return nil, fmt.Errorf("published URL: %w", err)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("published URL %s: a base URL has no fragment", u.Redacted())
	}
	s := &HTTPSource{spec: u.Redacted()}
	// A user and password in the URL become Basic credentials for its
	// origin, so that no asset URL carries them.
	var cred *credential
	if u.User != nil {
		password, _ := u.User.Password()
		userPass := u.User.Username() + ":" + password
		cred = &credential{origin: origin(u), header: "Authorization",
			value: "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))}
		u.User = nil
	}
	s.web = newWeb(opts, cred)
	if strings.HasSuffix(u.Path, ".json") {
		s.index = u.String()
		u = u.ResolveReference(&url.URL{Path: "."})
	} else if q := u.Query(); q.Get("list-type") == "2" {
		prefix := q.Get("prefix")
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			return nil, fmt.Errorf("published URL %s: the S3 prefix %q must name a directory (end in \"/\")", u.Redacted(), prefix)
		}
		u.RawQuery = ""
		s.s3 = &s3Bucket{root: strings.TrimRight(u.String(), "/"), prefix: prefix}
		u, _ = url.Parse(s.s3.objectURL(prefix))
	} else if u.RawQuery != "" {
		return nil, fmt.Errorf("published URL %s: a base URL has no query (but an S3 listing request with list-type=2)", u.Redacted())
	}
	s.dir = u.Path == "" || strings.HasSuffix(u.Path, "/")
	s.base = strings.TrimRight(u.String(), "/")
	s.parent = strings.TrimRight(u.ResolveReference(&url.URL{Path: "."}).String(), "/")
	return s, nil
}

// Asset returns the asset called name under the base URL: base + "/" +
// name, each slash-separated element of name escaped; once List has found
// the URL to be one file, the file called name beside it. Its size and
// digest are unknown.
func (s *HTTPSource) Asset(name string) Asset {
	elems := strings.Split(name, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	base := s.base
	if s.single.Load() {
		base = s.parent
	}
	return Asset{Name: name, URL: base + "/" + strings.Join(elems, "/"), Size: -1}
}

// List returns the artifacts of the JSON index, the one file the URL
// names, the files of the directory's listing page, or no assets when
// the URL has no listing.
func (s *HTTPSource) List(ctx context.Context) (*Listing, error) {
	if s.index == "" {
		return s.listPage(ctx)
	}
	data, err := s.web.getDocument(ctx, s.index, nil)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	m, err := parseJSONIndex(s.spec, data)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	index, _ := url.Parse(s.index)
	dir := index.ResolveReference(&url.URL{Path: "."})
	byName := map[string]Asset{}
	var assets []Asset
	for _, ia := range m.Indexed {
		a, err := s.indexedAsset(index, dir, ia)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.spec, err)
		}
		if prev, ok := byName[a.Name]; ok {
			if prev == a {
				continue // listed in two categories
			}
			return nil, fmt.Errorf("listing %s: two artifacts named %q at %s and %s", s.spec, a.Name, prev.URL, a.URL)
		}
		byName[a.Name] = a
		assets = append(assets, a)
	}
	assets, err = checkAssets(assets)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	return &Listing{Source: s.spec, Assets: assets, How: "JSON index, " + countFiles(len(assets))}, nil
}

// listPage GETs the URL itself (the directory with a trailing "/") and
// reads what it answers: one file, a listing page, or no listing.
func (s *HTTPSource) listPage(ctx context.Context) (*Listing, error) {
	target := s.base + "/"
	if !s.dir {
		target = s.base
	}
	none := func(why string) (*Listing, error) {
		return &Listing{Source: s.spec, Assets: []Asset{}, How: "no listing: " + why}, nil
	}
	if s.s3 != nil {
		l, err := s.s3Listing(ctx, []s3Bucket{*s.s3})
		if errors.Is(err, errNotS3) {
			return nil, fmt.Errorf("listing %s: the server did not answer with an S3 bucket listing", s.spec)
		}
		return l, err
	}
	pg, err := s.web.getPage(ctx, target)
	var serr *StatusError
	switch {
	case errors.As(err, &serr) && (serr.Code == http.StatusNotFound || serr.Code == http.StatusForbidden):
		if l, err := s.s3Listing(ctx, s3Candidates(s.base+"/")); !errors.Is(err, errNotS3) {
			return l, err
		}
		return none(fmt.Sprintf("%s answered %d %s", redactURL(target), serr.Code, http.StatusText(serr.Code)))
	case err != nil:
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	case !pg.html && !s.dir:
		u, _ := url.Parse(target)
		name := path.Base(u.Path)
		if err := checkAssetName(name); err != nil || name == "/" {
			return nil, fmt.Errorf("listing %s: the URL names no file", s.spec)
		}
		s.single.Store(true)
		return &Listing{Source: s.spec, Assets: []Asset{{Name: name, URL: target, Size: pg.size}}, How: "single file"}, nil
	case !pg.html:
		if mt, _, _ := mime.ParseMediaType(pg.contentType); mt == "application/xml" || mt == "text/xml" {
			if l, err := s.s3Listing(ctx, s3Candidates(s.base+"/")); !errors.Is(err, errNotS3) {
				return l, err
			}
		}
		return none(fmt.Sprintf("%s answered with %s, not a listing page", redactURL(target), pg.contentType))
	}
	hl, ok, err := parseHTMLListing(pg.data)
	if err != nil {
		return nil, fmt.Errorf("listing %s: the %s page: %w", s.spec, hl.kindOr("listing"), err)
	}
	if !ok {
		return none(fmt.Sprintf("%s answered with a page that is not a directory listing", redactURL(target)))
	}
	assets := make([]Asset, 0, len(hl.Files))
	for _, f := range hl.Files {
		a := s.Asset(f.Name)
		a.Size = f.Size
		assets = append(assets, a)
	}
	if assets, err = checkAssets(assets); err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.spec, err)
	}
	if len(assets) == 0 {
		why := ""
		if hl.Dirs > 0 {
			why = fmt.Sprintf(" (only %s, which reproof does not descend into)", countOf(hl.Dirs, "sub-directory", "sub-directories"))
		}
		return nil, fmt.Errorf("listing %s: the %s page lists no files%s", s.spec, hl.Kind, why)
	}
	return &Listing{Source: s.spec, Assets: assets, How: hl.Kind + ", " + countFiles(len(assets))}, nil
}

// s3Listing returns the first of the candidate buckets' listings that
// the server gives, errNotS3 if none, or the error that stopped one.
func (s *HTTPSource) s3Listing(ctx context.Context, candidates []s3Bucket) (*Listing, error) {
	for _, b := range candidates {
		l, dirs, err := s.listS3(ctx, b)
		if errors.Is(err, errNotS3) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.spec, err)
		}
		if len(l.Assets) == 0 {
			why := ""
			if dirs > 0 {
				why = fmt.Sprintf(" (only %s, which reproof does not descend into)", countOf(dirs, "sub-directory", "sub-directories"))
			}
			return nil, fmt.Errorf("listing %s: the S3 bucket listing of %q lists no files%s", s.spec, b.prefix, why)
		}
		return l, nil
	}
	return nil, errNotS3
}

// countFiles is "1 file" or "N files".
func countFiles(n int) string {
	return countOf(n, "file", "files")
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// page is what a URL answered: an HTML page's bytes, or for anything
// else only its type and size (the body is not read).
type page struct {
	html        bool
	contentType string
	data        []byte
	size        int64 // Content-Length, -1 if not announced
}

// getPage GETs a URL that may be a listing page or a file, with retries.
func (w *web) getPage(ctx context.Context, rawURL string) (*page, error) {
	var pg *page
	attempts, err := retry(ctx, w.retries, w.backoff, func() error {
		body, err := w.get(ctx, rawURL, nil, false)
		if err != nil {
			return err
		}
		defer body.Close()
		pg = &page{contentType: body.contentType, size: body.size}
		if mt, _, err := mime.ParseMediaType(body.contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			pg.html = true
		}
		if pg.contentType == "" {
			pg.contentType = "no content type"
		}
		if !pg.html {
			return nil
		}
		pg.data, err = io.ReadAll(io.LimitReader(body, maxListingPage+1))
		if err != nil {
			return err
		}
		if len(pg.data) > maxListingPage {
			return fmt.Errorf("%w: the listing page is larger than %d bytes", ErrTooLarge, maxListingPage)
		}
		return nil
	})
	return pg, withAttempts(err, attempts)
}

// indexedAsset resolves an index entry's url (or path) against the index
// and names it by its path below the index's directory, or by its own
// name when it lies elsewhere.
func (s *HTTPSource) indexedAsset(index, dir *url.URL, ia IndexedArtifact) (Asset, error) {
	ref := ia.URL
	if ref == "" {
		ref = ia.Path
	}
	r, err := url.Parse(ref)
	if err != nil {
		return Asset{}, fmt.Errorf("artifact %q: not a valid URL or path", ia.Name)
	}
	u := index.ResolveReference(r)
	if err := checkAssetURL(ia.Name, u.String()); err != nil {
		return Asset{}, err
	}
	name := ia.Name
	if u.Scheme == dir.Scheme && u.Host == dir.Host && strings.HasPrefix(u.Path, dir.Path) && u.Path != dir.Path {
		name = strings.TrimPrefix(u.Path, dir.Path)
	}
	size := int64(-1)
	if ia.Size > 0 {
		size = ia.Size
	}
	return Asset{Name: name, URL: u.String(), Size: size}, nil
}

// Open makes one GET request for the asset's URL.
func (s *HTTPSource) Open(ctx context.Context, a Asset) (io.ReadCloser, error) {
	return openAsset(ctx, s.web, a, a.URL, nil)
}

// openAsset GETs rawURL for a, asking for the bytes as stored (no content
// coding), and names the asset in any error.
func openAsset(ctx context.Context, w *web, a Asset, rawURL string, header http.Header) (io.ReadCloser, error) {
	if a.URL == "" {
		return nil, &fetchError{name: a.Name, url: a.URL, err: errors.New("the asset has no URL")}
	}
	body, err := w.get(ctx, rawURL, header, true)
	if err != nil {
		return nil, &fetchError{name: a.Name, url: a.URL, err: err}
	}
	return body, nil
}

// web is the HTTP side the sources share: one redirect policy, a token
// that only ever goes to its own origin, a per-request idle timeout, and
// errors sorted into transient and final.
type web struct {
	client  *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
}

// credential is a token and the one origin it may be sent to.
type credential struct {
	origin string // scheme://host:port
	header string
	value  string
}

func newWeb(opts SourceOptions, cred *credential) *web {
	c := *opts.HTTP
	if cred != nil {
		base := c.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c.Transport = &credentialTransport{base: base, cred: *cred}
	}
	noJar := c.Jar == nil
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return checkRedirect(req, via, noJar)
	}
	return &web{client: &c, timeout: opts.Timeout, retries: opts.Retries, backoff: opts.RetryBackoff}
}

// credentialTransport adds the token to requests for its origin, and only
// to those: a redirect elsewhere (a CDN, another host) never carries it,
// whatever header it travels in.
type credentialTransport struct {
	base http.RoundTripper
	cred credential
}

func (t *credentialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL) != t.cred.origin {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set(t.cred.header, t.cred.value)
	return t.base.RoundTrip(r)
}

// origin is scheme://host:port, lowercased, with the default port filled in.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

var (
	errRedirect          = errors.New("redirect loop")
	errRedirectDowngrade = errors.New("refusing a redirect from https to http")
)

// checkRedirect follows at most maxRedirects redirects, never from https
// to http, and stops at once when a URL comes round again (unless a cookie
// jar could make the second visit differ).
func checkRedirect(req *http.Request, via []*http.Request, noJar bool) error {
	prev := via[len(via)-1]
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: %s", errRedirectDowngrade, req.URL.Redacted())
	}
	if noJar {
		for _, v := range via {
			if v.URL.String() == req.URL.String() {
				return fmt.Errorf("%w: %s redirects back to %s", errRedirect, prev.URL.Redacted(), req.URL.Redacted())
			}
		}
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: stopped after %d redirects", errRedirect, maxRedirects)
	}
	return nil
}

func parseHTTPURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error repeats the URL, password and all
		}
		return nil, fmt.Errorf("not a valid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s is not an http or https URL", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s has no host", u.Redacted())
	}
	return u, nil
}

var errStalled = errors.New("server stalled")

// transientError marks a failure worth another attempt.
type transientError struct {
	err   error
	after time.Duration // the server's Retry-After, 0 if none
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// get makes one GET request under an idle timeout (internal/idle): a
// stalled server fails after the timeout, a slow but moving download never
// does. raw asks for the bytes as stored, without a content coding.
func (w *web) get(ctx context.Context, rawURL string, header http.Header, raw bool) (*remoteBody, error) {
	u, err := parseHTTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	watch := idle.Start(ctx, w.timeout, errStalled)
	fail := func(err error) (*remoteBody, error) {
		watch.Stop()
		return nil, err
	}
	req, err := http.NewRequestWithContext(watch.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "reproof")
	if raw {
		req.Header.Set("Accept-Encoding", "identity")
	}
	// A Fetcher revalidating its cached copy (cache.go).
	v, conditional := validatorsFrom(ctx)
	if raw && conditional {
		v.set(req.Header)
	}
	// One request per connection: the transport then never peeks at
	// bytes a server sends past its Content-Length.
	req.Close = true
	resp, err := w.client.Do(req)
	if err != nil {
		return fail(w.requestError(ctx, watch, err))
	}
	if resp.StatusCode == http.StatusNotModified && raw && conditional {
		resp.Body.Close()
		return fail(errNotModified)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		serr := &StatusError{Code: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		if serr.transient() {
			return fail(&transientError{err: serr, after: serr.RetryAfter})
		}
		return fail(serr)
	}
	return &remoteBody{
		Body:         watch.Body(resp.Body),
		watch:        watch,
		parent:       ctx,
		size:         resp.ContentLength,
		contentType:  resp.Header.Get("Content-Type"),
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
		date:         resp.Header.Get("Date"),
		delimited:    resp.ContentLength >= 0 || slices.Contains(resp.TransferEncoding, "chunked"),
		timeout:      w.timeout,
	}, nil
}

// requestError sorts a failed request: cancellation by the caller and
// refusals (redirect policy, certificates, unknown hosts) are final;
// everything else on the way (refused or reset connections, stalls) is
// transient.
func (w *web) requestError(parent context.Context, watch *idle.Watch, err error) error {
	if perr := parent.Err(); perr != nil {
		return perr
	}
	if watch.Stalled() {
		return &transientError{err: fmt.Errorf("%w: no response within %v", errStalled, w.timeout)}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the caller names the URL, without a password
	}
	var certErr *tls.CertificateVerificationError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errRedirect), errors.Is(err, errRedirectDowngrade):
		return err
	case errors.As(err, &certErr):
		return err
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return err
	}
	return &transientError{err: err}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// remoteBody is a response body under the idle timeout, with what the
// response said of it.
type remoteBody struct {
	*idle.Body
	watch        *idle.Watch
	parent       context.Context // the caller's
	size         int64           // Content-Length, -1 if not announced
	contentType  string
	etag         string
	lastModified string
	date         string
	delimited    bool // by Content-Length or chunks, not only by the connection closing
	timeout      time.Duration
}

func (b *remoteBody) Read(p []byte) (int, error) {
	n, err := b.Body.Read(p)
	if err != nil && err != io.EOF {
		err = b.readError(err)
	}
	return n, err
}

func (b *remoteBody) readError(err error) error {
	if perr := b.parent.Err(); perr != nil {
		return perr
	}
	if b.watch.Stalled() {
		return &transientError{err: fmt.Errorf("%w: no data for %v after %d bytes", errStalled, b.timeout, b.N)}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if b.size >= 0 {
			return &transientError{err: fmt.Errorf("truncated: the connection closed after %d of %d announced bytes", b.N, b.size)}
		}
		return &transientError{err: fmt.Errorf("truncated: the connection closed after %d bytes, before the body ended", b.N)}
	}
	return &transientError{err: err}
}

// maxAPIAnswer caps a release API answer; real ones are kilobytes.
const maxAPIAnswer = 16 << 20

// getDocument GETs a small document (an API answer, an index), with
// retries.
func (w *web) getDocument(ctx context.Context, rawURL string, header http.Header) ([]byte, error) {
	var data []byte
	attempts, err := retry(ctx, w.retries, w.backoff, func() error {
		body, err := w.get(ctx, rawURL, header, false)
		if err != nil {
			return err
		}
		defer body.Close()
		data, err = io.ReadAll(io.LimitReader(body, maxAPIAnswer+1))
		if err != nil {
			return err
		}
		if len(data) > maxAPIAnswer {
			return fmt.Errorf("%w: the answer is larger than %d bytes", ErrTooLarge, maxAPIAnswer)
		}
		return nil
	})
	return data, withAttempts(err, attempts)
}

// getJSON GETs an API document, with retries, and decodes it into v.
func (w *web) getJSON(ctx context.Context, rawURL string, header http.Header, v any) error {
	data, err := w.getDocument(ctx, rawURL, header)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("the answer is not the expected JSON: %w", err)
	}
	return nil
}

// checkAssetURL accepts absolute http and https URLs.
func checkAssetURL(name, raw string) error {
	if _, err := parseHTTPURL(raw); err != nil {
		return fmt.Errorf("asset %q: %w", name, err)
	}
	return nil
}
