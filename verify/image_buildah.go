package verify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/spec"
)

// DockerfileBuild is one Dockerfile build by buildah.
type DockerfileBuild struct {
	Dockerfile string // the Dockerfile
	Context    string // the build context: the rebuilt artifacts
	Out        string // the oci-archive to write
	Epoch      int64  // SOURCE_DATE_EPOCH
	Platforms  []string
	Registry   rebuild.ImageOptions
	TempDir    string // holds buildah's storage while it builds
	Progress   io.Writer
}

// ErrUnpinnedFrom is wrapped when a Dockerfile's FROM names an image
// without a digest.
var ErrUnpinnedFrom = errors.New("a FROM without a digest")

// CheckDockerfileFrom reads a Dockerfile's FROM instructions and refuses
// one that names an image without a digest (scratch and the names of
// earlier stages are allowed), or a FROM built from build arguments. It
// returns the registries the FROMs name.
func CheckDockerfileFrom(r io.Reader) ([]string, error) {
	stages := map[string]bool{}
	var registries []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line, n := "", 0
	for sc.Scan() {
		n++
		t := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(t, "#") && line == "" {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			line += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		line += t
		fields := strings.Fields(line)
		line = ""
		if len(fields) == 0 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		args := fields[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			args = args[1:]
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("line %d: FROM names no image", n)
		}
		ref := args[0]
		stage := ""
		if len(args) >= 3 && strings.EqualFold(args[1], "AS") {
			stage = strings.ToLower(args[2])
		}
		known := ref == "scratch" || stages[strings.ToLower(ref)]
		if stage != "" {
			stages[stage] = true // named after this FROM: a later one may use it
		}
		switch {
		case known:
			continue
		case strings.Contains(ref, "$"):
			return nil, fmt.Errorf("line %d: FROM %s is made of build arguments: pin it by digest in the Dockerfile", n, ref)
		case !spec.ImagePinned(ref):
			return nil, fmt.Errorf("line %d: FROM %s: %w (give REF@sha256:…, as for the build image)", n, ref, ErrUnpinnedFrom)
		}
		if r, err := name.ParseReference(ref); err == nil {
			registries = append(registries, r.Context().RegistryStr())
		}
	}
	return registries, sc.Err()
}

// BuildDockerfile builds the Dockerfile with buildah in a storage of its
// own (removed afterwards): network off, no layer cache, timestamps from
// SOURCE_DATE_EPOCH, every FROM pinned by digest (CheckDockerfileFrom);
// the image is written to b.Out as an oci-archive (tagged "rebuilt").
func BuildDockerfile(ctx context.Context, b DockerfileBuild) error {
	buildah, err := exec.LookPath("buildah")
	if err != nil {
		return errors.New("buildah is not installed (Debian: apt-get install buildah): it builds images from a dockerfile")
	}
	if len(b.Platforms) > 1 {
		return errors.New("a dockerfile image is built for one platform; give one in platforms")
	}
	f, err := os.Open(b.Dockerfile)
	if err != nil {
		return err
	}
	registries, err := CheckDockerfileFrom(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(b.Dockerfile), err)
	}
	store, err := owner.TempDir(b.TempDir, "reproof-buildah-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(store)
	global := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs"}
	tag := "localhost/reproof-rebuilt:" + strconv.FormatInt(int64(os.Getpid()), 10)
	args := append(append([]string{}, global...), "build",
		"--network", "none", "--layers=false", "--timestamp", strconv.FormatInt(b.Epoch, 10),
		"--pull=missing", "--platform", b.Platforms[0], "--file", b.Dockerfile, "--tag", tag)
	if insecureRegistries(registries, b.Registry) {
		args = append(args, "--tls-verify=false")
	}
	args = append(args, b.Context)
	env := append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(b.Epoch, 10), "TMPDIR="+store,
		"REGISTRY_AUTH_FILE="+os.Getenv("REGISTRY_AUTH_FILE"), "BUILDAH_ISOLATION=chroot")
	if err := runBuildah(ctx, buildah, args, env, b.Progress); err != nil {
		return err
	}
	push := append(append([]string{}, global...), "push", "--quiet", tag, "oci-archive:"+b.Out+":rebuilt")
	return runBuildah(ctx, buildah, push, env, b.Progress)
}

func runBuildah(ctx context.Context, buildah string, args, env []string, progress io.Writer) error {
	cmd := exec.CommandContext(ctx, buildah, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progress != nil {
			progress.Write(out.Bytes())
		}
		return fmt.Errorf("buildah %s: %v: %s", args[6], err, lastLine(out.String()))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return oneLine(lines[len(lines)-1])
}

// insecureRegistries says whether buildah must talk plain HTTP: every
// registry named is on a loopback or private address (as reproof's own
// pulls do), or Insecure is set.
func insecureRegistries(registries []string, reg rebuild.ImageOptions) bool {
	if reg.Insecure {
		return true
	}
	if len(registries) == 0 {
		return false
	}
	for _, r := range registries {
		host := r
		if h, _, err := net.SplitHostPort(r); err == nil {
			host = h
		}
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !(ip.IsLoopback() || ip.IsPrivate()) {
			return false
		}
	}
	return true
}
