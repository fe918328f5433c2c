package release

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/reproof/reproof/internal/owner"
)

const (
	pgpBegin    = "-----BEGIN PGP SIGNED MESSAGE-----"
	pgpSigBegin = "-----BEGIN PGP SIGNATURE-----"
	pgpSigEnd   = "-----END PGP SIGNATURE-----"
)

// unwrapClearsigned returns the signed text of a PGP clear-signed message
// (dash-escaping undone) and the line number its first line has in data.
// Text outside the signed message is refused: it would be unsigned.
func unwrapClearsigned(source string, data []byte) ([]byte, int, error) {
	lines := splitLines(data)
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || strings.TrimRight(lines[i], "\r") != pgpBegin {
		return nil, 0, &ParseError{Source: source, Line: i + 1, Msg: "not a PGP signed message"}
	}
	// Armour headers ("Hash: SHA256") up to a blank line.
	for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
		if !strings.Contains(lines[i], ": ") {
			return nil, 0, &ParseError{Source: source, Line: i + 1, Msg: "bad armour header in a signed message"}
		}
	}
	if i == len(lines) {
		return nil, 0, &ParseError{Source: source, Line: i, Msg: "signed message has no text"}
	}
	i++
	first := i + 1
	var body bytes.Buffer
	for ; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		if line == pgpSigBegin {
			break
		}
		if strings.HasPrefix(line, pgpBegin) {
			return nil, 0, &ParseError{Source: source, Line: i + 1, Msg: "a second signed message inside the first"}
		}
		line = strings.TrimPrefix(line, "- ")
		body.WriteString(line)
		body.WriteByte('\n')
	}
	if i == len(lines) {
		return nil, 0, &ParseError{Source: source, Line: len(lines), Msg: "signed message has no signature block"}
	}
	for ; i < len(lines) && strings.TrimRight(lines[i], "\r") != pgpSigEnd; i++ {
	}
	if i == len(lines) {
		return nil, 0, &ParseError{Source: source, Line: len(lines), Msg: "signature block is not closed"}
	}
	for i++; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "" {
			return nil, 0, &ParseError{Source: source, Line: i + 1, Msg: "unsigned text after the signature"}
		}
	}
	return body.Bytes(), first, nil
}

// gpgvTimeout bounds one gpgv run: it reads local files only, and a
// hung one must not hold a verification forever. A variable for tests.
var gpgvTimeout = 2 * time.Minute

// VerifySignature checks a clear-signed manifest file with gpgv against
// the keys in keyring (a keyring file, e.g. exported with
// `gpg --export > keys.gpg`). gpgv runs with a throwaway home directory;
// the user's own keys are never consulted.
func VerifySignature(ctx context.Context, manifest, keyring string) (Signature, error) {
	return runGpgv(ctx, manifest, keyring, manifest)
}

// VerifyDetached checks a detached signature (armored or binary) of the
// file data with gpgv against the keys in keyring, as VerifySignature
// does for a clear-signed manifest.
func VerifyDetached(ctx context.Context, signature, data, keyring string) (Signature, error) {
	return runGpgv(ctx, signature, keyring, signature, data)
}

// runGpgv runs gpgv over files (a clear-signed file, or a detached
// signature and its data) with a throwaway home directory, no network
// (gpgv never fetches keys) and a deadline, and reads its status lines.
// What names the signature in errors.
func runGpgv(ctx context.Context, what, keyring string, files ...string) (Signature, error) {
	sig := Signature{Signed: true, Checked: true}
	gpgv, err := exec.LookPath("gpgv")
	if err != nil {
		return sig, fmt.Errorf("checking the signature of %q: gpgv not found (Debian package gpgv)", what)
	}
	abs, err := filepath.Abs(keyring)
	if err != nil {
		return sig, err
	}
	if _, err := os.Stat(abs); err != nil {
		return sig, fmt.Errorf("keyring: %w", err)
	}
	home, err := owner.TempDir("", "reproof-gpgv-")
	if err != nil {
		return sig, err
	}
	defer os.RemoveAll(home)
	runCtx, cancel := context.WithTimeout(ctx, gpgvTimeout)
	defer cancel()
	args := append([]string{"--homedir", home, "--keyring", abs, "--status-fd", "1", "--"}, files...)
	cmd := exec.CommandContext(runCtx, gpgv, args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home, "LC_ALL=C")
	var status, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &status, &stderr
	cmd.WaitDelay = 2 * time.Second // a killed gpgv's pipes are not waited for longer
	runErr := cmd.Run()
	if err := ctx.Err(); err != nil {
		return sig, err
	}
	if runCtx.Err() != nil {
		return sig, fmt.Errorf("checking the signature of %q: gpgv did not finish within %s; it was stopped", what, gpgvTimeout)
	}
	good, valid := false, false
	sc := bufio.NewScanner(&status)
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(sc.Text(), "[GNUPG:] "))
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "GOODSIG":
			good = true
			if len(f) > 2 {
				sig.Signer = strings.Join(f[2:], " ")
			}
		case "VALIDSIG":
			valid = true
			if len(f) > 1 && sig.Signer == "" {
				sig.Signer = f[1]
			}
		case "BADSIG", "ERRSIG", "NO_PUBKEY", "EXPKEYSIG", "REVKEYSIG":
			sig.Detail = strings.Join(f, " ")
		}
	}
	sig.Valid = good && valid && runErr == nil
	if !sig.Valid && sig.Detail == "" {
		sig.Detail = strings.TrimSpace(firstLine(stderr.String()))
	}
	return sig, nil
}

// isOpenPGPSignature reports whether data is an OpenPGP signature gpgv
// can check: ASCII-armored, or a binary signature packet (tag 2, in the
// old or the new packet format). A cosign signature (base64 text) or a
// minisign one is not.
func isOpenPGPSignature(data []byte) bool {
	if bytes.HasPrefix(bytes.TrimLeft(data, "\r\n\t "), []byte(pgpSigBegin)) {
		return true
	}
	if len(data) == 0 || data[0]&0x80 == 0 {
		return false
	}
	if data[0]&0x40 != 0 {
		return data[0]&0x3f == 2 // new format
	}
	return (data[0]>>2)&0x0f == 2 // old format
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
