package release

// Tests of ParseManifest over manifests written at test time by the real
// tools (sha256sum, sha512sum, their -b and --tag modes, gpg --clearsign
// with a throwaway key) and over the committed samples of
// testdata/manifests: every parsed checksum is compared field by field,
// line numbers included, and every malformed variant fails with a
// ParseError that names the file and the line.

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// runScript runs script with sh -e in dir, in the C locale and UTC, with
// env added, and returns its stdout.
func runScript(tb testing.TB, dir string, env []string, script string, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command("sh", append([]string{"-ec", script, "sh"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "LC_ALL=C", "TZ=UTC"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("sh -ec %q %q in %s: %v\n%s", script, args, dir, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// signingKey is a throwaway OpenPGP key in a GNUPGHOME of its own.
type signingKey struct {
	uid     string
	home    string // GNUPGHOME
	keyring string // its public key, exported for gpgv
}

func (k signingKey) env() []string { return []string{"GNUPGHOME=" + k.home} }

// newSigningKey makes an ed25519 signing key with no passphrase. The
// gpg-agent it starts is stopped when the test ends.
func newSigningKey(tb testing.TB, uid string) signingKey {
	tb.Helper()
	testenv.RequireTools(tb, "sh", "gpg", "gpgconf")
	k := signingKey{uid: uid, home: tb.TempDir()}
	k.keyring = filepath.Join(k.home, "keys.gpg")
	tb.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), k.env()...)
		if out, err := kill.CombinedOutput(); err != nil {
			tb.Errorf("gpgconf --kill gpg-agent: %v %s", err, out)
		}
	})
	runScript(tb, k.home, k.env(), `
gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "$1" ed25519 sign never
gpg --batch --export "$1" >keys.gpg`, uid)
	return k
}

// clearsignScript clear-signs $2 into $3 with the key of $GNUPGHOME.
const clearsignScript = `gpg --batch --yes --pinentry-mode loopback --passphrase '' --clearsign --output "$3" "$2"`

// sampleFile is a file the manifests vouch for.
type sampleFile struct{ name, content string }

var sampleFiles = []sampleFile{
	{"app-1.0.tar.gz", "app 1.0 tarball\n"},
	{"release notes 1.0.txt", "a name with spaces\n"},
	{`back\slash.bin`, "coreutils escapes this name with a leading backslash\n"},
	{"-x", "a name that starts with a dash\n"},
	{"line\nbreak", "a name with a newline\n"},
	{"lix-2.91.0.tar.xz", "lix source tarball\n"},
	{"lix-2.91.0-x86_64-linux.tar.xz", "lix binary tarball\n"},
	{"base-20240101.0.204817.tar.zst", "archlinux base rootfs\n"},
}

var (
	// allNames is every sample file with a name worth escaping.
	allNames = []string{"app-1.0.tar.gz", "release notes 1.0.txt", `back\slash.bin`, "-x", "line\nbreak"}
	// plainNames need no escaping.
	plainNames = []string{"app-1.0.tar.gz", "release notes 1.0.txt", "-x"}
)

// nimbusPlatforms are the headings of nimbus-eth2's checksum block.
var nimbusPlatforms = []string{"Linux AMD64", "Linux ARM64", "Linux ARM", "Windows AMD64", "macOS AMD64", "macOS ARM64"}

// nimbusBinaries are the binaries listed under a platform heading.
func nimbusBinaries(platform string) []string {
	ext := ""
	if strings.HasPrefix(platform, "Windows") {
		ext = ".exe"
	}
	return []string{"build/nimbus_beacon_node" + ext, "build/nimbus_validator_client" + ext}
}

// nimbusContent is what the sample binary of a platform holds (the recipe
// of testdata/manifests/nimbus-release-body.md).
func nimbusContent(binary, platform string) string {
	return filepath.Base(binary) + " " + platform + "\n"
}

// makeSamples writes the sample files, and one directory per nimbus
// platform holding its binaries, into a new directory.
func makeSamples(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, f := range sampleFiles {
		writeSample(tb, filepath.Join(dir, f.name), f.content)
	}
	for _, p := range nimbusPlatforms {
		for _, b := range nimbusBinaries(p) {
			writeSample(tb, filepath.Join(dir, platformDir(p), b), nimbusContent(b, p))
		}
	}
	return dir
}

func platformDir(platform string) string { return strings.ReplaceAll(platform, " ", "_") }

func writeSample(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// digestHex computes a digest with the standard library, independently
// of the code under test.
func digestHex(tb testing.TB, alg Algorithm, content string) string {
	tb.Helper()
	switch alg {
	case SHA256:
		sum := sha256.Sum256([]byte(content))
		return hex.EncodeToString(sum[:])
	case SHA512:
		sum := sha512.Sum512([]byte(content))
		return hex.EncodeToString(sum[:])
	}
	tb.Fatalf("digestHex: no reference for %s", alg)
	return ""
}

func sampleContent(tb testing.TB, dir, file string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// lineOf is the 1-based number of the first line of data holding s.
func lineOf(tb testing.TB, data []byte, s string) int {
	tb.Helper()
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			return i + 1
		}
	}
	tb.Fatalf("no line holds %q in:\n%s", s, data)
	return 0
}

// wantEntry is a checksum a manifest must yield: its digest is computed
// from file, its line is the manifest line that holds the digest.
type wantEntry struct {
	file    string // relative to the sample directory
	name    string // the name the manifest lists; "" means file
	section string
	alg     Algorithm
	binary  bool
}

func each(alg Algorithm, binary bool, files ...string) []wantEntry {
	var out []wantEntry
	for _, f := range files {
		out = append(out, wantEntry{file: f, alg: alg, binary: binary})
	}
	return out
}

// toolCase is a manifest written by the real tools.
type toolCase struct {
	name     string
	manifest string   // written under the sample directory
	script   string   // sh -e in the sample directory; $1 is the manifest, then args
	args     []string // the files it lists
	signed   bool     // needs $GNUPGHOME (clear-signed)
	layout   Layout
	want     []wantEntry
}

// nimbusBodyScript writes a release body in nimbus-eth2's shape: notes,
// a shell example, then "## SHA512 checksums" with one fenced block
// grouped by platform, made by sha512sum in each platform's directory.
const nimbusBodyScript = `
m=$1
{
	printf 'Nimbus v24.10.0 is a low-urgency release.\n\n### Fixes\n\n- Fix a crash\n\n'
	printf '## Verifying\n\n` + "```" + `sh\nsha512sum -c build/nimbus_beacon_node.sha512sum\n` + "```" + `\n\n'
	printf '## SHA512 checksums\n\n` + "```" + `text\n'
	for p in "Linux AMD64" "Linux ARM64" "Linux ARM" "Windows AMD64" "macOS AMD64" "macOS ARM64"; do
		echo "# $p"
		d=$(echo "$p" | tr ' ' _)
		(cd "$d" && sha512sum build/*)
	done
	printf '` + "```" + `\n'
} >"$m"`

func nimbusWant() []wantEntry {
	var out []wantEntry
	for _, p := range nimbusPlatforms {
		for _, b := range nimbusBinaries(p) {
			out = append(out, wantEntry{file: filepath.Join(platformDir(p), b), name: b, section: p, alg: SHA512})
		}
	}
	return out
}

var realToolCases = []toolCase{
	{name: "sha256sum text lines", manifest: "SHA256SUMS",
		script: `m=$1; shift; sha256sum -- "$@" >"$m"`, args: allNames,
		layout: LayoutCoreutils, want: each(SHA256, false, allNames...)},
	{name: "sha512sum text lines", manifest: "SHA512SUMS",
		script: `m=$1; shift; sha512sum -- "$@" >"$m"`, args: allNames,
		layout: LayoutCoreutils, want: each(SHA512, false, allNames...)},
	{name: "sha256sum -b binary lines", manifest: "SHA256SUMS.binary",
		script: `m=$1; shift; sha256sum -b -- "$@" >"$m"`, args: allNames,
		layout: LayoutCoreutils, want: each(SHA256, true, allNames...)},
	{name: "sha256sum --tag BSD lines", manifest: "SHA256SUMS.bsd",
		script: `m=$1; shift; sha256sum --tag -- "$@" >"$m"`, args: allNames,
		layout: LayoutBSD, want: each(SHA256, false, allNames...)},
	{name: "sha512sum --tag BSD lines", manifest: "SHA512SUMS.bsd",
		script: `m=$1; shift; sha512sum --tag -- "$@" >"$m"`, args: allNames,
		layout: LayoutBSD, want: each(SHA512, false, allNames...)},
	{name: "coreutils and BSD lines mixed", manifest: "mixed.txt",
		script: `m=$1; sha256sum -- "$2" >"$m"; sha512sum --tag -- "$3" >>"$m"`, args: []string{"app-1.0.tar.gz", "-x"},
		layout: LayoutBSD, want: []wantEntry{{file: "app-1.0.tar.gz", alg: SHA256}, {file: "-x", alg: SHA512}}},
	{name: "CRLF line endings", manifest: "SHA256SUMS.crlf",
		script: `m=$1; shift; sha256sum -- "$@" | sed 's/$/\r/' >"$m"`, args: plainNames,
		layout: LayoutCoreutils, want: each(SHA256, false, plainNames...)},
	{name: "checksums.txt", manifest: "checksums.txt",
		script: `m=$1; shift; sha256sum -- "$@" >"$m"`, args: plainNames,
		layout: LayoutCoreutils, want: each(SHA256, false, plainNames...)},
	{name: "a name listed twice with the same digest is kept once", manifest: "twice.txt",
		script: `m=$1; shift; sha256sum -- "$@" "$@" >"$m"`, args: plainNames[:2],
		layout: LayoutCoreutils, want: each(SHA256, false, plainNames[:2]...)},
	{name: "NAME.sha256sum sidecar", manifest: "app-1.0.tar.gz.sha256sum",
		script: `sha256sum -- "$2" >"$1"`, args: []string{"app-1.0.tar.gz"},
		layout: LayoutSidecar, want: each(SHA256, false, "app-1.0.tar.gz")},
	{name: "nimbus-eth2 build/<bin>.sha512sum in the archive", manifest: "archive/build/nimbus_beacon_node.sha512sum",
		script: `mkdir -p archive/build; cp Linux_AMD64/build/nimbus_beacon_node archive/build/
cd archive && sha512sum build/nimbus_beacon_node >../"$1"`,
		layout: LayoutSidecar, want: []wantEntry{{file: "archive/build/nimbus_beacon_node", name: "build/nimbus_beacon_node", alg: SHA512}}},
	{name: "Lix NAME.sha256: bare hex and a newline", manifest: "lix-2.91.0.tar.xz.sha256",
		script: `sha256sum -- "$2" | cut -d' ' -f1 >"$1"`, args: []string{"lix-2.91.0.tar.xz"},
		layout: LayoutSidecar, want: each(SHA256, false, "lix-2.91.0.tar.xz")},
	{name: "Lix NAME.sha256: bare hex, no newline", manifest: "lix-2.91.0-x86_64-linux.tar.xz.sha256",
		script: `printf %s "$(sha256sum -- "$2" | cut -d' ' -f1)" >"$1"`, args: []string{"lix-2.91.0-x86_64-linux.tar.xz"},
		layout: LayoutSidecar, want: each(SHA256, false, "lix-2.91.0-x86_64-linux.tar.xz")},
	{name: "NAME.sha512: bare SHA-512 hex", manifest: "app-1.0.tar.gz.sha512",
		script: `sha512sum -- "$2" | cut -d' ' -f1 >"$1"`, args: []string{"app-1.0.tar.gz"},
		layout: LayoutSidecar, want: each(SHA512, false, "app-1.0.tar.gz")},
	{name: "archlinux-docker NAME.SHA256: one coreutils line", manifest: "base-20240101.0.204817.tar.zst.SHA256",
		script: `sha256sum -- "$2" >"$1"`, args: []string{"base-20240101.0.204817.tar.zst"},
		layout: LayoutSidecar, want: each(SHA256, false, "base-20240101.0.204817.tar.zst")},
	{name: "nimbus-eth2 release body: one name under each platform heading", manifest: "release-body.md",
		script: nimbusBodyScript, layout: LayoutMarkdown, want: nimbusWant()},
	{name: "release body that opens with a link", manifest: "release-notes.md",
		script: `m=$1; shift
{
	printf '[Full changelog](https://example.org/compare/v0.9...v1.0)\n\n## Checksums\n\n~~~\n'
	sha256sum -- "$@"
	printf '~~~\n'
} >"$m"`, args: plainNames,
		layout: LayoutMarkdown, want: []wantEntry{
			{file: plainNames[0], section: "Checksums", alg: SHA256},
			{file: plainNames[1], section: "Checksums", alg: SHA256},
			{file: plainNames[2], section: "Checksums", alg: SHA256},
		}},
	{name: "Bitcoin Core style clear-signed SHA256SUMS", manifest: "SHA256SUMS.asc", signed: true,
		args: allNames, layout: LayoutCoreutils, want: each(SHA256, false, allNames...),
		script: `m=$1; shift; sha256sum -- "$@" >unsigned-sums; set -- x unsigned-sums "$m"; ` + clearsignScript},
	{name: "Monero style clear-signed hashes.txt with comments", manifest: "hashes.txt", signed: true,
		script: `m=$1
{
	echo '# This GPG-signed message exists to confirm the SHA256 sums of the binaries.'
	echo '#'
	echo '## CLI'
	sha256sum -- "$2"
	echo '#'
	echo '## GUI'
	sha256sum -- "$3"
} >unsigned-hashes
set -- x unsigned-hashes "$m"
` + clearsignScript, args: []string{"lix-2.91.0.tar.xz", "lix-2.91.0-x86_64-linux.tar.xz"},
		layout: LayoutCoreutils, want: each(SHA256, false, "lix-2.91.0.tar.xz", "lix-2.91.0-x86_64-linux.tar.xz")},
	{name: "clear-signed release body with dash-escaped lines", manifest: "signed-body.md", signed: true,
		script: `m=$1; shift
{
	printf 'Release 1.0\n\n- fixed a crash\n-- the release team\nFrom now on binaries are signed.\n\n## Checksums\n\n` + "```" + `\n'
	sha256sum -- "$@"
	printf '` + "```" + `\n'
} >unsigned-body
set -- x unsigned-body "$m"
` + clearsignScript + `
grep -q '^- - fixed a crash$' "$m"   # gpg dash-escaped the list item
grep -q '^- -- the release team$' "$m"`,
		args: plainNames, layout: LayoutMarkdown, want: []wantEntry{
			{file: plainNames[0], section: "Checksums", alg: SHA256},
			{file: plainNames[1], section: "Checksums", alg: SHA256},
			{file: plainNames[2], section: "Checksums", alg: SHA256},
		}},
	{name: "clear-signed bare-hex sidecar", manifest: "signed/lix-2.91.0.tar.xz.sha256", signed: true,
		args: []string{"lix-2.91.0.tar.xz"}, layout: LayoutSidecar, want: each(SHA256, false, "lix-2.91.0.tar.xz"),
		script: `m=$1; mkdir -p signed; sha256sum -- "$2" | cut -d' ' -f1 >unsigned-sidecar; set -- x unsigned-sidecar "$m"; ` + clearsignScript},
}

// writeManifest runs a case's script in dir and returns the manifest.
func writeManifest(tb testing.TB, dir string, key signingKey, tc toolCase) []byte {
	tb.Helper()
	var env []string
	if tc.signed {
		env = key.env()
	}
	runScript(tb, dir, env, tc.script, append([]string{tc.manifest}, tc.args...)...)
	data, err := os.ReadFile(filepath.Join(dir, tc.manifest))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// TestParseManifestRealTools parses a manifest of each layout written by
// the real tools and checks every checksum exactly: name, section,
// algorithm, digest, mode, source and line (for a clear-signed manifest,
// the line in the signed file).
func TestParseManifestRealTools(t *testing.T) {
	testenv.RequireTools(t, "sh", "sed", "cut", "sha256sum", "sha512sum")
	dir := makeSamples(t)
	key := newSigningKey(t, "Reproof Test Signer <signer@example.org>")
	for _, tc := range realToolCases {
		t.Run(tc.name, func(t *testing.T) {
			data := writeManifest(t, dir, key, tc)
			m, err := ParseManifest(tc.manifest, data)
			if err != nil {
				t.Fatalf("ParseManifest(%q) = %v, want no error; manifest:\n%s", tc.manifest, err, data)
			}
			var want []Checksum
			for _, w := range tc.want {
				name := w.name
				if name == "" {
					name = w.file
				}
				digest := digestHex(t, w.alg, sampleContent(t, dir, w.file))
				want = append(want, Checksum{Name: name, Section: w.section, Algorithm: w.alg, Digest: digest,
					Binary: w.binary, Source: tc.manifest, Line: lineOf(t, data, digest)})
			}
			if !slices.Equal(m.Checksums, want) {
				t.Errorf("ParseManifest(%q) checksums:\n%s\nwant:\n%s\nmanifest:\n%s", tc.manifest, dump(m.Checksums), dump(want), data)
			}
			if m.Layout != tc.layout {
				t.Errorf("ParseManifest(%q).Layout = %q, want %q", tc.manifest, m.Layout, tc.layout)
			}
			if m.Source != tc.manifest {
				t.Errorf("ParseManifest(%q).Source = %q", tc.manifest, m.Source)
			}
			wantSig := Signature{Signed: tc.signed}
			if m.Signature != wantSig {
				t.Errorf("ParseManifest(%q).Signature = %+v, want %+v", tc.manifest, m.Signature, wantSig)
			}
			if len(m.Indexed) != 0 {
				t.Errorf("ParseManifest(%q).Indexed = %v, want none", tc.manifest, m.Indexed)
			}
		})
	}
}

func dump(cs []Checksum) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %+v\n", c)
	}
	return b.String()
}

