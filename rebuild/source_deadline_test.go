package rebuild

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// A git server that accepts the connection and then says nothing: the
// fetch is stopped after SourceOptions.Timeout without progress, with an
// error that says what was being waited for, and nothing is left.
func TestCheckoutSourceStalledServer(t *testing.T) {
	testenv.RequireTools(t, "git")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; c.Close() }() // held open, silent
		}
	}()
	work := t.TempDir()
	start := time.Now()
	_, err = CheckoutSource(context.Background(), SourceOptions{
		Repo: "git://" + ln.Addr().String() + "/project.git", Tag: "v1.0",
		WorkDir: work + "/checkout", Timeout: 2 * time.Second,
	})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "fetching the tag: git fetch: no progress for 2s") {
		t.Fatalf("CheckoutSource from a silent server = %v", err)
	}
	if took > time.Minute {
		t.Errorf("it took %s to give up", took)
	}
	t.Logf("%v (after %s)", err, took.Round(100*time.Millisecond))
}
