package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/internal/testenv"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// bzip2Tarball makes dir/name with GNU tar and bzip2 at the given block
// size, every member's mtime set to mtime.
func bzip2Tarball(t *testing.T, src, dir, name, mtime, level string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("sh", "-c", `tar --sort=name --owner=0 --group=0 --numeric-owner --format=gnu --mtime="$1" -C "$2" -cf - . | bzip2 "$3" >"$4"`,
		"sh", mtime, src, level, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return out
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// A .tar.bz2 pair is compared like any other archive although reproof
// cannot write bzip2: other mtimes and another block size are equivalent,
// each named; another content is different.
func TestCompareBzip2Tarballs(t *testing.T) {
	testenv.RequireTools(t, "tar", "bzip2")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "app"), []byte(strings.Repeat("reproducible\n", 1000)), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	published := bzip2Tarball(t, src, dir, "published.tar.bz2", "2024-01-01 00:00:00Z", "-9")
	rebuilt := bzip2Tarball(t, src, dir, "rebuilt.tar.bz2", "2024-06-01 00:00:00Z", "-1")
	if err := os.WriteFile(filepath.Join(src, "app"), []byte(strings.Repeat("reproducible?\n", 1000)), 0o755); err != nil {
		t.Fatal(err)
	}
	changed := bzip2Tarball(t, src, dir, "changed.tar.bz2", "2024-01-01 00:00:00Z", "-9")

	s := spec.Default()
	passes, err := archive.ParsePasses(s.Compare.PassList())
	if err != nil {
		t.Fatal(err)
	}
	c := &comparer{ctx: context.Background(), spec: s, passes: passes, epoch: 1700000000, tmp: t.TempDir()}
	compare := func(rebuilt string) *report.Artifact {
		a := &report.Artifact{Name: "app.tar.bz2",
			Rebuilt:   &report.FileDigest{SHA256: sha256File(t, rebuilt)},
			Published: &report.FileDigest{SHA256: sha256File(t, published)}}
		if err := c.compareOne(a, rebuilt, published); err != nil {
			t.Fatalf("comparing %s: %v", filepath.Base(rebuilt), err)
		}
		return a
	}

	a := compare(rebuilt)
	var names []string
	for _, n := range a.Normalizations {
		names = append(names, n.Pass)
	}
	if a.Status != report.StatusEquivalent || !strings.Contains(strings.Join(names, " "), "tar-mtime") ||
		!strings.Contains(strings.Join(names, " "), "recompression") {
		t.Errorf("other mtimes and block size: %s (%s), normalizations %q; want equivalent naming tar-mtime and recompression",
			a.Status, a.Detail, names)
	}
	if a := compare(changed); a.Status != report.StatusDifferent {
		t.Errorf("another content: %s (%s), want different", a.Status, a.Detail)
	}
	if entries, err := os.ReadDir(c.tmp); err != nil || len(entries) != 0 {
		t.Errorf("the comparison left %d files in its temporary directory (%v)", len(entries), err)
	}
}
