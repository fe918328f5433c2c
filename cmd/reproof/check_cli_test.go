package main

import (
	"context"
	"strings"
	"testing"
)

func TestCheckUsage(t *testing.T) {
	code, out, _ := runCLI(t, context.Background(), nil, "check", "--help")
	for _, want := range []string{"Usage: reproof check", "build-path", "file-order", "--vary", "--max-builds", "--jobs", "EXIT STATUS", "4  the build failed"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("check --help: exit %d, lacks %q", code, want)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--vary", "bogus"}, `unknown variation "bogus"`},
		{[]string{"--vary", "umask,all"}, "may only come first"},
		{[]string{"--max-builds", "1"}, "--max-builds 1"},
		{[]string{"--jobs", "0"}, "--jobs 0"},
		{[]string{"--format", "xml"}, `--format: "xml"`},
		{[]string{"--out", "x"}, "unknown flag: --out"},
	} {
		code, _, stderr := runCLI(t, context.Background(), nil, append([]string{"check"}, tt.args...)...)
		if code != exitError || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "hint: run 'reproof check --help'") {
			t.Errorf("check %q: exit %d, stderr %q; want 2 saying %q", tt.args, code, stderr, tt.want)
		}
	}
}
