package main_test

// End-to-end tests of `reproof sums` through the built binary, against
// the real coreutils and gpg: the lines it writes are sha256sum's byte for
// byte; --check reads every manifest layout, agrees with sha256sum -c on
// which files pass, and reports the signature of a clear-signed manifest.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// sumsFile is a file the manifests of these tests list.
type sumsFile struct{ name, content string }

var sumsFiles = []sumsFile{
	{"app-1.0.tar.gz", "app 1.0 tarball\n"},
	{"notes 1.0.txt", "a name with spaces\n"},
	{`back\slash.bin`, "a name coreutils escapes\n"},
	{"-x", "a name that looks like a flag\n"},
	{"line\nbreak", "a name with a newline\n"},
}

// sumsNames are the names of sumsFiles, in order.
func sumsNames() []string {
	var names []string
	for _, f := range sumsFiles {
		names = append(names, f.name)
	}
	return names
}

// sumsFixtures writes sumsFiles, a file of 3 MiB and a nimbus-style build
// directory into a new directory.
func sumsFixtures(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "sh", "sha256sum", "sha512sum", "cut", "sed")
	dir := t.TempDir()
	for _, f := range sumsFiles {
		writeFile(t, filepath.Join(dir, f.name), []byte(f.content))
	}
	e2eShell(t, dir, nil, `
head -c 3145728 /dev/zero | tr '\0' 'z' >big.bin
mkdir build
printf 'nimbus_beacon_node Linux AMD64\n' >build/nimbus_beacon_node
`)
	return dir
}

// sumsSigningKey makes a throwaway ed25519 key in a GNUPGHOME of its own
// and returns that home and the exported public keyring (for gpgv). The
// gpg-agent it starts is stopped when the test ends.
func sumsSigningKey(t *testing.T, uid string) (home, keyring string) {
	t.Helper()
	testenv.RequireTools(t, "gpg", "gpgconf", "gpgv")
	home = t.TempDir()
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		if out, err := kill.CombinedOutput(); err != nil {
			t.Errorf("gpgconf --kill gpg-agent: %v %s", err, out)
		}
	})
	e2eShell(t, home, []string{"GNUPGHOME=" + home}, `
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "$1" ed25519 sign never 2>/dev/null
gpg --batch --export "$1" >keys.gpg`, uid)
	return home, filepath.Join(home, "keys.gpg")
}

// clearsign signs $1 into $2 with the key of $GNUPGHOME.
const clearsign = `gpg --batch --yes --pinentry-mode loopback --passphrase '' --clearsign --output "$2" "$1" 2>/dev/null`

const signerUID = "Reproof Test Signer <signer@example.org>"