// TestCommittedSamples parses the committed nimbus-eth2 release body and
// Garage index (testdata/manifests).
func TestCommittedSamples(t *testing.T) {
	t.Run("nimbus-release-body.md", func(t *testing.T) {
		const source = "testdata/manifests/nimbus-release-body.md"
		data, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseManifest(source, data)
		if err != nil {
			t.Fatalf("ParseManifest(%q) = %v", source, err)
		}
		var want []Checksum
		for _, p := range nimbusPlatforms {
			for _, b := range nimbusBinaries(p) {
				// The recipe of the sample (see its README): recomputed here.
				d := digestHex(t, SHA512, nimbusContent(b, p))
				want = append(want, Checksum{Name: b, Section: p, Algorithm: SHA512, Digest: d, Source: source, Line: lineOf(t, data, d)})
			}
		}
		if !slices.Equal(m.Checksums, want) {
			t.Errorf("ParseManifest(%q) checksums:\n%s\nwant:\n%s", source, dump(m.Checksums), dump(want))
		}
		if m.Layout != LayoutMarkdown || m.Signature.Signed {
			t.Errorf("ParseManifest(%q) layout %q, signed %v; want markdown, unsigned", source, m.Layout, m.Signature.Signed)
		}
		// The same name under five headings: five checksums, found by the
		// file's base name too.
		var sections []string
		for _, c := range m.Lookup("nimbus_beacon_node") {
			sections = append(sections, c.Section)
		}
		if want := []string{"Linux AMD64", "Linux ARM64", "Linux ARM", "macOS AMD64", "macOS ARM64"}; !slices.Equal(sections, want) {
			t.Errorf("Lookup(%q) sections = %q, want %q", "nimbus_beacon_node", sections, want)
		}
	})

	t.Run("garage-releases.json", func(t *testing.T) {
		const source = "testdata/manifests/garage-releases.json"
		data, err := os.ReadFile(source)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseManifest(source, data)
		if err != nil {
			t.Fatalf("ParseManifest(%q) = %v", source, err)
		}
		const base = "https://garagehq.deuxfleurs.fr/_releases/"
		build := func(category, version, date, platform string, size int64) IndexedArtifact {
			return IndexedArtifact{Category: category, Name: "garage", URL: base + version + "/" + platform + "/garage",
				Path: "/_releases/" + version + "/" + platform + "/garage", Platform: platform, Version: version, Size: size, Date: date}
		}
		// Categories in key order, builds in document order.
		want := []IndexedArtifact{
			build("Development", "0e8c5e2d1c7b4a3f9e8d7c6b5a4f3e2d1c0b9a8f", "2024-11-02", "x86_64-unknown-linux-musl", 24641536),
			build("Extra", "v1.0.1", "2024-09-21", "armv6l-unknown-linux-musleabihf", 21233664),
			build("Extra", "v1.0.1", "2024-09-21", "i686-unknown-linux-musl", 23986176),
			build("Release", "v1.0.1", "2024-09-21", "x86_64-unknown-linux-musl", 24510464),
			build("Release", "v1.0.1", "2024-09-21", "aarch64-unknown-linux-musl", 22937600),
			build("Release", "v0.9.4", "2024-04-10", "x86_64-unknown-linux-musl", 23068672),
		}
		if !slices.Equal(m.Indexed, want) {
			t.Errorf("ParseManifest(%q).Indexed =\n%+v\nwant\n%+v", source, m.Indexed, want)
		}
		if m.Layout != LayoutJSONIndex || len(m.Checksums) != 0 {
			t.Errorf("ParseManifest(%q): layout %q with %d checksums, want %q with none (no published checksum)",
				source, m.Layout, len(m.Checksums), LayoutJSONIndex)
		}
	})
}

