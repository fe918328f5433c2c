package release

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const (
	glRelease = "/api/v4/projects/archlinux%2Farchlinux-docker/releases/v20250105.0.299327"
	glSpec    = "gitlab:archlinux/archlinux-docker@v20250105.0.299327"
	glArchive = "/archlinux/archlinux-docker/-/archive/v20250105.0.299327/archlinux-docker-v20250105.0.299327."
	glPackage = "/api/v4/projects/10185/packages/generic/rootfs/20250105.0.299327/base-20250105.0.299327.tar.zst"
	glRootfs  = "/rootfs/20250105.0.299327/"
)

// gitlabFixture is GitLab on loopback: one server for the API and the web
// routes (source archives), another for links that point elsewhere.
type gitlabFixture struct {
	gl, dl *testServer
	want   map[string][]byte
}

func newGitLabFixture(t *testing.T) *gitlabFixture {
	f := &gitlabFixture{gl: newTestServer(t), dl: newTestServer(t), want: map[string][]byte{}}
	f.gl.file(glRelease, fixture(t, "gitlab-release.json",
		"{{API}}", f.gl.URL+"/api/v4", "{{WEB}}", f.gl.URL, "{{DOWNLOAD}}", f.dl.URL))
	add := func(ts *testServer, path, name string) {
		f.want[name] = content(name)
		ts.file(path, f.want[name])
	}
	for _, format := range []string{"zip", "tar.gz", "tar.bz2", "tar"} {
		add(f.gl, glArchive+format, "archlinux-docker-v20250105.0.299327."+format)
	}
	add(f.gl, glPackage, "base-20250105.0.299327.tar.zst")
	add(f.dl, glRootfs+"base-20250105.0.299327.tar.zst.SHA256", "base-20250105.0.299327.tar.zst.SHA256")
	add(f.dl, glRootfs+"Dockerfile.base", "Dockerfile.base")
	return f
}

