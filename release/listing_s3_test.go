package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// TestS3Listing: a release directory in a public bucket of a real S3
// server (Versity's gateway) is listed through ListObjectsV2: from the
// directory's URL (which answers 404 NoSuchKey), from the bucket's own URL
// (which answers a V1 listing of every key) and from an explicit listing
// request. Files are the keys directly under the prefix, with their sizes;
// sub-directories are not descended into; names with spaces, percent signs
// and non-ASCII fetch back to the right bytes; more than one page of keys
// (S3 gives at most 1,000 per page) is followed to the end.
func TestS3Listing(t *testing.T) {
	s3 := testenv.StartS3(t, "rel", "big")
	files := map[string]string{
		"v1.0/pkg-1.0.tar.gz": "tarball",
		"v1.0/SHA256SUMS":     "sums\n",
		"v1.0/a b%c.tgz":      "spaces and percent",
		"v1.0/é&<x>.bin":      "xml specials",
		"v1.0/sub/inner.txt":  "not listed: a sub-directory",
		"top.txt":             "at the bucket's top",
		"only-dirs/x/y.txt":   "below a sub-directory",
	}
	for name, data := range files {
		p := filepath.Join(s3.Root, "rel", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const many = 1003
	for i := range many {
		p := filepath.Join(s3.Root, "big", "r", fmt.Sprintf("f%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v10 := []string{"SHA256SUMS", "a b%c.tgz", "pkg-1.0.tar.gz", "é&<x>.bin"}
	for _, tt := range []struct {
		name, url, how string
		want           []string // names under "v1.0/", or at the top for the bucket
		dir            string   // the key prefix of want
	}{
		{"directory URL", s3.URL + "/rel/v1.0/", "S3 bucket listing, 4 files", v10, "v1.0/"},
		{"directory URL without slash", s3.URL + "/rel/v1.0", "S3 bucket listing, 4 files", v10, "v1.0/"},
		{"listing request", s3.URL + "/rel?list-type=2&prefix=v1.0/", "S3 bucket listing, 4 files", v10, "v1.0/"},
		{"bucket URL", s3.URL + "/rel/", "S3 bucket listing, 1 file", []string{"top.txt"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSource(tt.url, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.List(context.Background())
			if err != nil {
				t.Fatalf("NewSource(%q).List() = %v", tt.url, err)
			}
			var names []string
			for _, a := range l.Assets {
				names = append(names, a.Name)
				if a.Size != int64(len(files[tt.dir+a.Name])) {
					t.Errorf("asset %q: size %d, want %d", a.Name, a.Size, len(files[tt.dir+a.Name]))
				}
				if a.URL != s.(*HTTPSource).Asset(a.Name).URL {
					t.Errorf("asset %q: URL %s, but Asset(%q) gives %s", a.Name, a.URL, a.Name, s.(*HTTPSource).Asset(a.Name).URL)
				}
			}
			if !reflect.DeepEqual(names, tt.want) || l.How != tt.how {
				t.Errorf("NewSource(%q).List() = %q, %q, want %q, %q", tt.url, names, l.How, tt.want, tt.how)
			}
			f := NewFetcher(s, t.TempDir(), testOptions())
			for _, a := range l.Assets {
				d, err := f.Fetch(context.Background(), a)
				if err != nil || d.SHA256 != digest([]byte(files[tt.dir+a.Name])) {
					t.Errorf("Fetch(%q) = %+v, %v, want the file's bytes", a.Name, d, err)
				}
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		s, err := NewSource(s3.URL+"/big/r/", testOptions())
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.List(context.Background())
		if err != nil {
			t.Fatalf("List() = %v", err)
		}
		if len(l.Assets) != many || l.How != fmt.Sprintf("S3 bucket listing, %d files in 2 pages", many) ||
			l.Assets[0].Name != "f0000.bin" || l.Assets[many-1].Name != fmt.Sprintf("f%04d.bin", many-1) {
			t.Errorf("List() = %d assets (%q), want %d in 2 pages, f0000.bin to f%04d.bin", len(l.Assets), l.How, many, many-1)
		}
	})
	for _, tt := range []struct{ name, url, err string }{
		{"only sub-directories", s3.URL + "/rel/only-dirs/", `the S3 bucket listing of "only-dirs/" lists no files (only 1 sub-directory, which reproof does not descend into)`},
		{"missing prefix", s3.URL + "/rel/v9.9/", `the S3 bucket listing of "v9.9/" lists no files`},
		{"prefix not a directory", s3.URL + "/rel?list-type=2&prefix=v1", `the S3 prefix "v1" must name a directory`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSource(tt.url, testOptions())
			if err == nil {
				_, err = s.List(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NewSource(%q).List() = %v, want an error with %q", tt.url, err, tt.err)
			}
		})
	}
}

// TestS3Candidates: a directory URL is tried as a path-style bucket
// prefix first, then as a virtual-host bucket's prefix.
func TestS3Candidates(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want []s3Bucket
	}{
		{"https://s3.example/bucket/a/b/", []s3Bucket{{"https://s3.example/bucket", "a/b/"}, {"https://s3.example", "bucket/a/b/"}}},
		{"https://bucket.s3.example/", []s3Bucket{{"https://bucket.s3.example", ""}}},
		{"https://h/b/x%20y/", []s3Bucket{{"https://h/b", "x y/"}, {"https://h", "b/x y/"}}},
	} {
		if got := s3Candidates(tt.url); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("s3Candidates(%q) = %+v, want %+v", tt.url, got, tt.want)
		}
	}
	b := s3Bucket{root: "https://h/b", prefix: "v 1/"}
	if got, want := b.listURL("tok/1"), "https://h/b?continuation-token=tok%2F1&delimiter=%2F&list-type=2&prefix=v+1%2F"; got != want {
		t.Errorf("listURL = %s, want %s", got, want)
	}
	if got, want := (s3Bucket{root: "https://b.h"}).listURL(""), "https://b.h/?delimiter=%2F&list-type=2&prefix="; got != want {
		t.Errorf("listURL = %s, want %s", got, want)
	}
}