// malformedCase is a manifest that must be refused.
type malformedCase struct {
	name   string
	source string
	data   []byte
	line   int    // the ParseError's Line; 0: the manifest as a whole
	msg    string // in the error message
}

// replaceLine returns data with its 1-based line n replaced.
func replaceLine(tb testing.TB, data []byte, n int, edit func(string) string) []byte {
	tb.Helper()
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		tb.Fatalf("replaceLine: no line %d in %d lines", n, len(lines))
	}
	lines[n-1] = edit(lines[n-1])
	return []byte(strings.Join(lines, "\n"))
}

// malformedCases derives every malformed variant from manifests written
// by the real tools in dir.
func malformedCases(tb testing.TB, dir string, key signingKey) []malformedCase {
	tb.Helper()
	sums := runScript(tb, dir, nil, `sha256sum -- "$@"`, plainNames...)
	line2 := strings.Split(string(sums), "\n")[1]
	digest2 := line2[:64]
	tagged := runScript(tb, dir, nil, `sha256sum --tag -- "$@"`, plainNames...)
	blake := runScript(tb, dir, nil, `b2sum --tag -- "$@"`, plainNames...)
	bare := runScript(tb, dir, nil, `sha256sum -- "$1" | cut -d' ' -f1`, "app-1.0.tar.gz")
	body, err := os.ReadFile("testdata/manifests/nimbus-release-body.md")
	if err != nil {
		tb.Fatal(err)
	}
	index, err := os.ReadFile("testdata/manifests/garage-releases.json")
	if err != nil {
		tb.Fatal(err)
	}
	runScript(tb, dir, key.env(), `sha256sum -- "$@" >to-sign; set -- x to-sign signed-for-malformed; `+clearsignScript, plainNames...)
	signed, err := os.ReadFile(filepath.Join(dir, "signed-for-malformed"))
	if err != nil {
		tb.Fatal(err)
	}
	sigAt := lineOf(tb, signed, pgpSigBegin)
	signedLines := strings.Split(strings.TrimSuffix(string(signed), "\n"), "\n")

	otherDigest := digestHex(tb, SHA256, "another build\n")
	fence := lineOf(tb, body, "```text")
	arm64 := lineOf(tb, body, "# Linux ARM64")
	huge := bytes.Repeat(sums, maxManifestSize/len(sums)+1)

	return []malformedCase{
		{"digest one hex digit short", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return l[:63] + l[64:] }), 2, "digest of 63 hex digits matches no algorithm"},
		{"digest one hex digit long", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return "0" + l }), 2, "digest of 65 hex digits matches no algorithm"},
		{"non-hex digit in the digest", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return l[:10] + "g" + l[11:] }), 2, "not a checksum line"},
		{"one space between digest and name", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return strings.Replace(l, "  ", " ", 1) }), 2, "want two spaces"},
		{"missing name after two spaces", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return digest2 + "  " }), 2, "empty file name"},
		{"missing name: digest alone", "SHA256SUMS",
			replaceLine(tb, sums, 2, func(l string) string { return digest2 }), 2, "not a checksum line"},
		{"unknown escape in an escaped name", "SHA256SUMS",
			replaceLine(tb, sums, 3, func(l string) string { return `\` + digest2 + `  a\qb` }), 3, `unknown escape \q`},
		{"escaped name ending in a lone backslash", "SHA256SUMS",
			replaceLine(tb, sums, 1, func(l string) string { return `\` + l + `\` }), 1, "lone backslash"},
		{"unknown BSD tag (b2sum --tag)", "B2SUMS", blake, 1, `unknown digest algorithm "BLAKE2b"`},
		{"BSD tag whose length disagrees", "SHA512SUMS",
			replaceLine(tb, tagged, 2, func(l string) string { return strings.Replace(l, "SHA256", "SHA512", 1) }), 2, "SHA512 digest of 64 hex digits, want 128"},
		{"empty name in a BSD line", "SHA256SUMS",
			replaceLine(tb, tagged, 3, func(l string) string { return "SHA256 () = " + digest2 }), 3, "empty file name"},
		{"a name listed twice with two digests", "SHA256SUMS",
			append(bytes.Clone(sums), otherDigest+"  "+plainNames[0]+"\n"...), 4, `"app-1.0.tar.gz" listed again with another sha256 digest (first at line 1)`},
		{"a BSD name listed twice with two digests", "SHA256SUMS",
			append(bytes.Clone(tagged), "SHA256 (-x) = "+otherDigest+"\n"...), 4, `"-x" listed again`},
		{"a bare digest in a file whose name names no file", "digest.txt", bare, 1, "does not say which file it is for"},
		{"a bare digest in a file named for no file (SHA256SUMS)", "SHA256SUMS", bare, 1, "does not say which file it is for"},
		{"a .sha512 sidecar holding a 64-digit digest", "app-1.0.tar.gz.sha512", bare, 1, "a sha256 digest in a .sha512 file"},
		{"a .sha512 sidecar holding a sha256sum line", "app-1.0.tar.gz.sha512",
			sums[:bytes.IndexByte(sums, '\n')+1], 1, "a sha256 digest in a .sha512 file"},
		{"a .sha256 sidecar holding 50 hex digits", "app-1.0.tar.gz.sha256", bare[14:], 1, "digest of 50 hex digits matches no algorithm"},
		{"unclosed Markdown fence", "release-body.md",
			body[:bytes.LastIndex(body, []byte("```"))], fence, "fenced block opened here is never closed"},
		{"Markdown checksum block with a garbage line", "release-body.md",
			replaceLine(tb, body, arm64, func(l string) string { return l + "\n(built on the CI)" }), arm64 + 1, "not a checksum line"},
		{"Markdown checksum block with a malformed checksum line", "release-body.md",
			replaceLine(tb, body, arm64+1, func(l string) string { return strings.Replace(l, "  ", " ", 1) }), arm64 + 1, "want two spaces"},
		{"release body with no checksum block", "release-body.md", body[:bytes.Index(body, []byte("## SHA512"))], 0, "no checksum lines in any fenced block"},
		{"PGP message without signature block", "SHA256SUMS.asc",
			[]byte(strings.Join(signedLines[:sigAt-1], "\n") + "\n"), sigAt - 1, "signed message has no signature block"},
		{"PGP signature block not closed", "SHA256SUMS.asc",
			[]byte(strings.Join(signedLines[:len(signedLines)-1], "\n") + "\n"), len(signedLines) - 1, "signature block is not closed"},
		{"unsigned text after the signature", "SHA256SUMS.asc",
			append(bytes.Clone(signed), "\n"+otherDigest+"  evil.tar.gz\n"...), len(signedLines) + 2, "unsigned text after the signature"},
		{"PGP armour header without a colon", "SHA256SUMS.asc",
			replaceLine(tb, signed, 2, func(l string) string { return "Hash SHA512" }), 2, "bad armour header"},
		{"PGP signed message with a second one inside", "SHA256SUMS.asc",
			replaceLine(tb, signed, 4, func(l string) string { return pgpBegin }), 4, "a second signed message"},
		{"a malformed line inside a signed message", "SHA256SUMS.asc",
			replaceLine(tb, signed, 5, func(l string) string { return strings.Replace(l, "  ", " ", 1) }), 5, "want two spaces"},
		{"empty file", "SHA256SUMS", nil, 0, "empty manifest"},
		{"blank lines only", "SHA256SUMS", []byte("\n \r\n\t\n"), 0, "empty manifest"},
		{"comments only", "SHA256SUMS", []byte("# no checksums yet\n"), 0, "no checksum lines"},
		{"JSON document listing no artifact", "_releases.json", []byte(`{"Release": [], "Extra": [{"version": "v1.0.1"}]}`), 0, "lists no artifact"},
		{"JSON nested deeper than an index goes", "_releases.json",
			[]byte(strings.Repeat(`{"a":`, 40) + `{"url":"https://example.org/x"}` + strings.Repeat("}", 40)), 0, "nested deeper than 32 levels"},
		{"JSON depth bomb", "_releases.json", bytes.Repeat([]byte("["), 1<<20), 1, "exceeded max depth"},
		{"JSON with data after the document", "_releases.json", append(bytes.Clone(index), "\n\n{}\n"...), bytes.Count(index, []byte("\n")) + 3, "data after the JSON document"},
		{"JSON syntax error", "_releases.json", bytes.Replace(index, []byte(`"Extra": [`), []byte(`"Extra" [`), 1),
			lineOf(tb, index, `"Extra"`), "not valid JSON"},
		{"truncated JSON", "_releases.json", index[:len(index)/2], 0, "not valid JSON"},
		{"manifest over 16 MiB", "SHA256SUMS", huge, 0, fmt.Sprintf("%d bytes is too large", len(huge))},
	}
}

// TestParseManifestMalformed feeds every malformed variant: each is an
// error wrapping ErrMalformed, a *ParseError with the right line, whose
// message names the file (and the line).
func TestParseManifestMalformed(t *testing.T) {
	testenv.RequireTools(t, "sh", "cut", "sha256sum", "b2sum")
	dir := makeSamples(t)
	key := newSigningKey(t, "Reproof Test Signer <signer@example.org>")
	for _, tc := range malformedCases(t, dir, key) {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest(tc.source, tc.data)
			if err == nil {
				t.Fatalf("ParseManifest(%q) = %d checksums, %d indexed, want an error; input:\n%s", tc.source, len(m.Checksums), len(m.Indexed), clip(string(tc.data)))
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseManifest(%q) error %v does not wrap ErrMalformed", tc.source, err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseManifest(%q) error %T %v, want a *ParseError", tc.source, err, err)
			}
			if pe.Line != tc.line || pe.Source != tc.source {
				t.Errorf("ParseManifest(%q) error at %s:%d, want %s:%d (%v)", tc.source, pe.Source, pe.Line, tc.source, tc.line, err)
			}
			prefix := tc.source + ": "
			if tc.line > 0 {
				prefix = fmt.Sprintf("%s:%d: ", tc.source, tc.line)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.msg) {
				t.Errorf("ParseManifest(%q) error %q, want %q... saying %q", tc.source, msg, prefix, tc.msg)
			}
		})
	}
}

