package main_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSumsPublishedGitHub checks a GitHub-shaped release served from
// 127.0.0.1: a nimbus-style release body with SHA-512 lines under platform
// headings, a SHA256SUMS asset, one asset that disagrees with it, and one
// no checksum names. A second run is served from the cache.
func TestSumsPublishedGitHub(t *testing.T) {
	t.Parallel()
	assets := map[string]string{
		"tool-linux-amd64": "amd64 binary\n",
		"tool-linux-arm64": "arm64 binary\n",
		"tool.tar.gz":      "a tarball\n",
		"NOTES":            "no checksum names me\n",
	}
	hex256 := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	hex512 := func(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }
	assets["SHA256SUMS"] = hex256("a tarball\n") + "  tool.tar.gz\n" + hex256("tampered\n") + "  tool-linux-arm64\n"
	body := "Release notes.\n\n## SHA512 checksums\n\n```text\n# Linux AMD64\n" + hex512("amd64 binary\n") +
		"  tool-linux-amd64\n# Linux ARM64\n" + hex512("arm64 binary\n") + "  tool-linux-arm64\n```\n"

	var downloads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/repos/acme/tool/releases/tags/v1.0":
			type asset struct {
				Name  string `json:"name"`
				Size  int    `json:"size"`
				URL   string `json:"browser_download_url"`
				State string `json:"state"`
			}
			rel := struct {
				Tag    string  `json:"tag_name"`
				Body   string  `json:"body"`
				Assets []asset `json:"assets"`
			}{Tag: "v1.0", Body: body}
			for name, content := range assets {
				rel.Assets = append(rel.Assets, asset{name, len(content), "http://" + r.Host + "/download/v1.0/" + name, "uploaded"})
			}
			if err := json.NewEncoder(w).Encode(rel); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		case strings.HasPrefix(r.URL.Path, "/download/v1.0/"):
			content, ok := assets[strings.TrimPrefix(r.URL.Path, "/download/v1.0/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			// The cache revalidates: a matching ETag is a 304, no download.
			etag := `"` + hex256(content)[:16] + `"`
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			downloads.Add(1)
			w.Write([]byte(content))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cache := t.TempDir()
	args := []string{"sums", "--published", "github:acme/tool@v1.0", "--github-api", srv.URL, "--cache", cache}
	r := reproof(t, invocation{}, args...)
	if r.code != 1 {
		t.Fatalf("reproof %q: exit %d, want 1 (one file disagrees)\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"release body: markdown manifest, 2 checksums",
		"SHA256SUMS: coreutils manifest, 2 checksums",
		"tool-linux-amd64: OK (sha512 from release body:",
		"tool.tar.gz: OK (sha256 from SHA256SUMS:1)",
		"tool-linux-arm64: FAILED: sha256 in SHA256SUMS:2",
		"NOTES: NO CHECKSUM published; sha256 " + hex256("no checksum names me\n"),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// A published file over --max-download is refused, before a byte of it
	// is downloaded when the release lists its size.
	before := downloads.Load()
	small := reproof(t, invocation{}, "sums", "--published", "github:acme/tool@v1.0", "--github-api", srv.URL,
		"--cache", t.TempDir(), "--max-download", "12")
	if small.code != 2 || !strings.Contains(small.stderr, "more than the cap of 12") {
		t.Errorf("--max-download 12: exit %d\n%s", small.code, small.stderr)
	}
	if n := downloads.Load() - before; n != 0 {
		t.Errorf("--max-download 12: %d files downloaded, want none over the cap", n)
	}

	first := downloads.Load()
	again := reproof(t, invocation{}, args...)
	if again.stdout != r.stdout || again.code != r.code {
		t.Errorf("a second run differs:\n%s", again.stdout)
	}
	if n := downloads.Load(); n != first {
		t.Errorf("the second run downloaded %d files again; want all from the cache (304 Not Modified)", n-first)
	}
}