// TestSumsMatchesCoreutils checks that `reproof sums` writes what
// sha256sum, sha512sum and their --tag mode write, byte for byte, names
// that need escaping included, in the order given.
func TestSumsMatchesCoreutils(t *testing.T) {
	t.Parallel()
	dir := sumsFixtures(t)
	names := append(sumsNames(), "big.bin", "build/nimbus_beacon_node", "cr\rname")
	writeFile(t, filepath.Join(dir, "cr\rname"), []byte("a name with a carriage return\n"))
	for _, tc := range []struct {
		flags []string
		tool  string
	}{
		{nil, "sha256sum"},
		{[]string{"--algo", "sha256"}, "sha256sum"},
		{[]string{"--algo", "sha512"}, "sha512sum"},
		{[]string{"--bsd"}, "sha256sum --tag"},
		{[]string{"--bsd", "--algo", "sha512"}, "sha512sum --tag"},
		{[]string{"--jobs", "1"}, "sha256sum"},
	} {
		t.Run(strings.Join(append([]string{"reproof sums"}, tc.flags...), " ")+" vs "+tc.tool, func(t *testing.T) {
			want := e2eShell(t, dir, nil, tc.tool+` -- "$@"`, names...)
			args := append(append([]string{"sums"}, tc.flags...), "--")
			r := reproof(t, invocation{dir: dir}, append(args, names...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("reproof %q = exit %d, stderr %q; want 0 and nothing", args, r.code, r.stderr)
			}
			if r.stdout != string(want) {
				t.Errorf("reproof %q wrote\n%q\nwant (%s)\n%q", args, r.stdout, tc.tool, want)
			}
		})
	}

	t.Run("a missing file", func(t *testing.T) {
		r := reproof(t, invocation{dir: dir}, "sums", "--", "app-1.0.tar.gz", "no-such-file", "-x")
		want := string(e2eShell(t, dir, nil, `sha256sum -- app-1.0.tar.gz -x`))
		if r.code != 2 || r.stdout != want || !strings.HasPrefix(r.stderr, `reproof: sums: "no-such-file": `) {
			t.Errorf("reproof sums with a missing file = exit %d, stdout %q, stderr %q; want 2, the other files' lines, one error", r.code, r.stdout, r.stderr)
		}
	})
}

// checkLayout is a manifest layout --check must read.
type checkLayout struct {
	name     string
	manifest string
	script   string   // writes $1 in the fixture directory; the listed files follow
	files    []string // the files it lists
	signed   bool     // clear-signed with $GNUPGHOME's key
	// coreutils is the tool whose -c must agree with us; "" when it
	// cannot read the layout (a bare digest, a release body).
	coreutils string
	// labels are the names --check prints, when not the files'.
	labels []string
}

func checkLayouts() []checkLayout {
	plain := []string{"app-1.0.tar.gz", "notes 1.0.txt", "-x", "big.bin"}
	escaped := []string{"app-1.0.tar.gz", `back\slash.bin`, "line\nbreak", "big.bin"}
	return []checkLayout{
		{name: "sha256sum", manifest: "SHA256SUMS", script: `m=$1; shift; sha256sum -- "$@" >"$m"`, files: escaped, coreutils: "sha256sum"},
		{name: "sha512sum", manifest: "SHA512SUMS", script: `m=$1; shift; sha512sum -- "$@" >"$m"`, files: escaped, coreutils: "sha512sum"},
		{name: "sha256sum -b", manifest: "SHA256SUMS.bin", script: `m=$1; shift; sha256sum -b -- "$@" >"$m"`, files: plain, coreutils: "sha256sum"},
		{name: "sha256sum --tag", manifest: "SHA256SUMS.bsd", script: `m=$1; shift; sha256sum --tag -- "$@" >"$m"`, files: escaped, coreutils: "sha256sum"},
		{name: "sha512sum --tag", manifest: "SHA512SUMS.bsd", script: `m=$1; shift; sha512sum --tag -- "$@" >"$m"`, files: plain, coreutils: "sha512sum"},
		{name: "CRLF lines", manifest: "checksums.txt", script: `m=$1; shift; sha256sum -- "$@" | sed 's/$/\r/' >"$m"`, files: plain, coreutils: "sha256sum"},
		{name: "NAME.sha256sum", manifest: "big.bin.sha256sum", script: `sha256sum -- "$2" >"$1"`, files: []string{"big.bin"}, coreutils: "sha256sum"},
		{name: "archlinux NAME.SHA256", manifest: "app-1.0.tar.gz.SHA256", script: `sha256sum -- "$2" >"$1"`, files: []string{"app-1.0.tar.gz"}, coreutils: "sha256sum"},
		{name: "Lix NAME.sha256 with a newline", manifest: "app-1.0.tar.gz.sha256", script: `sha256sum -- "$2" | cut -d' ' -f1 >"$1"`, files: []string{"app-1.0.tar.gz"}},
		{name: "Lix NAME.sha256 without a newline", manifest: "big.bin.sha256", script: `printf %s "$(sha256sum -- "$2" | cut -d' ' -f1)" >"$1"`, files: []string{"big.bin"}},
		{name: "bare NAME.sha512", manifest: "-x.sha512", script: `sha512sum -- "$2" | cut -d' ' -f1 >"$1"`, files: []string{"-x"}},
		{name: "release body", manifest: "RELEASE.md", script: `m=$1; shift
{
	printf '[Changelog](https://example.org/changelog)\n\n## SHA512 checksums\n\n` + "```" + `text\n# Source\n'
	sha512sum -- "$1" "$2"
	printf '# Linux AMD64\n'
	sha512sum build/nimbus_beacon_node
	printf '` + "```" + `\n'
} >"$m"`, files: []string{"app-1.0.tar.gz", "big.bin", "build/nimbus_beacon_node"},
			labels: []string{"app-1.0.tar.gz (Source)", "big.bin (Source)", "build/nimbus_beacon_node (Linux AMD64)"}},
		{name: "clear-signed SHA256SUMS", manifest: "SHA256SUMS.asc", signed: true,
			script: `m=$1; shift; sha256sum -- "$@" >unsigned; set -- unsigned "$m"; ` + clearsign, files: escaped},
	}
}

// write makes the layout's manifest in dir; home is GNUPGHOME.
func (l checkLayout) write(t *testing.T, dir, home string) {
	t.Helper()
	var env []string
	if l.signed {
		env = []string{"GNUPGHOME=" + home}
	}
	e2eShell(t, dir, env, l.script, append([]string{l.manifest}, l.files...)...)
}

// label is what --check prints for the i-th listed file: coreutils
// escapes a name holding a newline.
func (l checkLayout) label(i int) string {
	if l.labels != nil {
		return l.labels[i]
	}
	name := l.files[i]
	if strings.Contains(name, "\n") {
		return `\` + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(name)
	}
	return name
}

// TestSumsCheckLayouts runs --check on a manifest of every layout: all
// files good; one modified; one missing.
func TestSumsCheckLayouts(t *testing.T) {
	t.Parallel()
	home, _ := sumsSigningKey(t, signerUID)
	for _, l := range checkLayouts() {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			dir := sumsFixtures(t)
			l.write(t, dir, home)
			header := ""
			if l.signed {
				header = l.manifest + ": signature NOT checked (no --keyring)\n"
			}
			results := func(status map[int]string) string {
				out := header
				for i := range l.files {
					s, ok := status[i]
					if !ok {
						s = "OK"
					}
					out += l.label(i) + ": " + s + "\n"
				}
				return out
			}

			r := reproof(t, invocation{dir: dir}, "sums", "--check", l.manifest)
			if r.code != 0 || r.stdout != results(nil) || r.stderr != "" {
				t.Errorf("all good: exit %d, stdout\n%s\nstderr %q; want 0 and\n%s", r.code, r.stdout, r.stderr, results(nil))
			}

			last := len(l.files) - 1
			e2eShell(t, dir, nil, `printf 'changed\n' >>"$1"`, l.files[last])
			r = reproof(t, invocation{dir: dir}, "sums", "--check", l.manifest)
			want := results(map[int]string{last: "FAILED"})
			if r.code != 1 || r.stdout != want || r.stderr != "reproof: sums: WARNING: 1 computed checksum did NOT match\n" {
				t.Errorf("%s modified: exit %d, stdout\n%s\nstderr %q; want 1, the warning and\n%s", l.files[last], r.code, r.stdout, r.stderr, want)
			}

			if err := os.Remove(filepath.Join(dir, l.files[0])); err != nil {
				t.Fatal(err)
			}
			r = reproof(t, invocation{dir: dir}, "sums", "--check", l.manifest)
			status := map[int]string{last: "FAILED", 0: "FAILED open or read"}
			if last == 0 {
				status = map[int]string{0: "FAILED open or read"}
			}
			if want := results(status); r.code != 1 || r.stdout != want || !strings.Contains(r.stderr, "WARNING: 1 listed file could not be read") {
				t.Errorf("%s missing: exit %d, stdout\n%s\nstderr %q; want 1 and\n%s", l.files[0], r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

// TestSumsCheckAgreesWithCoreutils runs `reproof sums --check` and
// `sha256sum -c` (or sha512sum -c) on the same manifests and files, some
// good, one modified, one missing: the same lines on stdout and the same
// exit code.
func TestSumsCheckAgreesWithCoreutils(t *testing.T) {
	t.Parallel()
	for _, l := range checkLayouts() {
		if l.coreutils == "" {
			continue
		}
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			dir := sumsFixtures(t)
			l.write(t, dir, "")
			for _, step := range []struct {
				name   string
				script string
			}{
				{"all good", `:`},
				{"one modified", `printf 'changed\n' >>"$1"`},
				{"one missing", `rm -f -- "$2"`},
			} {
				e2eShell(t, dir, nil, step.script, l.files[len(l.files)-1], l.files[0])
				cmd := exec.Command(l.coreutils, "-c", l.manifest)
				cmd.Dir = dir
				want, err := cmd.Output()
				wantCode := 0
				if ee, ok := err.(*exec.ExitError); ok {
					wantCode = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				r := reproof(t, invocation{dir: dir}, "sums", "--check", l.manifest)
				if r.stdout != string(want) || r.code != wantCode {
					t.Errorf("%s: reproof sums --check = exit %d,\n%s\n%s -c = exit %d,\n%s", step.name, r.code, r.stdout, l.coreutils, wantCode, want)
				}
			}
		})
	}
}

// TestSumsCheckSameNameUnderTwoHeadings checks a release body that lists
// one binary under two platform headings: two results, keyed by heading.
func TestSumsCheckSameNameUnderTwoHeadings(t *testing.T) {
	t.Parallel()
	dir := sumsFixtures(t)
	e2eShell(t, dir, nil, `
{
	printf '## SHA512 checksums\n\n`+"```"+`text\n# Linux AMD64\n'
	sha512sum build/nimbus_beacon_node
	printf '# Linux ARM64\n'
	printf 'nimbus_beacon_node Linux ARM64\n' | sha512sum | sed 's|-$|build/nimbus_beacon_node|'
	printf '`+"```"+`\n'
} >RELEASE.md`)
	r := reproof(t, invocation{dir: dir}, "sums", "--check", "RELEASE.md")
	want := "build/nimbus_beacon_node (Linux AMD64): OK\nbuild/nimbus_beacon_node (Linux ARM64): FAILED\n"
	if r.code != 1 || r.stdout != want {
		t.Errorf("reproof sums --check RELEASE.md = exit %d,\n%s\nwant 1,\n%s", r.code, r.stdout, want)
	}
}

// A manifest is hostile input: names and headings holding terminal escape
// sequences are shown escaped (sha256sum -c prints them raw), with the
// leading backslash that marks an escaped name.
func TestSumsCheckControlCharacters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e2eShell(t, dir, nil, `
printf 'x' >"$(printf 'red\033[31mname')"
printf 'y' >"$(printf 'back\\slash\033]0;t\007')"
files=$(ls)
{
	printf '## SHA256 checksums\n\n`+"```"+`text\n# Linux \033[2J\n'
	sha256sum -- $files
	printf '`+"```"+`\n'
} >RELEASE.md`)
	r := reproof(t, invocation{dir: dir}, "sums", "--check", "RELEASE.md")
	want := `\back\\slash\x1b]0;t\a (Linux \x1b[2J): OK` + "\n" + `\red\x1b[31mname (Linux \x1b[2J): OK` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("reproof sums --check = exit %d,\n%q\nwant 0,\n%q\n%s", r.code, r.stdout, want, r.stderr)
	}
}

// TestSumsCheckMalformed gives --check malformed manifests: exit 2 and one
// line "reproof: sums: MANIFEST:LINE: ...", nothing on stdout.
func TestSumsCheckMalformed(t *testing.T) {
	t.Parallel()
	home, _ := sumsSigningKey(t, signerUID)
	dir := sumsFixtures(t)
	sums := string(e2eShell(t, dir, nil, `sha256sum -- app-1.0.tar.gz -x big.bin`))
	lines := strings.SplitAfter(sums, "\n")
	e2eShell(t, dir, []string{"GNUPGHOME=" + home}, `sha256sum -- app-1.0.tar.gz >unsigned; set -- unsigned signed.asc; `+clearsign)
	signed := string(e2eShell(t, dir, nil, `cat signed.asc`))
	for _, tc := range []struct {
		name, manifest, content string
		line                    int // 0: no line number
		msg                     string
	}{
		{"digest too short", "SHA256SUMS", lines[0] + lines[1][1:] + lines[2], 2, "digest of 63 hex digits matches no algorithm"},
		{"one space", "SHA256SUMS", lines[0] + lines[1] + strings.Replace(lines[2], "  ", " ", 1), 3, "want two spaces"},
		{"unknown BSD tag", "SUMS", "BLAKE3 (x) = " + lines[0][:64] + "\n", 1, `unknown digest algorithm "BLAKE3"`},
		{"two digests for one name", "SHA256SUMS", sums + lines[1][:64] + "  app-1.0.tar.gz\n", 4, `"app-1.0.tar.gz" listed again`},
		{"sidecar extension disagrees", "app-1.0.tar.gz.sha512", lines[0][:64] + "\n", 1, "a sha256 digest in a .sha512 file"},
		{"unclosed fence", "RELEASE.md", "## Checksums\n\n```\n" + sums, 3, "never closed"},
		{"no signature block", "SHA256SUMS.asc", signed[:strings.Index(signed, "-----BEGIN PGP SIGNATURE-----")], strings.Count(signed[:strings.Index(signed, "-----BEGIN PGP SIGNATURE-----")], "\n"), "no signature block"},
		{"unsigned text after the signature", "SHA256SUMS.asc", signed + lines[1], strings.Count(signed, "\n") + 1, "unsigned text after the signature"},
		{"empty", "SHA256SUMS", "", 0, "empty manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			writeFile(t, filepath.Join(work, tc.manifest), []byte(tc.content))
			r := reproof(t, invocation{dir: work}, "sums", "--check", tc.manifest)
			prefix := fmt.Sprintf("reproof: sums: %s: ", tc.manifest)
			if tc.line > 0 {
				prefix = fmt.Sprintf("reproof: sums: %s:%d: ", tc.manifest, tc.line)
			}
			checkFailedCleanly(t, r, tc.msg, regexp.MustCompile("^"+regexp.QuoteMeta(prefix)))
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line", r.stderr)
			}
		})
	}
}

// TestSumsCheckJSONIndex gives --check an index that lists artifacts
// without digests: exit 2, and a hint to hash them.
func TestSumsCheckJSONIndex(t *testing.T) {
	t.Parallel()
	index, err := os.ReadFile("../../release/testdata/manifests/garage-releases.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "_releases.json"), index)
	r := reproof(t, invocation{dir: dir}, "sums", "--check", "_releases.json")
	checkFailedCleanly(t, r, `"_releases.json" publishes no checksums: it indexes 6 artifacts without digests`, nil)
	if !strings.Contains(r.stderr, "\nhint: hash the artifacts yourself") {
		t.Errorf("stderr %q has no hint", r.stderr)
	}
}

// TestSumsCheckSignature checks a clear-signed manifest with and without
// --keyring: with the signer's key it says "signature OK"; with another
// key, or with a digest edited after signing, "signature BAD" and exit 1;
// --keyring on an unsigned manifest is a usage error.
func TestSumsCheckSignature(t *testing.T) {
	t.Parallel()
	home, keyring := sumsSigningKey(t, signerUID)
	_, otherKeyring := sumsSigningKey(t, "Someone Else <stranger@example.org>")
	dir := sumsFixtures(t)
	e2eShell(t, dir, []string{"GNUPGHOME=" + home}, `sha256sum -- app-1.0.tar.gz -x >SHA256SUMS; set -- SHA256SUMS SHA256SUMS.asc; `+clearsign)
	// Tampered: the digest of -x replaced by that of app-1.0.tar.gz.
	e2eShell(t, dir, nil, `
a=$(sha256sum app-1.0.tar.gz | cut -c1-64); x=$(sha256sum -- -x | cut -c1-64)
sed "s/^$x /$a /" SHA256SUMS.asc >tampered.asc
! cmp -s SHA256SUMS.asc tampered.asc`)
	oks := "app-1.0.tar.gz: OK\n-x: OK\n"

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   *regexp.Regexp
		stderrRE string
	}{
		{"no keyring", []string{"SHA256SUMS.asc"}, 0,
			regexp.MustCompile(`^SHA256SUMS\.asc: signature NOT checked \(no --keyring\)\n` + regexp.QuoteMeta(oks) + `$`), `^$`},
		{"the signer's keyring", []string{"SHA256SUMS.asc", "--keyring", keyring}, 0,
			regexp.MustCompile(`^SHA256SUMS\.asc: signature OK \(` + regexp.QuoteMeta(signerUID) + `\)\n` + regexp.QuoteMeta(oks) + `$`), `^$`},
		{"another key's keyring", []string{"SHA256SUMS.asc", "--keyring", otherKeyring}, 1,
			regexp.MustCompile(`^SHA256SUMS\.asc: signature BAD \(NO_PUBKEY [0-9A-F]+\)\n` + regexp.QuoteMeta(oks) + `$`), `^$`},
		{"a digest edited after signing", []string{"tampered.asc", "--keyring", keyring}, 1,
			regexp.MustCompile(`^tampered\.asc: signature BAD \(BADSIG [0-9A-F]+ ` + regexp.QuoteMeta(signerUID) + `\)\napp-1\.0\.tar\.gz: OK\n-x: FAILED\n$`),
			`^reproof: sums: WARNING: 1 computed checksum did NOT match\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"sums", "--check"}, tc.args...)
			r := reproof(t, invocation{dir: dir}, args...)
			if r.code != tc.code || !tc.stdout.MatchString(r.stdout) || !regexp.MustCompile(tc.stderrRE).MatchString(r.stderr) {
				t.Errorf("reproof %q = exit %d, stdout\n%s\nstderr %q; want %d, stdout matching %q, stderr matching %q",
					args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderrRE)
			}
		})
	}

	t.Run("--keyring on an unsigned manifest", func(t *testing.T) {
		r := reproof(t, invocation{dir: dir}, "sums", "--check", "SHA256SUMS", "--keyring", keyring)
		checkFailedCleanly(t, r, `--keyring given, but "SHA256SUMS" is not clear-signed and has no detached signature beside it`, nil)
	})
	// A detached signature beside the manifest (Bitcoin Core's form).
	detached := t.TempDir()
	e2eShell(t, detached, []string{"GNUPGHOME=" + home, "SRC=" + dir}, `cp "$SRC/app-1.0.tar.gz" "$SRC/-x" "$SRC/SHA256SUMS" . &&
gpg --batch --yes --pinentry-mode loopback --passphrase '' --armor --detach-sign --output SHA256SUMS.asc SHA256SUMS 2>/dev/null`)
	for _, tc := range []struct {
		name, keyring string
		code          int
		first         string
	}{
		{"detached, the signer's keyring", keyring, 0, "SHA256SUMS: signature OK (" + signerUID + "; detached: SHA256SUMS.asc)\n"},
		{"detached, another key's keyring", otherKeyring, 1, "SHA256SUMS: signature BAD (NO_PUBKEY "},
		{"detached, no keyring", "", 0, "SHA256SUMS: signature NOT checked (no --keyring; detached: SHA256SUMS.asc)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"sums", "--check", "SHA256SUMS"}
			if tc.keyring != "" {
				args = append(args, "--keyring", tc.keyring)
			}
			r := reproof(t, invocation{dir: detached}, args...)
			if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.first) || !strings.HasSuffix(r.stdout, oks) {
				t.Errorf("reproof %q = exit %d, stdout %q; want %d, starting %q, then every file OK", args, r.code, r.stdout, tc.code, tc.first)
			}
		})
	}
	t.Run("a keyring that does not exist", func(t *testing.T) {
		r := reproof(t, invocation{dir: dir}, "sums", "--check", "SHA256SUMS.asc", "--keyring", "no-such-keys.gpg")
		checkFailedCleanly(t, r, "keyring", nil)
	})
}

// TestSumsCheckDir finds the listed files under --dir, not the working
// directory.
func TestSumsCheckDir(t *testing.T) {
	t.Parallel()
	dir := sumsFixtures(t)
	e2eShell(t, dir, nil, `sha256sum -- app-1.0.tar.gz -x >SHA256SUMS`)
	r := reproof(t, invocation{}, "sums", "--check", filepath.Join(dir, "SHA256SUMS"), "--dir", dir)
	if r.code != 0 || r.stdout != "app-1.0.tar.gz: OK\n-x: OK\n" {
		t.Errorf("reproof sums --check --dir = exit %d, stdout %q, stderr %q; want 0 and two OK lines", r.code, r.stdout, r.stderr)
	}
	r = reproof(t, invocation{}, "sums", "--check", filepath.Join(dir, "SHA256SUMS"))
	if r.code != 1 || r.stdout != "app-1.0.tar.gz: FAILED open or read\n-x: FAILED open or read\n" {
		t.Errorf("reproof sums --check without --dir from elsewhere = exit %d, stdout %q; want 1, both unreadable", r.code, r.stdout)
	}
}
