package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/reproof/reproof/release"
)

type sumsConfig struct {
	algo    string
	bsd     bool
	check   string
	keyring string
	dir     string
	quiet   bool
	workers int

	published publishedConfig
}

func sumsUsage(w io.Writer, fs interface{ FlagUsages() string }) {
	fmt.Fprint(w, `Usage: reproof sums [flags] FILE...
       reproof sums --check MANIFEST [--keyring KEYS]
       reproof sums --published SOURCE [--checksums NAME]... [--keyring KEYS]

Write checksum lines for FILEs (coreutils format, or BSD tagged lines with
--bsd), or check the files a manifest lists, like sha256sum -c. Files are
hashed in parallel, each read once; the output keeps the order given.

--check understands every manifest layout found in releases: coreutils text
and binary lines (SHA256SUMS, SHA512SUMS, checksums.txt), BSD tagged lines
("SHA256 (name) = hex"), bare-hex sidecars (name.sha256, with or without a
name or a final newline), checksum lines in the fenced blocks of a Markdown
release body (grouped under headings), and PGP clear-signed manifests or
manifests with a detached signature beside them (MANIFEST.asc, .sig, .gpg),
checked with gpgv when --keyring is given. The algorithm comes from the
tag or the digest length. A malformed line is an error naming the file and
the line; a name listed twice with two digests is an error.

--published downloads a published release and checks each of its files
against the checksums the release itself publishes: manifests among its
files (SHA256SUMS, checksums.txt, *.sha256, *.SHA256, ...), and checksum
blocks in its release body; --checksums names the manifests to use
instead. SOURCE is a directory or one file, an http(s) base URL (its
listing page: nginx, Apache, Python http.server; an S3 bucket's
ListObjectsV2 listing of the directory; a JSON index such as Garage's
_releases.json; or one file), github:OWNER/REPO@TAG,
gitlab:GROUP/PROJECT@TAG or npm:[@SCOPE/]NAME@VERSION (the registry's
tarball, checked against its integrity and shasum; tokens from
GITHUB_TOKEN, GITLAB_TOKEN and NPM_TOKEN). Detached signatures, certificates,
SBOMs and attestations are side files, never artifacts. Downloads are verified while
they stream and cached by URL and digest (--cache). A file no published
checksum names is hashed and reported as such: nothing vouches for it.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  checksums written; or every listed file matches (and a signature that
     was checked is valid)
  1  a file does not match, is missing or unreadable, or the signature is bad
  2  error: usage, a malformed manifest, or a manifest with no checksums
`)
}

func runSums(ctx context.Context, args []string, std streams) error {
	var cfg sumsConfig
	fs := newFlagSet("sums")
	fs.StringVar(&cfg.algo, "algo", "sha256", "digest algorithm: sha256, sha512 (also sha384, sha224, sha1, md5)")
	fs.BoolVar(&cfg.bsd, "bsd", false, "write BSD tagged lines: SHA256 (name) = hex")
	fs.StringVarP(&cfg.check, "check", "c", "", "check the files listed in `MANIFEST`")
	fs.StringVar(&cfg.keyring, "keyring", "", "check manifests' signatures (clear-signed, or detached MANIFEST.asc/.sig/.gpg) against the keys in `FILE` (gpgv)")
	fs.StringVar(&cfg.dir, "dir", ".", "with --check, find the listed files under `DIR`")
	fs.BoolVarP(&cfg.quiet, "quiet", "q", false, "with --check, print only the files that fail")
	fs.IntVar(&cfg.workers, "jobs", 0, "files hashed at once (default: the number of CPUs)")
	fs.StringVar(&cfg.published.source, "published", "", "check the published release at `SOURCE` against its own checksums")
	fs.StringArrayVar(&cfg.published.manifests, "checksums", nil, "with --published, use the manifest `NAME` (an asset or a local file; repeatable)")
	fs.StringVar(&cfg.published.cacheDir, "cache", "", "download cache `DIR` (default: the user cache directory/reproof/downloads, shared with verify)")
	fs.StringVar(&cfg.published.githubAPI, "github-api", "", "GitHub API base `URL` (default https://api.github.com)")
	fs.StringVar(&cfg.published.gitlabAPI, "gitlab-api", "", "GitLab API base `URL` (default https://gitlab.com/api/v4)")
	fs.StringVar(&cfg.published.npmRegistry, "npm-registry", "", "npm registry `URL` (default $npm_config_registry, else "+release.DefaultNPMRegistry+")")
	fs.Int64Var(&cfg.published.maxDownload, "max-download", release.DefaultMaxSize, "with --published, refuse published files larger than `N` bytes")
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { sumsUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "sums: " + msg, hint: "run 'reproof sums --help' for usage"}
	}
	if cfg.published.source != "" || cfg.check != "" {
		sweepAtStart(ctx, std, "") // gpgv's homes
	}
	if cfg.published.source != "" {
		if fs.NArg() != 0 || cfg.check != "" {
			return usageErr("--published takes no FILE arguments and no --check")
		}
		return checkPublished(ctx, cfg, std)
	}
	if len(cfg.published.manifests) > 0 {
		return usageErr("--checksums needs --published")
	}
	if cfg.check != "" {
		if fs.NArg() != 0 {
			return usageErr("--check takes the manifest only, not FILE arguments")
		}
		return checkSums(ctx, cfg, std)
	}
	if cfg.keyring != "" {
		return usageErr("--keyring needs --check")
	}
	if fs.NArg() == 0 {
		return usageErr("no files given")
	}
	alg, err := release.ParseAlgorithm(cfg.algo)
	if err != nil {
		return usageErr("--algo: " + err.Error())
	}
	out := bufio.NewWriter(std.stdout)
	failed := 0
	for _, d := range release.HashFiles(ctx, fs.Args(), alg, cfg.workers) {
		if d.Err != nil {
			if errors.Is(d.Err, context.Canceled) {
				return d.Err
			}
			out.Flush()
			fmt.Fprintf(std.stderr, "reproof: sums: %s\n", oneLine(pathError(d.Err).Error()))
			failed++
			continue
		}
		writeSumLine(out, alg, d.Digest, d.Path, cfg.bsd)
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("sums: writing stdout: %w", err)
	}
	if failed > 0 {
		return &exitCodeError{code: exitError}
	}
	return nil
}

