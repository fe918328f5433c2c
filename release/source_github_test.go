package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	ghRelease  = "/repos/status-im/nimbus-eth2/releases/tags/v25.1.0"
	ghDownload = "/status-im/nimbus-eth2/releases/download/v25.1.0/"
	ghSpec     = "github:status-im/nimbus-eth2@v25.1.0"
)

// The uploaded assets of the fixture, with their API ids.
var ghAssetIDs = map[string]string{
	"SHA256SUMS": "219741004",
	"nimbus-eth2_Linux_amd64_25.1.0_0123abcd.tar.gz":   "219741000",
	"nimbus-eth2_Linux_arm64v8_25.1.0_0123abcd.tar.gz": "219741001",
	"nimbus-eth2_Windows_amd64_25.1.0_0123abcd.tar.gz": "219741002",
}

// githubFixture is GitHub on two loopback servers: the API, and the host
// browser_download_url points at (github.com and its storage in real life).
type githubFixture struct {
	api, dl *testServer
}

func newGitHubFixture(t *testing.T) *githubFixture {
	f := &githubFixture{api: newTestServer(t), dl: newTestServer(t)}
	f.api.file(ghRelease, fixture(t, "github-release.json", "{{API}}", f.api.URL, "{{DOWNLOAD}}", f.dl.URL))
	for name, id := range ghAssetIDs {
		target := f.dl.file(ghDownload+name, content(name))
		// The API serves an asset's bytes by redirecting to storage.
		f.api.handle("/repos/status-im/nimbus-eth2/releases/assets/"+id, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") != "application/octet-stream" {
				http.Error(w, `{"message":"Not Acceptable"}`, http.StatusNotAcceptable)
				return
			}
			http.Redirect(w, r, target, http.StatusFound)
		})
	}
	return f
}

