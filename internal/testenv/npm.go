package testenv

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// NPMPublicRegistry is where NPMFixture downloads packages from.
const NPMPublicRegistry = "https://registry.npmjs.org"

// NPMPackage is one real package version of the public npm registry: its
// version document as the registry served it and its tarball.
type NPMPackage struct {
	Name      string // "statuses", "@isaacs/string-locale-compare"
	Version   string
	Integrity string // dist.integrity, pinned by the test
	Doc       []byte // the version document, as served
	Tarball   []byte
}

// TarballName is the tarball's file name ("statuses-2.0.2.tgz").
func (p NPMPackage) TarballName() string {
	return path.Base(p.Name) + "-" + p.Version + ".tgz"
}

// EscapedName is the name as a registry path segment: "@scope%2fname".
func (p NPMPackage) EscapedName() string { return strings.Replace(p.Name, "/", "%2f", 1) }

// NPMCacheDir is where NPMFixture keeps its downloads:
// $REPROOF_FIXTURES_CACHE/npm, else $XDG_CACHE_HOME/reproof-fixtures/npm
// or ~/.cache/reproof-fixtures/npm.
func NPMCacheDir() (string, error) {
	if d := os.Getenv("REPROOF_FIXTURES_CACHE"); d != "" {
		return filepath.Join(d, "npm"), nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "reproof-fixtures", "npm"), nil
}

// NPMFixture returns the real package name@version: from the cache when
// it holds a version document whose dist.integrity is integrity and a
// tarball with that digest, else downloaded once from the public registry
// (no request at all when the cache is warm). A download that cannot be
// made skips the test, or fails it when Required.
func NPMFixture(t testing.TB, name, version, integrity string) NPMPackage {
	t.Helper()
	p := NPMPackage{Name: name, Version: version, Integrity: integrity}
	dir, err := NPMCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	key := strings.ReplaceAll(p.EscapedName(), "%2f", "+") + "@" + version
	docPath, tgzPath := filepath.Join(dir, key+".json"), filepath.Join(dir, key+".tgz")
	if p.Doc, p.Tarball, err = readNPMCache(docPath, tgzPath, integrity); err == nil {
		return p
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	docURL := NPMPublicRegistry + "/" + p.EscapedName() + "/" + version
	doc, err := download(docURL)
	if err != nil {
		Unmet(t, fmt.Errorf("downloading the npm fixture %s@%s: %v", name, version, err))
	}
	var d npmDoc
	if err := json.Unmarshal(doc, &d); err != nil || d.Dist.Integrity != integrity || d.Dist.Tarball == "" {
		t.Fatalf("npm fixture %s: the registry published dist.integrity %q (err %v), the test pins %q", docURL, d.Dist.Integrity, err, integrity)
	}
	tgz, err := download(d.Dist.Tarball)
	if err != nil {
		Unmet(t, fmt.Errorf("downloading the npm fixture %s: %v", d.Dist.Tarball, err))
	}
	if got := sriSHA512(tgz); got != integrity {
		t.Fatalf("npm fixture %s has integrity %s, want %s", d.Dist.Tarball, got, integrity)
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{docPath, doc}, {tgzPath, tgz}} {
		// Parallel tests may fill the cache at once: each writes its
		// own temporary file and renames it into place.
		tmp, err := os.CreateTemp(dir, "download-*")
		if err != nil {
			t.Fatal(err)
		}
		_, werr := tmp.Write(f.data)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), f.path)
		}
		if werr != nil {
			t.Fatal(errors.Join(werr, os.Remove(tmp.Name())))
		}
	}
	p.Doc, p.Tarball = doc, tgz
	return p
}

type npmDoc struct {
	Dist struct {
		Integrity string `json:"integrity"`
		Tarball   string `json:"tarball"`
	} `json:"dist"`
}

func readNPMCache(docPath, tgzPath, integrity string) ([]byte, []byte, error) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		return nil, nil, err
	}
	tgz, err := os.ReadFile(tgzPath)
	if err != nil {
		return nil, nil, err
	}
	var d npmDoc
	if err := json.Unmarshal(doc, &d); err != nil || d.Dist.Integrity != integrity || sriSHA512(tgz) != integrity {
		return nil, nil, fmt.Errorf("stale cache entry %s", docPath)
	}
	return doc, tgz, nil
}

