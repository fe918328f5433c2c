package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// goreleaserRelease writes a goreleaser-shaped release directory: two
// archives, an SBOM of one (listed in the checksums, as goreleaser lists
// them), app_1.2.3_checksums.txt, its detached binary signature made by
// the key of home, and a certificate. script runs last, in the directory.
func goreleaserRelease(t *testing.T, home, script string) string {
	t.Helper()
	testenv.RequireTools(t, "sh", "tar", "gzip", "sha256sum", "gpg")
	dir := t.TempDir()
	e2eShell(t, dir, []string{"GNUPGHOME=" + home}, `
mkdir src && echo 'app binary' >src/app
tar -C src -czf app_1.2.3_linux_amd64.tar.gz app
tar -C src -czf app_1.2.3_darwin_arm64.tar.gz app
rm -r src
echo '{"spdxVersion": "SPDX-2.3", "name": "app_1.2.3_linux_amd64.tar.gz"}' >app_1.2.3_linux_amd64.tar.gz.sbom.json
sha256sum app_1.2.3_darwin_arm64.tar.gz app_1.2.3_linux_amd64.tar.gz app_1.2.3_linux_amd64.tar.gz.sbom.json >app_1.2.3_checksums.txt
gpg --batch --yes --pinentry-mode loopback --passphrase '' --detach-sign --output app_1.2.3_checksums.txt.sig app_1.2.3_checksums.txt 2>/dev/null
printf -- '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' >app_1.2.3_checksums.txt.pem
`+script)
	return dir
}

