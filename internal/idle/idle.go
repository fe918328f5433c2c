// Package idle bounds how long an HTTP exchange may go without progress:
// the wait for the response headers, then every wait for more body bytes.
// A stalled server fails the exchange instead of hanging it; a slow but
// moving download is never cut. Release downloads and registry pulls share
// it and say in their own words what a stall or a cut body means.
package idle

import (
	"context"
	"errors"
	"io"
	"time"
)

// Watch is one exchange's idle timer. Its context, derived from the
// caller's, is cancelled with the watch's cause when the timer fires.
type Watch struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	timeout time.Duration
	cause   error
}

// Start starts the timer for a request made with the watch's Context.
func Start(parent context.Context, timeout time.Duration, cause error) *Watch {
	ctx, cancel := context.WithCancelCause(parent)
	w := &Watch{ctx: ctx, cancel: cancel, timeout: timeout, cause: cause}
	w.timer = time.AfterFunc(timeout, func() { cancel(cause) })
	return w
}

// Context is the request's context.
func (w *Watch) Context() context.Context { return w.ctx }

// Stalled tells whether the timer, rather than the caller or the
// exchange, ended the request.
func (w *Watch) Stalled() bool { return errors.Is(context.Cause(w.ctx), w.cause) }

// Stop ends the watch and releases its context: after a failed request,
// or once the body is closed.
func (w *Watch) Stop() {
	w.timer.Stop()
	w.cancel(nil)
}

// Body puts a response body under the watch: the timer restarts for it,
// and again whenever a read returns bytes. Closing the body stops the
// watch.
func (w *Watch) Body(rc io.ReadCloser) *Body {
	w.timer.Reset(w.timeout)
	return &Body{rc: rc, w: w}
}

// Body is a response body under a watch. Read returns the body's own
// errors: the caller tells a stall (Watch.Stalled) from a cut connection.
type Body struct {
	rc io.ReadCloser
	w  *Watch
	// N counts the bytes read.
	N int64
}

func (b *Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.N += int64(n)
	if n > 0 {
		b.w.timer.Reset(b.w.timeout)
	}
	if err == io.EOF {
		b.w.timer.Stop()
	}
	return n, err
}

// Close closes the body and stops the watch.
func (b *Body) Close() error {
	b.w.timer.Stop()
	err := b.rc.Close()
	b.w.cancel(nil)
	return err
}

// TimeoutEnv names the environment variable that sets the idle timeout of
// release downloads and registry pulls: a Go duration such as "30s".
const TimeoutEnv = "REPROOF_HTTP_TIMEOUT"

// TimeoutFromEnv is the positive duration getenv(TimeoutEnv) names, or def
// when it names none.
func TimeoutFromEnv(getenv func(string) string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(TimeoutEnv)); err == nil && d > 0 {
		return d
	}
	return def
}