// nameEscaper escapes a file name the way coreutils does.
var nameEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)

// writeSumLine writes one line the way coreutils does: text mode with two
// spaces, and a leading backslash when the name needs escaping.
func writeSumLine(w io.Writer, alg release.Algorithm, digest, name string, bsd bool) {
	escaped := strings.ContainsAny(name, "\\\n\r")
	if escaped {
		name = nameEscaper.Replace(name)
	}
	prefix := ""
	if escaped {
		prefix = `\`
	}
	if bsd {
		fmt.Fprintf(w, "%s%s (%s) = %s\n", prefix, strings.ToUpper(string(alg)), name, digest)
		return
	}
	fmt.Fprintf(w, "%s%s  %s\n", prefix, digest, name)
}

// checkLabel is how --check names a file on its result line: as
// sha256sum -c does, escaped with a leading backslash when the name holds
// a line break, so that a hostile name cannot forge a line of its own, and
// also when it holds other control characters, which are shown escaped
// (sha256sum prints them raw, to be run by the terminal).
func checkLabel(name string) string {
	if strings.ContainsAny(name, "\n\r") || terminalSafe(name, false) != name {
		return `\` + terminalSafe(nameEscaper.Replace(name), false)
	}
	return name
}

// pathError strips the Go wrapping from a file error.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%q: %v", pe.Path, pe.Err)
	}
	return err
}

func checkSums(ctx context.Context, cfg sumsConfig, std streams) error {
	data, err := os.ReadFile(cfg.check)
	if err != nil {
		return fmt.Errorf("sums: %w", pathError(err))
	}
	m, err := release.ParseManifest(cfg.check, data)
	if err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	if m.Layout == release.LayoutJSONIndex {
		return &hinted{fmt.Errorf("sums: %q publishes no checksums: it indexes %d artifacts without digests", cfg.check, len(m.Indexed)),
			"hash the artifacts yourself with 'reproof sums FILE...'; nothing here can vouch for them"}
	}
	out := bufio.NewWriter(std.stdout)
	defer out.Flush()
	bad := 0
	if m.Signature.Signed {
		switch {
		case cfg.keyring == "":
			fmt.Fprintf(out, "%s: signature NOT checked (no --keyring)\n", cfg.check)
		default:
			sig, err := release.VerifySignature(ctx, cfg.check, cfg.keyring)
			if err != nil {
				return fmt.Errorf("sums: %w", err)
			}
			m.Signature = sig
			if sig.Valid {
				fmt.Fprintf(out, "%s: signature OK (%s)\n", cfg.check, terminalSafe(sig.Signer, false))
			} else {
				fmt.Fprintf(out, "%s: signature BAD (%s)\n", cfg.check, sig.Detail)
				bad++
			}
		}
	} else if sigFile := detachedSignature(cfg.check); sigFile != "" {
		switch {
		case cfg.keyring == "":
			fmt.Fprintf(out, "%s: signature NOT checked (no --keyring; detached: %s)\n", cfg.check, sigFile)
		default:
			sig, err := release.VerifyDetached(ctx, sigFile, cfg.check, cfg.keyring)
			if err != nil {
				return fmt.Errorf("sums: %w", err)
			}
			m.Signature = sig
			if sig.Valid {
				fmt.Fprintf(out, "%s: signature OK (%s; detached: %s)\n", cfg.check, terminalSafe(sig.Signer, false), sigFile)
			} else {
				fmt.Fprintf(out, "%s: signature BAD (%s; detached: %s)\n", cfg.check, sig.Detail, sigFile)
				bad++
			}
		}
	} else if cfg.keyring != "" {
		return &usageError{msg: fmt.Sprintf("sums: --keyring given, but %q is not clear-signed and has no detached signature beside it (.asc, .sig, .gpg)", cfg.check),
			hint: "drop --keyring, or put the signature next to the manifest"}
	}
	// Hash each distinct (file, algorithm) once, in parallel.
	type job struct {
		path string
		alg  release.Algorithm
	}
	byAlg := map[release.Algorithm][]string{}
	var order []release.Algorithm
	for _, c := range m.Checksums {
		p := filepath.Join(cfg.dir, filepath.FromSlash(c.Name))
		if _, ok := byAlg[c.Algorithm]; !ok {
			order = append(order, c.Algorithm)
		}
		byAlg[c.Algorithm] = append(byAlg[c.Algorithm], p)
	}
	results := map[job]release.FileDigest{}
	for _, alg := range order {
		for _, d := range release.HashFiles(ctx, dedupe(byAlg[alg]), alg, cfg.workers) {
			if errors.Is(d.Err, context.Canceled) {
				return d.Err
			}
			results[job{d.Path, alg}] = d
		}
	}
	mismatched, unreadable, weak := 0, 0, 0
	for _, c := range m.Checksums {
		d := results[job{filepath.Join(cfg.dir, filepath.FromSlash(c.Name)), c.Algorithm}]
		label := checkLabel(c.Name)
		if c.Section != "" {
			label = fmt.Sprintf("%s (%s)", label, terminalSafe(c.Section, false))
		}
		if c.Algorithm.Weak() {
			weak++
		}
		switch {
		case d.Err != nil:
			unreadable++
			fmt.Fprintf(out, "%s: FAILED open or read\n", label)
		case d.Digest != c.Digest:
			mismatched++
			fmt.Fprintf(out, "%s: FAILED\n", label)
		case !cfg.quiet:
			fmt.Fprintf(out, "%s: OK\n", label)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("sums: writing stdout: %w", err)
	}
	if weak > 0 {
		fmt.Fprintf(std.stderr, "reproof: sums: WARNING: %s a broken algorithm (md5 or sha1)\n", counted(weak, "checksum uses", "checksums use"))
	}
	if unreadable > 0 {
		fmt.Fprintf(std.stderr, "reproof: sums: WARNING: %s could not be read\n", counted(unreadable, "listed file", "listed files"))
	}
	if mismatched > 0 {
		fmt.Fprintf(std.stderr, "reproof: sums: WARNING: %s did NOT match\n", counted(mismatched, "computed checksum", "computed checksums"))
	}
	if bad+mismatched+unreadable > 0 {
		return &exitCodeError{code: exitDiffers}
	}
	return nil
}

// counted is "1 thing" or "n things", as sha256sum -c words its warnings.
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func dedupe(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// detachedSignature returns the detached signature beside a manifest
// (MANIFEST.asc, .sig or .gpg, the first that exists and is not a
// clear-signed copy of a manifest, which carries its own text), or "".
func detachedSignature(manifest string) string {
	for _, ext := range []string{".asc", ".sig", ".gpg"} {
		f, err := os.Open(manifest + ext)
		if err != nil {
			continue
		}
		head := make([]byte, 64)
		n, _ := io.ReadFull(f, head)
		fi, err := f.Stat()
		f.Close()
		if err == nil && fi.Mode().IsRegular() && !bytes.Contains(head[:n], []byte("BEGIN PGP SIGNED MESSAGE")) {
			return manifest + ext
		}
	}
	return ""
}
