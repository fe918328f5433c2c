package release

import (
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// Real packages of the public registry, fetched once into the fixtures
// cache (testenv.NPMFixture) and pinned by their dist.integrity.
var npmFixtures = []struct {
	name, version, integrity string
	tarball                  string // the listed asset's name
	repo                     string // RepositoryURL
}{
	{"statuses", "2.0.2", "sha512-DvEy55V3DB7uknRo+4iOGT5fP1slR8wQohVdknigZPMpMstaKJQWhwiYBACJE3Ul2pTnATihhBYnRhZQHGBiRw==",
		"statuses-2.0.2.tgz", "https://github.com/jshttp/statuses"},
	{"ms", "2.1.3", "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==",
		"ms-2.1.3.tgz", "https://github.com/vercel/ms"},
	{"@isaacs/string-locale-compare", "1.1.0", "sha512-SQ7Kzhh9+D+ZW9MA0zkYv3VXhIDNx+LzM6EJ+/65I3QY+enU6Itte7E5XX7EWrqLW2FN4n06GWzBnPoC3th2aQ==",
		"string-locale-compare-1.1.0.tgz", "https://github.com/isaacs/string-locale-compare"},
}

func npmPackages(t *testing.T) []testenv.NPMPackage {
	t.Helper()
	var pkgs []testenv.NPMPackage
	for _, f := range npmFixtures {
		pkgs = append(pkgs, testenv.NPMFixture(t, f.name, f.version, f.integrity))
	}
	return pkgs
}

func npmOpts(registry string, env map[string]string) SourceOptions {
	return SourceOptions{NPMRegistry: registry, Getenv: func(k string) string { return env[k] }, Retries: 1}
}

// checkNPM lists and checks spec against the registry, as `sums
// --published` does.
func checkNPM(t *testing.T, spec string, opts SourceOptions) (*NPMSource, *PublishedCheck, error) {
	t.Helper()
	src, err := NewNPMSource(spec, opts)
	if err != nil {
		t.Fatalf("NewNPMSource(%q) = %v", spec, err)
	}
	pc, err := CheckPublished(context.Background(), src, NewFetcher(src, t.TempDir(), opts), CheckOptions{})
	return src, pc, err
}

func TestNPMSourceCheckPublished(t *testing.T) {
	pkgs := npmPackages(t)
	reg := testenv.StartNPMRegistry(t, true, pkgs...)
	for i, f := range npmFixtures {
		sum512 := sha512.Sum512(pkgs[i].Tarball)
		sum1 := sha1.Sum(pkgs[i].Tarball)
		want512, want1 := hex.EncodeToString(sum512[:]), hex.EncodeToString(sum1[:])
		spec := "npm:" + f.name + "@" + f.version
		tests := []struct {
			name   string
			edit   func(string, map[string]any)
			status AssetStatus
			bad    Algorithm // the checksum that must not match
		}{
			{"good", nil, StatusOK, ""},
			{"integrity tampered", func(_ string, doc map[string]any) {
				doc["dist"].(map[string]any)["integrity"] = npmFixtures[(i+1)%len(npmFixtures)].integrity
			}, StatusMismatch, SHA512},
			{"shasum tampered", func(_ string, doc map[string]any) {
				doc["dist"].(map[string]any)["shasum"] = strings.Repeat("0", 40)
			}, StatusMismatch, SHA1},
		}
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				reg.Edit(tt.edit)
				src, pc, err := checkNPM(t, spec, npmOpts(reg.URL, nil))
				if err != nil {
					t.Fatalf("CheckPublished(%q) = %v", spec, err)
				}
				if len(pc.Assets) != 1 || pc.Assets[0].Name != f.tarball {
					t.Fatalf("CheckPublished(%q).Assets = %+v, want one asset %q", spec, pc.Assets, f.tarball)
				}
				a := pc.Assets[0]
				if a.Status != tt.status {
					t.Errorf("CheckPublished(%q) status = %v, want %v (%+v)", spec, a.Status, tt.status, a.Checksums)
				}
				got := map[Algorithm]CheckedChecksum{}
				for _, c := range a.Checksums {
					got[c.Algorithm] = c
				}
				if len(got) != 2 || got[SHA512].Computed != want512 || got[SHA1].Computed != want1 {
					t.Fatalf("CheckPublished(%q) checksums = %+v, want sha512 %s and sha1 %s", spec, a.Checksums, want512, want1)
				}
				for alg, c := range got {
					if wantMatch := alg != tt.bad; c.Match != wantMatch {
						t.Errorf("CheckPublished(%q) %s match = %v, want %v", spec, alg, c.Match, wantMatch)
					}
				}
				if tt.status == StatusOK && (got[SHA512].Digest != want512 || got[SHA1].Digest != want1) {
					t.Errorf("CheckPublished(%q) published digests = %s, %s, want %s, %s", spec, got[SHA512].Digest, got[SHA1].Digest, want512, want1)
				}
				v := src.Version()
				if v == nil || v.Name != f.name || v.Version != f.version || v.RepositoryURL() != f.repo {
					t.Errorf("Version() of %q = %+v (repository %q), want %s@%s from %s", spec, v, v.RepositoryURL(), f.name, f.version, f.repo)
				}
			})
		}
	}
	reg.Edit(nil)
	// The scoped name travels as npm writes it.
	found := false
	for _, r := range reg.Requests() {
		found = found || r.Path == "/@isaacs%2fstring-locale-compare/1.1.0"
	}
	if !found {
		t.Errorf("the registry never got /@isaacs%%2fstring-locale-compare/1.1.0: %+v", reg.Requests())
	}
}

