package idle

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

var errTestStall = errors.New("test stall")

// A body that stops sending is ended by the watch with its cause; one that
// keeps sending, each gap shorter than the timeout, is not, however long it
// takes in all.
func TestWatchBody(t *testing.T) {
	const timeout = time.Second // ten times each gap: a loaded machine keeps the margin
	pr, pw := io.Pipe()
	w := Start(context.Background(), timeout, errTestStall)
	b := w.Body(pr)
	go func() {
		for range 15 { // 1.5 timeouts in all, never one without data
			time.Sleep(timeout / 10)
			if _, err := pw.Write([]byte("x")); err != nil {
				t.Errorf("writing to the pipe: %v", err)
			}
		}
		// then nothing: the watch must end it
		<-w.Context().Done()
		pw.CloseWithError(context.Cause(w.Context()))
	}()
	data, err := io.ReadAll(b)
	if len(data) != 15 || !w.Stalled() || !errors.Is(err, errTestStall) || b.N != 15 {
		t.Errorf("read %q, %v, stalled %v, N %d; want 15 bytes then the stall", data, err, w.Stalled(), b.N)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if w.Context().Err() == nil {
		t.Error("the context is live after Close")
	}
}

// Stop before the timeout: not stalled, the context released.
func TestWatchStop(t *testing.T) {
	w := Start(context.Background(), time.Hour, errTestStall)
	w.Stop()
	if w.Stalled() || w.Context().Err() == nil {
		t.Errorf("after Stop: stalled %v, context %v", w.Stalled(), w.Context().Err())
	}
}

func TestTimeoutFromEnv(t *testing.T) {
	for v, want := range map[string]time.Duration{"": time.Minute, "5s": 5 * time.Second, "-5s": time.Minute, "0": time.Minute, "soon": time.Minute} {
		getenv := func(k string) string {
			if k == TimeoutEnv {
				return v
			}
			return ""
		}
		if got := TimeoutFromEnv(getenv, time.Minute); got != want {
			t.Errorf("TimeoutFromEnv with %q = %v, want %v", v, got, want)
		}
	}
}
