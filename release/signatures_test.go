package release

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// detachScript signs $1 into $2 with the key of $GNUPGHOME: armored when
// $3 is "armor", binary otherwise.
const detachScript = `
if [ "$3" = armor ]; then a=--armor; else a=; fi
gpg --batch --yes --pinentry-mode loopback --passphrase '' $a --detach-sign --output "$2" "$1"`

// keyID returns the long key id of the key in k's GNUPGHOME, as gpgv
// names it in NO_PUBKEY.
func keyID(tb testing.TB, k signingKey) string {
	tb.Helper()
	out := runScript(tb, k.home, k.env(), `gpg --batch --with-colons --list-keys "$1"`, k.uid)
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "pub" && len(f) > 4 {
			return f[4]
		}
	}
	tb.Fatalf("gpg --list-keys %q printed no pub line:\n%s", k.uid, out)
	return ""
}

// TestCheckPublishedDetachedSignatures checks releases with detached
// signatures made by real gpg: a good one with the signer's keyring is
// accepted and names the signer; a manifest edited after signing, or one
// signed by a key not in the keyring, distrusts every checksum of the
// manifest (the files become checksum-mismatch, naming the manifest and
// the signer's key id); without a keyring the signature is "not
// checked"; a signature whose file is not published is reported.
func TestCheckPublishedDetachedSignatures(t *testing.T) {
	testenv.RequireTools(t, "sh", "gpg", "gpgv", "sha256sum")
	signer := newSigningKey(t, "Release Signer <signer@example.org>")
	stranger := newSigningKey(t, "Someone Else <stranger@example.org>")
	strangerID := keyID(t, stranger)
	// release writes a release directory: two files, SHA256SUMS, and
	// whatever script adds (run with the signer's key, $S the stranger's
	// GNUPGHOME).
	release := func(t *testing.T, script string) string {
		dir := t.TempDir()
		runScript(t, dir, append(signer.env(), "S="+stranger.home), `
echo 'app 1.0' >app-1.0.tar.gz
echo 'app 1.0 zip' >app-1.0.zip
sha256sum app-1.0.tar.gz app-1.0.zip >SHA256SUMS
sign() { sh -ec "$DETACH" sh "$@"; }
`+script, "")
		return dir
	}
	t.Setenv("DETACH", detachScript) // read by release's scripts

	type want struct {
		manifestSig string // regexp over "checked=B valid=B detail" of SHA256SUMS
		assets      AssetStatus
		distrust    string // regexp the files' checksums' Distrust must match, "" none
		signatures  string // "name>signs>target" of each detached signature, sorted, comma-joined
	}
	for _, tc := range []struct {
		name, script string
		keyring      string
		want         want
	}{
		{"armored .asc, signer's keyring", `sign SHA256SUMS SHA256SUMS.asc armor`, signer.keyring,
			want{`^checked=true valid=true signer=Release Signer`, StatusOK, "", "SHA256SUMS.asc>SHA256SUMS>manifest"}},
		{"binary .sig, signer's keyring", `sign SHA256SUMS SHA256SUMS.sig binary`, signer.keyring,
			want{`^checked=true valid=true signer=Release Signer`, StatusOK, "", "SHA256SUMS.sig>SHA256SUMS>manifest"}},
		{"binary .gpg, signer's keyring", `sign SHA256SUMS SHA256SUMS.gpg binary`, signer.keyring,
			want{`^checked=true valid=true`, StatusOK, "", "SHA256SUMS.gpg>SHA256SUMS>manifest"}},
		{"manifest edited after signing", `sign SHA256SUMS SHA256SUMS.asc armor; echo "# edited" >>SHA256SUMS`, signer.keyring,
			want{`^checked=true valid=false .*SHA256SUMS\.asc: BADSIG`, StatusMismatch, `^SHA256SUMS has a BAD signature \(SHA256SUMS\.asc: BADSIG`, "SHA256SUMS.asc>SHA256SUMS>manifest"}},
		{"signed by a key not in the keyring", `GNUPGHOME=$S sign SHA256SUMS SHA256SUMS.sig binary`, signer.keyring,
			want{`^checked=true valid=false .*NO_PUBKEY ` + strangerID, StatusMismatch, `^SHA256SUMS has a BAD signature \(.*NO_PUBKEY ` + strangerID, "SHA256SUMS.sig>SHA256SUMS>manifest"}},
		{"one good and one bad signature", `sign SHA256SUMS SHA256SUMS.asc armor; GNUPGHOME=$S sign SHA256SUMS SHA256SUMS.sig binary`, signer.keyring,
			want{`^checked=true valid=false .*NO_PUBKEY`, StatusMismatch, `BAD signature`, "SHA256SUMS.asc>SHA256SUMS>manifest,SHA256SUMS.sig>SHA256SUMS>manifest"}},
		{"no keyring", `sign SHA256SUMS SHA256SUMS.asc armor`, "",
			want{`^checked=false valid=false detail=not checked: no keyring given$`, StatusOK, "", "SHA256SUMS.asc>SHA256SUMS>manifest"}},
		{"a cosign signature is not checked", `echo MEUCIQDfakecosignsignature= >SHA256SUMS.sig`, signer.keyring,
			want{`^checked=false valid=false detail=not an OpenPGP signature`, StatusOK, "", "SHA256SUMS.sig>SHA256SUMS>manifest"}},
		{"a signature whose file is not published", `echo gone >gone.tar.gz; sign gone.tar.gz gone.tar.gz.asc armor; rm gone.tar.gz`, signer.keyring,
			want{`^checked=false valid=false detail=$`, StatusOK, "", "gone.tar.gz.asc>gone.tar.gz>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := release(t, tc.script)
			src, err := NewDirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := CheckPublished(t.Context(), src, NewFetcher(src, t.TempDir(), SourceOptions{}), CheckOptions{Keyring: tc.keyring})
			if err != nil {
				t.Fatalf("CheckPublished(%q) = %v", tc.name, err)
			}
			if len(pc.Manifests) != 1 || pc.Manifests[0].Name != "SHA256SUMS" {
				t.Fatalf("CheckPublished(%q).Manifests = %+v, want SHA256SUMS alone", tc.name, pc.Manifests)
			}
			sig := pc.Manifests[0].Signature
			got := "checked=" + bs(sig.Checked) + " valid=" + bs(sig.Valid)
			if sig.Signer != "" {
				got += " signer=" + sig.Signer
			} else {
				got += " detail=" + sig.Detail
			}
			if !regexp.MustCompile(tc.want.manifestSig).MatchString(got) {
				t.Errorf("CheckPublished(%q) SHA256SUMS signature = %q, want it to match %q", tc.name, got, tc.want.manifestSig)
			}
			for _, a := range pc.Assets {
				if a.Name != "app-1.0.tar.gz" && a.Name != "app-1.0.zip" {
					if a.Side == "" {
						t.Errorf("CheckPublished(%q) asset %q has no side kind: a signature is not an artifact", tc.name, a.Name)
					}
					continue
				}
				if a.Status != tc.want.assets {
					t.Errorf("CheckPublished(%q) %s status = %v, want %v", tc.name, a.Name, a.Status, tc.want.assets)
				}
				for _, c := range a.Checksums {
					if (tc.want.distrust == "") != (c.Distrust == "") || !regexp.MustCompile(tc.want.distrust).MatchString(c.Distrust) {
						t.Errorf("CheckPublished(%q) %s distrust = %q, want %q", tc.name, a.Name, c.Distrust, tc.want.distrust)
					}
				}
			}
			var sigs []string
			for _, s := range pc.Signatures {
				sigs = append(sigs, s.Name+">"+s.Signs+">"+s.Target)
			}
			if strings.Join(sigs, ",") != tc.want.signatures {
				t.Errorf("CheckPublished(%q).Signatures = %q, want %q", tc.name, sigs, tc.want.signatures)
			}
		})
	}

	t.Run("a file's own signature", func(t *testing.T) {
		dir := release(t, `sign app-1.0.tar.gz app-1.0.tar.gz.asc armor; sign app-1.0.zip app-1.0.zip.sig binary
echo 'tampered zip' >app-1.0.zip; sha256sum app-1.0.tar.gz app-1.0.zip >SHA256SUMS`)
		src, err := NewDirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := CheckPublished(t.Context(), src, NewFetcher(src, t.TempDir(), SourceOptions{}), CheckOptions{Keyring: signer.keyring})
		if err != nil {
			t.Fatalf("CheckPublished = %v", err)
		}
		got := map[string]string{}
		for _, a := range pc.Assets {
			s := string(a.Status)
			if a.Signature != nil {
				s += " valid=" + bs(a.Signature.Valid)
			}
			got[a.Name] = s
		}
		want := map[string]string{"app-1.0.tar.gz": "ok valid=true", "app-1.0.zip": "checksum-mismatch valid=false",
			"app-1.0.tar.gz.asc": "no-checksum", "app-1.0.zip.sig": "no-checksum"}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("CheckPublished %s = %q, want %q (all: %v)", name, got[name], w, got)
			}
		}
	})

	t.Run("a clear-signed SHA256SUMS.asc is a manifest", func(t *testing.T) {
		dir := release(t, `gpg --batch --yes --pinentry-mode loopback --passphrase '' --clearsign --output SHA256SUMS.asc SHA256SUMS; rm SHA256SUMS`)
		src, err := NewDirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := CheckPublished(t.Context(), src, NewFetcher(src, t.TempDir(), SourceOptions{}), CheckOptions{Keyring: stranger.keyring})
		if err != nil {
			t.Fatalf("CheckPublished = %v", err)
		}
		if len(pc.Manifests) != 1 || pc.Manifests[0].Name != "SHA256SUMS.asc" || pc.Manifests[0].Signature.Valid || len(pc.Signatures) != 0 {
			t.Fatalf("CheckPublished manifests = %+v, signatures %+v; want SHA256SUMS.asc, its signature bad", pc.Manifests, pc.Signatures)
		}
		for _, a := range pc.Assets {
			if a.Status != StatusMismatch {
				t.Errorf("CheckPublished %s = %v, want %v: a bad clear signature vouches for nothing", a.Name, a.Status, StatusMismatch)
			}
		}
	})
}