func sriSHA512(data []byte) string {
	sum := sha512.Sum512(data)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func download(u string) ([]byte, error) {
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read below
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// NPMRegistry is a registry on 127.0.0.1 serving real packages the way
// registry.npmjs.org does: version documents at /NAME/VERSION, packuments
// at /NAME (scoped names escaped "@scope%2fname"), tarballs at
// /NAME/-/FILE, with dist.tarball rewritten to point at TarballURL.
type NPMRegistry struct {
	URL        string // the registry's base URL
	TarballURL string // where tarballs are served: URL, or another server

	mu            sync.Mutex
	pkgs          []NPMPackage
	noVersionDocs bool
	edit          func(name string, doc map[string]any)
	seen          []NPMRequest
}

// NPMRequest is one request a registry or tarball server received.
type NPMRequest struct {
	Server        string // "registry" or "tarballs"
	Path          string // escaped
	Authorization string
}

// StartNPMRegistry serves pkgs until the test ends. With separateTarballs
// the tarballs are served by a second server (another port), as a CDN
// would.
func StartNPMRegistry(t testing.TB, separateTarballs bool, pkgs ...NPMPackage) *NPMRegistry {
	r := &NPMRegistry{pkgs: pkgs}
	reg := httptest.NewServer(r.handler("registry", !separateTarballs))
	t.Cleanup(reg.Close)
	tarballs := reg.URL
	if separateTarballs {
		tar := httptest.NewServer(r.handler("tarballs", true))
		t.Cleanup(tar.Close)
		tarballs = tar.URL
	}
	// The handlers read these: set them under the lock they read them
	// under (requests may come from other processes, which the race
	// detector cannot order).
	r.mu.Lock()
	r.URL, r.TarballURL = reg.URL, tarballs
	r.mu.Unlock()
	return r
}

// NoVersionDocs makes the registry answer 404 for version documents, as
// registries that serve only whole packuments do.
func (r *NPMRegistry) NoVersionDocs() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noVersionDocs = true
}

// Edit changes the version documents served from now on (after
// dist.tarball is rewritten): a tampered integrity, a missing tarball.
func (r *NPMRegistry) Edit(f func(name string, doc map[string]any)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edit = f
}

// Requests returns the requests received so far.
func (r *NPMRegistry) Requests() []NPMRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]NPMRequest(nil), r.seen...)
}

func (r *NPMRegistry) handler(server string, tarballs bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p := req.URL.EscapedPath()
		r.mu.Lock()
		r.seen = append(r.seen, NPMRequest{Server: server, Path: p, Authorization: req.Header.Get("Authorization")})
		r.mu.Unlock()
		for _, pkg := range r.pkgs {
			switch {
			case tarballs && p == "/"+pkg.Name+"/-/"+pkg.TarballName():
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write(pkg.Tarball)
				return
			case server != "registry":
			case p == "/"+pkg.EscapedName()+"/"+pkg.Version:
				r.mu.Lock()
				no := r.noVersionDocs
				r.mu.Unlock()
				if no {
					http.NotFound(w, req)
					return
				}
				r.writeJSON(w, r.versionDoc(pkg))
				return
			case p == "/"+pkg.EscapedName():
				r.writeJSON(w, map[string]any{
					"_id": pkg.Name, "name": pkg.Name,
					"dist-tags": map[string]string{"latest": pkg.Version},
					"versions":  map[string]any{pkg.Version: r.versionDoc(pkg)},
				})
				return
			}
		}
		http.NotFound(w, req)
	})
}

func (r *NPMRegistry) versionDoc(pkg NPMPackage) map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(pkg.Doc, &doc); err != nil {
		panic(err)
	}
	r.mu.Lock()
	edit, tarballs := r.edit, r.TarballURL
	r.mu.Unlock()
	if dist, ok := doc["dist"].(map[string]any); ok {
		dist["tarball"] = tarballs + "/" + pkg.Name + "/-/" + pkg.TarballName()
	}
	if edit != nil {
		edit(pkg.Name, doc)
	}
	return doc
}

func (r *NPMRegistry) writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}
