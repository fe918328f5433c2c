package compare_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/reproof/reproof/compare"
)

// FuzzCompare compares any two inputs, as reproof diff would, within
// small caps: it must end with a result or an error, never a panic, and
// leave its work directory empty. The seeds are pairs of the real-tool
// samples of package archive.
func FuzzCompare(f *testing.F) {
	paths, err := filepath.Glob("../archive/testdata/seed/*")
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for i := range seeds {
		f.Add(seeds[i], seeds[(i+1)%len(seeds)])
	}
	opts := compare.Options{MaxDepth: 3, MaxEntries: 200, MaxBytes: 2 << 20, MaxTotalBytes: 8 << 20, Workers: 2}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		dir := t.TempDir()
		work := filepath.Join(dir, "work")
		if err := os.Mkdir(work, 0o755); err != nil {
			t.Fatal(err)
		}
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		if err := os.WriteFile(pa, a, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pb, b, 0o644); err != nil {
			t.Fatal(err)
		}
		o := opts
		o.TempDir = work
		res, err := compare.Compare(context.Background(), pa, pb, o)
		if err == nil && string(a) == string(b) && res.Status() != compare.StatusIdentical {
			t.Fatalf("identical inputs compared as %v", res.Status())
		}
		if err == nil && string(a) != string(b) && res.Status() == compare.StatusIdentical {
			t.Fatalf("different inputs compared identical")
		}
		if left, err := os.ReadDir(work); err != nil || len(left) != 0 {
			t.Fatalf("left %d files in the work directory (%v)", len(left), err)
		}
	})
}
