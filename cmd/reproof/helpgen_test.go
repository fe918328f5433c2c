package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

// helpFlags returns the long flags `reproof ARGS... --help` lists, read
// from the text with a pattern of its own (not helpdoc's parser): every
// line of the Flags: section that starts with a dash.
func helpFlags(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, context.Background(), nil, append(args, "--help")...)
	if code != 0 {
		t.Fatalf("reproof %s --help: exit %d, %s", strings.Join(args, " "), code, errOut)
	}
	_, flags, ok := strings.Cut(out, "\nFlags:\n")
	if !ok {
		t.Fatalf("reproof %s --help has no Flags: section", strings.Join(args, " "))
	}
	flags, _, _ = strings.Cut(flags, "\n\n")
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-[A-Za-z0-9], )?--([A-Za-z0-9][A-Za-z0-9-]*)`).FindAllStringSubmatch(flags, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("reproof %s --help lists no flags", strings.Join(args, " "))
	}
	return names
}

// everyCommand is reproof itself (nil) and each command of the table.
func everyCommand() [][]string {
	out := [][]string{nil}
	for _, c := range commands {
		out = append(out, []string{c.name})
	}
	return out
}

// manSections splits a roff page at its .SS headings (the commands).
func manSections(page string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(page, "\n.SS ")
	out[""] = parts[0]
	for _, p := range parts[1:] {
		title, body, _ := strings.Cut(p, "\n")
		out[strings.ReplaceAll(strings.Trim(title, `"`), `\-`, "-")] = body
	}
	return out
}

func TestManHasEveryFlag(t *testing.T) {
	code, page, errOut := runCLI(t, context.Background(), map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "man")
	if code != 0 {
		t.Fatalf("reproof man: exit %d, %s", code, errOut)
	}
	if !strings.Contains(page, `.TH REPROOF 1 "2023\-11\-14"`) {
		t.Errorf("reproof man: no .TH line dated by SOURCE_DATE_EPOCH: %.200q", page)
	}
	sections := manSections(page)
	for _, cmd := range everyCommand() {
		name := strings.Join(append([]string{"reproof"}, cmd...), " ")
		body, ok := sections[name]
		if len(cmd) == 0 {
			body, ok = sections[""], true
		}
		if !ok {
			t.Errorf("reproof man: no section for %s", name)
			continue
		}
		for _, f := range helpFlags(t, cmd...) {
			if !strings.Contains(body, `\fB\-\-`+strings.ReplaceAll(f, "-", `\-`)+`\fR`) {
				t.Errorf("reproof man: the section of %s lacks --%s", name, f)
			}
		}
	}
	// The same page twice: nothing of the moment or the machine in it.
	_, again, _ := runCLI(t, context.Background(), map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "man")
	if again != page {
		t.Errorf("reproof man is not deterministic")
	}

	// groff is the oracle: the page formats without a warning, and the
	// formatted text lists every flag.
	testenv.RequireTools(t, "groff")
	file := filepath.Join(t.TempDir(), "reproof.1")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-rLL=200n", file)
	cmd.Stderr = &stderr
	text, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -man -ww: %v, warnings:\n%s", err, stderr.String())
	}
	plain := regexp.MustCompile(`\x1b\[[0-9;]*m|.\x08`).ReplaceAllString(string(text), "")
	plain = strings.ReplaceAll(plain, "\u2010", "-")
	plain = strings.ReplaceAll(plain, "\u2212", "-")
	for _, cmd := range everyCommand() {
		for _, f := range helpFlags(t, cmd...) {
			if !strings.Contains(plain, "--"+f) {
				t.Errorf("the formatted man page lacks --%s (of reproof %s)", f, strings.Join(cmd, " "))
			}
		}
	}
}

func TestCompletionUsage(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}, {"man", "extra"}} {
		if code, _, errOut := runCLI(t, context.Background(), nil, args...); code != 2 || !strings.Contains(errOut, "hint: ") {
			t.Errorf("reproof %q: exit %d, stderr %q; want 2 with a hint", args, code, errOut)
		}
	}
}

