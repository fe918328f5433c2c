package main_test

import (
	"crypto/sha512"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// TestSumsPublishedNPM checks real npm packages (statuses, and a scoped
// one) served by a registry on 127.0.0.1 with their real version
// documents and tarballs: the tarball is checked against dist.integrity
// and dist.shasum; a lying integrity fails; an unknown version is an
// error naming the source; npm_config_registry stands in for the flag.
func TestSumsPublishedNPM(t *testing.T) {
	t.Parallel()
	statuses := testenv.NPMFixture(t, "statuses", "2.0.2", "sha512-DvEy55V3DB7uknRo+4iOGT5fP1slR8wQohVdknigZPMpMstaKJQWhwiYBACJE3Ul2pTnATihhBYnRhZQHGBiRw==")
	scoped := testenv.NPMFixture(t, "@isaacs/string-locale-compare", "1.1.0", "sha512-SQ7Kzhh9+D+ZW9MA0zkYv3VXhIDNx+LzM6EJ+/65I3QY+enU6Itte7E5XX7EWrqLW2FN4n06GWzBnPoC3th2aQ==")
	reg := testenv.StartNPMRegistry(t, true, statuses, scoped)
	sum := sha512.Sum512(statuses.Tarball)
	hex512 := hex.EncodeToString(sum[:])

	sums := func(inv invocation, spec string, extra ...string) result {
		args := append([]string{"sums", "--published", spec, "--cache", t.TempDir()}, extra...)
		return reproof(t, inv, args...)
	}
	r := sums(invocation{}, "npm:statuses@2.0.2", "--npm-registry", reg.URL)
	if r.code != 0 {
		t.Fatalf("sums --published npm:statuses@2.0.2: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"npm registry metadata of statuses@2.0.2: markdown manifest, 2 checksums",
		"statuses-2.0.2.tgz: OK (",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("sums --published npm:statuses@2.0.2: output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = sums(invocation{env: []string{"npm_config_registry=" + reg.URL}}, "npm:@isaacs/string-locale-compare@1.1.0")
	if r.code != 0 || !strings.Contains(r.stdout, "string-locale-compare-1.1.0.tgz: OK (") {
		t.Errorf("sums --published npm:@isaacs/string-locale-compare@1.1.0 with npm_config_registry: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	r = sums(invocation{}, "npm:statuses@9.9.9", "--npm-registry", reg.URL)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 2 || r.stdout != "" || len(lines) != 1 ||
		!strings.Contains(r.stderr, "npm:statuses@9.9.9") || !strings.Contains(r.stderr, "no version 9.9.9") {
		t.Errorf("sums --published npm:statuses@9.9.9: exit %d, stdout %q, stderr %q; want exit 2 and one line naming the source", r.code, r.stdout, r.stderr)
	}

	reg.Edit(func(name string, doc map[string]any) {
		doc["dist"].(map[string]any)["integrity"] = scoped.Integrity // another package's
	})
	r = sums(invocation{}, "npm:statuses@2.0.2", "--npm-registry", reg.URL)
	if r.code != 1 || !strings.Contains(r.stdout, "statuses-2.0.2.tgz: FAILED: sha512 in npm registry metadata of statuses@2.0.2") ||
		!strings.Contains(r.stdout, "the published file has "+hex512) {
		t.Errorf("sums --published with a lying integrity: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSumsCheckSRI checks files against SRI lines ("sha512-<base64>
// name") with `sums --check`.
func TestSumsCheckSRI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	statuses := testenv.NPMFixture(t, "statuses", "2.0.2", "sha512-DvEy55V3DB7uknRo+4iOGT5fP1slR8wQohVdknigZPMpMstaKJQWhwiYBACJE3Ul2pTnATihhBYnRhZQHGBiRw==")
	if err := os.WriteFile(filepath.Join(dir, "statuses-2.0.2.tgz"), statuses.Tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.tgz"), []byte("not the tarball\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := statuses.Integrity + "  statuses-2.0.2.tgz\n" + statuses.Integrity + "  other.tgz\n"
	if err := os.WriteFile(filepath.Join(dir, "INTEGRITY"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	r := reproof(t, invocation{dir: dir}, "sums", "--check", "INTEGRITY")
	if r.code != 1 || !strings.Contains(r.stdout, "statuses-2.0.2.tgz: OK") || !strings.Contains(r.stdout, "other.tgz: FAILED") {
		t.Errorf("sums --check INTEGRITY (SRI lines): exit %d, want 1 with one OK and one FAILED\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
