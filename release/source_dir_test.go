package release

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newDistDir makes a published directory: files at two depths, plus
// things that are not assets (a symlink, a pipe, an empty directory).
func newDistDir(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	want := map[string][]byte{
		"SHA256SUMS":                    content("SHA256SUMS"),
		"garage":                        content("garage"),
		"x86_64-unknown-linux-musl/bin": content("bin"),
		"with space/ü.tar.gz":           content("ü"),
	}
	for name, data := range want {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

func TestDirList(t *testing.T) {
	dir, want := newDistDir(t)
	src, err := NewSource(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fileURL := func(name string) string {
		return (&url.URL{Scheme: "file", Path: filepath.Join(dir, name)}).String()
	}
	var wantAssets []Asset
	for _, name := range []string{"SHA256SUMS", "garage", "with space/ü.tar.gz", "x86_64-unknown-linux-musl/bin"} {
		wantAssets = append(wantAssets, Asset{name, fileURL(name), int64(len(want[name])), ""})
	}
	wantListing := &Listing{Source: dir, Assets: wantAssets, How: "directory, 4 files"}
	if !reflect.DeepEqual(l, wantListing) {
		t.Errorf("List() =\n%+v\nwant\n%+v", l, wantListing)
	}
}

func TestDirConformance(t *testing.T) {
	dir, want := newDistDir(t)
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testSourceConformance(t, src, l.Assets, src.Asset("missing"), want)
}

// TestDirFetchInPlace: a directory's files are hashed where they are,
// never copied, never touched.
func TestDirFetchInPlace(t *testing.T) {
	dir, want := newDistDir(t)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	garage := filepath.Join(dir, "garage")
	if err := os.Chtimes(garage, old, old); err != nil {
		t.Fatal(err)
	}
	src := mustDirSource(t, dir)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	f := NewFetcher(src, cacheDir, testOptions())
	a := src.Asset("garage")
	a.SHA256 = strings.ToUpper(digest(want["garage"])) // case does not matter
	d, err := f.Fetch(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != garage || d.Cached || d.Size != int64(len(want["garage"])) || d.SHA256 != digest(want["garage"]) || len(d.SHA512) != 128 {
		t.Errorf("Fetch = %+v, want the file itself, hashed", d)
	}
	if fi, err := os.Stat(garage); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("the published file changed: %v %v", fi.ModTime(), err)
	}
	if _, err := os.Stat(cacheDir); !os.IsNotExist(err) {
		t.Errorf("the cache was created for a local directory (%v)", err)
	}

	a.SHA256 = digest([]byte("other"))
	if _, err := f.Fetch(context.Background(), a); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Fetch(wrong digest) = %v, want ErrDigestMismatch", err)
	}
	b := src.Asset("garage")
	b.Size = 1
	if _, err := f.Fetch(context.Background(), b); err == nil || !strings.Contains(err.Error(), "the listing said 1") {
		t.Errorf("Fetch(wrong size) = %v, want a size error", err)
	}
	small := testOptions()
	small.MaxSize = 10
	if _, err := NewFetcher(src, cacheDir, small).Fetch(context.Background(), src.Asset("garage")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Fetch(over the cap) = %v, want ErrTooLarge", err)
	}
}

// TestDirOpenStaysInside: names that leave the directory, or are not
// regular files, do not open.
func TestDirOpenStaysInside(t *testing.T) {
	dir, _ := newDistDir(t)
	src := mustDirSource(t, dir)
	for _, name := range []string{"../secret", "link", "pipe", "empty", "/etc/passwd", "x86_64-unknown-linux-musl/../../x"} {
		rc, err := src.Open(context.Background(), Asset{Name: name})
		if err == nil {
			rc.Close() //nolint:errcheck // the test fails already
			t.Errorf("Open(%q) succeeded", name)
		}
		if _, err := NewFetcher(src, t.TempDir(), testOptions()).Fetch(context.Background(), Asset{Name: name}); err == nil {
			t.Errorf("Fetch(%q) succeeded", name)
		}
	}
}

// TestDirOneFile: a regular file is a one-file release; nothing else
// beside it opens.
func TestDirOneFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pkg.tgz")
	for p, data := range map[string]string{file: "pkg", filepath.Join(dir, "other"): "other"} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := NewSource(file, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Assets) != 1 || l.Assets[0].Name != "pkg.tgz" || l.Assets[0].Size != 3 || l.How != "single file" {
		t.Errorf("NewSource(%q).List() = %+v, want the one file pkg.tgz", file, l)
	}
	testSourceConformance(t, src, l.Assets, src.(*DirSource).Asset("other"), map[string][]byte{"pkg.tgz": []byte("pkg")})
}

// TestDirEmpty: a directory without a regular file is an error naming it.
func TestDirEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if l, err := src.List(context.Background()); err == nil || !strings.Contains(err.Error(), "lists no files") || !strings.Contains(err.Error(), dir) {
		t.Errorf("List(%q) = %+v, %v, want an error: lists no files", dir, l, err)
	}
}

func TestDirNotADirectory(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSource(fifo, testOptions()); err == nil || !strings.Contains(err.Error(), "not a directory or a regular file") {
		t.Errorf("NewSource(a fifo) = %v, want not a directory or a regular file", err)
	}
}