// writeCompletion writes `reproof completion SHELL` into a file.
func writeCompletion(t *testing.T, shell, name string) string {
	t.Helper()
	code, script, errOut := runCLI(t, context.Background(), nil, "completion", shell)
	if code != 0 {
		t.Fatalf("reproof completion %s: exit %d, %s", shell, code, errOut)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompletionBash asks bash itself: the script is sourced and _reproof
// run as complete -F runs it, for each command's flags.
func TestCompletionBash(t *testing.T) {
	testenv.RequireTools(t, "bash")
	script := writeCompletion(t, "bash", "reproof.bash")
	complete := func(words ...string) []string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellWords(w))
		}
		prog := `source "$1" || exit 3; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _reproof; printf '%s\n' "${COMPREPLY[@]}"`
		out, err := exec.Command("bash", "-c", prog, "bash", script).Output()
		if err != nil {
			t.Fatalf("bash completing %q: %v", words, err)
		}
		return strings.Fields(string(out))
	}
	for _, c := range commands {
		if got := complete("reproof", c.name[:2]); !contains(got, c.name) {
			t.Errorf("bash: reproof %s<TAB> = %q, want %s among them", c.name[:2], got, c.name)
		}
		got := complete("reproof", c.name, "--")
		for _, f := range helpFlags(t, c.name) {
			if !contains(got, "--"+f) {
				t.Errorf("bash: reproof %s --<TAB> lacks --%s", c.name, f)
			}
		}
	}
	if got := complete("reproof", "completion", ""); strings.Join(got, " ") != "bash fish zsh" {
		t.Errorf("bash: reproof completion <TAB> = %q, want the shells", got)
	}
	// A flag's value is not taken for a command: after --format, a flag of
	// diff is still completed.
	if got := complete("reproof", "diff", "--format", "json", "--col"); !contains(got, "--color") {
		t.Errorf("bash: reproof diff --format json --col<TAB> = %q, want --color", got)
	}
}

// TestCompletionFish asks fish: complete -C prints what it would offer.
func TestCompletionFish(t *testing.T) {
	testenv.RequireTools(t, "fish")
	script := writeCompletion(t, "fish", "reproof.fish")
	complete := func(line string) []string {
		t.Helper()
		cmd := exec.Command("fish", "--no-config", "-c", `source $argv[1]; or exit 3; complete -C $argv[2]`, script, line)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fish completing %q: %v", line, err)
		}
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			w, _, _ := strings.Cut(l, "\t")
			words = append(words, w)
		}
		return words
	}
	if got := complete("reproof "); !contains(got, "verify") || !contains(got, "man") {
		t.Errorf("fish: reproof <TAB> = %q, want every command", got)
	}
	for _, c := range commands {
		got := complete("reproof " + c.name + " --")
		for _, f := range helpFlags(t, c.name) {
			if !contains(got, "--"+f) {
				t.Errorf("fish: reproof %s --<TAB> lacks --%s", c.name, f)
			}
		}
	}
}

// TestCompletionZsh loads the script with compinit in an interactive zsh
// on a pseudo-terminal (zsh/zpty) and completes a flag.
func TestCompletionZsh(t *testing.T) {
	testenv.RequireTools(t, "zsh")
	dir := filepath.Dir(writeCompletion(t, "zsh", "_reproof"))
	if out, err := exec.Command("zsh", "-n", filepath.Join(dir, "_reproof")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n _reproof: %v\n%s", err, out)
	}
	for _, tc := range []struct{ typed, want string }{
		{"reproof verify --ta", "reproof verify --tag"},
		{"reproof normalize --compr", "reproof normalize --compression"},
		{"reproof compl", "reproof completion"},
	} {
		// zpty -r blocks until the pattern shows: the deadline is the
		// test's bound, not a timing assertion.
		prog := `zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'PS1="> "; fpath=(` + dir + ` $fpath); autoload -Uz compinit; compinit -u; echo READY'
zpty -r z line '*READY*READY*'
zpty -w -n z $'` + tc.typed + `\t'
zpty -r z out '*` + tc.want + `*' && print OK
zpty -d z`
		cmd := exec.Command("timeout", "60", "zsh", "-f", "-c", prog)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Errorf("zsh: %q<TAB> did not complete to %q within %s: %v\n%q", tc.typed, tc.want, time.Since(start).Round(time.Second), err, out)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestVersionOf(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	settings := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i+1 < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	withMain := func(v string, bi *debug.BuildInfo) *debug.BuildInfo { bi.Main.Version = v; return bi }
	tests := []struct {
		name          string
		stamp, stampC string
		bi            *debug.BuildInfo
		want          string
	}{
		{"release build", "v1.2.3", commit, withMain("(devel)", settings()), "v1.2.3 0123456789ab"},
		{"go install @tag", "", "", withMain("v1.2.3", settings()), "v1.2.3"},
		{"go install @pseudo-version", "", "", withMain("v0.0.0-20261207114552-0123456789ab", settings()), "v0.0.0-20261207114552-0123456789ab"},
		{"checkout with VCS stamping", "", "", withMain("(devel)", settings("vcs.revision", commit, "vcs.modified", "false")), "(devel) 0123456789ab"},
		{"dirty checkout", "", "", withMain("(devel)", settings("vcs.revision", commit, "vcs.modified", "true")), "(devel) 0123456789ab+dirty"},
		{"no VCS stamping", "", "", withMain("", settings()), "(devel)"},
		{"no build info", "", "", nil, "(unknown)"},
		{"no build info, stamped", "v1.2.3", commit, nil, "v1.2.3 0123456789ab"},
	}
	for _, tt := range tests {
		if got := versionOf(tt.stamp, tt.stampC, tt.bi); got != tt.want {
			t.Errorf("%s: versionOf(%q, %q, ...) = %q, want %q", tt.name, tt.stamp, tt.stampC, got, tt.want)
		}
	}
}
