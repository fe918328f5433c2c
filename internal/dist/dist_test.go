package dist

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var epoch = time.Unix(1700000000, 0)

func sampleFiles() []File {
	return []File{
		{Name: "r-v1.0.0/reproof", Mode: 0o755, Data: []byte("\x7fELF binary")},
		{Name: "r-v1.0.0/LICENSE", Mode: 0o644, Data: []byte("Apache")},
		{Name: "r-v1.0.0/completions/_reproof", Mode: 0o644, Data: []byte("#compdef reproof\n")},
		{Name: "r-v1.0.0/man/man1/reproof.1", Mode: 0o644, Data: []byte(".TH REPROOF 1\n")},
		{Name: "tmp", Mode: 0o1777, Dir: true},
	}
}

func reversed(files []File) []File {
	out := make([]File, len(files))
	for i, f := range files {
		out[len(files)-1-i] = f
	}
	return out
}

func TestWriteTarGzDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteTarGz(&a, sampleFiles(), epoch); err != nil {
		t.Fatal(err)
	}
	// Another order, another zone for the same instant: the same bytes.
	if err := WriteTarGz(&b, reversed(sampleFiles()), epoch.In(time.FixedZone("X", 5*3600))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("WriteTarGz: the same files in another order give other bytes")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.OS != 255 {
		t.Errorf("gzip header: name %q, mtime %v, OS %d; want none, none, 255", zr.Name, zr.ModTime, zr.OS)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(epoch) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: owner %d:%d %q:%q, mtime %v, atime %v, ctime %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.AccessTime, h.ChangeTime)
		}
	}
	want := "r-v1.0.0/ r-v1.0.0/LICENSE r-v1.0.0/completions/ r-v1.0.0/completions/_reproof r-v1.0.0/man/ r-v1.0.0/man/man1/ r-v1.0.0/man/man1/reproof.1 r-v1.0.0/reproof tmp/"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries = %s\nwant      %s", got, want)
	}
}

