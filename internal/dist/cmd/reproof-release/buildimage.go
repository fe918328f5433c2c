package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/dist"
)

// The build image: where its parts go.
const (
	goRoot    = "usr/local/go"            // the Go toolchain
	goProxy   = "usr/local/share/goproxy" // the module proxy of go.sum (GOPROXY=file://)
	imageRepo = "reproof-release/build"
)

// buildEnv is the environment the build image gives the release build:
// the toolchain on PATH and never another one, modules from the image's
// file proxy only, checked against go.sum (no checksum database: the
// network is off), no cgo.
var buildEnv = []string{
	"PATH=/" + goRoot + "/bin:" + images.Path,
	"GOTOOLCHAIN=local",
	"GOPROXY=file:///" + goProxy,
	"GOSUMDB=off",
	"GOFLAGS=-mod=readonly",
	"CGO_ENABLED=0",
}

// buildImage is the image release.toml's build runs in, and what it was
// assembled from.
type buildImage struct {
	Image     v1.Image `json:"-"`
	Digest    string   `json:"digest"`
	GoVersion string   `json:"go_version"` // "go1.26.8"
	Toolchain struct {
		Module string `json:"module"` // golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64
		Sum    string `json:"sum"`    // h1:..., checked by the go command against sum.golang.org
	} `json:"toolchain"`
	GoSumSHA256 string   `json:"go_sum_sha256"` // of the go.sum the proxy serves
	Modules     []string `json:"modules"`       // the files of the proxy layer
	Base        []string `json:"base_packages"` // Debian packages of the busybox layer
	Layers      []string `json:"layers"`        // layer digests, base first
}

// assembler builds the build image with the host's go command.
type assembler struct {
	goCmd string
	work  string    // a directory it may fill and leave
	log   io.Writer // progress lines
	debs  string    // the fixture .deb cache; empty: the default
}

// goToolchainVersion is the Go release a go.mod asks for: its toolchain
// line, else its go line when that names a release (1.26.8).
var goRelease = regexp.MustCompile(`^go1\.[0-9]+\.[0-9]+$`)

// assemble builds the image for the go.mod and go.sum of the release: the
// busybox fixture layer (Debian's busybox-static: /bin/sh and the tools a
// build command may use), the Go toolchain go.mod names as its module
// golang.org/toolchain from the module proxy (verified by the go command
// against the checksum database), and a module proxy directory holding
// exactly the modules `go mod download` fetches for that go.mod, verified
// against go.sum. The same go.mod, go.sum and Debian package give the same
// digest.
func (a *assembler) assemble(ctx context.Context, goMod, goSum []byte) (*buildImage, error) {
	bi := &buildImage{}
	modDir := filepath.Join(a.work, "module")
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(modDir, "go.mod"), goMod, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(modDir, "go.sum"), goSum, 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(goSum)
	bi.GoSumSHA256 = hex.EncodeToString(sum[:])

	var err error
	if bi.GoVersion, err = a.goVersionOf(ctx, modDir); err != nil {
		return nil, err
	}
	hostEnv, err := a.hostGoEnv(ctx)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	bi.Toolchain.Module = "golang.org/toolchain@v0.0.1-" + bi.GoVersion + ".linux-amd64"
	var dl struct{ Zip, Sum, Error string }
	if err := a.goJSON(ctx, a.work, []string{"GOFLAGS=-mod=mod"}, &dl, "mod", "download", "-json", bi.Toolchain.Module); err != nil {
		return nil, fmt.Errorf("downloading the Go toolchain %s: %w", bi.Toolchain.Module, err)
	}
	if dl.Error != "" || dl.Zip == "" {
		return nil, fmt.Errorf("downloading the Go toolchain %s: %s", bi.Toolchain.Module, dl.Error)
	}
	bi.Toolchain.Sum = dl.Sum
	toolchainLayer, err := a.toolchainLayer(dl.Zip, strings.TrimPrefix(bi.Toolchain.Module, ""))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.log, "build image: Go toolchain %s (%s) in %s\n", bi.GoVersion, bi.Toolchain.Sum, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	proxyLayer, err := a.proxyLayer(ctx, modDir, hostEnv, bi)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.log, "build image: module proxy of go.sum (%d files) in %s\n", len(bi.Modules), time.Since(start).Round(time.Millisecond))

	built, err := images.Build(ctx, images.Options{CacheDir: a.debs, Log: prefixed{a.log, "build image: "}})
	if err != nil {
		return nil, fmt.Errorf("building the busybox base layer: %w", err)
	}
	for _, p := range built.Packages[:len(images.BusyboxPackages)] {
		bi.Base = append(bi.Base, p.Name+"="+p.Version)
	}
	img, err := mutate.Append(built.Busybox,
		mutate.Addendum{Layer: toolchainLayer, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: images.Epoch},
			CreatedBy: fmt.Sprintf("reproof release: Go toolchain %s at /%s (%s %s)", bi.GoVersion, goRoot, bi.Toolchain.Module, bi.Toolchain.Sum),
		}},
		mutate.Addendum{Layer: proxyLayer, MediaType: types.OCILayer, History: v1.History{
			Created:   v1.Time{Time: images.Epoch},
			CreatedBy: fmt.Sprintf("reproof release: Go module proxy at /%s for go.sum sha256:%s (%d files)", goProxy, bi.GoSumSHA256, len(bi.Modules)),
		}},
	)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Env = buildEnv
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		bi.Layers = append(bi.Layers, d.String())
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	bi.Image, bi.Digest = img, d.String()
	return bi, nil
}

