package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runCLI runs the CLI in-process and returns its exit code and output.
func runCLI(t *testing.T, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, streams{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(t, context.Background(), nil, args...)
		if code != 0 || errOut != "" {
			t.Errorf("reproof %v: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		for _, c := range commands {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("reproof %v: command %q not listed", args, c.name)
			}
		}
		if !strings.Contains(out, "EXIT STATUS") {
			t.Errorf("reproof %v: no EXIT STATUS section", args)
		}
	}
	for _, c := range commands {
		code, out, _ := runCLI(t, context.Background(), nil, c.name, "--help")
		if code != 0 || !strings.Contains(out, "EXIT STATUS") || !strings.Contains(out, "reproof "+c.name) {
			t.Errorf("reproof %s --help: exit %d, output %q; want 0 with usage and EXIT STATUS", c.name, code, out)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, context.Background(), nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "reproof ") || strings.Count(out, "\n") != 1 {
		t.Errorf("reproof --version = %d, %q; want 0 and one line", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frobnicate"}, `unknown flag "--frobnicate"`},
		{[]string{"normalize", "--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"normalize"}, "want one input archive"},
		{[]string{"normalize", "a.tar"}, "no output"},
		{[]string{"normalize", "--passes", "tar-nope", "a.tar", "-o", "b"}, `unknown pass "tar-nope"`},
		{[]string{"normalize", "--epoch", "yesterday", "a.tar", "-o", "b"}, "not a number"},
		{[]string{"normalize", "--epoch", "0", "--compression", "bzip2", "a.tar", "-o", "b"}, "--compression"},
		{[]string{"normalize", "a.tar", "-o", "b"}, "no epoch"},
		{[]string{"verify"}, "missing --repo, --tag, --image, --command, --artifacts and --published"},
		{[]string{"rebuild", "--timeout", "soon"}, `--timeout: invalid duration "soon"`},
		{[]string{"verify", "--format", "xml"}, "--format"},
		{[]string{"diff", "a"}, "want two inputs"},
		{[]string{"diff", "--format", "xml", "a", "b"}, "--format"},
		{[]string{"diff", "--color", "sometimes", "a", "b"}, "--color"},
		{[]string{"sums"}, "no files given"},
		{[]string{"sums", "--check", "m", "x"}, "--check takes the manifest only"},
		{[]string{"sums", "--algo", "crc32", "x"}, "--algo"},
		{[]string{"sums", "--keyring", "k", "x"}, "--keyring needs --check"},
		{[]string{"init", "a", "b"}, "one FILE at most"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, context.Background(), nil, tt.args...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if tt.args == nil {
			lines = lines[len(lines)-2:] // after the usage text
		}
		if code != 2 {
			t.Errorf("reproof %q: exit %d, want 2", tt.args, code)
		}
		if out != "" {
			t.Errorf("reproof %q: stdout %q, want nothing", tt.args, out)
		}
		if !strings.HasPrefix(lines[0], "reproof: ") || !strings.Contains(lines[0], tt.want) {
			t.Errorf("reproof %q: first line %q, want reproof: ...%s...", tt.args, lines[0], tt.want)
		}
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "hint: ") {
			t.Errorf("reproof %q: stderr %q, want the error and one hint line", tt.args, errOut)
		}
	}
}

func TestNormalizeInProcess(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.tar.gz")
	in := "../../archive/testdata/seed/t.tar.gz"
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	code, stdout, stderr := runCLI(t, context.Background(), env, "normalize", in, "-o", out)
	if code != 0 {
		t.Fatalf("normalize: exit %d, stderr %q", code, stderr)
	}
	if stdout != "" || !strings.Contains(stderr, "tar-mtime") {
		t.Errorf("normalize: stdout %q, stderr %q; want the summary on stderr only", stdout, stderr)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// Normalizing the output again is a no-op, and says so.
	again := filepath.Join(dir, "again.tar.gz")
	code, _, stderr = runCLI(t, context.Background(), env, "normalize", out, "-o", again)
	second, err := os.ReadFile(again)
	if code != 0 || err != nil || !bytes.Equal(first, second) {
		t.Errorf("normalize twice: exit %d, %d then %d bytes; want a fixed point", code, len(first), len(second))
	}
	if strings.Contains(stderr, " changed,") {
		t.Errorf("normalize of a normalized archive reports changes:\n%s", stderr)
	}
}

func TestNormalizeInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, stderr := runCLI(t, ctx, nil, "normalize", "--epoch", "0", "../../archive/testdata/seed/pax.tar", "-o", filepath.Join(dir, "out.tar"))
	if code != 130 {
		t.Errorf("normalize with a cancelled context: exit %d (%q), want 130", code, stderr)
	}
	if left, err := os.ReadDir(dir); err != nil {
		t.Error(err)
	} else if len(left) != 0 {
		t.Errorf("interrupted normalize left %d files behind, e.g. %q", len(left), left[0].Name())
	}
}

// TestReadmeUsageMatchesHelp keeps the README's usage section honest.
func TestReadmeUsageMatchesHelp(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--help"}, {"verify", "--help"}, {"init", "--help"}, {"rebuild", "--help"}, {"diff", "--help"}, {"sums", "--help"}, {"normalize", "--help"}} {
		_, out, _ := runCLI(t, context.Background(), nil, args...)
		if !bytes.Contains(readme, []byte(out)) {
			t.Errorf("README.md does not contain the output of 'reproof %s'; regenerate its usage section", strings.Join(args, " "))
		}
	}
}

// TestOutputToSpecialFile writes to a FIFO the way users write to
// /dev/null: the output goes through it, and the FIFO is still a FIFO
// afterwards (renaming a temporary file over it would replace it).
func TestOutputToSpecialFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, err := io.ReadAll(f)
		if err != nil {
			t.Errorf("reading the fifo: %v", err)
		}
		f.Close() //nolint:errcheck // opened read-only
		got <- b
	}()
	code, _, stderr := runCLI(t, context.Background(), nil, "normalize", "--epoch", "0", "../../archive/testdata/seed/t.tar.gz", "-o", fifo)
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced (exit %d): %v", code, err)
	}
	if out := <-got; code != 0 || len(out) == 0 {
		t.Fatalf("normalize -o FIFO: exit %d, %d bytes through the FIFO, stderr %q", code, len(out), stderr)
	}
}

