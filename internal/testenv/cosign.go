package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Cosign is the cosign the tests verify attestations with, built from the
// Go module proxy at this version: the consumer's tool, not ours.
const Cosign = "github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"

// CosignBinary returns the path of cosign, built once into the fixtures
// cache (beside the npm and versitygw caches) and reused after. The first
// build takes a few minutes; a test that cannot have it skips, or fails
// when Required.
func CosignBinary(t testing.TB) string {
	t.Helper()
	bin, err := GoTool(Cosign)
	if err != nil {
		Unmet(t, &MissingError{What: []string{"cosign"}, Reason: err.Error()})
	}
	return bin
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
