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

// webServer is a real web server serving a directory on 127.0.0.1.
type webServer struct{ URL string }

// startServer serves root with a real web server (testenv.Nginx,
// testenv.PythonHTTP) until the test ends.
func startServer(t *testing.T, kind, root string) *webServer {
	t.Helper()
	return &webServer{URL: testenv.ServeDir(t, kind, root)}
}

// writeTree writes files (slash-separated names) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
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
	return root
}

// TestHTTPListingServers: nginx's autoindex and Python's http.server
// listings give the directory's files (not its sub-directories), with
// percent-decoded names that fetch back to the right bytes.
func TestHTTPListingServers(t *testing.T) {
	files := map[string]string{
		"pkg-1.0.tar.gz": "tarball",
		"SHA256SUMS":     "sums\n",
		"a b%c.tgz":      "spaces and percent",
		"é&<x>.bin":      "html specials",
		"sub/inner.txt":  "not listed: a sub-directory",
		"empty-sub/":     "",
	}
	root := writeTree(t, files)
	for _, tt := range []struct {
		server, how string
		sizes       bool // the listing gives exact sizes
	}{
		{"nginx", "nginx autoindex, 4 files", true},
		{"python", "Python http.server, 4 files", false},
	} {
		t.Run(tt.server, func(t *testing.T) {
			srv := startServer(t, tt.server, root)
			for _, base := range []string{srv.URL + "/", srv.URL} {
				s, err := NewSource(base, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				l, err := s.List(context.Background())
				if err != nil {
					t.Fatalf("NewSource(%q).List() = %v", base, err)
				}
				var want []Asset
				for _, name := range []string{"SHA256SUMS", "a b%c.tgz", "pkg-1.0.tar.gz", "é&<x>.bin"} {
					a := s.(*HTTPSource).Asset(name)
					if tt.sizes {
						a.Size = int64(len(files[name]))
					}
					want = append(want, a)
				}
				if !reflect.DeepEqual(l, &Listing{Source: base, Assets: want, How: tt.how}) {
					t.Errorf("NewSource(%q).List() =\n%+v\nwant\n%+v", base, l, &Listing{Source: base, Assets: want, How: tt.how})
				}
				f := NewFetcher(s, t.TempDir(), testOptions())
				for _, a := range l.Assets {
					d, err := f.Fetch(context.Background(), a)
					if err != nil || d.SHA256 != digest([]byte(files[a.Name])) {
						t.Errorf("Fetch(%q) = %+v, %v, want the file's bytes", a.Name, d, err)
					}
				}
			}
		})
	}
}

// TestHTTPListingHostileLinks: a page titled like a listing (served by
// nginx as the directory's index.html) counts only links to files of its
// own directory: not parent or sub-directories, other hosts, absolute
// paths, queries (Apache's sort links) or fragments. A link whose decoded
// name is not a plain file name makes the listing an error.
func TestHTTPListingHostileLinks(t *testing.T) {
	apache := `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html>
 <head>
  <title>Index of /dist</title>
 </head>
 <body>
<h1>Index of /dist</h1>
  <table>
   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
   <tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><a href="pkg.tgz"><img src="/icons/compressed.gif" alt="[   ]"></a></td><td><a href="pkg.tgz">pkg.tgz</a></td><td align="right">2026-12-07 10:00  </td><td align="right">1.2K</td></tr>
<tr><td valign="top"><img src="/icons/text.gif" alt="[TXT]"></td><td><a href='SHA256SUMS'>SHA256SUMS</a></td><td align="right">2026-12-07 10:00  </td><td align="right">120 </td></tr>
<tr><td><a href="./a:b.txt">a:b.txt</a></td></tr>
<tr><td><a href="../x">../x</a> <a href="http://other.example/x">x</a> <a href="//other.example/y">y</a> <a href="/abs/z">z</a> <a href="sub/">sub/</a> <a href="sub/file">sub/file</a> <a href="f#frag">f</a> <a href="f?q=1">f</a> <a href="mailto:x@example.org">m</a> <a href="..">..</a> <a href=".">.</a></td></tr>
  </table>
<address>Apache/2.4.62 (Debian) Server at example.org Port 80</address>
</body></html>
`
	for _, tt := range []struct {
		name, page string
		want       []string // listed names, nil for an error
		how, err   string
	}{
		{"apache", apache, []string{"SHA256SUMS", "a:b.txt", "pkg.tgz"}, "Apache autoindex, 3 files", ""},
		{"encoded slash", `<title>Index of /d/</title><a href="a%2Fb">x</a>`, nil, "", "not a name in the directory"},
		{"encoded climb", `<title>Index of /d/</title><a href="%2E%2E">x</a>`, nil, "", "lists no files"},
		{"control character", `<title>Index of /d/</title><a href="a%0Ab">x</a>`, nil, "", "control characters"},
		{"only hostile links", `<title>Index of /d/</title><a href="../x">x</a><a href="http://127.0.0.2/x">x</a><a href="sub/">sub/</a>`, nil, "", "lists no files (only 1 sub-directory"},
		{"no listing", `<html><title>Welcome</title><a href="pkg.tgz">pkg</a></html>`, []string{}, "no listing: %s/ answered with a page that is not a directory listing", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"index.html": tt.page})
			srv := startServer(t, "nginx", root)
			s, err := NewSource(srv.URL+"/", testOptions())
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.List(context.Background())
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), srv.URL) {
					t.Errorf("List(%s) = %+v, %v, want an error naming the source: %s", tt.name, l, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("List(%s) = %v", tt.name, err)
			}
			names := []string{}
			for _, a := range l.Assets {
				names = append(names, a.Name)
				if a.Size != -1 {
					t.Errorf("List(%s): %q has size %d, want -1 (only nginx gives exact sizes)", tt.name, a.Name, a.Size)
				}
			}
			how := tt.how
			if strings.Contains(how, "%s") {
				how = fmt.Sprintf(how, srv.URL)
			}
			if !reflect.DeepEqual(names, tt.want) || l.How != how {
				t.Errorf("List(%s) = %q (%s), want %q (%s)", tt.name, names, l.How, tt.want, how)
			}
		})
	}
}

