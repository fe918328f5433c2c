package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// goTools are the programs built from the Go module proxy so far in this
// process, by PACKAGE@VERSION.
var goTools sync.Map // string -> *goTool

type goTool struct {
	once sync.Once
	bin  string
	err  error
}

// GoTool returns the path of the program pkg names (PACKAGE@VERSION, as
// `go install` takes it), built once from the Go module proxy into the
// fixtures cache (beside the npm and .deb caches, as bin/NAME-VERSION) and
// reused by every later test run. It is for the real tools the tests run
// against that Debian does not package: an S3 server, cosign.
func GoTool(pkg string) (string, error) {
	v, _ := goTools.LoadOrStore(pkg, &goTool{})
	g := v.(*goTool)
	g.once.Do(func() { g.bin, g.err = buildGoTool(pkg) })
	return g.bin, g.err
}

func buildGoTool(pkg string) (bin string, err error) {
	importPath, version, ok := strings.Cut(pkg, "@")
	if !ok {
		return "", fmt.Errorf("testenv.GoTool(%q): want PACKAGE@VERSION", pkg)
	}
	name := path.Base(importPath)
	cache, err := NPMCacheDir()
	if err != nil {
		return "", err
	}
	bin = filepath.Join(filepath.Dir(cache), "bin", name+"-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	// Built into a directory of its own, then renamed into place: a
	// build that dies halfway leaves no binary a later run would trust.
	gobin, err := os.MkdirTemp(filepath.Dir(bin), "."+name+"-build-")
	if err != nil {
		return "", err
	}
	defer func() {
		if rmErr := os.RemoveAll(gobin); rmErr != nil && err == nil {
			bin, err = "", rmErr
		}
	}()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goCmd, "install", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, name), bin); err != nil {
		return "", err
	}
	return bin, nil
}