func (f *githubFixture) source(t *testing.T, env func(string) string) Source {
	t.Helper()
	opts := testOptions()
	opts.GitHubAPI = f.api.URL
	opts.Getenv = env
	src, err := NewSource(ghSpec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestGitHubList(t *testing.T) {
	f := newGitHubFixture(t)
	l, err := f.source(t, envOf()).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dl := f.dl.URL + ghDownload
	want := &Listing{
		Source:   ghSpec,
		Tag:      "v25.1.0",
		Body:     "## Notable changes\r\n\r\n- Faster sync.\r\n\r\n## SHA512 checksums\r\n\r\n```text\r\n# Linux AMD64\r\n0a1b  nimbus_beacon_node\r\n```\r\n",
		BodyName: "release body",
		Assets: []Asset{ // byte order; the unfinished macOS upload is left out
			{"SHA256SUMS", dl + "SHA256SUMS", 1150, ""},
			{"nimbus-eth2_Linux_amd64_25.1.0_0123abcd.tar.gz", dl + "nimbus-eth2_Linux_amd64_25.1.0_0123abcd.tar.gz", 2950,
				"b92f56e9a5059a5a7df905f29cd004d2276358d6e866b099f596151be221c687"},
			{"nimbus-eth2_Linux_arm64v8_25.1.0_0123abcd.tar.gz", dl + "nimbus-eth2_Linux_arm64v8_25.1.0_0123abcd.tar.gz", 3050, ""},
			{"nimbus-eth2_Windows_amd64_25.1.0_0123abcd.tar.gz", dl + "nimbus-eth2_Windows_amd64_25.1.0_0123abcd.tar.gz", 3050,
				"abc6df5a1029b5b285d1768c4d161e981baa1ecd43bde104e6cd5df251af206b"},
		},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("List() =\n%+v\nwant\n%+v", l, want)
	}
	if got := f.api.headerValues("Accept"); !reflect.DeepEqual(got, []string{"application/vnd.github+json"}) {
		t.Errorf("API requests sent Accept %q, want application/vnd.github+json", got)
	}
	if got := f.api.headerValues("X-Github-Api-Version"); !reflect.DeepEqual(got, []string{"2022-11-28"}) {
		t.Errorf("API requests sent X-GitHub-Api-Version %q", got)
	}
}

func TestGitHubConformance(t *testing.T) {
	for _, token := range []string{"", "ghp_conformance"} {
		t.Run(fmt.Sprintf("token=%v", token != ""), func(t *testing.T) {
			f := newGitHubFixture(t)
			src := f.source(t, envOf("GITHUB_TOKEN", token))
			l, err := src.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{}
			for name := range ghAssetIDs {
				want[name] = content(name)
			}
			missing := Asset{Name: "missing", URL: f.dl.URL + ghDownload + "missing", Size: -1}
			testSourceConformance(t, src, l.Assets, missing, want)
		})
	}
}

// TestGitHubToken: the token goes to the API origin as a bearer token,
// assets come through the API, and the token reaches neither the storage
// host, nor an error, nor the cache.
func TestGitHubToken(t *testing.T) {
	const token = "ghp_s3cr3tT0k3nValue"
	f := newGitHubFixture(t)
	src := f.source(t, envOf("GITHUB_TOKEN", token))
	ctx := context.Background()
	l, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	fetcher := NewFetcher(src, cacheDir, testOptions())
	a := l.Assets[1]
	if _, err := fetcher.Fetch(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := f.api.hitsOf("/repos/status-im/nimbus-eth2/releases/assets/" + ghAssetIDs[a.Name]); got != 1 {
		t.Errorf("the asset's API URL was asked %d times, want 1", got)
	}
	for _, v := range f.api.headerValues("Authorization") {
		if v != "Bearer "+token {
			t.Errorf("API request sent Authorization %q, want the bearer token", v)
		}
	}
	if n := len(f.api.headerValues("Authorization")); n != 2 {
		t.Errorf("%d API requests carried the token, want 2 (release, asset)", n)
	}
	if got := f.dl.headerValues("Authorization"); len(got) != 0 {
		t.Errorf("the storage host was sent Authorization %q", got)
	}

	// A failure names the asset and URL, never the token.
	gone := l.Assets[2]
	f.dl.mu.Lock()
	delete(f.dl.files, ghDownload+gone.Name)
	f.dl.mu.Unlock()
	_, err = fetcher.Fetch(ctx, gone)
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), token) {
		t.Errorf("Fetch(removed asset) = %v, want ErrNotFound without the token", err)
	}
	assertNoSecret(t, cacheDir, token)
}

// assertNoSecret fails if any file under dir holds secret.
func assertNoSecret(t *testing.T, dir, secret string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
		}
		if strings.Contains(string(data), secret) {
			t.Errorf("%s holds the token", p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("listing %s: %v", dir, err)
	}
	if files == 0 {
		t.Errorf("no files under %s to check", dir)
	}
}

func TestGitHubNoToken(t *testing.T) {
	f := newGitHubFixture(t)
	src := f.source(t, envOf())
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFetcher(src, t.TempDir(), testOptions()).Fetch(context.Background(), l.Assets[0]); err != nil {
		t.Fatal(err)
	}
	if got := append(f.api.headerValues("Authorization"), f.dl.headerValues("Authorization")...); len(got) != 0 {
		t.Errorf("sent Authorization %q without a token", got)
	}
	if got := f.dl.hitsOf(ghDownload + l.Assets[0].Name); got != 1 {
		t.Errorf("browser_download_url asked %d times, want 1", got)
	}
}

func TestGitHubListErrors(t *testing.T) {
	release := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }
	}
	asset := func(fields string) string {
		return `{"tag_name":"v25.1.0","body":null,"assets":[{"name":"a","size":1,"state":"uploaded",` +
			`"browser_download_url":"http://127.0.0.1:1/a"` + fields + `}]}`
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string // after "listing SPEC: "
		wantIs  error
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name","status":"404"}`, 404)
		}, "reading the release from {API}" + ghRelease + ": server answered 404 Not Found", ErrNotFound},
		{"401", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		}, "reading the release from {API}" + ghRelease + ": server answered 401 Unauthorized", nil},
		{"500 forever", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "oops", 500)
		}, "reading the release from {API}" + ghRelease + ": server answered 500 Internal Server Error (gave up after 3 attempts)", nil},
		{"not JSON", release("<html>rate limited</html>"),
			"reading the release from {API}" + ghRelease + ": the answer is not the expected JSON: invalid character '<' looking for beginning of value", nil},
		{"other tag", release(`{"tag_name":"v25.0.0","assets":[]}`), `the API answered with the release tagged "v25.0.0"`, nil},
		{"bad digest", release(asset(`,"digest":"sha256:zz"`)), `asset "a": malformed digest "sha256:zz"`, nil},
		{"negative size", release(strings.Replace(asset(""), `"size":1`, `"size":-1`, 1)), `asset "a": negative size -1`, nil},
		{"no URL", release(strings.Replace(asset(""), "http://127.0.0.1:1/a", "", 1)), `asset "a": no URL`, nil},
		{"file URL", release(strings.Replace(asset(""), "http://127.0.0.1:1/a", "file:///etc/passwd", 1)), `asset "a": file:///etc/passwd is not an http or https URL`, nil},
		{"climbing name", release(strings.Replace(asset(""), `"name":"a"`, `"name":"../../a"`, 1)), `asset name "../../a" climbs out`, nil},
		{"twice", release(`{"tag_name":"v25.1.0","assets":[` +
			`{"name":"a","size":1,"browser_download_url":"http://127.0.0.1:1/a"},` +
			`{"name":"a","size":2,"browser_download_url":"http://127.0.0.1:1/b"}]}`), `the release lists two assets named "a"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestServer(t)
			api.handle(ghRelease, tt.handler)
			opts := testOptions()
			opts.GitHubAPI = api.URL
			src, err := NewSource(ghSpec, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			want := "listing " + ghSpec + ": " + strings.ReplaceAll(tt.wantErr, "{API}", api.URL)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("List() = %v\nwant     %s", err, want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("List() = %v, want errors.Is %v", err, tt.wantIs)
			}
		})
	}
}

// TestGitHubListRetries: a 502 from the API is retried.
func TestGitHubListRetries(t *testing.T) {
	api := newTestServer(t)
	body := fixture(t, "github-release.json", "{{API}}", api.URL, "{{DOWNLOAD}}", api.URL)
	api.handle(ghRelease, func(w http.ResponseWriter, r *http.Request) {
		if api.hitsOf(ghRelease) < 3 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		w.Write(body)
	})
	opts := testOptions()
	opts.GitHubAPI = api.URL + "/" // a trailing slash is fine
	src, err := NewSource(ghSpec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := api.hitsOf(ghRelease); got != 3 {
		t.Errorf("the release was asked %d times, want 3", got)
	}
}

// TestGitHubEscapesPath: owner, repository and tag are escaped in the API
// path ("pkg@1.0/x" is a legal tag).
func TestGitHubEscapesPath(t *testing.T) {
	api := newTestServer(t)
	api.handle("/repos/o/r/releases/tags/pkg@1.0%2Fx", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"tag_name":"pkg@1.0/x","body":"","assets":[]}`)
	})
	opts := testOptions()
	opts.GitHubAPI = api.URL
	src, err := NewSource("github:o/r@pkg@1.0/x", opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l.Tag != "pkg@1.0/x" || len(l.Assets) != 0 {
		t.Errorf("List() = %+v", l)
	}
}
