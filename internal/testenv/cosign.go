package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Cosign is the cosign the tests verify attestations with, built from the
// Go module proxy at this version: the consumer's tool, not ours.
const Cosign = "github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"

var (
	cosignOnce sync.Once
	cosignBin  string
	cosignErr  error
)

// CosignBinary returns the path of cosign, built once into the fixtures
// cache (beside the npm and versitygw caches) and reused after. The first
// build takes a few minutes; a test that cannot have it skips, or fails
// when Required.
func CosignBinary(t testing.TB) string {
	t.Helper()
	cosignOnce.Do(func() {
		cache, err := NPMCacheDir()
		if err != nil {
			cosignErr = err
			return
		}
		_, version, _ := strings.Cut(Cosign, "@")
		bin := filepath.Join(filepath.Dir(cache), "bin", "cosign-"+version)
		if _, err := os.Stat(bin); err == nil {
			cosignBin = bin
			return
		}
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			cosignErr = err
			return
		}
		gobin, err := os.MkdirTemp(filepath.Dir(bin), ".cosign-build-")
		if err != nil {
			cosignErr = err
			return
		}
		defer func() {
			if err := os.RemoveAll(gobin); err != nil && cosignErr == nil {
				cosignErr = err
			}
		}()
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = "/usr/local/go/bin/go"
		}
		cmd := exec.Command(goTool, "install", Cosign)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cosignErr = fmt.Errorf("building %s: %v\n%s", Cosign, err, out)
			return
		}
		if err := os.Rename(filepath.Join(gobin, "cosign"), bin); err != nil {
			cosignErr = err
			return
		}
		cosignBin = bin
	})
	if cosignErr != nil {
		Unmet(t, &MissingError{What: []string{"cosign"}, Reason: cosignErr.Error()})
	}
	return cosignBin
}

// CosignCommand is cosign with args, run with a HOME and TUF_ROOT of the
// test's own (cosign writes caches there) and the given extra environment.
func CosignCommand(t testing.TB, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(CosignBinary(t), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"), "SIGSTORE_NO_CACHE=true")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// CosignKeyPair runs `cosign generate-key-pair` in dir with password
// (COSIGN_PASSWORD) and returns the paths of cosign.key (encrypted) and
// cosign.pub.
func CosignKeyPair(t testing.TB, dir, password string) (key, pub string) {
	t.Helper()
	cmd := CosignCommand(t, dir, []string{"COSIGN_PASSWORD=" + password}, "generate-key-pair")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}