func (f *gitlabFixture) source(t *testing.T, env func(string) string) Source {
	t.Helper()
	opts := testOptions()
	opts.GitLabAPI = f.gl.URL + "/api/v4"
	opts.Getenv = env
	src, err := NewSource(glSpec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestGitLabList(t *testing.T) {
	f := newGitLabFixture(t)
	l, err := f.source(t, envOf()).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	archive := f.gl.URL + glArchive
	want := &Listing{
		Source:   glSpec,
		Tag:      "v20250105.0.299327",
		Body:     "Rootfs images of Arch Linux, built from the packages of 2025-01-05.\n\n| Image | SHA256 |\n| --- | --- |\n| base | `0a1b` |\n",
		BodyName: "release description",
		Assets: []Asset{
			{"Dockerfile.base", f.dl.URL + glRootfs + "Dockerfile.base", -1, ""},
			{"archlinux-docker-v20250105.0.299327.tar", archive + "tar", -1, ""},
			{"archlinux-docker-v20250105.0.299327.tar.bz2", archive + "tar.bz2", -1, ""},
			{"archlinux-docker-v20250105.0.299327.tar.gz", archive + "tar.gz", -1, ""},
			{"archlinux-docker-v20250105.0.299327.zip", archive + "zip", -1, ""},
			{"base-20250105.0.299327.tar.zst", f.gl.URL + glPackage, -1, ""},
			{"base-20250105.0.299327.tar.zst.SHA256", f.dl.URL + glRootfs + "base-20250105.0.299327.tar.zst.SHA256", -1, ""},
		},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("List() =\n%+v\nwant\n%+v", l, want)
	}
}

func TestGitLabConformance(t *testing.T) {
	f := newGitLabFixture(t)
	src := f.source(t, envOf())
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	missing := Asset{Name: "missing", URL: f.dl.URL + glRootfs + "missing", Size: -1}
	testSourceConformance(t, src, l.Assets, missing, f.want)
}

// TestGitLabToken: PRIVATE-TOKEN goes to the GitLab origin (the API, its
// package registry and its archives), never to a link on another host,
// an error or the cache.
func TestGitLabToken(t *testing.T) {
	const token = "glpat-S3cr3tT0k3nValue"
	f := newGitLabFixture(t)
	src := f.source(t, envOf("GITLAB_TOKEN", token))
	ctx := context.Background()
	l, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	fetcher := NewFetcher(src, cacheDir, testOptions())
	for _, a := range l.Assets {
		if _, err := fetcher.Fetch(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.gl.headerValues("Private-Token"); len(got) != 6 || got[0] != token {
		t.Errorf("the GitLab host was sent PRIVATE-TOKEN %q, want the token on 6 requests", got)
	}
	if got := f.dl.headerValues("Private-Token"); len(got) != 0 {
		t.Errorf("another host was sent PRIVATE-TOKEN %q", got)
	}
	_, err = fetcher.Fetch(ctx, Asset{Name: "gone", URL: f.gl.URL + "/api/v4/projects/10185/packages/generic/gone", Size: -1})
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), token) {
		t.Errorf("Fetch(gone) = %v, want ErrNotFound without the token", err)
	}
	assertNoSecret(t, cacheDir, token)
}

func TestGitLabListErrors(t *testing.T) {
	release := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr string // after "listing SPEC: "
		wantIs  error
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"message":"404 Not Found"}`, 404)
		}, "reading the release from {API}" + glRelease + ": server answered 404 Not Found", ErrNotFound},
		{"other tag", release(`{"tag_name":"v1","assets":{"links":[],"sources":[]}}`), `the API answered with the release tagged "v1"`, nil},
		{"bad link", release(`{"tag_name":"v20250105.0.299327","assets":{"links":[{"name":"x","url":"javascript:alert(1)"}]}}`),
			`asset "x": javascript:alert(1) is not an http or https URL`, nil},
		{"bad source", release(`{"tag_name":"v20250105.0.299327","assets":{"sources":[{"format":"zip","url":""}]}}`),
			`asset "zip source archive": no URL`, nil},
		{"link named like an archive", release(`{"tag_name":"v20250105.0.299327","assets":{` +
			`"links":[{"name":"p.zip","url":"http://127.0.0.1:1/p.zip"}],` +
			`"sources":[{"format":"zip","url":"http://127.0.0.1:1/-/archive/v1/p.zip"}]}}`),
			`the release lists two assets named "p.zip"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gl := newTestServer(t)
			gl.handle(glRelease, tt.handler)
			opts := testOptions()
			opts.GitLabAPI = gl.URL + "/api/v4"
			src, err := NewSource(glSpec, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.List(context.Background())
			want := "listing " + glSpec + ": " + strings.ReplaceAll(tt.wantErr, "{API}", gl.URL)
			if err == nil || err.Error() != want {
				t.Errorf("List() = %v\nwant     %s", err, want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("List() = %v, want errors.Is %v", err, tt.wantIs)
			}
		})
	}
}

// TestGitLabMinimal: a release with a null description, a link known
// only by its direct_asset_url, and a nested project path and a tag with
// a slash, both escaped.
func TestGitLabMinimal(t *testing.T) {
	gl := newTestServer(t)
	gl.handle("/api/v4/projects/group%2Fsub%2Fproject/releases/release%2F1.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"tag_name":"release/1.0","description":null,"assets":{"count":1,"links":[`+
			`{"id":1,"name":"tool","url":"","direct_asset_url":"%s/group/sub/project/-/releases/release%%2F1.0/downloads/tool","link_type":"other"}]}}`, gl.URL)
	})
	opts := testOptions()
	opts.GitLabAPI = gl.URL + "/api/v4/"
	src, err := NewSource("gitlab:group/sub/project@release/1.0", opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := src.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Asset{{"tool", gl.URL + "/group/sub/project/-/releases/release%2F1.0/downloads/tool", -1, ""}}
	if l.Body != "" || l.Tag != "release/1.0" || !reflect.DeepEqual(l.Assets, want) {
		t.Errorf("List() = %+v, want tag release/1.0, no body, assets %+v", l, want)
	}
}
