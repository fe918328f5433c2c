package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// everyField is a spec file that sets every field and both kinds of rule,
// with strings that need escaping.
const everyField = `
[source]
repo = "https://example.org/project.git"
tag = "v1.2.3"
commit = "0123456789abcdef0123456789abcdef01234567"
source_date_epoch = 1700000000

[build]
image = "docker.io/library/debian:12@sha256:0000000000000000000000000000000000000000000000000000000000000000"
allow_unpinned = true
platform = "linux/arm64/v8"
runtime = "docker"
command = "make dist VERSION=\"1\" && echo \"tab\tdone\" \\\n"
env = ["A=1", "QUOTE=\"x\"", "CTRL=\u001b[0m"]
user = "1001:1002"
network = true
timeout = "90m"
engine_timeout = "45s"
pids_limit = 512
memory = "1GiB"
cpus = 1.5
tmpfs_size = "256MiB"
output_limit = "2GiB"
artifacts = ["dist/*", "out/**/*.tar.gz"]
out = "elsewhere"

[published]
source = "https://releases.example.org/project/v1.2.3/"
checksums = ["SHA256SUMS", "body"]
keyring = "keys/release.gpg"

[compare]
passes = ["all", "-tar-mtime"]
accept_normalized = true
max_depth = 3

[[member]]
artifact = "project-*.tar.gz"
members = ["project/bin/*"]
ignore = ["project/doc/**"]
consumer = "npm"
reason = "docs are built with the date"

[[skip]]
artifact = "*.deb"
reason = "dpkg-deb stamps the time"
`

// TestCanonicalEveryField: every field of the spec reference has a
// canonical form (a new field without one fails here), and the rendering
// reads back to the same spec.
func TestCanonicalEveryField(t *testing.T) {
	s, err := Parse("every.toml", []byte(everyField), "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		table, key, _ := strings.Cut(f.key, ".")
		if canonicalOmitted[f.key] {
			if strings.Contains(string(out), "\n"+key+" = ") {
				t.Errorf("Canonical() has %s, which it leaves out", f.key)
			}
			continue
		}
		i := strings.Index(string(out), "["+table+"]\n")
		if i < 0 || !strings.Contains(string(out[i:]), "\n"+key+" = ") {
			t.Errorf("Canonical() has no %s:\n%s", f.key, out)
		}
	}
	back, err := Parse("canonical.toml", out, "")
	if err != nil {
		t.Fatalf("Parse(Canonical()) = %v\n%s", err, out)
	}
	back.Path, back.Build.Out = s.Path, s.Build.Out
	if !reflect.DeepEqual(back, s) {
		t.Errorf("Parse(Canonical()) = %+v, want %+v", back, s)
	}
	again, err := back.Canonical()
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("Canonical(Parse(Canonical())) differs (err %v):\n%s\nwant\n%s", err, again, out)
	}
	if !bytes.HasPrefix(out, []byte(CanonicalHeader)) {
		t.Errorf("Canonical() does not start with the header")
	}
}

// TestCanonicalFlags: the canonical form is the spec after flags, so a
// flag that changes the verdict changes the bytes; the file's layout,
// comments, key order and the output directory do not.
func TestCanonicalFlags(t *testing.T) {
	base := filepath.Join("testdata", "lix.toml")
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	canon := func(t *testing.T, data []byte, flags map[string][]string) []byte {
		t.Helper()
		s, err := Parse("lix.toml", data, "testdata")
		if err != nil {
			t.Fatal(err)
		}
		for name, values := range flags {
			if err := s.SetFlag(name, values...); err != nil {
				t.Fatal(err)
			}
		}
		out, err := s.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	plain := canon(t, data, nil)
	relaid := canon(t, append([]byte("# a comment\n\n"), data...), map[string][]string{"out": {"/somewhere/else"}})
	if !bytes.Equal(plain, relaid) {
		t.Errorf("a comment and --out changed the canonical form:\n%s\nvs\n%s", plain, relaid)
	}
	for name, values := range map[string][]string{
		"network":   {"true"},
		"passes":    {"none"},
		"max-depth": {"2"},
		"commit":    {"abcdef0"},
	} {
		if got := canon(t, data, map[string][]string{name: values}); bytes.Equal(got, plain) {
			t.Errorf("--%s %v left the canonical form as it was", name, values)
		}
	}
}

// TestCanonicalInvalidUTF8: a value TOML cannot hold is an error, not a
// replacement character that would change what the policy says.
func TestCanonicalInvalidUTF8(t *testing.T) {
	s := Default()
	s.Build.Env = []string{"A=\xff"}
	if _, err := s.Canonical(); err == nil {
		t.Errorf("Canonical() with invalid UTF-8 in build.env = nil error")
	}
}
