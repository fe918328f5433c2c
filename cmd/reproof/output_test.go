package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
	"github.com/reproof/reproof/rebuild"
)

// TestWriteSetFullDisk: a report set whose last file does not fit on the
// disk (a real 64 KiB tmpfs) leaves no file of the set and no temporary
// file: not a JSON report saying "reproducible" from a run that failed.
// The earlier files of a set that fits are all there.
func TestWriteSetFullDisk(t *testing.T) {
	testenv.RequireRoot(t, "mounting a tmpfs")
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "reproof-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() }) //nolint:errcheck // best effort
	small := func(w io.Writer) error { _, err := w.Write([]byte("{\"verdict\": \"reproducible\"}\n")); return err }
	huge := func(w io.Writer) error { _, err := w.Write(bytes.Repeat([]byte("x"), 256<<10)); return err }
	set := []output{
		{filepath.Join(dir, "report.json"), small},
		{"", huge}, // not asked for
		{filepath.Join(dir, "report.md"), small},
		{filepath.Join(dir, "report.html"), huge},
	}
	err := writeSet(set)
	if err == nil || !strings.Contains(err.Error(), "report.html") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("writeSet with a full disk = %v, want ENOSPC naming report.html", err)
	}
	if entries, err := os.ReadDir(dir); err != nil {
		t.Error(err)
	} else if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after a failed writeSet the directory holds %q, want nothing", names)
	}
	set[3].write = small
	if err := writeSet(set); err != nil {
		t.Fatalf("writeSet = %v", err)
	}
	for _, name := range []string{"report.json", "report.md", "report.html"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !strings.Contains(string(b), "reproducible") {
			t.Errorf("%s after writeSet: %q, %v", name, b, err)
		}
	}
}

// TestInterruptedCleanupFailure: a run interrupted while something could
// not be cleaned up says so after "interrupted", and exits 130.
func TestInterruptedCleanupFailure(t *testing.T) {
	left := &rebuild.CleanupError{Err: errors.New("the build container reproof-x was not removed: the docker engine did not answer rm within 1m0s")}
	var stderr bytes.Buffer
	code := exitCode(fmt.Errorf("%w; %w", context.Canceled, left), &stderr)
	want := "reproof: interrupted\nreproof: the build container reproof-x was not removed: the docker engine did not answer rm within 1m0s\n"
	if code != exitInterrupted || stderr.String() != want {
		t.Errorf("exitCode(interrupted with a cleanup failure) = %d, %q; want %d, %q", code, stderr.String(), exitInterrupted, want)
	}
}
