package compare_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/compare"
)

// writeTar writes a tar of the given headers (regular files get their
// name as content) to dir/name.
func writeTar(t *testing.T, dir, name string, hdrs ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag != tar.TypeXGlobalHeader {
			h.ModTime = time.Unix(1700000000, 0)
		}
		body := []byte(nil)
		if h.Typeflag == tar.TypeReg {
			body = []byte(h.Name)
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAmbiguousConstructs: a construct the extractors read differently is
// a content difference of its own kind, named at the entry's path as
// stored, whatever else agrees; the same bytes are identical all the same.
func TestAmbiguousConstructs(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644} }
	dir := t.TempDir()
	honest := writeTar(t, dir, "honest.tar", reg("etc/x"))
	global := writeTar(t, dir, "global.tar",
		&tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"uid": "0"}}, reg("etc/x"))
	through := writeTar(t, dir, "through.tar",
		&tar.Header{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/etc", Mode: 0o777}, reg("etc/x"))
	for _, tt := range []struct {
		name, a, b string
		path       string // of the ambiguous difference
		construct  string
	}{
		{"a uid in a pax global header", honest, global, "GlobalHead.0.0", "uid"},
		{"a path through a symlink stored before it", honest, through, "etc/x", "symlink"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := mustCompare(t, tt.a, tt.b, compare.Options{TempDir: t.TempDir()})
			if res.Status() != compare.StatusDiffers {
				t.Errorf("Compare status = %v, want %v\n%s", res.Status(), compare.StatusDiffers, dump(res))
			}
			found := false
			for _, d := range res.Differences {
				if d.Kind != compare.KindAmbiguous {
					continue
				}
				found = found || (d.Path == tt.path && strings.Contains(d.Detail, tt.construct) && strings.HasPrefix(d.Detail, "in B: "))
				if strings.ContainsRune(d.Path, 0) {
					t.Errorf("ambiguous difference at %q: an internal pairing key leaked into the path", d.Path)
				}
			}
			if !found {
				t.Errorf("Compare: no ambiguous difference at %q naming %q\n%s", tt.path, tt.construct, dump(res))
			}
			if res := mustCompare(t, tt.b, tt.b, compare.Options{TempDir: t.TempDir()}); res.Status() != compare.StatusIdentical {
				t.Errorf("Compare(B, B) = %v, want identical: the same bytes extract alike everywhere", res.Status())
			}
		})
	}
}
