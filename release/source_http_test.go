package release

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestHTTPSourceAsset(t *testing.T) {
	for _, tt := range []struct{ base, name, want string }{
		{"https://example.org/dist", "garage", "https://example.org/dist/garage"},
		{"https://example.org/dist/", "garage", "https://example.org/dist/garage"},
		{"https://example.org/_releases/v1.0.1", "x86_64-unknown-linux-musl/garage", "https://example.org/_releases/v1.0.1/x86_64-unknown-linux-musl/garage"},
		{"https://example.org", "a b?c#d%e", "https://example.org/a%20b%3Fc%23d%25e"},
		{"https://example.org/_releases.json", "v1/garage", "https://example.org/v1/garage"},
	} {
		s, err := NewHTTPSource(tt.base, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Asset(tt.name); got != (Asset{Name: tt.name, URL: tt.want, Size: -1}) {
			t.Errorf("NewHTTPSource(%q).Asset(%q) = %+v, want URL %s", tt.base, tt.name, got, tt.want)
		}
	}
}

func TestHTTPSourceConformance(t *testing.T) {
	ts := newTestServer(t)
	want := map[string][]byte{"garage": content("garage"), "x86_64/garage": content("x86_64/garage")}
	for name, data := range want {
		ts.file("/dist/"+name, data)
	}
	s, err := NewHTTPSource(ts.URL+"/dist", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l, &Listing{Source: ts.URL + "/dist", Assets: []Asset{}, How: "no listing: " + ts.URL + "/dist answered 404 Not Found"}) {
		t.Errorf("List() = %+v, want no assets", l)
	}
	testSourceConformance(t, s, []Asset{s.Asset("garage"), s.Asset("x86_64/garage")}, s.Asset("missing"), want)
}

// TestHTTPSourceIndex: a base URL ending in .json is an index (Garage's
// _releases.json) whose artifacts List returns, named by their path.
func TestHTTPSourceIndex(t *testing.T) {
	ts := newTestServer(t)
	ts.file("/_releases.json", fixture(t, "garage-releases.json", "{{BASE}}", ts.URL))
	body := bytes.Repeat([]byte{'g'}, 3000)
	ts.file("/_releases/v1.0.1/x86_64-unknown-linux-musl/garage", body)
	s, err := NewSource(ts.URL+"/_releases.json", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rel := ts.URL + "/_releases/"
	dev := "5f2e1bb6c0a1e9d7c8b3a4f5e6d7c8b9a0f1e2d3/x86_64-unknown-linux-musl/garage"
	want := []Asset{
		{"_releases/" + dev, rel + dev, 3750, ""},
		{"_releases/v1.0.1/aarch64-unknown-linux-musl/garage", rel + "v1.0.1/aarch64-unknown-linux-musl/garage", 3400, ""},
		{"_releases/v1.0.1/armv6l-unknown-linux-musleabihf/garage", rel + "v1.0.1/armv6l-unknown-linux-musleabihf/garage", 3600, ""},
		{"_releases/v1.0.1/x86_64-unknown-linux-musl/garage", rel + "v1.0.1/x86_64-unknown-linux-musl/garage", 3000, ""},
	}
	if !reflect.DeepEqual(l.Assets, want) {
		t.Errorf("List().Assets =\n%+v\nwant\n%+v", l.Assets, want)
	}
	d, err := NewFetcher(s, t.TempDir(), testOptions()).Fetch(context.Background(), want[3])
	if err != nil || d.SHA256 != digest(body) {
		t.Errorf("Fetch(%q) = %+v, %v", want[3].Name, d, err)
	}
}

// An index listing more artifacts than reproof downloads is refused whole.
func TestHTTPSourceIndexTooMany(t *testing.T) {
	ts := newTestServer(t)
	var idx bytes.Buffer
	idx.WriteString(`{"Release": [`)
	for i := range maxListedAssets + 1 {
		if i > 0 {
			idx.WriteByte(',')
		}
		fmt.Fprintf(&idx, `{"binary": "b", "path": "/_releases/%d/b"}`, i)
	}
	idx.WriteString(`]}`)
	ts.file("/_releases.json", idx.Bytes())
	s, err := NewSource(ts.URL+"/_releases.json", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.List(context.Background())
	if want := "lists 10001 assets, more than the 10000 reproof downloads"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("List() = %v, want %q", err, want)
	}
}

// TestHTTPSourceRawBytes: assets are asked for without a content coding,
// so a server that would gzip a .tar.gz on the fly cannot hand over other
// bytes than the file's.
func TestHTTPSourceRawBytes(t *testing.T) {
	ts := newTestServer(t)
	ts.file("/a.tar.gz", content("a"))
	s := mustHTTPSource(t, ts.URL, testOptions())
	if _, err := NewFetcher(s, t.TempDir(), testOptions()).Fetch(context.Background(), s.Asset("a.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if got := ts.headerValues("Accept-Encoding"); !reflect.DeepEqual(got, []string{"identity"}) {
		t.Errorf("Accept-Encoding = %q, want identity", got)
	}
	if got := ts.headerValues("User-Agent"); !reflect.DeepEqual(got, []string{"reproof"}) {
		t.Errorf("User-Agent = %q, want reproof", got)
	}
}
