package rebuild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// cliRuntime runs builds through the docker or podman command line, so that
// whatever the CLI is configured to talk to (DOCKER_HOST, a context, a
// remote engine, podman's socket) is what runs the build.
//
// The image never comes from a registry the engine pulls from: reproof has
// already pulled and verified it, and streams it to the engine with `load`
// when the engine does not have it yet. Engines name an image by the digest
// of its config, so the image ID to run is known before the load and is
// checked after it.
//
// A build is create, start --attach, inspect, rm: separate steps so that a
// failure of the engine (exit 125 from `docker run`) can never be mistaken
// for the build command exiting 125, and the container's exit code is read
// from the engine rather than inferred from the CLI's.
type cliRuntime struct {
	name string   // docker or podman
	bin  string   // the CLI binary
	env  []string // the CLI's environment; nil inherits reproof's
}

// NewDocker returns the docker runtime. binary is the docker CLI, default
// "docker" from PATH; env is its environment (nil: reproof's own, so
// DOCKER_HOST and DOCKER_CONTEXT apply).
func NewDocker(binary string, env []string) Runtime {
	if binary == "" {
		binary = "docker"
	}
	return &cliRuntime{name: "docker", bin: binary, env: env}
}

// NewPodman returns the podman runtime, driven the same way as docker.
func NewPodman(binary string, env []string) Runtime {
	if binary == "" {
		binary = "podman"
	}
	return &cliRuntime{name: "podman", bin: binary, env: env}
}

func (r *cliRuntime) Name() string { return r.name }

// Version asks the engine (not only the client) for its version, so an
// unreachable daemon makes the runtime unusable rather than failing later.
func (r *cliRuntime) Version(ctx context.Context) (string, error) {
	format := "{{.Server.Version}}"
	if r.name == "podman" {
		// Local podman has no server section; its version is the client's.
		format = "{{.Client.Version}}"
	}
	out, err := r.output(ctx, nil, "version", "--format", format)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(out)
	if v == "" || strings.Contains(v, "<no value>") {
		return "", fmt.Errorf("%s: the engine did not report its version", r.name)
	}
	return v, nil
}

func (r *cliRuntime) Run(ctx context.Context, spec *RunSpec) (err error) {
	imageID, err := r.ensureImage(ctx, spec)
	if err != nil {
		return err
	}
	if r.name == "podman" {
		if err := writeSeccompFile(r.seccompFile(spec)); err != nil {
			return fmt.Errorf("writing the seccomp profile: %w", err)
		}
	}
	if _, err := r.output(ctx, nil, r.createArgs(spec, imageID)...); err != nil {
		return fmt.Errorf("creating the build container: %w", err)
	}
	// From here on the container exists: remove it whatever happens, with
	// a context of its own, since ctx may be the thing that ended.
	defer func() {
		rmCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, rmErr := r.output(rmCtx, nil, "rm", "--force", "--volumes", spec.Name); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the build container: %w", rmErr)
		}
	}()

	start := exec.Command(r.bin, "start", "--attach", spec.Name)
	start.Env = r.env
	start.Stdout = spec.Stdout
	start.Stderr = spec.Stderr
	done, err := startTied(start) // the CLI dies with reproof; Sweep removes the container
	if err != nil {
		return fmt.Errorf("%s start: %w", r.name, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		// Kill the container, not only the CLI: the engine would keep it
		// running otherwise. rm --force in the deferred cleanup removes it.
		killCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r.output(killCtx, nil, "kill", spec.Name) //nolint:errcheck // it may have exited already
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			start.Process.Kill() //nolint:errcheck
			<-done
		}
		return fmt.Errorf("build stopped: %w", ctx.Err())
	}

	state, err := r.output(ctx, nil, "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}} {{.State.Error}}", spec.Name)
	if err != nil {
		return fmt.Errorf("reading the build's exit status: %w", err)
	}
	return exitState(r.name, state)
}

// exitState turns inspect's "CODE OOMKILLED ERROR" into Run's result.
func exitState(runtime, state string) error {
	fields := strings.SplitN(strings.TrimSpace(state), " ", 3)
	code, err := strconv.Atoi(fields[0])
	if err != nil || len(fields) < 2 {
		return fmt.Errorf("%s inspect: unexpected state %q", runtime, state)
	}
	if len(fields) == 3 && strings.TrimSpace(fields[2]) != "" {
		return fmt.Errorf("%s could not run the build: %s", runtime, strings.TrimSpace(fields[2]))
	}
	if code == 0 {
		return nil
	}
	be := &BuildError{ExitCode: code}
	if fields[1] == "true" {
		be.Signal = "the kernel's OOM killer"
	}
	return be
}

