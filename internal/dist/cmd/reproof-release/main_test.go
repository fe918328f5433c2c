package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/dist"
	"github.com/reproof/reproof/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// layerFiles lists a layer's entries: name -> mode.
func layerFiles(t *testing.T, l v1.Layer) map[string]int64 {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close() //nolint:errcheck // a reader, read to its end below
	files := map[string]int64{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h.Mode
	}
}

// TestBuildImageIsDeterministic assembles the build image of the working
// tree's go.mod and go.sum twice, in two work directories: the same
// digest, the toolchain executable, the module proxy holding exactly the
// modules go.sum lists, and the environment that keeps the build offline.
func TestBuildImageIsDeterministic(t *testing.T) {
	testenv.RequireTools(t, "go")
	images.BuiltForTest(t) // skips without apt and without cached .deb files
	goMod, err := os.ReadFile("../../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile("../../../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	assemble := func() *buildImage {
		t.Helper()
		a := &assembler{goCmd: "go", work: t.TempDir(), log: io.Discard}
		bi, err := a.assemble(ctx, goMod, goSum)
		if err != nil {
			t.Fatalf("assembling the build image: %v", err)
		}
		return bi
	}
	first, second := assemble(), assemble()
	if first.Digest != second.Digest {
		a, aerr := json.MarshalIndent(first, "", " ")
		b, berr := json.MarshalIndent(second, "", " ")
		if err := errors.Join(aerr, berr); err != nil {
			t.Fatalf("two assemblies: %s and %s (%v)", first.Digest, second.Digest, err)
		}
		t.Fatalf("two assemblies: %s and %s\n%s\n%s", first.Digest, second.Digest, a, b)
	}
	if !goRelease.MatchString(first.GoVersion) || !strings.HasPrefix(first.Toolchain.Sum, "h1:") {
		t.Errorf("toolchain %q %q", first.GoVersion, first.Toolchain.Sum)
	}

	layers, err := first.Image.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("layers: %d, %v; want busybox, toolchain, proxy", len(layers), err)
	}
	toolchain := layerFiles(t, layers[1])
	if m, ok := toolchain[goRoot+"/bin/go"]; !ok || m != 0o755 {
		t.Errorf("%s/bin/go: mode %o, present %v; want 0755", goRoot, m, ok)
	}
	if m := toolchain[goRoot+"/src/fmt/print.go"]; m != 0o644 {
		t.Errorf("%s/src/fmt/print.go: mode %o, want 0644", goRoot, m)
	}
	proxy := layerFiles(t, layers[2])
	zips := 0
	for name := range proxy {
		if !strings.HasPrefix(name, goProxy+"/") && !strings.HasPrefix(goProxy+"/", name) {
			t.Errorf("proxy layer holds %s, outside /%s", name, goProxy)
		}
		if strings.HasSuffix(name, ".zip") {
			zips++
		}
		if strings.HasSuffix(name, ".info") || strings.Contains(name, ".lock") || strings.Contains(name, "sumdb") {
			t.Errorf("proxy layer holds %s", name)
		}
	}
	if zips == 0 || !contains(first.Modules, "github.com/google/go-containerregistry/@v/v0.22.1.zip") {
		t.Errorf("proxy layer: %d zips, modules %q", zips, first.Modules)
	}
	cfg, err := first.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(cfg.Config.Env, " ")
	for _, want := range []string{"GOTOOLCHAIN=local", "GOPROXY=file:///" + goProxy, "GOFLAGS=-mod=readonly", "CGO_ENABLED=0", "PATH=/" + goRoot + "/bin:"} {
		if !strings.Contains(env, want) {
			t.Errorf("image env %q lacks %s", env, want)
		}
	}
	if len(cfg.History) < 3 || !strings.Contains(cfg.History[len(cfg.History)-2].CreatedBy, first.Toolchain.Sum) {
		t.Errorf("the toolchain layer's history does not name its sum: %+v", cfg.History)
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

func TestGoVersionOf(t *testing.T) {
	testenv.RequireTools(t, "go")
	for _, tc := range []struct{ goMod, want, wantErr string }{
		{"module m\n\ngo 1.26.8\n", "go1.26.8", ""},
		{"module m\n\ngo 1.26\n\ntoolchain go1.26.8\n", "go1.26.8", ""},
		{"module m\n\ngo 1.26\n", "", "names none"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(tc.goMod), 0o644); err != nil {
			t.Fatal(err)
		}
		a := &assembler{goCmd: "go", work: dir, log: io.Discard}
		got, err := a.goVersionOf(context.Background(), dir)
		if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("goVersionOf(%q) = %q, %v; want %q, error %q", tc.goMod, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestPublish lays out a rebuild's output as the release publishes it.
func TestPublish(t *testing.T) {
	rebuilt, out, records := t.TempDir(), filepath.Join(t.TempDir(), "dist"), t.TempDir()
	const version = "v1.2.3"
	arch := dist.ArchiveName(version, dist.ReleasePlatforms[0])
	files := map[string]string{
		arch:                     "archive",
		"SHA256SUMS":             strings.Repeat("a", 64) + "  " + arch + "\n",
		"SHA512SUMS":             strings.Repeat("b", 128) + "  " + arch + "\n",
		"build.log":              "log\n",
		"provenance.intoto.json": "{\n  \"_type\": \"https://in-toto.io/Statement/v1\"\n}\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(rebuilt, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := publish(rebuilt, out, records, version, &buildImage{Digest: "sha256:x"}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "SHA256SUMS SHA512SUMS reproof-v1.2.3-linux-amd64.tar.gz reproof-v1.2.3.intoto.jsonl"; got != want {
		t.Errorf("published %s, want %s", got, want)
	}
	if prov, err := os.ReadFile(filepath.Join(out, dist.ProvenanceName(version))); err != nil || string(prov) != "{\"_type\":\"https://in-toto.io/Statement/v1\"}\n" {
		t.Errorf("provenance = %q (%v), want the statement on one line", prov, err)
	}
	for _, n := range []string{"build.log", "provenance.intoto.json", "build-image.json"} {
		if _, err := os.Stat(filepath.Join(records, n)); err != nil {
			t.Errorf("records: %v", err)
		}
	}
	// A signed provenance (JSON Lines of envelopes) is published as it is.
	if err := os.WriteFile(filepath.Join(rebuilt, "provenance.intoto.jsonl"), []byte("{\"payloadType\":\"x\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := t.TempDir()
	if err := publish(rebuilt, out2, t.TempDir(), version, &buildImage{}); err != nil {
		t.Fatal(err)
	}
	if prov, err := os.ReadFile(filepath.Join(out2, dist.ProvenanceName(version))); err != nil || string(prov) != "{\"payloadType\":\"x\"}\n" {
		t.Errorf("signed provenance = %q (%v)", prov, err)
	}
	if err := emptyOrAbsent(out); err == nil {
		t.Error("emptyOrAbsent of a filled directory = nil")
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"nope"}, {"release", "--version", "1.2"}, {"release", "--bad-flag"}} {
		var stderr strings.Builder
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("reproof-release %q = %d, %q; want 2 with a message", args, code, stderr.String())
		}
	}
}