// TestClearsignedRoundTrip clear-signs texts with gpg (which dash-escapes
// lines starting with "-" and, by default, "From ") and checks that the
// unwrapped body is the text that was signed, line for line.
func TestClearsignedRoundTrip(t *testing.T) {
	key := newSigningKey(t, "Reproof Test Signer <signer@example.org>")
	dir := t.TempDir()
	for _, text := range []string{
		"- a list item\n-x\n--\n-----BEGIN PGP SIGNATURE-----\nFrom the release team\n",
		"0123  -x\n\n# comment\n- - already dashed\n",
		"no final newline",
	} {
		in := filepath.Join(dir, "in")
		writeSample(t, in, text)
		runScript(t, dir, key.env(), clearsignScript, "x", "in", "out")
		signed, err := os.ReadFile(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "\n-x") && !bytes.Contains(signed, []byte("\n- -x\n")) {
			t.Fatalf("gpg did not dash-escape %q; the case proves nothing:\n%s", "-x", signed)
		}
		body, first, err := unwrapClearsigned("out", signed)
		if err != nil {
			t.Fatalf("unwrapClearsigned(gpg --clearsign %q) = %v", text, err)
		}
		want := strings.TrimSuffix(text, "\n") + "\n"
		if string(body) != want {
			t.Errorf("unwrapClearsigned(gpg --clearsign %q) = %q, want %q", text, body, want)
		}
		if first != lineOf(t, signed, strings.SplitN(text, "\n", 2)[0]) {
			t.Errorf("unwrapClearsigned(gpg --clearsign %q) first line %d, want the line of %q in:\n%s", text, first, strings.SplitN(text, "\n", 2)[0], signed)
		}
	}
}

