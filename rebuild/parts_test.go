package rebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildLogKeepsHeadAndTail(t *testing.T) {
	l := newBuildLog(16) // head 4, tail 12
	for _, chunk := range []string{"ab", "cdEF", "GHIJKLMNOP", "QRSTUVWXYZ"} {
		l.Write([]byte(chunk))
	}
	got := string(l.Bytes())
	want := "abcd\n[reproof: 10 bytes of build output omitted here]\nOPQRSTUVWXYZ"
	if got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	// A single write larger than the whole ring.
	l = newBuildLog(8)
	l.Write([]byte("0123456789abcdefghij"))
	if got, want := string(l.Bytes()), "01\n[reproof: 12 bytes of build output omitted here]\nefghij"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	// Under the cap: nothing omitted, and Tail gives the last lines.
	l = newBuildLog(1 << 10)
	l.Write([]byte("one\ntwo\nthree\n"))
	if got := l.Tail(2); got != "two\nthree" {
		t.Errorf("Tail(2) = %q", got)
	}
}

// layer builds an uncompressed layer from (name, body) pairs; a body of
// "->target" makes a symlink.
func layer(t *testing.T, files ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		h := &tar.Header{Name: files[i], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(files[i+1]))}
		if target, ok := strings.CutPrefix(files[i+1], "->"); ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, target, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(files[i+1]))
		}
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestImageFileHonoursWhiteouts(t *testing.T) {
	ctx := context.Background()
	base := layer(t, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", "etc/group", "root:x:0:\n")
	cases := []struct {
		name  string
		img   v1.Image
		want  string
		found bool
	}{
		{"base", image(t, base), "root:x:0:0:root:/root:/bin/sh\n", true},
		{"overridden", image(t, base, layer(t, "etc/passwd", "new\n")), "new\n", true},
		{"whiteout", image(t, base, layer(t, "etc/.wh.passwd", "")), "", false},
		{"opaque parent", image(t, base, layer(t, "etc/.wh..wh..opq", "")), "", false},
		{"opaque parent with a new copy", image(t, base, layer(t, "etc/passwd", "mine\n", "etc/.wh..wh..opq", "")), "mine\n", true},
		{"parent whited out", image(t, base, layer(t, ".wh.etc", "")), "", false},
		{"symlink", image(t, base, layer(t, "etc/passwd", "->/host/etc/passwd")), "", false},
		{"absent", image(t, layer(t, "bin/sh", "x")), "", false},
		{"dot-slash names", image(t, layer(t, "./etc/passwd", "dot\n")), "dot\n", true},
	}
	for _, c := range cases {
		got, err := imageFile(ctx, c.img, "etc/passwd", 1<<10)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want || (got != nil) != c.found {
			t.Errorf("%s: got %q (found %v), want %q", c.name, got, got != nil, c.want)
		}
	}
	big := image(t, layer(t, "etc/passwd", strings.Repeat("x", 2000)))
	if _, err := imageFile(ctx, big, "etc/passwd", 1<<10); err == nil || !strings.Contains(err.Error(), "more than 1024") {
		t.Errorf("oversized passwd: err = %v", err)
	}
}

func TestWriteEtcAddsTheBuildUser(t *testing.T) {
	ctx := context.Background()
	img := image(t, layer(t,
		"etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh", // no final newline
		"etc/group", "root:x:0:\nbob:x:1001:\n"))

	dir := t.TempDir()
	home, err := writeEtc(ctx, img, User{1000, 1000}, dir)
	if err != nil {
		t.Fatal(err)
	}
	passwd, _ := os.ReadFile(filepath.Join(dir, "passwd"))
	group, _ := os.ReadFile(filepath.Join(dir, "group"))
	if home != "/home/reproof" ||
		string(passwd) != "root:x:0:0:root:/root:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\nreproof:x:1000:1000:reproof build user:/home/reproof:/bin/sh\n" ||
		string(group) != "root:x:0:\nbob:x:1001:\nreproof:x:1000:\n" {
		t.Errorf("home %q\npasswd:\n%s\ngroup:\n%s", home, passwd, group)
	}

	// A UID the image knows keeps its entry and its home.
	dir = t.TempDir()
	home, err = writeEtc(ctx, img, User{1001, 1001}, dir)
	if err != nil {
		t.Fatal(err)
	}
	passwd, _ = os.ReadFile(filepath.Join(dir, "passwd"))
	if home != "/home/bob" || strings.Contains(string(passwd), "reproof") {
		t.Errorf("known UID: home %q, passwd:\n%s", home, passwd)
	}

	// An image without /etc/passwd still gets one.
	dir = t.TempDir()
	if _, err := writeEtc(ctx, image(t, layer(t, "bin/sh", "x")), User{1000, 1000}, dir); err != nil {
		t.Fatal(err)
	}
	passwd, _ = os.ReadFile(filepath.Join(dir, "passwd"))
	if string(passwd) != "reproof:x:1000:1000:reproof build user:/home/reproof:/bin/sh\n" {
		t.Errorf("passwd from nothing: %q", passwd)
	}
}

func TestCollectArtifactsStaysInTheCheckout(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("host secret"), 0o600)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "build", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "build", "app"), []byte("binary"), 0o755))
	must(os.WriteFile(filepath.Join(src, "build", "sub", "app.tar.gz"), []byte("tarball"), 0o644))
	must(os.Symlink("app", filepath.Join(src, "build", "latest"))) // inside: fine

	arts, err := collectArtifacts(src, []string{"build/**/*.tar.gz", "build/app", "build/latest"}, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range arts {
		names = append(names, a.Name+"="+a.Path)
	}
	if got := strings.Join(names, " "); got != "app=build/app app.tar.gz=build/sub/app.tar.gz latest=build/latest" {
		t.Errorf("artifacts: %s", got)
	}
	if arts[0].SHA256 != "9a3a45d01531a20e89ac6ae10b0b0beb0492acd7216a368aa062d1a5fecaf9cd" || arts[0].Size != 6 || len(arts[0].SHA512) != 128 {
		t.Errorf("digests: %+v", arts[0])
	}
	if fi, err := os.Stat(filepath.Join(out, "app")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary mode: %v %v", fi.Mode(), err)
	}

	// A symlink out of the checkout is never followed.
	must(os.Symlink(outside, filepath.Join(src, "build", "evil")))
	_, err = collectArtifacts(src, []string{"build/evil"}, t.TempDir())
	if err == nil {
		t.Fatal("a symlink out of the checkout was copied")
	}
	must(os.Remove(filepath.Join(src, "build", "evil")))
	must(os.Symlink("../../"+filepath.Base(filepath.Dir(outside)), filepath.Join(src, "dirlink")))
	if _, err := collectArtifacts(src, []string{"dirlink/secret"}, t.TempDir()); err == nil {
		t.Fatal("a directory symlink out of the checkout was followed")
	}

	// A FIFO (the build's last act) is refused, not opened for ever.
	must(syscall.Mkfifo(filepath.Join(src, "build", "pipe"), 0o644))
	done := make(chan error, 1)
	go func() { _, err := collectArtifacts(src, []string{"build/pipe"}, t.TempDir()); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO as an artifact: %v, want not a regular file", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("collecting a FIFO as an artifact hangs")
	}
	must(os.Remove(filepath.Join(src, "build", "pipe")))

	// Nothing matched, and two artifacts with one name.
	if _, err := collectArtifacts(src, []string{"dist/*"}, t.TempDir()); !errors.Is(err, ErrNoArtifacts) {
		t.Errorf("no match: %v", err)
	}
	must(os.WriteFile(filepath.Join(src, "build", "sub", "app"), []byte("other"), 0o644))
	if _, err := collectArtifacts(src, []string{"build/**/app"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "same name") {
		t.Errorf("name clash: %v", err)
	}
}

func TestValidateArtifactPattern(t *testing.T) {
	for p, ok := range map[string]bool{
		"build/*.tar.gz": true, "**/*.deb": true, "a/../b": false, "../x": false,
		"/abs": false, "": false, "[": false,
	} {
		if err := ValidateArtifactPattern(p); (err == nil) != ok {
			t.Errorf("%q: err = %v", p, err)
		}
	}
}

func TestExitState(t *testing.T) {
	if err := exitState("docker", "0 false \n"); err != nil {
		t.Errorf("0: %v", err)
	}
	var be *BuildError
	if err := exitState("docker", "3 false "); !errors.As(err, &be) || be.ExitCode != 3 {
		t.Errorf("3: %v", err)
	}
	if err := exitState("docker", "137 true "); !errors.As(err, &be) || !strings.Contains(be.Error(), "OOM") {
		t.Errorf("oom: %v", err)
	}
	if err := exitState("docker", "127 false exec: \"make\": executable file not found in $PATH"); err == nil || errors.As(err, &be) {
		t.Errorf("engine error must not be a build error: %v", err)
	}
}

func TestEnvOrderAndReservedKeys(t *testing.T) {
	e := newEnv()
	for _, kv := range []string{"PATH=/bin", "A=1", "B=2", "A=3"} {
		e.set(kv)
	}
	if got := strings.Join(e.list(), " "); got != "PATH=/bin A=3 B=2" {
		t.Errorf("env = %s", got)
	}
	for _, bad := range []string{"TZ=Europe/Paris", "SOURCE_DATE_EPOCH=1", "=x", "NOVALUE", "A B=1"} {
		if CheckEnv(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if CheckEnv("GOFLAGS=-trimpath") != nil {
		t.Error("a plain entry refused")
	}
}

func TestParseUser(t *testing.T) {
	if u, err := ParseUser("1000:100"); err != nil || u != (User{1000, 100}) {
		t.Errorf("%v %v", u, err)
	}
	for _, bad := range []string{"1000", "bob:bob", "-1:0", ":", "1:2:3"} {
		if _, err := ParseUser(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	getenv := func(k string) string { return map[string]string{"SUDO_UID": "1234", "SUDO_GID": "55"}[k] }
	if os.Getuid() == 0 {
		if u := DefaultUser(getenv); u != (User{1234, 55}) {
			t.Errorf("root under sudo builds as %v", u)
		}
		if u := DefaultUser(func(string) string { return "" }); u != unprivilegedUser {
			t.Errorf("root builds as %v", u)
		}
	}
}

func TestProvenanceShape(t *testing.T) {
	res := &Result{
		Source:  &Source{Repo: "https://example.org/x.git", Tag: "v1", Commit: strings.Repeat("a", 40), Tree: strings.Repeat("b", 40), SourceDateEpoch: 1700000000},
		Image:   &PulledImage{Ref: "127.0.0.1:5000/img@sha256:" + strings.Repeat("c", 64), Digest: "sha256:" + strings.Repeat("c", 64), Platform: "linux/amd64"},
		Runtime: "runc", RuntimeVersion: "1.1.5",
		User:      User{1000, 1000},
		Command:   []string{"make", "dist"},
		Env:       []string{"PATH=/bin", "SOURCE_DATE_EPOCH=1700000000"},
		Patterns:  []string{"build/*"},
		Artifacts: []Artifact{{Name: "app", Path: "build/app", Size: 6, SHA256: "d1", SHA512: "d2"}},
		StartedOn: time.Unix(10, 0).UTC(), FinishedOn: time.Unix(20, 0).UTC(),
		LogSHA256: "e1",
	}
	raw, err := json.Marshal(Provenance(res, "v0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	json.Unmarshal(raw, &back)
	pred := back["predicate"].(map[string]any)
	ext := pred["buildDefinition"].(map[string]any)["externalParameters"].(map[string]any)
	for _, want := range []string{
		`"_type":"https://in-toto.io/Statement/v1"`,
		`"subject":[{"name":"app","digest":{"sha256":"d1","sha512":"d2"}}]`,
		`"predicateType":"https://slsa.dev/provenance/v1"`,
		`"digest":{"gitCommit":"` + strings.Repeat("a", 40) + `"}`,
		`"uri":"pkg:oci/img@sha256:`,
		`"startedOn":"1970-01-01T00:00:10Z"`,
		`"builder":{"id":"https://github.com/reproof/reproof","version":{"reproof":"v0.1.0"}}`,
		`"byproducts":[{"name":"build.log","digest":{"sha256":"e1"}}]`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("provenance lacks %s\n%s", want, raw)
		}
	}
	if ext["source_date_epoch"].(float64) != 1700000000 || ext["user"] != "1000:1000" || ext["runtime"] != nil {
		t.Errorf("externalParameters: %v", ext)
	}
}

// imageFile is imageFiles for one file.
func imageFile(ctx context.Context, img v1.Image, p string, limit int64) ([]byte, error) {
	data, err := imageFiles(ctx, img, []string{p}, limit)
	if err != nil {
		return nil, err
	}
	return data[0], nil
}

// removeTreeEnv names the directory a re-executed test binary removes, as
// an unprivileged user, in TestRemoveTreeUnwritable.
const removeTreeEnv = "REPROOF_TEST_REMOVE_TREE"

// What a build can leave in the checkout as the user reproof runs as:
// read-only directories (a Go module cache), one without any permission, a
// symlink to a directory outside. removeTree removes it all, and nothing
// outside. As root, the test runs itself again as UID 1000, since root's
// permissions would hide the problem.
func TestRemoveTreeUnwritable(t *testing.T) {
	if dir := os.Getenv(removeTreeEnv); dir != "" {
		if err := removeTree(dir); err != nil {
			t.Fatal(err)
		}
		return
	}
	// Not t.TempDir, whose parent only root may enter.
	base, err := os.MkdirTemp("", "reproof-remove-tree-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(base) })
	os.Chmod(base, 0o777|fs.ModeSticky) // as TMPDIR is
	outside := filepath.Join(base, "outside")
	work := filepath.Join(base, "work")
	for _, d := range []string{outside, filepath.Join(work, "gomod", "pkg@v1", "sub"), filepath.Join(work, "locked", "in")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(outside, "keep"), filepath.Join(work, "gomod", "pkg@v1", "sub", "f.go"), filepath.Join(work, "locked", "in", "f")} {
		if err := os.WriteFile(f, []byte("x"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(work, "gomod", "link")); err != nil {
		t.Fatal(err)
	}
	asUser := os.Geteuid() == 0
	if asUser {
		for _, p := range []string{outside, work} {
			filepath.WalkDir(p, func(p string, d fs.DirEntry, err error) error { return os.Lchown(p, 1000, 1000) })
		}
	}
	for _, d := range []string{filepath.Join(work, "gomod", "pkg@v1", "sub"), filepath.Join(work, "gomod", "pkg@v1"), filepath.Join(work, "gomod"), outside} {
		os.Chmod(d, 0o555)
	}
	os.Chmod(filepath.Join(work, "locked"), 0)

	if asUser {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(base, "test.bin")
		data, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-test.run=^TestRemoveTreeUnwritable$")
		cmd.Env = append(os.Environ(), removeTreeEnv+"="+work)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("removing as UID 1000: %v\n%s", err, out)
		}
	} else if err := removeTree(work); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(work); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the tree is still there: %v", err)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("outside the tree: %v %v, want untouched (0555)", fi, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("a file outside, reached through a symlink, was removed: %v", err)
	}
	os.Chmod(outside, 0o755)
}
