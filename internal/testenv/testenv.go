// Package testenv starts the real components that reproof's tests run
// against: a private Docker engine (Debian's docker.io, with runc), and OCI
// registries on 127.0.0.1 (go-containerregistry's registry served over real
// HTTP, or Debian's docker-registry binary). Nothing here is a mock.
//
// A test package that uses Docker must route its TestMain through Main, so the
// engine started lazily by the first test that asks for it is stopped and
// every trace of it (processes, mounts, cgroups, directories) is removed when
// the test binary ends:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestRun(t *testing.T) {
//		d := testenv.Docker(t) // started once per test binary
//		cmd := d.Command(ctx, "run", "--rm", "--network", "none", img, "true")
//		...
//	}
//
// Registry and RegistryProcess need no TestMain: they are stopped by
// t.Cleanup.
//
// testenv is strict about missing tools: a test that needs a tool that is not
// installed is skipped, naming the Debian package to install, unless the
// environment variable CI or REPROOF_REQUIRE_RUNTIME is set, in which case it
// fails. A suite on a CI machine therefore never passes by skipping.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// RequireEnv lists the environment variables that turn a missing tool from a
// skip into a failure.
var RequireEnv = []string{"CI", "REPROOF_REQUIRE_RUNTIME"}

// toolPackages maps a command to the Debian package that provides it (a
// command missing here is its own package's name).
var toolPackages = map[string]string{
	"dockerd":                 "docker.io",
	"docker":                  "docker.io",
	"containerd":              "containerd",
	"containerd-shim-runc-v2": "containerd",
	"runc":                    "runc",
	"docker-registry":         "docker-registry",
	"busybox":                 "busybox-static",
	"apt-get":                 "apt",
	"apt-cache":               "apt",
	"dpkg-deb":                "dpkg",
	"git":                     "git",
	"diffoscope":              "diffoscope",
	"sh":                      "dash",
	"xz":                      "xz-utils",
	"cc":                      "gcc",
	"setfattr":                "attr",
	"setfacl":                 "acl",
	"setcap":                  "libcap2-bin",
	"chattr":                  "e2fsprogs",
	"find":                    "findutils",
	"diff":                    "diffutils",
	"seq":                     "coreutils",
	"touch":                   "coreutils",
	"head":                    "coreutils",
	"tr":                      "coreutils",
	"sort":                    "coreutils",
	"cut":                     "coreutils",
	"sha256sum":               "coreutils",
	"sha512sum":               "coreutils",
	"b2sum":                   "coreutils",
	"zipinfo":                 "unzip",
	"readelf":                 "binutils",
	"ar":                      "binutils",
	"bsdtar":                  "libarchive-tools",
	"gpg":                     "gnupg",
	"setarch":                 "util-linux",
	"date":                    "coreutils",
	"/usr/bin/python3":        "python3",
}

// sbinDirs are searched after PATH: a non-root PATH often lacks them, and
// dockerd and runc live there on Debian.
var sbinDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"}

// MissingError reports tools (or privileges) a component needs and how to get
// them.
type MissingError struct {
	What     []string // missing commands, or a short description
	Packages []string // Debian packages that provide them
	Reason   string   // set when the problem is not a missing command
}

func (e *MissingError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	msg := fmt.Sprintf("missing %s", strings.Join(e.What, ", "))
	if len(e.Packages) > 0 {
		msg += fmt.Sprintf(" (install with: apt-get install -y %s)", strings.Join(e.Packages, " "))
	}
	return msg
}

// LookTool finds a command in PATH or in the sbin directories.
func LookTool(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, tool)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found in PATH or %s", tool, strings.Join(sbinDirs, ":"))
}

// CheckTools returns a *MissingError naming the tools that cannot be found and
// their Debian packages, or nil.
func CheckTools(tools ...string) error {
	var missing []string
	pkgs := map[string]bool{}
	for _, tool := range tools {
		if _, err := LookTool(tool); err != nil {
			missing = append(missing, tool)
			pkg, ok := toolPackages[tool]
			if !ok {
				pkg = tool
			}
			pkgs[pkg] = true
		}
	}
	if len(missing) == 0 {
		return nil
	}
	e := &MissingError{What: missing}
	for p := range pkgs {
		e.Packages = append(e.Packages, p)
	}
	sort.Strings(e.Packages)
	return e
}

// Required reports whether CI or REPROOF_REQUIRE_RUNTIME is set, that is,
// whether a missing requirement must fail a test instead of skipping it.
func Required() bool {
	for _, v := range RequireEnv {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// RequireTools skips the test (or fails it, see Required) unless every tool
// is installed. The message names the apt packages to install.
func RequireTools(t testing.TB, tools ...string) {
	t.Helper()
	if err := CheckTools(tools...); err != nil {
		Unmet(t, err)
	}
}

// HaveTools reports whether every tool is installed, for a part of a test
// that runs only where they are. Where they are not, it logs what that
// part misses, or fails t (without stopping it) when Required.
func HaveTools(t testing.TB, tools ...string) bool {
	t.Helper()
	err := CheckTools(tools...)
	if err == nil {
		return true
	}
	if Required() {
		t.Errorf("testenv: %v (required because %s is set)", err, strings.Join(RequireEnv, " or "))
	} else {
		t.Logf("testenv: %v: part of the test did not run (set %s to make this a failure)", err, RequireEnv[len(RequireEnv)-1])
	}
	return false
}

// RequireRoot skips the test (or fails it, see Required) unless it runs as
// root; why says what needs root, for the message.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if err := CheckRoot(why); err != nil {
		Unmet(t, err)
	}
}

// CheckRoot returns a *MissingError saying why needs root when the process
// is not root, or nil.
func CheckRoot(why string) error {
	if uid := os.Geteuid(); uid != 0 {
		return &MissingError{What: []string{"root"}, Reason: fmt.Sprintf("%s: it needs root (running as uid %d)", why, uid)}
	}
	return nil
}

// Unmet skips t for an unmet requirement err (a missing tool, privilege or
// platform), or fails it when Required.
func Unmet(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("testenv: %v (required because %s is set)", err, strings.Join(RequireEnv, " or "))
	}
	t.Skipf("testenv: %v (set %s to make this a failure)", err, RequireEnv[len(RequireEnv)-1])
}

// Process-wide state torn down by Main.
var (
	mainRunning atomic.Bool

	teardownMu sync.Mutex
	teardowns  []func() error
)

// Main runs the tests of m, then stops every daemon started lazily during the
// run (see Docker), and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// The exit code is m.Run's; it is 1 when tests passed but tearing a daemon
// down failed, since a leak is a bug.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if err := teardownAll(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// AtExit registers f to run when Main's tests are done, before the process
// exits: the place for a TestMain's own cleanup, since Main does not
// return. Functions run in reverse order of registration.
func AtExit(f func() error) { atExit(f) }

// atExit registers f to run when Main's tests are done.
func atExit(f func() error) {
	teardownMu.Lock()
	defer teardownMu.Unlock()
	teardowns = append(teardowns, f)
}

func teardownAll() error {
	teardownMu.Lock()
	fs := teardowns
	teardowns = nil
	teardownMu.Unlock()
	var errs []error
	for i := len(fs) - 1; i >= 0; i-- {
		errs = append(errs, fs[i]())
	}
	return errors.Join(errs...)
}
