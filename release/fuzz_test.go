package release

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

var lowerHex = regexp.MustCompile(`^[0-9a-f]+$`)

// FuzzParseManifest feeds ParseManifest arbitrary names and bytes, seeded
// with a manifest of every layout written by the real tools, the committed
// samples and every malformed variant. It must never panic; an error is
// always a *ParseError wrapping ErrMalformed that names the input; a
// success lists digests of the right length, in lowercase hex, with names
// and lines inside the input; and parsing twice gives the same result.
func FuzzParseManifest(f *testing.F) {
	testenv.RequireTools(f, "sh", "sed", "cut", "sha256sum", "sha512sum", "b2sum")
	dir := makeSamples(f)
	key := newSigningKey(f, "Reproof Fuzz Signer <fuzz@example.org>")
	for _, tc := range realToolCases {
		f.Add(tc.manifest, writeManifest(f, dir, key, tc))
	}
	for _, name := range []string{"nimbus-release-body.md", "garage-releases.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "manifests", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	for _, tc := range malformedCases(f, dir, key) {
		if len(tc.data) <= 64<<10 { // the huge and the depth bomb only slow the fuzzer
			f.Add(tc.source, tc.data)
		}
	}

	f.Fuzz(func(t *testing.T, source string, data []byte) {
		m, err := ParseManifest(source, data)
		again, errAgain := ParseManifest(source, data)
		if !reflect.DeepEqual(m, again) || (err == nil) != (errAgain == nil) || (err != nil && err.Error() != errAgain.Error()) {
			t.Fatalf("ParseManifest(%q) is not deterministic: %+v, %v then %+v, %v", source, m, err, again, errAgain)
		}
		lines := strings.Count(string(data), "\n") + 1
		if err != nil {
			var pe *ParseError
			if !errors.Is(err, ErrMalformed) || !errors.As(err, &pe) {
				t.Fatalf("ParseManifest(%q) error %T %v is not a *ParseError wrapping ErrMalformed", source, err, err)
			}
			if pe.Source != source || pe.Line < 0 || pe.Line > lines {
				t.Fatalf("ParseManifest(%q) error at %q line %d of %d", source, pe.Source, pe.Line, lines)
			}
			return
		}
		if m.Layout == LayoutJSONIndex {
			if len(m.Indexed) == 0 || len(m.Checksums) != 0 {
				t.Fatalf("ParseManifest(%q): a JSON index with %d artifacts and %d checksums", source, len(m.Indexed), len(m.Checksums))
			}
			return
		}
		if len(m.Checksums) == 0 {
			t.Fatalf("ParseManifest(%q) succeeded with no checksum", source)
		}
		for _, c := range m.Checksums {
			if n := c.Algorithm.HexLen(); n == 0 || len(c.Digest) != n || !lowerHex.MatchString(c.Digest) {
				t.Fatalf("ParseManifest(%q): checksum %+v: digest is not %d lowercase hex digits", source, c, n)
			}
			if c.Name == "" || c.Source != source || c.Line < 1 || c.Line > lines {
				t.Fatalf("ParseManifest(%q): checksum %+v: empty name, wrong source or line outside 1..%d", source, c, lines)
			}
		}
	})
}

// FuzzListing serves arbitrary bytes as the answer of the GitHub and GitLab
// release APIs and as a JSON index of artifacts, from a real HTTP server on
// 127.0.0.1, and lists each source. Seeds are the recorded API answers
// and Garage's index. A listing must never panic; it ends in one line
// naming the source, or in assets sorted by name, unique, with names that
// cannot climb out of a directory, absolute http(s) URLs, a size of -1 or
// more, and a digest that is empty or 64 lowercase hex digits.
func FuzzListing(f *testing.F) {
	var answer atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*answer.Load())
	}))
	f.Cleanup(srv.Close)
	for _, name := range []string{"github-release.json", "gitlab-release.json", "garage-releases.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "sources", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range []string{"{{API}}", "{{DOWNLOAD}}", "{{WEB}}", "{{BASE}}"} {
			data = bytes.ReplaceAll(data, []byte(p), []byte(srv.URL))
		}
		f.Add(data)
	}
	opts := SourceOptions{GitHubAPI: srv.URL, GitLabAPI: srv.URL, Getenv: func(string) string { return "" },
		Timeout: 10 * time.Second, Retries: 1}
	var sources []Source
	for _, spec := range []string{"github:status-im/nimbus-eth2@v25.1.0", "gitlab:archlinux/archlinux-docker@v20250105.0.299327",
		srv.URL + "/_releases.json"} {
		src, err := NewSource(spec, opts)
		if err != nil {
			f.Fatal(err)
		}
		sources = append(sources, src)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		answer.Store(&data)
		for _, src := range sources {
			l, err := src.List(context.Background())
			if err != nil {
				if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "listing ") {
					t.Fatalf("List() = %q, want one line naming the source", msg)
				}
				continue
			}
			for i, a := range l.Assets {
				if i > 0 && l.Assets[i-1].Name >= a.Name {
					t.Fatalf("assets %q and %q are not sorted and unique", l.Assets[i-1].Name, a.Name)
				}
				if err := checkAssetName(a.Name); err != nil {
					t.Fatalf("listed %v", err)
				}
				if _, err := parseHTTPURL(a.URL); err != nil {
					t.Fatalf("asset %q: URL %q: %v", a.Name, a.URL, err)
				}
				if a.Size < -1 || (a.SHA256 != "" && (len(a.SHA256) != 64 || !lowerHex.MatchString(a.SHA256))) {
					t.Fatalf("asset %q: size %d, digest %q", a.Name, a.Size, a.SHA256)
				}
			}
		}
	})
}