// createArgs is the docker create command line for spec. Every choice here
// is part of what makes a rebuild trustworthy, so each is explicit rather
// than left to the engine's defaults:
//
//   - no network (a namespace with loopback only) unless spec.Network;
//   - the host-chosen UID/GID, no capabilities, no new privileges;
//   - the image read-only; /tmp and HOME tmpfs; the source the only
//     writable host path; passwd and group mounted read-only;
//   - a fixed hostname, the environment exactly as given (--env only: the
//     image's own Env is already merged into spec.Env by the caller);
//   - --pull never is implied by creating from an image ID.
func (r *cliRuntime) createArgs(spec *RunSpec, imageID string) []string {
	network := "none"
	if spec.Network {
		network = "host"
	}
	args := []string{
		"create",
		"--name", spec.Name,
		"--network", network,
		"--hostname", "reproof",
		"--user", fmt.Sprintf("%d:%d", spec.UID, spec.GID),
		"--read-only",
		"--cap-drop", "ALL",
		"--security-opt", "no-new-privileges",
		"--tmpfs", "/tmp:rw,exec,mode=1777",
		"--tmpfs", r.homeTmpfs(spec),
		"--mount", bindMount(spec.SourceDir, spec.WorkDir, false),
		"--mount", bindMount(spec.EtcDir+"/passwd", "/etc/passwd", true),
		"--mount", bindMount(spec.EtcDir+"/group", "/etc/group", true),
		"--workdir", spec.WorkDir,
		"--log-driver", "none",
		"--entrypoint", spec.Args[0],
	}
	args = append(args, ownerLabels()...)
	if r.name == "podman" {
		// Podman's default seccomp filter lets the build make user
		// namespaces; docker's does not (seccomp.go).
		args = append(args, "--security-opt", "seccomp="+r.seccompFile(spec))
		// Podman asks for rlimits above what an unprivileged or nested
		// host allows (nofile 1048576) and runc then fails to start the
		// container; ask for what reproof itself has instead.
		args = append(args, podmanUlimits()...)
	}
	for _, e := range spec.Env {
		args = append(args, "--env", e)
	}
	args = append(args, imageID)
	return append(args, spec.Args[1:]...)
}

// seccompFile is where the seccomp profile podman reads is written.
func (r *cliRuntime) seccompFile(spec *RunSpec) string {
	return filepath.Join(spec.ScratchDir, "seccomp.json")
}

// writeSeccompFile writes the build's seccomp filter as a profile file.
func writeSeccompFile(path string) error {
	data, err := json.Marshal(buildSeccomp())
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// homeTmpfs is the --tmpfs value of the build user's home, owned by that
// user: docker takes uid= and gid= options, podman its own U option.
func (r *cliRuntime) homeTmpfs(spec *RunSpec) string {
	if r.name == "podman" {
		return spec.Home + ":rw,exec,mode=0755,U"
	}
	return fmt.Sprintf("%s:rw,exec,mode=0755,uid=%d,gid=%d", spec.Home, spec.UID, spec.GID)
}

// podmanUlimits are reproof's own open-file and process limits as podman
// --ulimit flags; the process limit is capped at 16384, which builds do not
// reach and nested hosts accept.
func podmanUlimits() []string {
	var nofile, nproc unix.Rlimit
	var args []string
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile) == nil {
		args = append(args, "--ulimit", fmt.Sprintf("nofile=%d:%d", nofile.Cur, nofile.Cur))
	}
	if unix.Getrlimit(unix.RLIMIT_NPROC, &nproc) == nil {
		n := min(nproc.Cur, 16384)
		args = append(args, "--ulimit", fmt.Sprintf("nproc=%d:%d", n, n))
	}
	return args
}

// bindMount is a --mount value. The CSV syntax quotes fields containing
// commas or quotes; paths here are reproof's own temporary directories, but
// quote anyway so a work directory chosen by the user cannot inject options.
func bindMount(src, dst string, readOnly bool) string {
	field := func(k, v string) string {
		f := k + "=" + v
		if strings.ContainsAny(f, ",\"") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		return f
	}
	m := "type=bind," + field("source", src) + "," + field("target", dst)
	if readOnly {
		m += ",readonly"
	}
	return m
}

// ensureImage makes the engine hold spec.Image and returns its image ID.
// Engines key images by config digest; if the engine already has that ID,
// it is the same image (the ID is a hash of the config, which names every
// layer by its uncompressed digest), and nothing is loaded.
func (r *cliRuntime) ensureImage(ctx context.Context, spec *RunSpec) (string, error) {
	cfg, err := spec.Image.Image.ConfigName()
	if err != nil {
		return "", fmt.Errorf("reading the image config: %w", err)
	}
	id := cfg.String()
	if got, err := r.output(ctx, nil, "image", "inspect", "--format", "{{.Id}}", id); err == nil && sameID(got, id) {
		return id, nil
	}

	// Stream a docker-save archive of the cached image into `load`. The tag
	// only labels the image in the engine; the ID is what is run.
	tag, err := name.NewTag("reproof.local/cache:" + strings.TrimPrefix(spec.Image.Digest, "sha256:")[:20])
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarball.Write(tag, spec.Image.Image, pw))
	}()
	_, err = r.output(ctx, pr, "load", "--quiet")
	pr.CloseWithError(errors.New("load ended")) // unblock the writer if load stopped reading
	if err != nil {
		return "", fmt.Errorf("loading the image into %s: %w", r.name, err)
	}
	got, err := r.output(ctx, nil, "image", "inspect", "--format", "{{.Id}}", id)
	if err != nil || !sameID(got, id) {
		return "", fmt.Errorf("loading the image into %s: it does not hold %s afterwards (%v)", r.name, id, err)
	}
	return id, nil
}

// sameID compares image IDs as docker ("sha256:hex") and podman ("hex")
// print them.
func sameID(got, want string) bool {
	got = strings.TrimSpace(got)
	return got == want || "sha256:"+got == want
}

// output runs the CLI and returns its stdout; a failure carries the last
// line of its stderr.
func (r *cliRuntime) output(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = r.env
	cmd.Stdin = stdin
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: command not found", r.bin)
		}
		if msg := stderr.lastLine(); msg != "" {
			return "", fmt.Errorf("%s %s: %s", r.name, args[0], msg)
		}
		return "", fmt.Errorf("%s %s: %w", r.name, args[0], err)
	}
	return stdout.String(), nil
}
