package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/reproof/reproof/internal/owner"
)

// writeAtomically writes path through a temporary file in the same
// directory, renamed over path only when write and every close succeeded.
// On any failure nothing is left behind.
//
// A path that exists and is not a regular file (/dev/null, a FIFO, a
// terminal) is written in place: renaming over it would replace the
// device itself.
func writeAtomically(path string, write func(io.Writer) error) error {
	return writeSet([]output{{path, write}})
}

// output is one file of a set: where it goes and what writes it.
type output struct {
	path  string
	write func(io.Writer) error
}

// writeSet writes a set of files (a run's reports) all or none: each goes
// to a temporary file beside its path, and only once every one is
// complete are they renamed into place, so a failure (a full disk for the
// last report) leaves no file of the set and no temporary file. Paths
// that are special files (/dev/stdout) are written in place after the
// renames. Entries with an empty path are skipped.
func writeSet(files []output) (err error) {
	type staged struct{ tmp, path string }
	var done []staged
	var special []output
	defer func() {
		if err != nil {
			for _, st := range done {
				os.Remove(st.tmp)
			}
		}
	}()
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err == nil && !st.Mode().IsRegular() {
			if st.IsDir() {
				return fmt.Errorf("%q is a directory", f.path)
			}
			special = append(special, f)
			continue
		}
		tmp, err := stage(f.path, f.write)
		if err != nil {
			return err
		}
		done = append(done, staged{tmp, f.path})
	}
	for i, st := range done {
		if err := os.Rename(st.tmp, st.path); err != nil {
			done = done[i:] // the renamed ones are in place; remove the rest
			return fmt.Errorf("writing %q: %w", st.path, err)
		}
	}
	done = nil
	for _, f := range special {
		if err := writeInPlace(f.path, f.write); err != nil {
			return err
		}
	}
	return nil
}

// stage writes a temporary file beside path and returns its name; on
// failure it removes it.
func stage(path string, write func(io.Writer) error) (name string, err error) {
	tmp, err := owner.TempFile(owner.Beside(path, ".reproof-"))
	if err != nil {
		return "", fmt.Errorf("creating output: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return "", fmt.Errorf("writing %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %q: %w", path, err)
	}
	return tmp.Name(), nil
}

// writeInPlace writes to an existing special file.
func writeInPlace(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening output: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
