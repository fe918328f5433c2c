package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// serveDir serves root with a real web server (nginx, nginx-noindex or
// python) until the test ends, and returns its base URL.
func serveDir(t *testing.T, kind, root string) string {
	t.Helper()
	return testenv.ServeDir(t, kind, root)
}

func listingSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestSumsPublishedListing: `sums --published` over a plain web directory
// reads the server's listing, so a SHA256SUMS that lies about a file in
// it is caught (before, no request was made and the exit was 0); a
// single-file URL is a one-file release, and an empty directory is an
// error naming the source.
func TestSumsPublishedListing(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"rel/pkg-1.0.tar.gz": "the published tarball\n",
		"rel/notes.txt":      "release notes\n",
		"rel/SHA256SUMS": listingSHA256("a different tarball\n") + "  pkg-1.0.tar.gz\n" +
			listingSHA256("release notes\n") + "  notes.txt\n",
		"empty/": "",
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, server := range []string{"nginx", "python", "s3"} {
		t.Run(server, func(t *testing.T) {
			var base string
			if server == "s3" {
				// A public bucket of a real S3 server: the directory URL
				// answers 404 NoSuchKey; the bucket's ListObjectsV2
				// listing of the prefix names the files.
				s3 := testenv.StartS3(t, "releases")
				if err := os.CopyFS(filepath.Join(s3.Root, "releases"), os.DirFS(root)); err != nil {
					t.Fatal(err)
				}
				base = s3.URL + "/releases"
			} else {
				base = serveDir(t, server, root)
			}
			for _, tt := range []struct {
				name, source string
				code         int
				stdout       []string
				stderr       string
			}{
				{"lying SHA256SUMS", base + "/rel/", 1, []string{
					"SHA256SUMS: coreutils manifest, 2 checksums",
					"notes.txt: OK (sha256 from SHA256SUMS:2)",
					"pkg-1.0.tar.gz: FAILED: sha256 in SHA256SUMS:1 says " + listingSHA256("a different tarball\n") +
						", the published file has " + listingSHA256("the published tarball\n"),
				}, "NOT match"},
				{"single file", base + "/rel/pkg-1.0.tar.gz", 0, []string{
					"pkg-1.0.tar.gz: NO CHECKSUM published; sha256 " + listingSHA256("the published tarball\n"),
				}, ""},
				{"empty directory", base + "/empty/", 2, nil, base + "/empty/: " + map[string]string{
					"nginx":  "the nginx autoindex page lists no files",
					"python": "the Python http.server page lists no files",
					"s3":     `the S3 bucket listing of "empty/" lists no files`}[server]},
			} {
				args := []string{"sums", "--published", tt.source, "--cache", t.TempDir()}
				r := reproof(t, invocation{}, args...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
					t.Errorf("%s: reproof %q: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", tt.name, args, r.code, tt.code, tt.stderr, r.stdout, r.stderr)
					continue
				}
				for _, want := range tt.stdout {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("%s: reproof %q: stdout lacks %q:\n%s", tt.name, args, want, r.stdout)
					}
				}
				if tt.code == 2 && r.stdout != "" {
					t.Errorf("%s: reproof %q: exit 2 with output:\n%s", tt.name, args, r.stdout)
				}
			}
		})
	}
}

// TestSumsPublishedNoListing: a base URL without a listing page (nginx
// with autoindex off answers 403, a missing directory 404) gives `sums`
// nothing to check: an error naming the source and saying why, not exit
// 0. A manifest named with --checksums is fetched from the source, not
// opened as a local file.
func TestSumsPublishedNoListing(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "rel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "rel", "pkg.tgz"), []byte("the tarball\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "rel", "SHA256SUMS"), []byte(listingSHA256("another tarball\n")+"  pkg.tgz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := serveDir(t, "nginx-noindex", root)
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"forbidden directory", []string{base + "/rel/"}, 2, "",
			"sums: " + base + "/rel/ lists no files (no listing: " + base + "/rel/ answered 403 Forbidden)"},
		{"missing directory", []string{base + "/missing/"}, 2, "",
			"sums: " + base + "/missing/ lists no files (no listing: " + base + "/missing/ answered 404 Not Found)"},
		{"named manifest", []string{base + "/rel/", "--checksums", "SHA256SUMS"}, 0,
			"SHA256SUMS: coreutils manifest, 1 checksum\npkg.tgz: listed in SHA256SUMS:1, not a published file", ""},
	} {
		args := append([]string{"sums", "--cache", t.TempDir(), "--published"}, tt.args...)
		// A local file of the manifest's name must not be read instead.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte("not a checksum file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := reproof(t, invocation{dir: dir}, args...)
		if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%s: reproof %q: exit %d, want %d\nstdout:\n%s\nwant %q\nstderr:\n%s\nwant %q", tt.name, args, r.code, tt.code, r.stdout, tt.stdout, r.stderr, tt.stderr)
		}
	}
}
