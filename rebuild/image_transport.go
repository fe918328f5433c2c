package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/reproof/reproof/internal/idle"
)

// Defaults of the registry options in ImageOptions.
const (
	// DefaultRegistryTimeout bounds each wait for a registry: for the
	// response headers, and for every next bytes of a body.
	DefaultRegistryTimeout = 60 * time.Second
	// DefaultRegistryRetries is how many attempts a transient failure gets
	// in all.
	DefaultRegistryRetries = 3
	// DefaultRegistryBackoff is the wait after the first failed attempt; it
	// doubles after each further one.
	DefaultRegistryBackoff = time.Second

	// TimeoutEnv names the environment variable that sets the default
	// network timeout (a Go duration such as "30s") of registry requests,
	// as it does for release downloads.
	TimeoutEnv = idle.TimeoutEnv

	// maxRegistryRedirects bounds a chain of redirects.
	maxRegistryRedirects = 10
	// maxRemoteMessage bounds what of a registry's own error text reaches
	// an error message.
	maxRemoteMessage = 400
)

// errRegistryStalled is wrapped when a registry sends nothing for the
// timeout.
var errRegistryStalled = errors.New("registry stalled")

// errRedirectLoop is wrapped when a registry redirects in circles or too
// often.
var errRedirectLoop = errors.New("redirect loop")

// withDefaults fills in the registry options' defaults.
func (o ImageOptions) withDefaults() ImageOptions {
	if o.Timeout <= 0 {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		o.Timeout = idle.TimeoutFromEnv(getenv, DefaultRegistryTimeout)
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRegistryRetries
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRegistryBackoff
	}
	return o
}

// registryTransport is what every registry request goes through, under
// go-containerregistry's authentication and retries:
//
//   - an idle timeout: the wait for the headers, then every wait for more
//     body bytes, is bounded, so a stalled registry fails instead of
//     hanging (a slow but moving download never does);
//   - a redirect policy: at most maxRegistryRedirects, and none back to a
//     URL already visited (ggcr's own redirect check has no limit on a
//     registry redirecting to itself);
//   - one request per connection, so bytes a registry sends past its
//     Content-Length are dropped with the connection rather than read as
//     the start of the next response;
//   - failures while reading a body marked as *bodyError, which PullImage
//     retries (ggcr retries only failed requests, not failed reads).
type registryTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRedirectChain(req); err != nil {
		return nil, err
	}
	watch := idle.Start(req.Context(), t.timeout, errRegistryStalled)
	r := req.Clone(watch.Context())
	r.Close = true
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		watch.Stop()
		if watch.Stalled() && req.Context().Err() == nil {
			return nil, &stallError{msg: fmt.Sprintf("no response within %v", t.timeout)}
		}
		return nil, err
	}
	resp.Body = &idleBody{Body: watch.Body(resp.Body), watch: watch, parent: req.Context(), timeout: t.timeout}
	return resp, nil
}

// checkRedirectChain refuses a request made to follow a redirect when the
// chain that led to it is too long or comes back to a URL it visited. The
// client sets req.Response to the redirect that caused req, whose Request
// is the previous hop.
func checkRedirectChain(req *http.Request) error {
	hops := 0
	for resp := req.Response; resp != nil && resp.Request != nil; resp = resp.Request.Response {
		hops++
		if resp.Request.URL.String() == req.URL.String() {
			return fmt.Errorf("%w: %s redirects back to %s", errRedirectLoop, req.Response.Request.URL.Redacted(), req.URL.Redacted())
		}
		if hops >= maxRegistryRedirects {
			return fmt.Errorf("%w: stopped after %d redirects", errRedirectLoop, maxRegistryRedirects)
		}
	}
	return nil
}

// stallError is a registry that did not answer within the timeout. It is
// temporary, so ggcr's retrying transport tries the request again.
type stallError struct{ msg string }

func (e *stallError) Error() string   { return errRegistryStalled.Error() + ": " + e.msg }
func (e *stallError) Unwrap() error   { return errRegistryStalled }
func (e *stallError) Temporary() bool { return true }
func (e *stallError) Timeout() bool   { return true }

// bodyError is a failure while reading a response body: a reset, a
// truncated body, a stall. PullImage retries the pull.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// idleBody is a response body under the idle timeout, whose failures are
// *bodyError.
type idleBody struct {
	*idle.Body
	watch   *idle.Watch
	parent  context.Context // the caller's
	timeout time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.Body.Read(p)
	switch {
	case err == nil, err == io.EOF:
	case b.parent.Err() != nil:
		err = b.parent.Err()
	case b.watch.Stalled():
		err = &bodyError{&stallError{msg: fmt.Sprintf("no data for %v after %d bytes", b.timeout, b.N)}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = &bodyError{fmt.Errorf("truncated: the connection closed after %d bytes, before the body ended", b.N)}
	default:
		err = &bodyError{err}
	}
	return n, err
}

// retryPull runs pull until it succeeds, fails with an error other than a
// *bodyError (ggcr has already retried failed requests), has had its
// attempts, or ctx ends. Blobs verified by an earlier attempt stay in the
// cache, so a retry fetches only what is still missing.
func retryPull(ctx context.Context, attempts int, backoff time.Duration, pull func() (*PulledImage, error)) (*PulledImage, error) {
	delay := backoff
	for n := 1; ; n++ {
		img, err := pull()
		var be *bodyError
		if err == nil || ctx.Err() != nil || !errors.As(err, &be) {
			return img, err
		}
		if n >= attempts {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		delay *= 2
	}
}

// remoteText is a registry's own text (an error body) made safe for a
// one-line message: control characters and runs of spaces become one
// space, and it is cut at maxRemoteMessage bytes.
func remoteText(s string) string {
	out := make([]byte, 0, min(len(s), maxRemoteMessage+3))
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		if len(out)+utf8.RuneLen(r) > maxRemoteMessage {
			return string(out) + "…"
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}
