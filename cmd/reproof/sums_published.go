package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/reproof/reproof/release"
)

// publishedConfig are the flags of `reproof sums --published`.
type publishedConfig struct {
	source      string
	manifests   []string
	cacheDir    string
	githubAPI   string
	gitlabAPI   string
	npmRegistry string
	maxDownload int64
}

// checkPublished downloads a published release and checks every file
// against the checksums the release itself publishes.
func checkPublished(ctx context.Context, cfg sumsConfig, std streams) (err error) {
	opts := release.SourceOptions{GitHubAPI: cfg.published.githubAPI, GitLabAPI: cfg.published.gitlabAPI, NPMRegistry: cfg.published.npmRegistry, Getenv: std.getenv,
		MaxSize: cfg.published.maxDownload}
	if isTerminal(std.stderr) {
		opts.Progress = std.stderr
	}
	src, err := release.NewSource(cfg.published.source, opts)
	if err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	cacheDir := cfg.published.cacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return &hinted{fmt.Errorf("sums: no cache directory: %w", err), "give one with --cache DIR"}
		}
		cacheDir = filepath.Join(base, "reproof", "downloads") // shared with verify
	}
	fetcher := release.NewFetcher(src, cacheDir, opts)
	defer func() {
		if cerr := fetcher.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sums: %w", cerr)
		}
	}()
	pc, err := release.CheckPublished(ctx, src, fetcher, release.CheckOptions{Manifests: cfg.published.manifests, Keyring: cfg.keyring})
	for _, w := range fetcher.Warnings() {
		fmt.Fprintf(std.stderr, "reproof: sums: warning: %s\n", w)
	}
	if err != nil {
		return fmt.Errorf("sums: %w", err)
	}
	if len(pc.Assets) == 0 && len(pc.Manifests) == 0 {
		return noFilesError(ctx, src, pc.Source)
	}
	out := bufio.NewWriter(std.stdout)
	bad := printPublishedCheck(out, pc, cfg.quiet)
	if err := out.Flush(); err != nil {
		return fmt.Errorf("sums: writing stdout: %w", err)
	}
	if bad > 0 {
		fmt.Fprintf(std.stderr, "reproof: sums: WARNING: %s the release's own checksums\n", plural(bad, "published file or signature does NOT match", "published files or signatures do NOT match"))
		return &exitCodeError{code: exitDiffers}
	}
	return nil
}

// noFilesError is the error for a release with nothing to check: a base
// URL without a listing page (sums has no names to ask for) or a release
// without assets. It says how the source was listed, when it can.
func noFilesError(ctx context.Context, src release.Source, source string) error {
	if l, err := src.List(ctx); err == nil && l.How != "" {
		return fmt.Errorf("sums: %s lists no files (%s); name a manifest with --checksums", source, l.How)
	}
	return fmt.Errorf("sums: %s lists no files", source)
}

// printPublishedCheck writes one line per manifest and per published file
// and returns how many failed.
func printPublishedCheck(w io.Writer, pc *release.PublishedCheck, quiet bool) int {
	bad := 0
	if len(pc.Manifests) == 0 {
		fmt.Fprintf(w, "%s: no checksum published: the files below were hashed here and nothing published vouches for them\n", pc.Source)
	}
	for _, m := range pc.Manifests {
		sig := ""
		switch {
		case !m.Signature.Signed:
		case !m.Signature.Checked:
			why := "no --keyring"
			if d := m.Signature.Detail; d != "" && d != release.NotCheckedNoKeyring {
				why = terminalSafe(d, false) // a cosign or minisign signature
			}
			sig = ", signature NOT checked (" + why + ")"
		case m.Signature.Valid:
			sig = fmt.Sprintf(", signature OK (%s)", terminalSafe(m.Signature.Signer, false))
		default:
			sig = fmt.Sprintf(", signature BAD (%s)", terminalSafe(m.Signature.Detail, false))
			bad++
		}
		if len(m.SignedBy) > 0 {
			sig += ", detached: " + terminalSafe(strings.Join(m.SignedBy, ", "), false)
		}
		fmt.Fprintf(w, "%s: %s manifest, %s%s\n", m.Name, m.Layout, plural(m.Checksums, "checksum", "checksums"), sig)
	}
	for _, a := range pc.Assets {
		switch a.Status {
		case release.StatusOK:
			if !quiet {
				sig := ""
				if a.Signature != nil && a.Signature.Valid {
					sig = fmt.Sprintf(", signature OK (%s)", terminalSafe(a.Signature.Signer, false))
				}
				fmt.Fprintf(w, "%s: OK (%s)%s\n", a.Name, describeChecksums(a.Checksums), sig)
			}
		case release.StatusMismatch:
			bad++
			for _, c := range a.Checksums {
				switch {
				case c.Distrust != "":
					fmt.Fprintf(w, "%s: FAILED: %s in %s is not trusted: %s\n", a.Name, c.Algorithm, where(c.Checksum), terminalSafe(c.Distrust, false))
				case !c.Match:
					fmt.Fprintf(w, "%s: FAILED: %s in %s says %s, the published file has %s\n",
						a.Name, c.Algorithm, where(c.Checksum), c.Digest, c.Computed)
				}
			}
			if sig := a.Signature; sig != nil && sig.Checked && !sig.Valid {
				fmt.Fprintf(w, "%s: FAILED: signature BAD (%s)\n", a.Name, terminalSafe(sig.Detail, false))
			}
		case release.StatusUnlisted:
			if a.Side != "" {
				if !quiet {
					fmt.Fprintf(w, "%s: %s (a side file, not an artifact), no checksum published\n", a.Name, a.Side)
				}
				continue
			}
			fmt.Fprintf(w, "%s: NO CHECKSUM published; sha256 %s\n", a.Name, a.SHA256)
		}
	}
	for _, sc := range pc.Signatures {
		if sc.Target == "" {
			fmt.Fprintf(w, "%s: signature of %s, which the release does not publish: nothing checked\n", sc.Name, sc.Signs)
		}
	}
	for _, c := range pc.Unmatched {
		if !quiet {
			fmt.Fprintf(w, "%s: listed in %s, not a published file (an archive member?)\n", checkLabel(c.Name), where(c))
		}
	}
	return bad
}

func describeChecksums(cs []release.CheckedChecksum) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s from %s", c.Algorithm, where(c.Checksum)))
	}
	return strings.Join(parts, ", ")
}

func where(c release.Checksum) string {
	s := fmt.Sprintf("%s:%d", c.Source, c.Line)
	if c.Section != "" {
		s += fmt.Sprintf(" (%s)", terminalSafe(c.Section, false))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