// TestSumsPublishedDetachedSignatures checks a goreleaser-shaped release
// end to end through `reproof sums --published DIR`: its checksums file
// is found by name and its detached signature checked with gpgv; the
// signature, certificate and SBOM are side files, not artifacts; a bad
// signature (a key not in the keyring, or a checksums file edited after
// signing) fails the release naming the manifest and the signer's key; a
// signature whose file is not published is reported.
func TestSumsPublishedDetachedSignatures(t *testing.T) {
	t.Parallel()
	home, keyring := sumsSigningKey(t, signerUID)
	_, otherKeyring := sumsSigningKey(t, "Someone Else <stranger@example.org>")
	// The signer's key id, which gpgv names when the keyring lacks it.
	signerID := ""
	for _, line := range strings.Split(string(e2eShell(t, home, []string{"GNUPGHOME=" + home}, `gpg --batch --with-colons --list-keys`)), "\n") {
		if f := strings.Split(line, ":"); f[0] == "pub" && len(f) > 4 {
			signerID = f[4]
		}
	}
	if signerID == "" {
		t.Fatal("gpg --list-keys printed no key id")
	}
	good := goreleaserRelease(t, home, "")
	edited := goreleaserRelease(t, home, `echo 'app binary, patched' | gzip >app_1.2.3_darwin_arm64.tar.gz
sha256sum app_1.2.3_darwin_arm64.tar.gz app_1.2.3_linux_amd64.tar.gz app_1.2.3_linux_amd64.tar.gz.sbom.json >app_1.2.3_checksums.txt`)
	orphan := goreleaserRelease(t, home, `echo 'sig' >app_1.2.3_windows_amd64.zip.sig`)

	const m = "app_1.2.3_checksums.txt"
	oks := []string{
		m + ".pem: certificate (a side file, not an artifact), no checksum published\n",
		m + ".sig: signature (a side file, not an artifact), no checksum published\n",
		"app_1.2.3_darwin_arm64.tar.gz: OK (sha256 from " + m + ":1)\n",
		"app_1.2.3_linux_amd64.tar.gz: OK (sha256 from " + m + ":2)\n",
		"app_1.2.3_linux_amd64.tar.gz.sbom.json: OK (sha256 from " + m + ":3)\n",
	}
	for _, tc := range []struct {
		name    string
		dir     string
		keyring string
		code    int
		want    []string // lines of stdout, in order
		stderr  string   // regexp
	}{
		{"the signer's keyring", good, keyring, 0,
			append([]string{m + ": coreutils manifest, 3 checksums, signature OK (" + signerUID + "), detached: " + m + ".sig\n"}, oks...), `^$`},
		{"no keyring", good, "", 0,
			append([]string{m + ": coreutils manifest, 3 checksums, signature NOT checked (no --keyring), detached: " + m + ".sig\n"}, oks...), `^$`},
		{"signed by a key not in the keyring", good, otherKeyring, 1, []string{
			m + ": coreutils manifest, 3 checksums, signature BAD (" + m + ".sig: NO_PUBKEY " + signerID + "), detached: " + m + ".sig\n",
			"app_1.2.3_darwin_arm64.tar.gz: FAILED: sha256 in " + m + ":1 is not trusted: " + m + " has a BAD signature (" + m + ".sig: NO_PUBKEY " + signerID + ")\n",
			"app_1.2.3_linux_amd64.tar.gz: FAILED: sha256 in " + m + ":2 is not trusted: ",
			"app_1.2.3_linux_amd64.tar.gz.sbom.json: FAILED: sha256 in " + m + ":3 is not trusted: ",
		}, `^reproof: sums: WARNING: 4 published files or signatures do NOT match the release's own checksums\n$`},
		{"checksums edited after signing", edited, keyring, 1, []string{
			m + ": coreutils manifest, 3 checksums, signature BAD (" + m + ".sig: BADSIG ",
			"app_1.2.3_darwin_arm64.tar.gz: FAILED: sha256 in " + m + ":1 is not trusted: " + m + " has a BAD signature (" + m + ".sig: BADSIG ",
		}, `WARNING: 4 published files or signatures do NOT match`},
		{"a signature of a file that is not published", orphan, keyring, 0, []string{
			m + ": coreutils manifest, 3 checksums, signature OK (" + signerUID + ")",
			"app_1.2.3_windows_amd64.zip.sig: signature (a side file, not an artifact), no checksum published\n",
			"app_1.2.3_windows_amd64.zip.sig: signature of app_1.2.3_windows_amd64.zip, which the release does not publish: nothing checked\n",
		}, `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"sums", "--published", tc.dir, "--cache", t.TempDir()}
			if tc.keyring != "" {
				args = append(args, "--keyring", tc.keyring)
			}
			r := reproof(t, invocation{}, args...)
			rest, ok := r.stdout, true
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					ok = false
					t.Errorf("reproof %q: stdout has no %q (in order)", args, w)
					continue
				}
				rest = rest[i+len(w):]
			}
			if r.code != tc.code || !regexp.MustCompile(tc.stderr).MatchString(r.stderr) || !ok {
				t.Errorf("reproof %q = exit %d, stderr %q; want %d, stderr matching %q\nstdout:\n%s", args, r.code, r.stderr, tc.code, tc.stderr, r.stdout)
			}
			if strings.Contains(r.stdout, "NO CHECKSUM") {
				t.Errorf("reproof %q: a side file was taken for an artifact:\n%s", args, r.stdout)
			}
		})
	}

	t.Run("the checksums file named with --checksums", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"app_1.2.3_linux_amd64.tar.gz", m, m + ".sig"} {
			data, err := os.ReadFile(filepath.Join(good, name))
			if err != nil {
				t.Fatal(err)
			}
			// A name no pattern knows.
			name = strings.Replace(name, m, "release-digests", 1)
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args := []string{"sums", "--published", dir, "--cache", t.TempDir(), "--checksums", "release-digests", "--keyring", keyring}
		r := reproof(t, invocation{}, args...)
		want := "release-digests: coreutils manifest, 3 checksums, signature OK (" + signerUID + "), detached: release-digests.sig\n"
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "app_1.2.3_linux_amd64.tar.gz: OK (sha256 from release-digests:2)") {
			t.Errorf("reproof %q = exit %d, stdout\n%s\nstderr %q; want 0 and %q", args, r.code, r.stdout, r.stderr, want)
		}
	})
}
