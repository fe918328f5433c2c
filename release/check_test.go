package release

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestCheckPublishedDirectory: a release directory with a coreutils
// manifest (one line right, one wrong), a sidecar, and a file no checksum
// names.
func TestCheckPublishedDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"app.tar.gz": "the app\n", "app.zip": "the zip\n", "tool": "a tool\n", "notes.txt": "no checksum\n", "old.bin": "old\n"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sums := fmt.Sprintf("%s  app.tar.gz\n%s  app.zip\n%s  build/inside-the-tarball\n",
		sha256Hex([]byte("the app\n")), sha256Hex([]byte("tampered\n")), sha256Hex([]byte("x")))
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tool.sha256"), []byte(sha256Hex([]byte("a tool\n"))), 0o644); err != nil {
		t.Fatal(err)
	}
	// An old release's md5 sidecar: hashed again with md5, not looked up.
	md5sum := md5.Sum([]byte("old\n"))
	if err := os.WriteFile(filepath.Join(dir, "old.bin.md5"), []byte(hex.EncodeToString(md5sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := NewDirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := CheckPublished(context.Background(), src, NewFetcher(src, t.TempDir(), SourceOptions{}), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]AssetStatus{}
	for _, a := range pc.Assets {
		got[a.Name] = a.Status
	}
	want := map[string]AssetStatus{"app.tar.gz": StatusOK, "app.zip": StatusMismatch, "tool": StatusOK, "notes.txt": StatusUnlisted, "old.bin": StatusOK}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CheckPublished statuses = %v, want %v", got, want)
	}
	if len(pc.Manifests) != 3 {
		t.Errorf("manifests = %+v, want SHA256SUMS, old.bin.md5 and tool.sha256", pc.Manifests)
	}
	if len(pc.Unmatched) != 1 || pc.Unmatched[0].Name != "build/inside-the-tarball" {
		t.Errorf("unmatched = %+v, want the checksum of a file that is not published", pc.Unmatched)
	}
}

// TestCheckPublishedIndex: a JSON index with no digests (Garage's shape):
// every file is downloaded and hashed, and none is vouched for.
func TestCheckPublishedIndex(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/_releases.json":
			fmt.Fprintf(w, `{"Release": [{"version": "v1.0.0", "builds": [
				{"binary": "garage", "platform": "x86_64-unknown-linux-musl", "path": "_releases/v1.0.0/x86_64-unknown-linux-musl/garage",
				 "url": "%s/_releases/v1.0.0/x86_64-unknown-linux-musl/garage", "size": 7, "date": "2024-04-10", "version": "v1.0.0"}]}],
				"Extra": [], "Development": []}`, "http://"+r.Host)
		case strings.HasSuffix(r.URL.Path, "/garage"):
			fmt.Fprint(w, "garage\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src, err := NewSource(srv.URL+"/_releases.json", SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := CheckPublished(context.Background(), src, NewFetcher(src, t.TempDir(), SourceOptions{}), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pc.Assets) != 1 || pc.Assets[0].Status != StatusUnlisted || pc.Assets[0].SHA256 != sha256Hex([]byte("garage\n")) {
		t.Errorf("assets = %+v, want garage hashed with no published checksum", pc.Assets)
	}
	if len(pc.Manifests) != 0 {
		t.Errorf("manifests = %+v, want none: an index carries no digest", pc.Manifests)
	}
}