// goVersionOf reads the Go release go.mod asks for, with `go mod edit
// -json` (the go command's own parser).
func (a *assembler) goVersionOf(ctx context.Context, modDir string) (string, error) {
	var mf struct{ Go, Toolchain string }
	if err := a.goJSON(ctx, modDir, nil, &mf, "mod", "edit", "-json"); err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	v := mf.Toolchain
	if v == "" || v == "default" {
		v = "go" + mf.Go
	}
	if !goRelease.MatchString(v) {
		return "", fmt.Errorf("go.mod: the release is built with the Go release go.mod names, and %q (go %q, toolchain %q) names none: add a line such as 'toolchain go1.26.8'", v, mf.Go, mf.Toolchain)
	}
	return v, nil
}

// hostGoEnv is the host's module cache and proxy, which the module proxy
// layer is filled from.
func (a *assembler) hostGoEnv(ctx context.Context) (map[string]string, error) {
	env := map[string]string{}
	if err := a.goJSON(ctx, a.work, nil, &env, "env", "-json", "GOMODCACHE", "GOPROXY"); err != nil {
		return nil, fmt.Errorf("reading the go environment: %w", err)
	}
	return env, nil
}

// goJSON runs the go command in dir and decodes its JSON output into v.
func (a *assembler) goJSON(ctx context.Context, dir string, env []string, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, a.goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GOTOOLCHAIN=local"}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, lastLine(stderr.String()))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// toolchainLayer turns the toolchain module's zip into a layer with its
// files under /usr/local/go: the executables (bin/, pkg/tool/*/) 0755,
// the rest 0644, as the go command sets them when it unpacks a toolchain.
func (a *assembler) toolchainLayer(zipPath, module string) (v1.Layer, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, fmt.Errorf("reading the toolchain: %w", err)
	}
	defer zr.Close()
	prefix := module + "/"
	var files []dist.File
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || strings.HasSuffix(f.Name, "/") {
			return nil, fmt.Errorf("reading the toolchain: %q is not a file under %s", f.Name, prefix)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("reading the toolchain: %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the toolchain: %s: %w", f.Name, err)
		}
		mode := int64(0o644)
		if dir := path.Dir(rel); dir == "bin" || path.Dir(dir) == "pkg/tool" {
			mode = 0o755
		}
		files = append(files, dist.File{Name: goRoot + "/" + rel, Mode: mode, Data: data})
	}
	return a.layer("toolchain", files)
}

// proxyLayer downloads the modules of go.mod into a fresh module cache,
// from the host's cache first and the host's proxy for the rest (the go
// command checks every module against go.sum), and makes a layer of the
// .mod and .zip files: a module proxy directory. The other files a cache
// holds (.info, .ziphash, locks, lists) are left out: a build with
// versions fixed by go.mod does not read them, and .info files differ by
// where they came from.
func (a *assembler) proxyLayer(ctx context.Context, modDir string, hostEnv map[string]string, bi *buildImage) (v1.Layer, error) {
	cache := filepath.Join(a.work, "modcache")
	proxy := "file://" + filepath.ToSlash(filepath.Join(hostEnv["GOMODCACHE"], "cache", "download"))
	if p := hostEnv["GOPROXY"]; p != "" && p != "off" {
		proxy += "," + p
	}
	cmd := exec.CommandContext(ctx, a.goCmd, "mod", "download")
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOMODCACHE="+cache, "GOPROXY="+proxy, "GOFLAGS=-mod=readonly -modcacherw")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("downloading the modules of go.mod: %w: %s", err, lastLine(stderr.String()))
	}
	root := filepath.Join(cache, "cache", "download")
	var files []dist.File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() && rel == "sumdb" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !(strings.HasSuffix(rel, ".mod") || strings.HasSuffix(rel, ".zip")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, dist.File{Name: goProxy + "/" + rel, Mode: 0o644, Data: data})
		bi.Modules = append(bi.Modules, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the downloaded modules: %w", err)
	}
	sort.Strings(bi.Modules)
	return a.layer("goproxy", files)
}

// layer writes files as a gzip layer (at BestSpeed: these are large and
// only the build reads them) into the work directory.
func (a *assembler) layer(name string, files []dist.File) (v1.Layer, error) {
	p := filepath.Join(a.work, name+".tar.gz")
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	if err := dist.WriteTarGzLevel(f, files, images.Epoch, gzip.BestSpeed); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the %s layer: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing the %s layer: %w", name, err)
	}
	return tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer))
}

// lastLine is the last non-empty line of a command's stderr.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// prefixed writes each write with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, b); err != nil {
		return 0, err
	}
	return len(b), nil
}
