package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// ciShim is a stand-in reproof on PATH for running the CI examples'
// scripts: it records its arguments and writes the reports it is asked
// for, as reproof verify would on a reproducible release.
const ciShim = `#!/bin/sh
printf '%s\n' "$@" > "$SHIM_ARGS"
while [ $# -gt 0 ]; do
	case "$1" in
	--markdown) echo "# reproof: REPRODUCIBLE" > "$2" ;;
	--json) echo '{"verdict":"reproducible"}' > "$2" ;;
	--signing-key) cp "$2" "$SHIM_ARGS.key" ;;
	esac
	shift
done
exit 0
`

// yamlScripts reads a YAML file's scripts with Python's yaml module: the
// run: of each step of a GitHub composite action, or the script lines of
// a GitLab job.
func yamlScripts(t *testing.T, file, query string) []string {
	t.Helper()
	prog := `import json, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
` + query
	out, err := exec.Command("python3", "-c", prog, file).Output()
	if err != nil {
		t.Fatalf("reading %s with python3 yaml: %v", file, err)
	}
	var scripts []string
	if err := json.Unmarshal(out, &scripts); err != nil {
		t.Fatal(err)
	}
	return scripts
}

// runShim runs a script with the shim first on PATH and returns the
// arguments reproof got.
func runShim(t *testing.T, shell, script string, env []string) (args []string, dir string) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "reproof"), []byte(ciShim), 0o755); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "args")
	cmd := exec.Command(shell, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SHIM_ARGS=" + record}, env...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s script: %v\n%s", shell, err, out)
	}
	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("the script did not run reproof: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(raw)), "\n"), dir
}

// checkVerifyArgs checks that reproof was run as `reproof verify SPEC` with
// flags verify --help lists.
func checkVerifyArgs(t *testing.T, args []string, spec string) {
	t.Helper()
	if len(args) < 2 || args[0] != "verify" || args[1] != spec {
		t.Fatalf("reproof ran as %q, want verify %s ...", args, spec)
	}
	flags := helpFlags(t, "verify")
	for _, a := range args[2:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if strings.HasPrefix(a, "--") && !contains(flags, name) {
			t.Errorf("the example passes %s, which reproof verify --help does not list", a)
		}
	}
}

func TestGitHubAction(t *testing.T) {
	testenv.RequireTools(t, "python3", "bash")
	file := "../../examples/github-action/action.yml"
	steps := yamlScripts(t, file, `print(json.dumps([s.get("run", "") for s in d["runs"]["steps"]]))`)
	var verify, gate string
	for _, s := range steps {
		if out, err := exec.Command("bash", "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n of a step: %v\n%s\n%s", err, out, s)
		}
		switch {
		case strings.Contains(s, `exit "${CODE`):
			gate = s
		case strings.Contains(s, "reproof verify"):
			verify = s
		}
	}
	if verify == "" || gate == "" {
		t.Fatalf("action.yml has no verify step or no gate step")
	}
	tmp := t.TempDir()
	summary, output := filepath.Join(tmp, "summary"), filepath.Join(tmp, "output")
	args, dir := runShim(t, "bash", verify, []string{
		"RUNNER_TEMP=" + tmp, "GITHUB_STEP_SUMMARY=" + summary, "GITHUB_OUTPUT=" + output,
		"GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=o/r", "GITHUB_RUN_ID=7",
		"SPEC=reproof.toml", "ARGS=--tag v2.0.0 --accept-normalized", "SIGNING_KEY=-----BEGIN PRIVATE KEY-----", "COSIGN_PASSWORD=",
	})
	checkVerifyArgs(t, args, "reproof.toml")
	if !strings.Contains(strings.Join(args, " "), "--verifier-id https://github.com/o/r/actions/runs/7") {
		t.Errorf("verify args = %q, want the run's URL as --verifier-id", args)
	}
	if key, err := os.ReadFile(filepath.Join(dir, "args.key")); err != nil || !strings.Contains(string(key), "BEGIN PRIVATE KEY") {
		t.Errorf("reproof did not get the signing key in a file: %q, %v", key, err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "reproof-signing.key")); err == nil {
		t.Error("the signing key file is left in RUNNER_TEMP")
	}
	if s, err := os.ReadFile(summary); err != nil || !strings.Contains(string(s), "REPRODUCIBLE") {
		t.Errorf("job summary = %q (%v), want the Markdown report", s, err)
	}
	if o, err := os.ReadFile(output); err != nil || !strings.Contains(string(o), "verdict=reproducible\n") || !strings.Contains(string(o), "exit-code=0\n") {
		t.Errorf("step outputs = %q (%v)", o, err)
	}
	for code, want := range map[string]int{"0": 0, "1": 1, "3": 3, "": 2} {
		cmd := exec.Command("bash", "-c", gate)
		cmd.Env = append(os.Environ(), "CODE="+code, "VERDICT=x")
		err := cmd.Run()
		got := 0
		if ee, ok := err.(*exec.ExitError); ok {
			got = ee.ExitCode()
		}
		if got != want {
			t.Errorf("gate with exit code %q exits %d, want %d", code, got, want)
		}
	}
}

func TestGitLabExample(t *testing.T) {
	testenv.RequireTools(t, "python3", "sh")
	file := "../../examples/gitlab-ci.yml"
	scripts := yamlScripts(t, file, `print(json.dumps(d["reproof-verify"]["before_script"] + d["reproof-verify"]["script"]))`)
	var verify string
	for _, s := range scripts {
		if out, err := exec.Command("sh", "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("sh -n of a script line: %v\n%s\n%s", err, out, s)
		}
		if strings.Contains(s, "reproof verify") {
			verify = s
		}
	}
	if verify == "" {
		t.Fatal("gitlab-ci.yml runs no reproof verify")
	}
	args, dir := runShim(t, "sh", verify, []string{"REPROOF_SPEC=reproof.toml", "REPROOF_ARGS=--accept-normalized",
		"CI_JOB_URL=https://gitlab.example/j/1", "REPROOF_SIGNING_KEY=/dev/null"})
	checkVerifyArgs(t, args, "reproof.toml")
	if md, err := os.ReadFile(filepath.Join(dir, "reproof-verify", "report.md")); err != nil || !strings.Contains(string(md), "REPRODUCIBLE") {
		t.Errorf("report.md = %q, %v", md, err)
	}
	if !regexp.MustCompile(`--signing-key\n/dev/null`).MatchString(strings.Join(args, "\n")) {
		t.Errorf("verify args = %q, want --signing-key from REPROOF_SIGNING_KEY", args)
	}
}