// TestHTTPListingEmptyAndMissing: an empty directory listed by the server
// is an error naming the source; a base URL that answers 404 has no
// listing (the caller asks for names, and says so when none is found).
func TestHTTPListingEmptyAndMissing(t *testing.T) {
	root := writeTree(t, map[string]string{"empty/": "", "sub/only/": ""})
	for _, server := range []string{"nginx", "python"} {
		t.Run(server, func(t *testing.T) {
			srv := startServer(t, server, root)
			for _, tt := range []struct{ path, err string }{
				{"/empty/", "lists no files"},
				{"/sub/", "lists no files (only 1 sub-directory"},
			} {
				base := srv.URL + tt.path
				s := mustSource(t, base, testOptions())
				if l, err := s.List(context.Background()); err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), base) {
					t.Errorf("NewSource(%q).List() = %+v, %v, want an error naming the source: %s", base, l, err, tt.err)
				}
			}
			base := srv.URL + "/missing/"
			s := mustSource(t, base, testOptions())
			l, err := s.List(context.Background())
			want := &Listing{Source: base, Assets: []Asset{}, How: "no listing: " + base + " answered 404 Not Found"}
			if err != nil || !reflect.DeepEqual(l, want) {
				t.Errorf("NewSource(%q).List() = %+v, %v, want %+v", base, l, err, want)
			}
		})
	}
}

