package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// TestGoInstallVersion installs reproof the way a user would once a tag
// is published, `go install github.com/reproof/reproof/cmd/reproof@TAG`,
// from a module proxy directory holding HEAD as version v0.99.0-test
// (dependencies from the host's module cache, else its proxy), and asks
// the installed binary its version: the module version from the build
// info. It fails if go.mod's module path, a replace directive or anything
// else keeps the module from installing by version.
func TestGoInstallVersion(t *testing.T) {
	testenv.RequireTools(t, "go", "git")
	const version = "v0.99.0-test"
	goEnv := func(key string) string {
		out, err := exec.Command("go", "env", key).Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		return strings.TrimSpace(string(out))
	}
	hostCache, hostProxy := goEnv("GOMODCACHE"), goEnv("GOPROXY")
	dir := t.TempDir()
	at := filepath.Join(dir, "proxy", "github.com", "reproof", "reproof", "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", "../.."}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	git("archive", "--format=zip", "--prefix=github.com/reproof/reproof@"+version+"/", "-o", filepath.Join(at, version+".zip"), "HEAD")
	for name, data := range map[string][]byte{
		version + ".mod":  git("show", "HEAD:go.mod"),
		version + ".info": []byte(`{"Version":"` + version + `","Time":"2026-12-07T00:00:00Z"}`),
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proxy := "file://" + filepath.Join(dir, "proxy") + ",file://" + filepath.Join(hostCache, "cache", "download")
	if hostProxy != "" && hostProxy != "off" {
		proxy += "," + hostProxy
	}
	cmd := exec.Command("go", "install", "github.com/reproof/reproof/cmd/reproof@"+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(dir, "bin"), "GOMODCACHE="+filepath.Join(dir, "modcache"),
		"GOPROXY="+proxy, "GOSUMDB=off", "GOFLAGS=-modcacherw -trimpath", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install ...@%s: %v\n%s", version, err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "reproof"), "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "reproof "+version {
		t.Errorf("reproof --version = %q, %v; want reproof %s", out, err, version)
	}
}