// The build's output reaches the terminal prefixed line by line, its
// control characters escaped, however the writes split it.
func TestBuildOutputEscapes(t *testing.T) {
	in := "compiling\n\x1b[2J\x1b]52;c;cHduZWQ=\x07reproof: verdict reproducible\rdone\n\tok \xc2\x9b31m caf\xc3\xa9 \xc2\xa9\npartial"
	want := "build: compiling\n" +
		`build: \x1b[2J\x1b]52;c;cHduZWQ=\areproof: verdict reproducible\rdone` + "\n" +
		"build: \tok \\u009b31m caf\xc3\xa9 \xc2\xa9\n" +
		"build: partial"
	for _, size := range []int{len(in), 1, 2, 3, 7} {
		var out bytes.Buffer
		w := &buildOutput{w: &out}
		for i := 0; i < len(in); i += size {
			chunk := in[i:min(i+size, len(in))]
			if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if out.String() != want {
			t.Errorf("writes of %d bytes:\n got %q\nwant %q", size, out.String(), want)
		}
	}
}

// Error messages quote servers, git and archives: one line, control
// characters and bidi overrides shown escaped.
func TestErrorsAreTerminalSafe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("remote: \x1b[31mdenied\x1b[0m\nsecond\rthird \u202egnp.exe\x7f\u009b"),
			`reproof: remote: \x1b[31mdenied\x1b[0m second third \u202egnp.exe\x7f\u009b` + "\n"},
		{&exitCodeError{code: exitBuildFailed, msg: "build failed\n  | tail \x1b]0;x\x07"},
			"reproof: build failed\n  | tail \\x1b]0;x\\a\n"},
	} {
		var stderr bytes.Buffer
		exitCode(tc.err, &stderr)
		if stderr.String() != tc.want {
			t.Errorf("printed %q, want %q", stderr.String(), tc.want)
		}
	}
}