func TestNPMSourceErrors(t *testing.T) {
	pkgs := npmPackages(t)
	dist := func(k string, v any) func(string, map[string]any) {
		return func(_ string, doc map[string]any) {
			if v == nil {
				delete(doc["dist"].(map[string]any), k)
			} else {
				doc["dist"].(map[string]any)[k] = v
			}
		}
	}
	tests := []struct {
		spec, want string
		edit       func(string, map[string]any)
		noDocs     bool
	}{
		{"npm:statuses@9.9.9", "has no version 9.9.9 of statuses (latest is 2.0.2)", nil, false},
		{"npm:statuses@9.9.9", "has no version 9.9.9 of statuses (latest is 2.0.2)", nil, true},
		{"npm:no-such-package@1.0.0", `has no package "no-such-package"`, nil, false},
		{"npm:statuses@2.0.2", "no dist.tarball", dist("tarball", nil), false},
		{"npm:statuses@2.0.2", "no dist.tarball", dist("tarball", nil), true},
		{"npm:statuses@2.0.2", "ftp://example.org/statuses-2.0.2.tgz is not an http or https URL", dist("tarball", "ftp://example.org/statuses-2.0.2.tgz"), false},
		{"npm:statuses@2.0.2", `dist.integrity "sha512-AAAA": the sha512 digest is not 64 bytes`, dist("integrity", "sha512-AAAA"), false},
		{"npm:statuses@2.0.2", `dist.shasum "abc" is not a sha1 digest`, dist("shasum", "abc"), false},
		{"npm:statuses@2.0.2", "the registry answered with ms@2.1.3", func(_ string, doc map[string]any) { doc["name"], doc["version"] = "ms", "2.1.3" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"/"+tt.want, func(t *testing.T) {
			reg := testenv.StartNPMRegistry(t, false, pkgs...)
			reg.Edit(tt.edit)
			if tt.noDocs {
				reg.NoVersionDocs()
			}
			_, pc, err := checkNPM(t, tt.spec, npmOpts(reg.URL, nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "listing "+tt.spec+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("CheckPublished(%q) = %+v, %v, want a one-line error naming the source and saying %q", tt.spec, pc, err, tt.want)
			}
		})
	}
}

func TestNPMSourceNoVersionDocuments(t *testing.T) {
	pkgs := npmPackages(t)
	reg := testenv.StartNPMRegistry(t, false, pkgs...)
	reg.NoVersionDocs()
	_, pc, err := checkNPM(t, "npm:@isaacs/string-locale-compare@1.1.0", npmOpts(reg.URL, nil))
	if err != nil || len(pc.Assets) != 1 || pc.Assets[0].Status != StatusOK {
		t.Fatalf("CheckPublished from a packument = %+v, %v, want one ok asset", pc, err)
	}
}

func TestNPMSourceToken(t *testing.T) {
	pkgs := npmPackages(t)
	for _, env := range []string{"NPM_TOKEN", "npm_config__authToken"} {
		for _, separate := range []bool{true, false} {
			reg := testenv.StartNPMRegistry(t, separate, pkgs...)
			_, pc, err := checkNPM(t, "npm:ms@2.1.3", npmOpts(reg.URL, map[string]string{env: "s3cret"}))
			if err != nil || len(pc.Assets) != 1 || pc.Assets[0].Status != StatusOK {
				t.Fatalf("CheckPublished with %s = %+v, %v", env, pc, err)
			}
			var registry, tarballs int
			for _, r := range reg.Requests() {
				wantAuth := ""
				if r.Server == "registry" {
					wantAuth = "Bearer s3cret"
					registry++
				} else {
					tarballs++
				}
				if r.Authorization != wantAuth {
					t.Errorf("%s (separate tarball host %v): the %s got %s with Authorization %q, want %q", env, separate, r.Server, r.Path, r.Authorization, wantAuth)
				}
			}
			if registry == 0 || (separate && tarballs == 0) {
				t.Errorf("%s: requests = %+v, want some to the registry and the tarball host", env, reg.Requests())
			}
		}
	}
}

func TestNPMSourceRegistryFromEnv(t *testing.T) {
	pkgs := npmPackages(t)
	reg := testenv.StartNPMRegistry(t, false, pkgs...)
	tests := []struct {
		flag string
		env  map[string]string
	}{
		{"", map[string]string{"npm_config_registry": reg.URL + "/"}},
		{"", map[string]string{"NPM_CONFIG_REGISTRY": reg.URL}},
		{reg.URL, map[string]string{"npm_config_registry": "http://127.0.0.1:1/"}}, // the flag wins
	}
	for _, tt := range tests {
		src, pc, err := checkNPM(t, "npm:statuses@2.0.2", npmOpts(tt.flag, tt.env))
		if err != nil || len(pc.Assets) != 1 || pc.Assets[0].Status != StatusOK {
			t.Fatalf("CheckPublished(flag %q, env %v) = %+v, %v", tt.flag, tt.env, pc, err)
		}
		if src.Registry() != reg.URL {
			t.Errorf("Registry() = %q, want %q", src.Registry(), reg.URL)
		}
	}
	src, err := NewNPMSource("npm:statuses@2.0.2", npmOpts("", nil))
	if err != nil || src.Registry() != DefaultNPMRegistry {
		t.Errorf("NewNPMSource without a registry = %v, %v, want %s", src, err, DefaultNPMRegistry)
	}
}

func TestParseNPMSpec(t *testing.T) {
	tests := []struct {
		spec, name, version, err string
	}{
		{"npm:statuses@2.0.2", "statuses", "2.0.2", ""},
		{"npm:@isaacs/string-locale-compare@1.1.0", "@isaacs/string-locale-compare", "1.1.0", ""},
		{"npm:JSONStream@1.3.5", "JSONStream", "1.3.5", ""},
		{"npm:pkg@1.0.0-rc.1+build.5", "pkg", "1.0.0-rc.1+build.5", ""},
		{"npm:statuses", "", "", "want npm:NAME@VERSION"},
		{"npm:@scope/name", "", "", "want npm:NAME@VERSION"},
		{"npm:statuses@latest", "", "", `version "latest" is not an exact version`},
		{"npm:statuses@^2.0.0", "", "", "not an exact version"},
		{"npm:@scope@1.0.0", "", "", `"@scope" is not an npm package name`},
		{"npm:a/b@1.0.0", "", "", `"a/b" is not an npm package name`},
		{"npm:@s/a/b@1.0.0", "", "", "is not an npm package name"},
		{"npm:../x@1.0.0", "", "", "is not an npm package name"},
		{"npm:.hidden@1.0.0", "", "", "is not an npm package name"},
		{"npm:a b@1.0.0", "", "", "is not an npm package name"},
	}
	for _, tt := range tests {
		name, version, err := parseNPMSpec(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.spec) {
				t.Errorf("parseNPMSpec(%q) = %q, %q, %v, want error %q", tt.spec, name, version, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || version != tt.version {
			t.Errorf("parseNPMSpec(%q) = %q, %q, %v, want %q, %q", tt.spec, name, version, err, tt.name, tt.version)
		}
	}
}

func TestNPMRepositoryURL(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"jshttp/statuses", "https://github.com/jshttp/statuses"},
		{"github:user/repo", "https://github.com/user/repo"},
		{"gitlab:group/proj", "https://gitlab.com/group/proj"},
		{"bitbucket:team/repo", "https://bitbucket.org/team/repo"},
		{"git+https://github.com/isaacs/string-locale-compare", "https://github.com/isaacs/string-locale-compare"},
		{"git+https://github.com/npm/cli.git", "https://github.com/npm/cli.git"},
		{"git://github.com/vercel/ms.git", "https://github.com/vercel/ms.git"},
		{"https://github.com/x/y#readme", "https://github.com/x/y"},
		{"git@github.com:x/y.git", "ssh://git@github.com/x/y.git"},
		{"git+ssh://git@github.com/x/y.git", "ssh://git@github.com/x/y.git"},
		{"", ""},
		{"not a repo", ""},
		{"svn://example.org/repo", ""},
	}
	for _, tt := range tests {
		if got := (&NPMVersion{Repository: tt.repo}).RepositoryURL(); got != tt.want {
			t.Errorf("RepositoryURL(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
}

func TestNPMVersionDocument(t *testing.T) {
	// The registry's "repository" is a string or {type, url, directory};
	// gitHead must be a commit id.
	tests := []struct {
		repo, gitHead string
		want          NPMVersion
		err           string
	}{
		{`"jshttp/statuses"`, "", NPMVersion{Repository: "jshttp/statuses"}, ""},
		{`{"type":"git","url":"git+https://github.com/babel/babel.git","directory":"packages/babel-core"}`, "0123456789abcdef0123456789abcdef01234567",
			NPMVersion{Repository: "git+https://github.com/babel/babel.git", RepositoryDirectory: "packages/babel-core", GitHead: "0123456789abcdef0123456789abcdef01234567"}, ""},
		{`null`, "", NPMVersion{}, ""},
		{`42`, "", NPMVersion{}, "repository is neither a string nor {type, url}"},
		{`"x/y"`, "HEAD; rm -rf", NPMVersion{}, "is not a commit id"},
	}
	for _, tt := range tests {
		d := npmVersionDoc{Name: "p", Version: "1.0.0", GitHead: tt.gitHead, Repository: []byte(tt.repo)}
		got, err := d.version("p", "1.0.0")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("version(repository %s, gitHead %q) = %+v, %v, want error %q", tt.repo, tt.gitHead, got, err, tt.err)
			}
			continue
		}
		tt.want.Name, tt.want.Version = "p", "1.0.0"
		if err != nil || !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("version(repository %s, gitHead %q) = %+v, %v, want %+v", tt.repo, tt.gitHead, got, err, tt.want)
		}
	}
}

func TestNPMSourceContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pkgs := npmPackages(t)
	reg := testenv.StartNPMRegistry(t, false, pkgs...)
	src, err := NewNPMSource("npm:ms@2.1.3", npmOpts(reg.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List(canceled) = %v, want context.Canceled", err)
	}
}

func TestNPMSourcePackumentCap(t *testing.T) {
	// A registry without version documents whose packument is announced
	// larger than the cap: refused before a byte of it is read.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", strconv.Itoa(maxPackument+1))
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	spec := "npm:big@1.0.0"
	_, pc, err := checkNPM(t, spec, npmOpts(srv.URL, nil))
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "listing "+spec+": ") {
		t.Fatalf("CheckPublished(%q) = %+v, %v, want ErrTooLarge naming the source", spec, pc, err)
	}
}