// TestWriteTarGNUTar asks GNU tar what it extracts: modes (the sticky
// /tmp included), owners, times.
func TestWriteTarGNUTar(t *testing.T) {
	testenv.RequireTools(t, "tar")
	dir := t.TempDir()
	archive := filepath.Join(dir, "a.tar.gz")
	var buf bytes.Buffer
	if err := WriteTarGz(&buf, sampleFiles(), epoch); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "--list", "--verbose", "--numeric-owner", "--full-time", "-f", archive).CombinedOutput()
	if err != nil {
		t.Fatalf("tar --list: %v\n%s", err, out)
	}
	for _, want := range []string{
		"-rwxr-xr-x 0/0              11 2023-11-14 22:13:20 r-v1.0.0/reproof",
		"drwxrwxrwt 0/0               0 2023-11-14 22:13:20 tmp/",
		"drwxr-xr-x 0/0               0 2023-11-14 22:13:20 r-v1.0.0/man/man1/",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tar --list lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteTarRefuses(t *testing.T) {
	for _, files := range [][]File{
		{{Name: "/abs", Mode: 0o644}},
		{{Name: "../up", Mode: 0o644}},
		{{Name: "a//b", Mode: 0o644}},
		{{Name: "a", Mode: 0o4755}},
		{{Name: "a", Mode: 0o644}, {Name: "a", Mode: 0o644}},
		{{Name: "a", Mode: 0o644}, {Name: "a/b", Mode: 0o644}},
		{{Name: "a/b", Mode: 0o644}, {Name: "a", Mode: 0o644}},
		{{Name: "d", Dir: true, Data: []byte("x")}},
	} {
		if err := WriteTar(io.Discard, files, epoch); err == nil {
			t.Errorf("WriteTar(%+v) = nil, want an error", files)
		}
	}
	// A directory given after a file below it takes its given mode.
	var buf bytes.Buffer
	if err := WriteTar(&buf, []File{{Name: "d/f", Mode: 0o644}, {Name: "d", Mode: 0o700, Dir: true}}, epoch); err != nil {
		t.Fatal(err)
	}
	h, err := tar.NewReader(&buf).Next()
	if err != nil || h.Name != "d/" || h.Mode != 0o700 {
		t.Errorf("first entry = %+v, %v; want d/ with mode 0700", h, err)
	}
}

func imageBinaries() []ImageBinary {
	return []ImageBinary{
		{OS: "linux", Arch: "amd64", Binary: []byte("amd64 binary")},
		{OS: "linux", Arch: "arm64", Binary: []byte("arm64 binary")},
	}
}

func imageOptions() ImageOptions {
	return ImageOptions{Version: "v1.2.3", Commit: strings.Repeat("ab", 20), Source: SourceURL, Epoch: epoch,
		Files: []File{{Name: "usr/share/doc/reproof/LICENSE", Mode: 0o644, Data: []byte("Apache")}}}
}

// ociArchive builds the image and its OCI archive under tmp.
func ociArchive(t *testing.T, bins []ImageBinary, opts ImageOptions, tmp string) (digest string, archive []byte) {
	t.Helper()
	idx, err := Image(bins, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteOCIArchive(&buf, idx, ImageRefName(opts.Version), opts.Epoch, tmp); err != nil {
		t.Fatal(err)
	}
	return d.String(), buf.Bytes()
}

func TestImageDeterministic(t *testing.T) {
	// Two builds, in different temporary directories, under another umask
	// for the second: the same index digest and the same archive bytes.
	d1, a1 := ociArchive(t, imageBinaries(), imageOptions(), t.TempDir())
	old := umask(0o077)
	d2, a2 := ociArchive(t, imageBinaries(), imageOptions(), t.TempDir())
	umask(old)
	if d1 != d2 || !bytes.Equal(a1, a2) {
		t.Fatalf("two builds of the image: digests %s and %s, archives equal: %v", d1, d2, bytes.Equal(a1, a2))
	}
	// Its inputs do change it.
	opts := imageOptions()
	opts.Epoch = epoch.Add(time.Second)
	if d3, _ := ociArchive(t, imageBinaries(), opts, t.TempDir()); d3 == d1 {
		t.Error("another SOURCE_DATE_EPOCH gives the same digest")
	}
	if _, err := Image([]ImageBinary{imageBinaries()[0], imageBinaries()[0]}, imageOptions()); err == nil {
		t.Error("Image with two binaries for one platform = nil error")
	}
}

// TestImageRunsInPodman loads the OCI archive with podman (in a storage of
// its own) and runs reproof from it, as a user of the image would.
func TestImageRunsInPodman(t *testing.T) {
	testenv.RequireTools(t, "podman")
	if os.Getuid() != 0 {
		testenv.Unmet(t, errNotRoot)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reproof")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags=-X main.stampedVersion=v1.2.3 -X main.stampedCommit="+strings.Repeat("ab", 20), "github.com/reproof/reproof/cmd/reproof")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	_, archive := ociArchive(t, []ImageBinary{{OS: "linux", Arch: "amd64", Binary: data}}, imageOptions(), dir)
	tarPath := filepath.Join(dir, "reproof-oci.tar")
	if err := os.WriteFile(tarPath, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	// podman wants a run root path under 50 bytes.
	runRoot, err := os.MkdirTemp("/tmp", "podman-")
	if err != nil {
		t.Fatal(err)
	}
	store := []string{"--root", filepath.Join(dir, "storage"), "--runroot", runRoot, "--storage-driver", "vfs"}
	podman := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("podman", append(append([]string{}, store...), args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command("podman", append(append([]string{}, store...), "system", "reset", "--force")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("podman system reset: %v\n%s", err, out)
		}
		if err := os.RemoveAll(runRoot); err != nil {
			t.Error(err)
		}
	})
	if out := podman("load", "--input", tarPath); !strings.Contains(out, "Loaded image: localhost/reproof:v1.2.3") {
		t.Errorf("podman load: %s\nwant localhost/reproof:v1.2.3 loaded", out)
	}
	// Podman asks for more open files than this host allows; ask for what
	// the test has (as rebuild's podman runtime does).
	run := []string{"run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	out := podman(append(run, "localhost/reproof:v1.2.3", "--version")...)
	if strings.TrimSpace(out) != "reproof v1.2.3 abababababab" {
		t.Errorf("podman run reproof:v1.2.3 --version = %q", out)
	}
	// /tmp is there and writable: diff extracts into it.
	out = podman(append(run, "--user", "1000:1000", "localhost/reproof:v1.2.3", "diff", "/usr/local/bin/reproof", "/usr/local/bin/reproof")...)
	if !strings.Contains(out, "identical") {
		t.Errorf("podman run reproof diff = %q, want identical", out)
	}
}
