package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/report"
)

func attestUsage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprint(w, `Usage: reproof attest verify --key PUB FILE...

Check the signatures of attestation bundles: the --attestation of 'reproof
verify' and the provenance.intoto.jsonl of 'reproof rebuild --signing-key'
(JSON Lines of DSSE envelopes, or one envelope per file). Every envelope
must carry an in-toto Statement signed by the public key PUB (PEM, as
cosign.pub holds it: ECDSA P-256 or ed25519). For each envelope it prints
the verdict, the statement's predicate type and its subjects with their
sha256; docs/attestations.md says what each field claims.

Flags:
`)
	fmt.Fprint(w, fs.FlagUsages())
	fmt.Fprint(w, `
EXIT STATUS
  0  every envelope is signed by the key
  1  an envelope is unsigned, or no signature of it verifies with the key
  2  error: usage, an unreadable key or file, a malformed envelope or statement
`)
}

// runAttest dispatches 'reproof attest SUBCOMMAND'; verify is the only one.
func runAttest(ctx context.Context, args []string, std streams) error {
	fs := newFlagSet("attest")
	key := fs.String("key", "", "the signer's public `KEY` (PEM)")
	fs.SetInterspersed(true)
	if done, err := parseFlags(fs, args, std, func(w io.Writer) { attestUsage(w, fs) }); done || err != nil {
		return err
	}
	usageErr := func(msg string) error {
		return &usageError{msg: "attest: " + msg, hint: "run 'reproof attest --help' for usage"}
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "verify" {
		return usageErr("want 'attest verify --key PUB FILE...'")
	}
	files := rest[1:]
	if len(files) == 0 {
		return usageErr("verify: no FILE given")
	}
	if *key == "" {
		return usageErr("verify: --key is required")
	}
	data, err := os.ReadFile(*key)
	if err != nil {
		return fmt.Errorf("attest verify: --key: %w", err)
	}
	pub, err := attest.ParsePublicKey(data)
	if err != nil {
		return fmt.Errorf("attest verify: --key %q: %w", *key, err)
	}
	failed := 0
	for _, path := range files {
		n, err := verifyBundle(ctx, std.stdout, path, pub)
		if err != nil {
			return err
		}
		failed += n
	}
	if failed > 0 {
		return &exitCodeError{code: exitDiffers, msg: fmt.Sprintf("attest verify: %d envelope(s) not signed by the key", failed)}
	}
	return nil
}

// verifyBundle checks every envelope of one file and prints what each
// says; it returns how many failed (unsigned or a bad signature) and an
// error for a file or envelope that cannot be checked at all.
func verifyBundle(ctx context.Context, w io.Writer, path string, pub crypto.PublicKey) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("attest verify: %w", err)
	}
	defer f.Close()
	envs, err := attest.ReadBundle(f)
	if err != nil {
		return 0, fmt.Errorf("attest verify: %s: %w", path, err)
	}
	failed := 0
	for i, env := range envs {
		st, err := attest.Verify(ctx, env, pub)
		verdict := "verified"
		switch {
		case errors.Is(err, attest.ErrUnsigned):
			verdict, failed = "UNSIGNED", failed+1
		case errors.Is(err, attest.ErrBadSignature):
			verdict, failed = "BAD SIGNATURE", failed+1
		case err != nil:
			return failed, fmt.Errorf("attest verify: %s: envelope %d: %w", path, i+1, err)
		}
		fmt.Fprintf(w, "%s:%d: %s: %s\n", report.Visible(path), i+1, verdict, report.Visible(st.PredicateType))
		for _, s := range st.Subject {
			fmt.Fprintf(w, "  %s  %s\n", digestOf(s.Digest), report.Visible(s.Name))
		}
	}
	return failed, nil
}

// digestOf is the subject's sha256 as "sha256:HEX", else its first
// digest in name order.
func digestOf(d map[string]string) string {
	if v, ok := d["sha256"]; ok {
		return "sha256:" + report.Visible(v)
	}
	algs := make([]string, 0, len(d))
	for a := range d {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	if len(algs) == 0 {
		return "-"
	}
	return report.Visible(algs[0] + ":" + d[algs[0]])
}
