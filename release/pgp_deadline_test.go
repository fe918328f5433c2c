package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// A gpgv that does not finish (its data is a FIFO nobody writes to, so
// the real gpgv blocks reading it) is stopped at the deadline, with an
// error naming the signature and the wait.
func TestGpgvDeadline(t *testing.T) {
	testenv.RequireTools(t, "gpgv")
	k := newSigningKey(t, "Deadline Test <deadline@example.org>")
	dir := t.TempDir()
	data := filepath.Join(dir, "SHA256SUMS")
	if err := os.WriteFile(filepath.Join(dir, "signed"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runScript(t, dir, k.env(), detachScript, "signed", "SHA256SUMS.asc", "armor")
	if err := syscall.Mkfifo(data, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { gpgvTimeout = d }(gpgvTimeout)
	gpgvTimeout = time.Second
	start := time.Now()
	_, err := VerifyDetached(context.Background(), filepath.Join(dir, "SHA256SUMS.asc"), data, k.keyring)
	if err == nil || !strings.Contains(err.Error(), "gpgv did not finish within 1s") || !strings.Contains(err.Error(), "SHA256SUMS.asc") {
		t.Fatalf("VerifyDetached over a FIFO = %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("it took %s", took)
	}
}