func bs(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestSideFileKind checks the side file table, every pattern and the
// look-alikes that are artifacts.
func TestSideFileKind(t *testing.T) {
	for _, tc := range []struct {
		name string
		want SideKind
	}{
		{"SHA256SUMS.asc", SideSignature},
		{"app.tar.gz.sig", SideSignature},
		{"SHA256SUMS.gpg", SideSignature},
		{"app.tar.gz.minisig", SideSignature},
		{"APP.TAR.GZ.ASC", SideSignature},
		{"dist/app.tar.gz.sig", SideSignature},
		{"app.tar.gz.sigstore.json", SideSigstore},
		{"app.tar.gz.sigstore", SideSigstore},
		{"checksums.txt.bundle", SideSigstore},
		{"multiple.intoto.jsonl", SideAttestation},
		{"checksums.txt.pem", SideCertificate},
		{"app.cert", SideCertificate},
		{"ca.crt", SideCertificate},
		{"app.spdx.json", SideSBOM},
		{"app.spdx", SideSBOM},
		{"app.cdx.json", SideSBOM},
		{"app.cdx.xml", SideSBOM},
		{"app_1.2.3_linux_amd64.tar.gz.sbom.json", SideSBOM},
		{"bom.json", SideSBOM},
		{"sbom.json", SideSBOM},
		// Look-alikes: artifacts.
		{"app.pem.tar.gz", ""},
		{"sbom-tool", ""},
		{"sbom-tool_linux_amd64.tar.gz", ""},
		{"signal.tar.gz", ""},
		{"app.sig.zip", ""},
		{"app.asc.tar.xz", ""},
		{"bundle", ""},
		{"app.json", ""},
		{".asc", ""},
		{"cert-manager", ""},
		{"SHA256SUMS", ""},
		{"app.tar.gz.sha256", ""},
	} {
		if got := SideFileKind(tc.name); got != tc.want {
			t.Errorf("SideFileKind(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if got := IsSideFile(tc.name); got != (tc.want != "") {
			t.Errorf("IsSideFile(%q) = %v, want %v", tc.name, got, tc.want != "")
		}
	}
	// Every row of the table is exercised above.
	for _, p := range SideFilePatterns {
		if SideFileKind("x"+p.Suffix) != p.Kind {
			t.Errorf("SideFileKind(%q) = %q, want %q", "x"+p.Suffix, SideFileKind("x"+p.Suffix), p.Kind)
		}
	}
}

// TestIsManifestName checks the manifest name table: every pattern, side
// files that look like manifests, and artifacts.
func TestIsManifestName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"SHA256SUMS", true},
		{"SHA512SUMS", true},
		{"SHA256SUMS.txt", true},
		{"sha256sums.txt", true},
		{"MD5SUMS", true},
		{"SHASUMS256.txt", true},
		{"checksums.txt", true},
		{"app_1.2.3_checksums.txt", true},
		{"app-1.2.3-checksums.txt", true},
		{"CHECKSUMS", true},
		{"CHECKSUMS.sha256", true},
		{"app.tar.gz.sha256", true},
		{"app.tar.gz.SHA256", true},
		{"app.tar.gz.sha512", true},
		{"app.tar.gz.sha384", true},
		{"app.tar.gz.sha224", true},
		{"app.tar.gz.sha1", true},
		{"app.tar.gz.md5", true},
		{"app.tar.gz.sha256sum", true},
		{"app.tar.gz.sha512sum", true},
		{"app.tar.gz.sha384sum", true},
		{"app.tar.gz.sha224sum", true},
		{"app.tar.gz.sha1sum", true},
		{"app.tar.gz.md5sum", true},
		{"dist/SHA256SUMS", true},
		// Side files and artifacts.
		{"SHA256SUMS.asc", false},
		{"SHA256SUMS.sig", false},
		{"checksums.txt.pem", false},
		{"app_1.2.3_checksums.txt.sig", false},
		{"app.tar.gz", false},
		{"checksum-tool.tar.gz", false},
		{"SHASUMS256.txt.asc", false},
		{"sha256.go", false},
	} {
		if got := IsManifestName(tc.name); got != tc.want {
			t.Errorf("IsManifestName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestManifestTableDocumented: every manifest and side file pattern is in
// the table of docs/guide.md, and the guide names no pattern the code
// lacks.
func TestManifestTableDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	const heading = "### Which files are checksum manifests, signatures and side files"
	i := strings.Index(guide, heading)
	if i < 0 {
		t.Fatalf("docs/guide.md has no section %q", heading)
	}
	section := guide[i+len(heading):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var documented []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(section, -1) {
		documented = append(documented, strings.ToLower(m[1]))
	}
	for _, p := range ManifestPatterns {
		if !slices.Contains(documented, p.Glob) {
			t.Errorf("docs/guide.md does not document the manifest pattern %q", p.Glob)
		}
	}
	for _, p := range SideFilePatterns {
		if !slices.Contains(documented, "*"+p.Suffix) {
			t.Errorf("docs/guide.md does not document the side file pattern %q", "*"+p.Suffix)
		}
	}
}
