package spec_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/spec"
)

const digest = "sha256:5c3d1a8e9b2f7a6d4c0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e"

func int64p(n int64) *int64 { return &n }

func TestLoadNimbus(t *testing.T) {
	s, err := spec.Load("testdata/nimbus-eth2.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := &spec.Spec{
		Path: "testdata/nimbus-eth2.toml",
		Dir:  "testdata",
		Source: spec.Source{
			Repo:   "https://github.com/status-im/nimbus-eth2",
			Tag:    "v24.1.0",
			Commit: "a1b2c3d4",
		},
		Build: spec.Build{
			Image:     "docker.io/statusteam/nimbus_beacon_node:dist_base_20240102110000@" + digest,
			Platform:  "linux/amd64",
			Runtime:   "auto",
			Command:   spec.Command{Argv: []string{"docker/dist/entry_point.sh", "Linux_amd64"}},
			Env:       []string{"NIMFLAGS=-d:disableMarchNative"},
			Timeout:   3 * time.Hour,
			Artifacts: []string{"dist/*.tar.gz"},
			Out:       filepath.Join("testdata", "rebuilt"),
		},
		Published: spec.Published{
			Source:    "github:status-im/nimbus-eth2@v24.1.0",
			Checksums: []string{"body"},
		},
		Compare: spec.Compare{Passes: []string{"all"}, MaxDepth: 8},
		Members: []spec.MemberRule{{
			Artifact: "nimbus-eth2_Linux_amd64_*.tar.gz",
			Members:  []string{"**/build/*"},
			Reason:   "the tarball is made by a plain tar czf (mtimes, owners, order vary); the binaries reproduce",
		}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Load = %+v\nwant %+v", s, want)
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Errorf("Validate(NeedVerify) = %v", err)
	}
}

// Every example spec in testdata parses and validates for verify.
func TestLoadExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := spec.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			need := spec.NeedVerify
			if filepath.Base(f) == "minimal.toml" {
				need = spec.NeedRebuild
			}
			if err := s.Validate(need); err != nil {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want func(s *spec.Spec)
	}{
		{"empty", "", func(*spec.Spec) {}},
		{"comments only", "# nothing\n\n", func(*spec.Spec) {}},
		{"byte order mark", "\uFEFF[source]\ntag = \"v1\"\n", func(s *spec.Spec) { s.Source.Tag = "v1" }},
		{
			"source",
			`[source]
repo = "git@github.com:status-im/nimbus-eth2.git"
tag = "release/v1.2"
commit = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
source_date_epoch = 0
`,
			func(s *spec.Spec) {
				s.Source = spec.Source{Repo: "git@github.com:status-im/nimbus-eth2.git", Tag: "release/v1.2",
					Commit: "abcdef0123456789abcdef0123456789abcdef01", SourceDateEpoch: int64p(0)}
			},
		},
		{"64-digit commit", "[source]\ncommit = \"" + strings.Repeat("ab", 32) + "\"\n",
			func(s *spec.Spec) { s.Source.Commit = strings.Repeat("ab", 32) }},
		{"epoch as date-time", "[source]\nsource_date_epoch = 2024-01-01T01:00:00+01:00\n",
			func(s *spec.Spec) { s.Source.SourceDateEpoch = int64p(1704067200) }},
		{"relative repo", "[source]\nrepo = \"../project\"\n", func(s *spec.Spec) { s.Source.Repo = "/base/project" }},
		{"absolute repo", "[source]\nrepo = \"/src/project\"\n", func(s *spec.Spec) { s.Source.Repo = "/src/project" }},
		{"file URL repo", "[source]\nrepo = \"file:///src/p\"\n", func(s *spec.Spec) { s.Source.Repo = "file:///src/p" }},
		{
			"build",
			`[build]
image = "debian:bookworm@` + digest + `"
allow_unpinned = true
platform = "linux/arm/v7"
runtime = "runc"
command = "make dist && ls"
env = ["A=1", "B=", "C=x=y"]
user = "1000:100"
network = true
timeout = "1h30m"
artifacts = ["./dist/*.tar.gz", "out/**/*.{zip,xz}"]
out = "/tmp/out"
`,
			func(s *spec.Spec) {
				s.Build = spec.Build{
					Image: "debian:bookworm@" + digest, AllowUnpinned: true, Platform: "linux/arm/v7",
					Runtime: "runc", Command: spec.Command{Argv: []string{"make dist && ls"}, Shell: true},
					Env: []string{"A=1", "B=", "C=x=y"}, User: &spec.User{UID: 1000, GID: 100}, Network: true,
					Timeout: 90 * time.Minute, Artifacts: []string{"dist/*.tar.gz", "out/**/*.{zip,xz}"}, Out: "/tmp/out",
				}
			},
		},
		{"unpinned image parses", "[build]\nimage = \"debian:bookworm\"\n", func(s *spec.Spec) { s.Build.Image = "debian:bookworm" }},
		{"empty user is the host's", "[build]\nuser = \"\"\n", func(*spec.Spec) {}},
		{"relative out", "[build]\nout = \"dist/rebuilt\"\n", func(s *spec.Spec) { s.Build.Out = "/base/dir/dist/rebuilt" }},
		{"dotted keys", "build.timeout = \"10m\"\nsource.tag = \"v2\"\n", func(s *spec.Spec) {
			s.Build.Timeout = 10 * time.Minute
			s.Source.Tag = "v2"
		}},
		{"inline table", "build = { runtime = \"docker\" }\n", func(s *spec.Spec) { s.Build.Runtime = "docker" }},
		{
			"published",
			`[published]
source = "release-dir"
checksums = ["SHA256SUMS", "body", "sub/SHA512SUMS.asc"]
keyring = "keys/release.gpg"
`,
			func(s *spec.Spec) {
				s.Published = spec.Published{Source: "/base/dir/release-dir", Checksums: []string{"SHA256SUMS", "body", "sub/SHA512SUMS.asc"},
					Keyring: "/base/dir/keys/release.gpg"}
			},
		},
		{"published URL", "[published]\nsource = \"https://example.org/releases/v1/\"\n",
			func(s *spec.Spec) { s.Published.Source = "https://example.org/releases/v1/" }},
		{"published gitlab", "[published]\nsource = \"gitlab:group/sub/project@v1\"\n",
			func(s *spec.Spec) { s.Published.Source = "gitlab:group/sub/project@v1" }},
		{"published file URL", "[published]\nsource = \"file:///srv/release\"\n",
			func(s *spec.Spec) { s.Published.Source = "file:///srv/release" }},
		{
			"compare",
			"[compare]\npasses = [\"-tar-mtime\", \"-zip-time\"]\naccept_normalized = true\nmax_depth = 64\n",
			func(s *spec.Spec) {
				s.Compare = spec.Compare{Passes: []string{"-tar-mtime", "-zip-time"}, AcceptNormalized: true, MaxDepth: 64}
			},
		},
		{
			"rules",
			`[[member]]
artifact = "*.tar.gz"

[[skip]]
artifact = "*-docs.tar.gz"
reason = "the manual embeds its build time"

[[member]]
artifact = "*.zip"
members = ["bin/*", "lib/**"]
reason = "zip"
`,
			func(s *spec.Spec) {
				s.Members = []spec.MemberRule{{Artifact: "*.tar.gz"}, {Artifact: "*.zip", Members: []string{"bin/*", "lib/**"}, Reason: "zip"}}
				s.Skips = []spec.SkipRule{{Artifact: "*-docs.tar.gz", Reason: "the manual embeds its build time"}}
			},
		},
		{"inline array of rule tables", `skip = [{artifact = "a", reason = "r"}]`,
			func(s *spec.Spec) { s.Skips = []spec.SkipRule{{Artifact: "a", Reason: "r"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spec.Parse("reproof.toml", []byte(tt.doc), "/base/dir")
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.doc, err)
			}
			want := spec.Default()
			want.Path, want.Dir = "reproof.toml", "/base/dir"
			want.Build.Out = "/base/dir/rebuilt"
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", tt.doc, got, want)
			}
			if err := got.Validate(spec.NeedNone); err != nil {
				t.Errorf("Validate(NeedNone) = %v", err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		doc  string
		want string
	}{
		// TOML syntax
		{"[source\n", `reproof.toml:2: invalid TOML: expected '.' or ']' to end table name, but got '\n' instead`},
		{"a = 1\na = 2\n", `reproof.toml:2: invalid TOML: Key 'a' has already been defined.`},
		{"[build]\ntimeout = \"2h\n", `reproof.toml:2: invalid TOML: strings cannot contain newlines`},
		{"x = \xff\n", `reproof.toml:1: not valid UTF-8 (TOML files are UTF-8)`},
		{"# ok\n# ok\nrepo = \"\xc3\x28\"\n", `reproof.toml:3: not valid UTF-8 (TOML files are UTF-8)`},
		// unknown keys, wrong shapes
		{"[buidl]\nimage = \"x\"\n", `reproof.toml:1: buidl: unknown key (did you mean "build"?)`},
		{"version = 1\n", `reproof.toml:1: version: unknown key (known: source, build, published, compare, member, skip, image)`},
		{"[build]\nimage_digest = \"x\"\n", `reproof.toml:2: build.image_digest: unknown key (known: image, allow_unpinned, platform, runtime, command, env, user, network, timeout, engine_timeout, pids_limit, memory, cpus, tmpfs_size, output_limit, artifacts, out)`},
		{"[build]\ntimeot = \"2h\"\n", `reproof.toml:2: build.timeot: unknown key (did you mean "timeout"?)`},
		{"[build]\nTimeout = \"2h\"\n", `reproof.toml:2: build.Timeout: unknown key (did you mean "timeout"?)`},
		{"[build.extra]\nx = 1\n", `reproof.toml:1: build.extra: unknown key (known: image, allow_unpinned, platform, runtime, command, env, user, network, timeout, engine_timeout, pids_limit, memory, cpus, tmpfs_size, output_limit, artifacts, out)`},
		{"[[members]]\nartifact = \"x\"\n", `reproof.toml:1: members: unknown key (did you mean "member"?)`},
		{"[\"a\\nb\"]\n", `reproof.toml:1: "a\nb": unknown key (known: source, build, published, compare, member, skip, image)`},
		{long + " = 1\n", `reproof.toml:1: "` + long[:80] + `"...: unknown key (known: source, build, published, compare, member, skip, image)`},
		{"build = 5\n", `reproof.toml:1: build: want a table ([build]), got an integer`},
		{"[[build]]\n", `reproof.toml:1: build: want a table ([build]), got an array of tables`},
		{"[member]\nartifact = \"x\"\n", `reproof.toml:1: member: want an array of tables ([[member]]), got a table`},
		{"skip = [1]\n", `reproof.toml:1: skip: want an array of tables ([[skip]]), got an array with an integer in it`},
		// types
		{"[build]\ntimeout = 7200\n", `reproof.toml:2: build.timeout: want a string, got an integer`},
		{"[build]\nnetwork = \"yes\"\n", `reproof.toml:2: build.network: want true or false, got a string`},
		{"[compare]\nmax_depth = 8.5\n", `reproof.toml:2: compare.max_depth: want an integer, got a float`},
		{"[build]\nartifacts = \"dist/*\"\n", `reproof.toml:2: build.artifacts: want an array of strings such as ["a", "b"], got a string`},
		{"[build]\nenv = [1, 2]\n", `reproof.toml:2: build.env: want an array of strings such as ["a", "b"], got an array with an integer in it`},
		{"[build]\nenv = [[\"A=1\"]]\n", `reproof.toml:2: build.env: want an array of strings such as ["a", "b"], got an array of arrays`},
		{"[build]\ncommand = 5\n", `reproof.toml:2: build.command: want an array of strings (argv, such as ["make", "dist"]) or a string (run with /bin/sh -c), got an integer`},
		{"[source]\nsource_date_epoch = \"1700000000\"\n", `reproof.toml:2: source.source_date_epoch: want Unix seconds or a date-time such as 2024-01-01T00:00:00Z, got a string`},
		{"[source]\nsource_date_epoch = 2024-01-01T00:00:00\n", `reproof.toml:2: source.source_date_epoch: a date-time needs an offset here (add Z for UTC: 2024-01-01T00:00:00Z)`},
		// values: [source]
		{"[source]\nrepo = \"\"\n", `reproof.toml:2: source.repo: empty; give a git URL or a local path`},
		{"[source]\nrepo = \"--upload-pack=x\"\n", `reproof.toml:2: source.repo: "--upload-pack=x" may not start with '-'`},
		{"[source]\ntag = \"\"\n", `reproof.toml:2: source.tag: empty; give the release tag, such as v1.2.3`},
		{"[source]\ntag = \"-v1\"\n", `reproof.toml:2: source.tag: "-v1" is not a valid tag name: it starts with '-'`},
		{"[source]\ntag = \"v1:refs/heads/x\"\n", `reproof.toml:2: source.tag: "v1:refs/heads/x" is not a valid tag name: it holds one of ~ ^ : ? * [ \`},
		{"[source]\ntag = \"v1..2\"\n", `reproof.toml:2: source.tag: "v1..2" is not a valid tag name: it holds ".."`},
		{"[source]\ntag = \"v1 2\"\n", `reproof.toml:2: source.tag: "v1 2" is not a valid tag name: it holds spaces or control characters`},
		{"[source]\ntag = \"refs/tags/v1\"\n", `reproof.toml:2: source.tag: "refs/tags/v1" is not a valid tag name: give the tag's name without refs/tags/`},
		{"[source]\ntag = \"v1.lock\"\n", `reproof.toml:2: source.tag: "v1.lock" is not a valid tag name: a component ends with ".lock"`},
		{"[source]\ntag = \"a//b\"\n", `reproof.toml:2: source.tag: "a//b" is not a valid tag name: it has an empty path component`},
		{"[source]\ncommit = \"abc\"\n", `reproof.toml:2: source.commit: "abc" is not a commit id (want 4 to 40 hex digits, or 64 for a SHA-256 repository)`},
		{"[source]\ncommit = \"" + strings.Repeat("a", 41) + "\"\n", `reproof.toml:2: source.commit: "` + strings.Repeat("a", 41) + `" is not a commit id (want 4 to 40 hex digits, or 64 for a SHA-256 repository)`},
		{"[source]\ncommit = \"v24.1.0\"\n", `reproof.toml:2: source.commit: "v24.1.0" is not a commit id (want 4 to 40 hex digits, or 64 for a SHA-256 repository)`},
		{"[source]\nsource_date_epoch = -1\n", `reproof.toml:2: source.source_date_epoch: -1 is out of range (0 to 253402300799, the end of year 9999)`},
		{"[source]\nsource_date_epoch = 253402300800\n", `reproof.toml:2: source.source_date_epoch: 253402300800 is out of range (0 to 253402300799, the end of year 9999)`},
		// values: [build]
		{"[build]\ntimeout = \"2 hours\"\n", `reproof.toml:2: build.timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)`},
		{"[build]\ntimeout = \"0s\"\n", `reproof.toml:2: build.timeout: "0s" is not positive`},
		{"[build]\ntimeout = \"-5m\"\n", `reproof.toml:2: build.timeout: "-5m0s" is not positive`},
		{"[build]\nimage = \"\"\n", `reproof.toml:2: build.image: empty; give an image reference pinned by digest, such as docker.io/library/debian:bookworm@sha256:<64 hex digits>`},
		{"[build]\nimage = \"Debian:Bookworm\"\n", `reproof.toml:2: build.image: "Debian:Bookworm" is not an image reference (want REGISTRY/REPOSITORY[:TAG]@sha256:DIGEST)`},
		{"[build]\nimage = \"debian@sha256:abc\"\n", `reproof.toml:2: build.image: "debian@sha256:abc" is not an image reference (want REGISTRY/REPOSITORY[:TAG]@sha256:DIGEST)`},
		{"[build]\nimage = \"debian bookworm\"\n", `reproof.toml:2: build.image: "debian bookworm" holds spaces or control characters`},
		{"[build]\nplatform = \"amd64\"\n", `reproof.toml:2: build.platform: "amd64" is not a platform (want os/arch[/variant], such as linux/amd64 or linux/arm/v7)`},
		{"[build]\nplatform = \"Linux/AMD64\"\n", `reproof.toml:2: build.platform: "Linux/AMD64" is not a platform (want os/arch[/variant], such as linux/amd64 or linux/arm/v7)`},
		{"[build]\nruntime = \"containerd\"\n", `reproof.toml:2: build.runtime: "containerd" is not a runtime (want auto, docker, podman, runc)`},
		{"[build]\ncommand = []\n", `reproof.toml:2: build.command: empty program; give the build command, such as ["make", "dist"] or "make dist"`},
		{"[build]\ncommand = \"  \"\n", `reproof.toml:2: build.command: empty; give the build command, such as ["make", "dist"] or "make dist"`},
		{"[build]\ncommand = [\"make\", \"a\\u0000b\"]\n", `reproof.toml:2: build.command: argument "a\x00b" holds a NUL byte`},
		{"[build]\nenv = [\"FOO\"]\n", `reproof.toml:2: build.env: entry "FOO": want KEY=VALUE`},
		{"[build]\nenv = [\"1A=x\"]\n", `reproof.toml:2: build.env: entry "1A=x": "1A" is not a variable name (letters, digits and _, not starting with a digit)`},
		{"[build]\nenv = [\"TZ=Europe/Paris\"]\n", `reproof.toml:2: build.env: entry "TZ=Europe/Paris": reproof sets TZ itself (reserved: SOURCE_DATE_EPOCH, TZ, LC_ALL, HOME)`},
		{"[build]\nenv = [\"SOURCE_DATE_EPOCH=1\"]\n", `reproof.toml:2: build.env: entry "SOURCE_DATE_EPOCH=1": reproof sets SOURCE_DATE_EPOCH itself (reserved: SOURCE_DATE_EPOCH, TZ, LC_ALL, HOME)`},
		{"[build]\nenv = [\"A=1\", \"A=2\"]\n", `reproof.toml:2: build.env: entry "A=2": A is set twice`},
		{"[build]\nuser = \"root\"\n", `reproof.toml:2: build.user: "root" is not UID:GID (numeric, such as 1000:1000)`},
		{"[build]\nuser = \"1000\"\n", `reproof.toml:2: build.user: "1000" is not UID:GID (numeric, such as 1000:1000)`},
		{"[build]\nuser = \"-1:0\"\n", `reproof.toml:2: build.user: "-1:0" is not UID:GID (numeric, such as 1000:1000)`},
		{"[build]\nuser = \"4294967295:0\"\n", `reproof.toml:2: build.user: "4294967295:0" is not UID:GID (numeric, such as 1000:1000)`},
		{"[build]\nartifacts = []\n", `reproof.toml:2: build.artifacts: empty list; name at least one glob such as "dist/*.tar.gz"`},
		{"[build]\nartifacts = [\"/etc/passwd\"]\n", `reproof.toml:2: build.artifacts: glob "/etc/passwd" is absolute; artifacts are relative to the checkout`},
		{"[build]\nartifacts = [\"../x\"]\n", `reproof.toml:2: build.artifacts: glob "../x" has an empty, "." or ".." path component; artifacts are relative to the checkout, inside it`},
		{"[build]\nartifacts = [\"dist/../../x\"]\n", `reproof.toml:2: build.artifacts: glob "dist/../../x" has an empty, "." or ".." path component; artifacts are relative to the checkout, inside it`},
		{"[build]\nartifacts = [\"dist/\"]\n", `reproof.toml:2: build.artifacts: glob "dist/" has an empty, "." or ".." path component; artifacts are relative to the checkout, inside it`},
		{"[build]\nartifacts = [\"dist/[a-\"]\n", `reproof.toml:2: build.artifacts: invalid glob "dist/[a-" (unclosed [ or {, or a trailing \)`},
		{"[build]\nartifacts = [\"\"]\n", `reproof.toml:2: build.artifacts: empty glob`},
		{"[build]\nartifacts = [\"a\", \"./a\"]\n", `reproof.toml:2: build.artifacts: glob "a" is listed twice`},
		{"[build]\nartifacts = [\"" + strings.Repeat("*a", 17) + "\"]\n", `reproof.toml:2: build.artifacts: glob "` + strings.Repeat("*a", 17) + `" has more than 16 wildcards (* and ?)`},
		{"[build]\nartifacts = [\"{a,b}{a,b}{a,b}{a,b}{a,b}\"]\n", `reproof.toml:2: build.artifacts: glob "{a,b}{a,b}{a,b}{a,b}{a,b}" has more than 4 {a,b} groups or 16 alternatives`},
		{"[build]\nout = \"\"\n", `reproof.toml:2: build.out: empty path`},
		// values: [published], [compare]
		{"[published]\nsource = \"github:status-im/nimbus-eth2\"\n", `reproof.toml:2: published.source: "github:status-im/nimbus-eth2": want github:OWNER/REPO@TAG`},
		{"[published]\nsource = \"github:a/b/c@v1\"\n", `reproof.toml:2: published.source: "github:a/b/c@v1": want github:OWNER/REPO@TAG`},
		{"[published]\nsource = \"gitlab:group//project@v1\"\n", `reproof.toml:2: published.source: "gitlab:group//project@v1": want gitlab:GROUP/PROJECT@TAG`},
		{"[published]\nsource = \"https://user:secret@example.org/x#top\"\n", `reproof.toml:2: published.source: "https://user:xxxxx@example.org/x#top": a base URL has no #fragment`},
		{"[published]\nsource = \"HTTPS://example.org/x\"\n", `reproof.toml:2: published.source: "https://example.org/x": unsupported URL scheme "HTTPS" (want http, https or file)`},
		{"[published]\nsource = \"https://exa mple.org:x/\"\n", `reproof.toml:2: published.source: "https"://...: not a valid URL`},
		{"[published]\nsource = \"ftp://example.org/x\"\n", `reproof.toml:2: published.source: "ftp://example.org/x": unsupported URL scheme "ftp" (want http, https or file)`},
		{"[published]\nsource = \"https:///x\"\n", `reproof.toml:2: published.source: "https:///x": the URL has no host`},
		{"[published]\nsource = \"file://host/x\"\n", `reproof.toml:2: published.source: "file://host/x": want file:///ABSOLUTE/PATH`},
		{"[published]\nchecksums = [\"../SHA256SUMS\"]\n", `reproof.toml:2: published.checksums: "../SHA256SUMS" is not a name in the release (no leading /, no \, no ".." components)`},
		{"[published]\nchecksums = [\"body\", \"body\"]\n", `reproof.toml:2: published.checksums: "body" is listed twice`},
		{"[published]\nkeyring = \"\"\n", `reproof.toml:2: published.keyring: empty path`},
		{"[compare]\npasses = []\n", `reproof.toml:2: compare.passes: empty list; use ["none"] to allow no normalization, ["all"] for every pass`},
		{"[compare]\npasses = [\"tar-sort\"]\n", `reproof.toml:2: compare.passes: unknown pass "tar-sort" (want all, none, or tar-order, tar-mtime, tar-owner, tar-mode, tar-pax, tar-xattr, tar-devices, gzip-header, zip-order, zip-time, zip-extra, ar-header; -name removes one)`},
		{"[compare]\npasses = [\"tar-order,tar-mtime\"]\n", `reproof.toml:2: compare.passes: unknown pass "tar-order,tar-mtime" (want all, none, or tar-order, tar-mtime, tar-owner, tar-mode, tar-pax, tar-xattr, tar-devices, gzip-header, zip-order, zip-time, zip-extra, ar-header; -name removes one)`},
		{"[compare]\nmax_depth = 0\n", `reproof.toml:2: compare.max_depth: 0 is out of range (1 to 64)`},
		{"[compare]\nmax_depth = 1000\n", `reproof.toml:2: compare.max_depth: 1000 is out of range (1 to 64)`},
		// rules: the line is given when no later table sets the same key
		{"[[member]]\nartifact = \"[\"\n", `reproof.toml:2: member #1: artifact: invalid glob "[" (unclosed [ or {, or a trailing \)`},
		{"[[member]]\nartifact = \"[\"\n[[member]]\nartifact = \"b\"\n", `reproof.toml: member #1: artifact: invalid glob "[" (unclosed [ or {, or a trailing \)`},
		{"[[member]]\nartifact = \"a\"\n[[member]]\nartifact = \"[\"\n", `reproof.toml:4: member #2: artifact: invalid glob "[" (unclosed [ or {, or a trailing \)`},
		{"[[member]]\nartifact = \"a\"\nmembers = []\n", `reproof.toml:3: member #1: members: empty list; leave members out to mean every member`},
		{"[[member]]\nartifact = \"a\"\nconsumer = \"pip\"\n", `reproof.toml:3: member #1: consumer: unknown consumer "pip"; known: npm`},
		{"[[member]]\nartifact = \"a\"\nignore = [\"x\"]\n", `reproof.toml: member #1: "ignore" needs a "reason": say why those members do not reproduce`},
		{"[[member]]\nartifact = \"a\"\nignore = []\n", `reproof.toml:3: member #1: ignore: empty list; leave ignore out to compare every member`},
		{"[[member]]\nartifact = \"a\"\nmember = [\"x\"]\n", `reproof.toml:3: member #1: member: unknown key (did you mean "members"?)`},
		{"[[member]]\nartifact = 5\n", `reproof.toml:2: member #1: artifact: want a string, got an integer`},
		{"[[member]]\nmembers = [\"x\"]\n", `reproof.toml: member #1: missing "artifact", the glob over artifact names the rule is for`},
		{"[[member]]\nartifact = \"a\"\n[[member]]\nartifact = \"a\"\n", `reproof.toml: member #2: artifact "a" repeats member #1's; give both member lists in one table`},
		{"[[member]]\nartifact = \"a\"\nreason = \"two\\nlines\"\n", `reproof.toml:3: member #1: reason: reason "two\nlines" holds control characters (a reason is one line)`},
		{"[[skip]]\nartifact = \"a\"\n", `reproof.toml: skip #1: missing "reason": say why the artifact does not reproduce`},
		{"[[skip]]\nartifact = \"a\"\nreason = \"  \"\n", `reproof.toml: skip #1: missing "reason": say why the artifact does not reproduce`},
		{"[[skip]]\nartifact = \"a\"\nreason = \"r\"\nmembers = [\"x\"]\n", `reproof.toml:4: skip #1: members: unknown key (known: artifact, reason)`},
		{"[[skip]]\nartifact = \"a\"\nreason = \"r\"\n[[member]]\nartifact = \"a\"\n", `reproof.toml: skip #1: artifact "a" is also member #1's; an artifact is either skipped or compared`},
		// bounds
		{"a = " + strings.Repeat("[", 40) + strings.Repeat("]", 40), `reproof.toml:1: brackets nested more than 32 deep`},
		{"a = " + strings.Repeat("{b=", 40) + "1" + strings.Repeat("}", 40), `reproof.toml:1: brackets nested more than 32 deep`},
		{"\n\n[a" + strings.Repeat(".b", 40) + "]", `reproof.toml:3: more than 32 dots outside strings on one line (keys nested too deep)`},
	}
	for _, tt := range tests {
		_, err := spec.Parse("reproof.toml", []byte(tt.doc), "/base")
		if err == nil {
			t.Errorf("Parse(%q) = nil, want %s", tt.doc, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tt.doc, err, tt.want)
		}
		var se *spec.Error
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): %T is not a *spec.Error", tt.doc, err)
		}
		if errors.Is(err, spec.ErrMissing) {
			t.Errorf("Parse(%q) = %v: Parse never reports a missing field", tt.doc, err)
		}
	}
}

// Strings, comments and multi-line strings may hold any number of brackets
// and dots: only nesting in the TOML structure is bounded.
func TestParseNestingInStrings(t *testing.T) {
	deep := strings.Repeat("{[.", 100)
	docs := []string{
		"# " + deep + "\n[source]\ntag = \"v1\"\n",
		"[source]\ntag = \"v1\" # " + deep + "\n",
		"[[skip]]\nartifact = \"a\"\nreason = \"" + deep + "\\\"" + deep + "\"\n",
		"[[skip]]\nartifact = \"a\"\nreason = '" + deep + "'\n",
		"[build]\ncommand = \"\"\"\n" + deep + "\n\"" + deep + "\\\"\"\"\"\"\n",
		"[build]\ncommand = '''\n" + deep + "\n''" + deep + "'''''\n",
	}
	for _, doc := range docs {
		if _, err := spec.Parse("reproof.toml", []byte(doc), ""); err != nil {
			t.Errorf("Parse(%q) = %v", doc, err)
		}
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	doc := `[source]
repo = "."
[build]
out = "../out"
[published]
source = "dist"
keyring = "/etc/keys.gpg"
`
	path := filepath.Join(dir, "reproof.toml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source.Repo != dir {
		t.Errorf("Source.Repo = %q, want %q", s.Source.Repo, dir)
	}
	if want := filepath.Join(filepath.Dir(dir), "out"); s.Build.Out != want {
		t.Errorf("Build.Out = %q, want %q", s.Build.Out, want)
	}
	if want := filepath.Join(dir, "dist"); s.Published.Source != want {
		t.Errorf("Published.Source = %q, want %q", s.Published.Source, want)
	}
	if s.Published.Keyring != "/etc/keys.gpg" {
		t.Errorf("Published.Keyring = %q, want /etc/keys.gpg", s.Published.Keyring)
	}
	if s.Path != path || s.Dir != dir {
		t.Errorf("Path, Dir = %q, %q; want %q, %q", s.Path, s.Dir, path, dir)
	}
}

func TestLoadDefaultOutBesideTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reproof.toml")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "rebuilt"); s.Build.Out != want {
		t.Errorf("Build.Out = %q, want %q", s.Build.Out, want)
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "reproof.toml")
	_, err := spec.Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != missing+": no such file or directory" {
		t.Errorf("Load(missing) = %v, want %q wrapping fs.ErrNotExist", err, missing+": no such file or directory")
	}
	_, err = spec.Load(dir)
	if err == nil || err.Error() != dir+": is a directory" {
		t.Errorf("Load(directory) = %v, want %q", err, dir+": is a directory")
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reproof.toml")
	big := []byte("# " + strings.Repeat("x", spec.MaxFileSize) + "\n")
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := spec.Load(path)
	if !errors.Is(err, spec.ErrTooLarge) {
		t.Fatalf("Load(%d bytes) = %v, want ErrTooLarge", len(big), err)
	}
	if want := path + ": spec file too large: more than 1048576 bytes (1 MiB)"; err.Error() != want {
		t.Errorf("Load = %q, want %q", err, want)
	}
	// Exactly the limit is fine.
	ok := []byte("#" + strings.Repeat("x", spec.MaxFileSize-2) + "\n")
	if _, err := spec.Parse("reproof.toml", ok, ""); err != nil {
		t.Errorf("Parse(%d bytes) = %v", len(ok), err)
	}
}

// Hostile files end quickly in an error of one line.
func TestParseHostile(t *testing.T) {
	docs := map[string]string{
		"open brackets":       "a = " + strings.Repeat("[", spec.MaxFileSize-8),
		"nested inline":       "a = " + strings.Repeat("{b=", 200000) + "1" + strings.Repeat("}", 200000),
		"nested over lines":   "a = {\n" + strings.Repeat("b={\n", 200000),
		"dotted key":          "a." + strings.Repeat("b.", 200000) + "c = 1",
		"many tables":         strings.Repeat("[[member]]\nartifact=\"a\"\n", 40000),
		"many distinct rules": manyRules(30000),
		"long key":            strings.Repeat("k", 1<<19) + " = 1",
		"long value":          "[source]\ntag = \"" + strings.Repeat("\n", 1<<19) + "\"",
		"NUL":                 "[source]\x00\ntag = \"v1\"\n",
		"control in key":      "[\"\x1b[31m\"]\n",
		"binary":              "\x7fELF\x02\x01\x01\x00\x00\x00",
	}
	for name, doc := range docs {
		if len(doc) > spec.MaxFileSize {
			doc = doc[:spec.MaxFileSize]
		}
		start := time.Now()
		_, err := spec.Parse("reproof.toml", []byte(doc), "")
		// About 0.2 s for a megabyte; the bound is loose for -race on a
		// loaded machine, and still far below what nesting once cost
		// (minutes and gigabytes).
		if elapsed := time.Since(start); elapsed > 30*time.Second {
			t.Errorf("%s: Parse took %v", name, elapsed)
		}
		if err == nil {
			if name != "many distinct rules" {
				t.Errorf("%s: Parse = nil, want an error", name)
			}
			continue
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\r\x1b") || len(msg) > 1000 {
			t.Errorf("%s: error is not one short line: %q", name, msg)
		}
	}
}

func manyRules(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("[[member]]\nartifact = \"a" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i) + "\"\n")
	}
	return b.String()
}