// TestHTTPListingSingleFile: a URL that does not end in "/" and answers
// with something other than HTML is a one-file release.
func TestHTTPListingSingleFile(t *testing.T) {
	files := map[string]string{"dist/pkg-1.0.tgz": "the tarball", "dist/notes.txt": "plain text", "dist/other": "x"}
	root := writeTree(t, files)
	for _, server := range []string{"nginx", "python"} {
		t.Run(server, func(t *testing.T) {
			srv := startServer(t, server, root)
			for _, name := range []string{"pkg-1.0.tgz", "notes.txt"} {
				u := srv.URL + "/dist/" + name
				s := mustSource(t, u, testOptions())
				l, err := s.List(context.Background())
				data := files["dist/"+name]
				want := &Listing{Source: u, Assets: []Asset{{Name: name, URL: u, Size: int64(len(data))}}, How: "single file"}
				if err != nil || !reflect.DeepEqual(l, want) {
					t.Fatalf("NewSource(%q).List() = %+v, %v, want %+v", u, l, err, want)
				}
				d, err := NewFetcher(s, t.TempDir(), testOptions()).Fetch(context.Background(), l.Assets[0])
				if err != nil || d.SHA256 != digest([]byte(data)) {
					t.Errorf("Fetch(%q) = %+v, %v, want its bytes", u, d, err)
				}
				// A manifest named by the user is looked for beside the file.
				if a, ok := ManifestAsset(s, nil, "SHA256SUMS"); !ok || a.URL != srv.URL+"/dist/SHA256SUMS" {
					t.Errorf("ManifestAsset(%q, SHA256SUMS) = %+v, %v, want the file beside it", u, a, ok)
				}
			}
		})
	}
}

// TestManifestAsset: a manifest named by the user resolves against a base
// URL even when the URL has no listing; explicit local paths stay local,
// and so do names for a directory source.
func TestManifestAsset(t *testing.T) {
	hs := mustHTTPSource(t, "http://127.0.0.1:1/dist/", testOptions())
	dir := mustDirSource(t, t.TempDir())
	listed := map[string]Asset{"SUMS": {Name: "SUMS", URL: "http://127.0.0.1:1/dist/SUMS", Size: 4}}
	for _, tt := range []struct {
		src    Source
		name   string
		want   Asset
		wantOK bool
	}{
		{hs, "SUMS", listed["SUMS"], true},
		{hs, "SHA256SUMS", hs.Asset("SHA256SUMS"), true},
		{hs, "./SHA256SUMS", Asset{}, false},
		{hs, "/tmp/SHA256SUMS", Asset{}, false},
		{hs, "../SHA256SUMS", Asset{}, false},
		{dir, "SHA256SUMS", Asset{}, false},
		{dir, "SUMS", listed["SUMS"], true},
	} {
		if got, ok := ManifestAsset(tt.src, listed, tt.name); got != tt.want || ok != tt.wantOK {
			t.Errorf("ManifestAsset(%T, %q) = %+v, %v, want %+v, %v", tt.src, tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// FuzzParseHTMLListing: whatever the page, the files a listing gives are
// plain names of the directory, each once, and never more than the cap.
func FuzzParseHTMLListing(f *testing.F) {
	f.Add([]byte(`<html><head><title>Index of /</title></head><body><h1>Index of /</h1><hr><pre><a href="../">../</a>
<a href="a%20b">a b</a>                                          07-Dec-2026 10:14                   1
</pre><hr></body></html>`))
	f.Add([]byte(`<title>Directory listing for /</title><ul><li><a href="x">x</a></li><li><a href='sub/'>sub/</a></li></ul>`))
	f.Add([]byte(`<title>Index of /d</title><a href="?C=N;O=D">N</a><a href="/">Parent Directory</a><a href="./a:b">a:b</a>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		l, ok, err := parseHTMLListing(page)
		if err != nil || !ok {
			return
		}
		seen := map[string]bool{}
		for _, a := range l.Files {
			if checkAssetName(a.Name) != nil || strings.ContainsAny(a.Name, `/\`) || seen[a.Name] || a.Name == ".." {
				t.Fatalf("parseHTMLListing(%q) gives the file %q", page, a.Name)
			}
			seen[a.Name] = true
		}
		if len(l.Files) > maxListedAssets {
			t.Fatalf("parseHTMLListing gives %d files", len(l.Files))
		}
	})
}