// TestVerifySignature checks clear-signed manifests with gpgv: the right
// keyring accepts them and names the signer; another key's keyring, a
// tampered digest and a missing keyring do not pass.
func TestVerifySignature(t *testing.T) {
	testenv.RequireTools(t, "sh", "sed", "sha256sum", "gpgv")
	dir := makeSamples(t)
	signer := newSigningKey(t, "Reproof Test Signer <signer@example.org>")
	stranger := newSigningKey(t, "Someone Else <stranger@example.org>")
	runScript(t, dir, signer.env(), `sha256sum -- "$@" >SHA256SUMS; set -- x SHA256SUMS SHA256SUMS.asc; `+clearsignScript, plainNames...)
	signed := filepath.Join(dir, "SHA256SUMS.asc")
	data, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	// Tampered: one digest changed in the signed text, still well-formed.
	d := digestHex(t, SHA256, sampleContent(t, dir, plainNames[1]))
	tampered := filepath.Join(dir, "tampered.asc")
	writeSample(t, tampered, strings.Replace(string(data), d, digestHex(t, SHA256, "evil\n"), 1))
	if m, err := ParseManifest(tampered, []byte(sampleContent(t, dir, "tampered.asc"))); err != nil || !m.Signature.Signed {
		t.Fatalf("the tampered manifest does not parse as signed (%v); the case proves nothing", err)
	}

	for _, tc := range []struct {
		name     string
		manifest string
		keyring  string
		valid    bool
		detail   string // in Detail when not valid
	}{
		{"right keyring", signed, signer.keyring, true, ""},
		{"another key's keyring", signed, stranger.keyring, false, "NO_PUBKEY"},
		{"tampered digest", tampered, signer.keyring, false, "BADSIG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := VerifySignature(t.Context(), tc.manifest, tc.keyring)
			if err != nil {
				t.Fatalf("VerifySignature(%q, %q) = %v", tc.manifest, tc.keyring, err)
			}
			if !sig.Signed || !sig.Checked || sig.Valid != tc.valid {
				t.Errorf("VerifySignature(%q, %q) = %+v, want signed, checked, valid %v", tc.manifest, tc.keyring, sig, tc.valid)
			}
			if tc.valid && sig.Signer != signer.uid {
				t.Errorf("VerifySignature: signer %q, want %q", sig.Signer, signer.uid)
			}
			if !tc.valid && !strings.Contains(sig.Detail, tc.detail) {
				t.Errorf("VerifySignature(%q, %q).Detail = %q, want it to say %q", tc.manifest, tc.keyring, sig.Detail, tc.detail)
			}
		})
	}

	t.Run("missing keyring", func(t *testing.T) {
		missing := filepath.Join(dir, "no-such-keyring.gpg")
		if _, err := VerifySignature(t.Context(), signed, missing); err == nil || !strings.Contains(err.Error(), "keyring") {
			t.Errorf("VerifySignature(%q, %q) error = %v, want one about the keyring", signed, missing, err)
		}
	})
}
