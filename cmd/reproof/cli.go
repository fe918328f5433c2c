package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reproof/reproof/internal/exitcode"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/spf13/pflag"
)

// Exit codes, the same for every command (see the EXIT STATUS section).
const (
	exitOK          = exitcode.OK
	exitDiffers     = exitcode.Differs
	exitError       = exitcode.Error
	exitNormalized  = exitcode.Normalized
	exitBuildFailed = exitcode.BuildFailed
	exitInterrupted = exitcode.Interrupted
)

// streams is what a command may touch of the process: its standard
// streams and its environment.
type streams struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// command is one subcommand: its name, a one-line summary for the command
// list, and its entry point.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, std streams) error
}

var commands = []command{
	{"verify", "rebuild the tag and compare with the published release", runVerify},
	{"rebuild", "rebuild only; artifacts and provenance into --out DIR", runRebuild},
	{"check", "pre-publish gate: build under varied environments, name the culprit", runCheck},
	{"diff", "compare two files, directories, archives (nested) or container images", runDiff},
	{"normalize", "rewrite an archive deterministically", runNormalize},
	{"sums", "write checksum manifests; --check MANIFEST verifies one", runSums},
	{"init", "write a commented spec template", runInit},
	{"gc", "remove what dead runs left behind: containers, runc states, work dirs", runGC},
	{"attest", "check the signatures of attestation bundles: attest verify --key PUB FILE", runAttest},
	{"completion", "write the shell completion script for bash, zsh or fish", runCompletion},
	{"man", "write the manual page, reproof(1), made from every --help", runMan},
}

const exitStatusHelp = exitcode.Help

func topUsage(w io.Writer) {
	fmt.Fprint(w, `reproof rebuilds a software release from its tagged source and tells whether
the published artifacts are what that source produces.

Usage:
  reproof COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Flags:
  -h, --help      show this help
      --version   print reproof's version

Run 'reproof COMMAND --help' for the flags of a command.

`+exitStatusHelp)
}

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, std streams) int {
	return exitCode(dispatch(ctx, args, std), std.stderr)
}

func dispatch(ctx context.Context, args []string, std streams) error {
	if len(args) == 0 {
		topUsage(std.stderr)
		return &usageError{msg: "no command given", hint: "run 'reproof --help' for the list of commands"}
	}
	switch args[0] {
	case "-h", "--help", "help":
		topUsage(std.stdout)
		return nil
	case "--version", "version":
		fmt.Fprintf(std.stdout, "reproof %s\n", version())
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], std)
		}
	}
	if strings.HasPrefix(args[0], "-") {
		return &usageError{msg: fmt.Sprintf("unknown flag %q", args[0]), hint: "run 'reproof --help' for usage"}
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", args[0]), hint: "run 'reproof --help' for the list of commands"}
}

// usageError is a mistake in the command line: exit 2 with a hint.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string { return e.msg }

// exitCodeError carries an exit code other than 0 or 2 (a result, not a
// failure); msg, if any, is printed.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

// hinted adds a next step to an error.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// exitCode prints err the one way errors are printed and returns the code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ce *exitCodeError
	var he *hinted
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "reproof: interrupted")
		// What could not be cleaned up is said even then: the user must
		// know a container or directory was left behind.
		if cerr := (*rebuild.CleanupError)(nil); errors.As(err, &cerr) {
			fmt.Fprintf(stderr, "reproof: %s\n", oneLine(cerr.Error()))
		}
		return exitInterrupted
	case errors.As(err, &ce):
		if ce.msg != "" {
			fmt.Fprintf(stderr, "reproof: %s\n", terminalSafe(ce.msg, true))
		}
		return ce.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "reproof: %s\n", oneLine(ue.msg))
		if ue.hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ue.hint)
		}
		return exitError
	}
	fmt.Fprintf(stderr, "reproof: %s\n", oneLine(err.Error()))
	if errors.As(err, &he) {
		fmt.Fprintf(stderr, "hint: %s\n", he.hint)
	}
	return exitError
}

// oneLine keeps an error message on one line whatever the input put in it,
// and shows its control characters escaped: messages quote servers, git
// and archives, whose text must not drive the terminal.
func oneLine(s string) string { return terminalSafe(s, false) }

// terminalSafe shows control characters, invalid UTF-8 and other
// non-printing runes escaped (report.Visible); carriage returns become
// spaces, and so do newlines unless keepNewlines is set.
func terminalSafe(s string, keepNewlines bool) string {
	s = strings.ReplaceAll(s, "\r", " ")
	if !keepNewlines {
		return report.Visible(strings.ReplaceAll(s, "\n", " "))
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = report.Visible(l)
	}
	return strings.Join(lines, "\n")
}

// newFlagSet returns a flag set whose errors are ours to print, and whose
// --help prints usage (with the EXIT STATUS section) to stdout.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// parseFlags parses args; it returns done=true when --help was given.
func parseFlags(fs *pflag.FlagSet, args []string, std streams, usage func(io.Writer)) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		return false, &usageError{msg: fmt.Sprintf("%s: %v", fs.Name(), err),
			hint: fmt.Sprintf("run 'reproof %s --help' for usage", fs.Name())}
	}
	if h, _ := fs.GetBool("help"); h {
		usage(std.stdout)
		return true, nil
	}
	return false, nil
}
