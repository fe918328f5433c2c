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
	name    string        // docker or podman
	bin     string        // the CLI binary
	env     []string      // the CLI's environment; nil inherits reproof's
	timeout time.Duration // each engine call's deadline; 0: DefaultEngineTimeout
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
	out, err := r.call(ctx, r.engineTimeout(nil), nil, "version", "--format", format)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(out)
	if v == "" || strings.Contains(v, "<no value>") {
		return "", fmt.Errorf("%s: the engine did not report its version", r.name)
	}
	return v, nil
}

// engineTimeout is how long one engine call may take for spec (nil: for
// Version).
func (r *cliRuntime) engineTimeout(spec *RunSpec) time.Duration {
	if spec != nil && spec.EngineTimeout > 0 {
		return spec.EngineTimeout
	}
	if r.timeout > 0 {
		return r.timeout
	}
	return DefaultEngineTimeout
}

// engine names what answers the CLI, for messages.
func (r *cliRuntime) engine() string {
	if r.name == "docker" {
		return "the docker engine"
	}
	return r.name
}

func (r *cliRuntime) Run(ctx context.Context, spec *RunSpec) (err error) {
	t := r.engineTimeout(spec)
	if r.name == "podman" && spec.Domainname != "" {
		return errors.New("podman cannot set the build container's domain name")
	}
	imageID, err := r.ensureImage(ctx, spec)
	if err != nil {
		return err
	}
	if r.name == "podman" {
		if err := writeSeccompFile(r.seccompFile(spec)); err != nil {
			return fmt.Errorf("writing the seccomp profile: %w", err)
		}
	}
	// From here on the container may exist, even when create fails (an
	// engine that answers late may still make it): remove it whatever
	// happens, with a context of its own, since ctx may be what ended. A
	// removal that fails is reported, never dropped.
	defer func() {
		err = withCleanup(err, r.remove(spec.Name, t))
	}()
	if _, err := r.call(ctx, t, nil, r.createArgs(spec, imageID)...); err != nil {
		return fmt.Errorf("creating the build container: %w", err)
	}

	// The build's own context: it ends with ctx, or when the build
	// reaches a limit (the cause is then a *LimitReached).
	buildCtx, stopBuild := context.WithCancelCause(ctx)
	defer stopBuild(nil)

	start := exec.Command(r.bin, "start", "--attach", spec.Name)
	start.Env = r.env
	// Podman's conmon, started from here, writes a file "oom" into its
	// working directory when the container is OOM-killed (conmon 2.1 on
	// cgroup v1, which podman 4.3 then does not report): in the scratch
	// directory, not the user's, and read as the OOM kill it is.
	start.Dir = spec.ScratchDir
	start.Stdout = spec.Stdout
	// The CLI's own last words, if it could not start the container, are
	// in its stderr with the build's.
	startErr := &tailBuffer{}
	start.Stderr = io.MultiWriter(spec.Stderr, startErr)
	done, err := startTied(start) // the CLI dies with reproof; Sweep removes the container
	if err != nil {
		return fmt.Errorf("%s start: %w", r.name, err)
	}
	watch := watchWhenStarted(spec, t, r.findInit(spec.Name, t), func(l *LimitReached) { stopBuild(l) })
	var attachErr error
	select {
	case attachErr = <-done:
	case <-buildCtx.Done():
		limit := watch(false)
		if l := limitCause(context.Cause(buildCtx)); l != nil {
			limit = l
		}
		finished, state, stopErr := r.stop(spec.Name, t, start, done, stopReason(buildCtx, spec))
		switch {
		case stopErr != nil:
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("build stopped: %w; %w", ctx.Err(), stopErr)
			}
			return stopErr
		case limit != nil:
			return limitBuildError(limit)
		case finished:
			// It ended on its own as it was being stopped: that is its
			// result, which is no timeout.
			return exitState(r.name, state)
		}
		// Stopped running, or before it started.
		return fmt.Errorf("build stopped: %w", ctx.Err())
	}

	limit := watch(false)
	// The build has ended: its state is read even if ctx ends meanwhile
	// (a limit reached in its last moment, Ctrl-C), within t.
	out, err := r.call(context.WithoutCancel(ctx), t, nil, "inspect", "--format", inspectState, spec.Name)
	if err != nil {
		if attachErr != nil {
			return fmt.Errorf("reading the build's exit status (%s start: %v): %w", r.name, attachErr, err)
		}
		return fmt.Errorf("reading the build's exit status: %w", err)
	}
	if limit != nil {
		return limitBuildError(limit)
	}
	status, state := splitStatus(out)
	if !ended(status) {
		// The CLI ended, but the container did not run and end: it could
		// not be started (podman leaves such a container "created", with
		// exit code 0), or the CLI died while it runs.
		return notEnded(r.name, status, state, attachErr, startErr.lastLine())
	}
	err = exitState(r.name, state)
	var be *BuildError
	if errors.As(err, &be) && (be.Signal == oomKiller || r.conmonSawOOM(spec)) {
		be.Limit = memoryReached(spec.Limits.Memory)
	}
	return err
}

// conmonSawOOM tells whether podman's conmon left its "oom" file in the
// scratch directory (see Run).
func (r *cliRuntime) conmonSawOOM(spec *RunSpec) bool {
	if r.name != "podman" || spec.ScratchDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(spec.ScratchDir, "oom"))
	return err == nil
}

// findInit finds the process the engine started for the container name,
// for the limit watch: its PID on this host, and the container's ID, which
// its cgroup path must contain (a PID of a remote engine's host is not
// this host's).
func (r *cliRuntime) findInit(name string, t time.Duration) func(ctx context.Context) (int, string, error) {
	return func(ctx context.Context) (int, string, error) {
		out, err := r.call(ctx, t, nil, "inspect", "--format", "{{.Id}} {{.State.Pid}}", name)
		if err != nil {
			return 0, "", err
		}
		id, pid, _ := strings.Cut(strings.TrimSpace(out), " ")
		n, err := strconv.Atoi(pid)
		if err != nil {
			return 0, "", fmt.Errorf("%s inspect: unexpected state %q", r.name, out)
		}
		return n, id, nil
	}
}

// stopReason says when the engine was asked to stop the build, for a
// message about an engine that did not answer then.
func stopReason(buildCtx context.Context, spec *RunSpec) string {
	cause := context.Cause(buildCtx)
	switch {
	case errors.Is(cause, ErrTimeout):
		return "when the build's time was up"
	case limitCause(cause) != nil:
		return "when the build reached a limit (" + cause.Error() + ")"
	case errors.Is(cause, context.Canceled):
		return "when reproof was interrupted"
	}
	return "when the build was being stopped"
}

// stop stops a running build whose context ended: it asks the engine for
// the container's state, kills it if it still runs, and waits for the
// attached CLI. finished reports a container that had ended on its own,
// with its state as inspect gives it. An engine that does not answer is
// an error saying so and when it was asked (why); the CLI is then killed,
// and whether the build ran on or had finished is not known.
func (r *cliRuntime) stop(name string, t time.Duration, start *exec.Cmd, done <-chan error, why string) (finished bool, state string, err error) {
	wait := true
	defer func() {
		// The attached CLI goes too, whatever the engine did: at once if
		// the engine does not answer or the container never started, else
		// once it has had t to end.
		if err == nil && wait {
			select {
			case <-done:
				return
			case <-time.After(t):
			}
		}
		start.Process.Kill() //nolint:errcheck // it may have exited meanwhile
		<-done
	}()
	bg := context.Background()
	out, err := r.call(bg, t, nil, "inspect", "--format", inspectState, name)
	if err != nil {
		return false, "", fmt.Errorf("%w, %s", err, why)
	}
	status, state := splitStatus(out)
	switch {
	case ended(status):
		return true, state, nil
	case notStarted(status):
		// Not started yet: it has no result. The CLI may still ask the
		// engine to start it; rm --force in Run's cleanup removes it
		// either way.
		wait = false
		return false, "", nil
	}
	// Kill the container, not only the CLI: the engine would keep it
	// running otherwise. rm --force in Run's cleanup removes it.
	if _, err := r.call(bg, t, nil, "kill", name); err != nil {
		var na *NoAnswerError
		if errors.As(err, &na) {
			return false, "", fmt.Errorf("%w, %s", err, why)
		}
		// Not running any more, most likely: rm --force follows.
	}
	return false, "", nil
}

// remove removes the container name, if it exists. An engine that does not
// answer, or refuses, leaves it: the error says so.
//
// A container whose processes were just killed (an OOM kill, a limit) can
// still hold its mounts for a moment: podman's rm then fails with "device
// or resource busy". That answer is retried a few times, a second apart;
// any other failure is reported at once.
func (r *cliRuntime) remove(name string, t time.Duration) error {
	var err error
	for attempt := 0; ; attempt++ {
		_, err = r.call(context.Background(), t, nil, "rm", "--force", "--volumes", name)
		if err == nil || strings.Contains(strings.ToLower(err.Error()), "no such container") {
			return nil
		}
		if attempt == removeRetries || !strings.Contains(strings.ToLower(err.Error()), "resource busy") {
			break
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("the build container %s was not removed: %w", name, err)
}

// inspectState is the inspect format of a container's state: its status,
// then what exitState reads.
const inspectState = "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}} {{.State.Error}}"

// splitStatus splits an answer to inspectState into the status and the
// rest, for exitState.
func splitStatus(out string) (status, state string) {
	status, state, _ = strings.Cut(strings.TrimSpace(out), " ")
	return status, state
}

// ended tells whether a container of status ran and ended, so that its
// exit code is the build's: "exited" (docker and podman), or podman's
// "stopped", in the moment before its cleanup makes it "exited".
func ended(status string) bool { return status == "exited" || status == "stopped" }

// notStarted tells whether a container of status was never started:
// "created" (docker and podman), podman's "configured" and "initialized".
func notStarted(status string) bool {
	return status == "created" || status == "configured" || status == "initialized"
}

// notEnded is Run's result when the attached CLI has ended but the
// container, in status with exitState's state, has not run and ended: the
// engine's error, else the CLI's last line of stderr, says why.
func notEnded(runtime, status, state string, attachErr error, cliSaid string) error {
	if fields := strings.SplitN(state, " ", 3); len(fields) == 3 && strings.TrimSpace(fields[2]) != "" {
		cliSaid = strings.TrimSpace(fields[2])
	}
	if cliSaid == "" && attachErr != nil {
		cliSaid = fmt.Sprintf("%s start: %v", runtime, attachErr)
	}
	if notStarted(status) {
		if cliSaid == "" {
			cliSaid = "the container is " + status + " after start"
		}
		return fmt.Errorf("%s could not start the build: %s", runtime, cliSaid)
	}
	if cliSaid == "" {
		cliSaid = "no error"
	}
	return fmt.Errorf("%s start ended (%s) while the build container is %s", runtime, cliSaid, status)
}

// removeRetries is how many times a busy container's removal is retried.
const removeRetries = 5

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
		be.Signal = oomKiller
	}
	return be
}

// oomKiller is the Signal of a build the engine says the kernel's OOM
// killer killed.
const oomKiller = "the kernel's OOM killer"

// createArgs is the docker create command line for spec. Every choice here
// is part of what makes a rebuild trustworthy, so each is explicit rather
// than left to the engine's defaults:
//
//   - no network (a namespace with loopback only) unless spec.Network;
//   - the host-chosen UID/GID, no capabilities, no new privileges;
//   - the image read-only; /tmp and HOME tmpfs; the source the only
//     writable host path; passwd and group mounted read-only;
//   - a fixed hostname, the environment exactly as given and HOSTNAME
//     (containerEnv; --env only: the image's own Env is already merged
//     into spec.Env by the caller);
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
		"--hostname", orDefault(spec.Hostname, "reproof"),
		"--user", fmt.Sprintf("%d:%d", spec.UID, spec.GID),
		"--read-only",
		"--cap-drop", "ALL",
		"--security-opt", "no-new-privileges",
		"--tmpfs", "/tmp:rw,exec,mode=1777" + tmpfsSize(spec),
		"--tmpfs", r.homeTmpfs(spec) + tmpfsSize(spec),
		"--mount", bindMount(spec.SourceDir, spec.WorkDir, false),
		"--mount", bindMount(spec.EtcDir+"/passwd", "/etc/passwd", true),
		"--mount", bindMount(spec.EtcDir+"/group", "/etc/group", true),
		"--workdir", spec.WorkDir,
		"--log-driver", "none",
		"--entrypoint", spec.Args[0],
	}
	args = append(args, ownerLabels()...)
	args = append(args, cliLimits(spec.Limits)...)
	// Left to the engine, the rlimits would be dockerd's own, or podman's
	// defaults, which an unprivileged or nested host refuses (nofile
	// 1048576: runc then fails to start the container).
	args = append(args, cliUlimits()...)
	args = append(args, cliVariation(spec)...)
	if r.name == "podman" {
		// Podman's default seccomp filter lets the build make user
		// namespaces; docker's does not (seccomp.go).
		args = append(args, "--security-opt", "seccomp="+r.seccompFile(spec))
		// Podman adds variables of its own (TERM, container=podman) and
		// passes reproof's proxy variables, credentials and all, to the
		// container: the build gets spec.Env and HOSTNAME, as with docker
		// and runc.
		args = append(args, "--unsetenv-all", "--http-proxy=false")
	}
	for _, e := range containerEnv(spec) {
		args = append(args, "--env", e)
	}
	args = append(args, imageID)
	return append(args, spec.Args[1:]...)
}

// cliLimits are the docker and podman flags of the build's limits (the
// tmpfs sizes go with the --tmpfs flags). The memory limit includes swap:
// the build has none.
func cliLimits(l Limits) []string {
	var args []string
	if l.Pids > 0 {
		args = append(args, "--pids-limit", strconv.FormatInt(l.Pids, 10))
	}
	if l.Memory > 0 {
		m := strconv.FormatInt(l.Memory, 10)
		args = append(args, "--memory", m, "--memory-swap", m)
	}
	if l.CPUs > 0 {
		args = append(args, "--cpus", formatCPUs(l.CPUs))
	}
	return args
}

// tmpfsSize is the size option of the build's tmpfs mounts, "" for none.
func tmpfsSize(spec *RunSpec) string {
	if spec.Limits.TmpfsSize <= 0 {
		return ""
	}
	return ",size=" + strconv.FormatInt(spec.Limits.TmpfsSize, 10)
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

// cliUlimits are buildRlimits as docker and podman --ulimit flags.
func cliUlimits() []string {
	var args []string
	for _, l := range buildRlimits() {
		name := strings.ToLower(strings.TrimPrefix(l.Type, "RLIMIT_"))
		args = append(args, "--ulimit", fmt.Sprintf("%s=%d:%d", name, l.Soft, l.Hard))
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
	t := r.engineTimeout(spec)
	cfg, err := spec.Image.Image.ConfigName()
	if err != nil {
		return "", fmt.Errorf("reading the image config: %w", err)
	}
	id := cfg.String()
	got, err := r.call(ctx, t, nil, "image", "inspect", "--format", "{{.Id}}", id)
	if err == nil && sameID(got, id) {
		return id, nil
	}
	var na *NoAnswerError
	if ctx.Err() != nil || errors.As(err, &na) {
		return "", fmt.Errorf("looking for the image in %s: %w", r.name, err)
	}

	// Stream a docker-save archive of the cached image into `load`. The tag
	// only labels the image in the engine; the ID is what is run. The
	// deadline is for each wait: for the engine to take more of the
	// image, then for its answer.
	tag, err := name.NewTag("reproof.local/cache:" + strings.TrimPrefix(spec.Image.Digest, "sha256:")[:20])
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(tarball.Write(tag, spec.Image.Image, pw))
	}()
	_, err = r.call(ctx, t, pr, "load", "--quiet")
	pr.CloseWithError(errors.New("load ended")) // unblock the writer if load stopped reading
	if err != nil {
		return "", fmt.Errorf("loading the image into %s: %w", r.name, err)
	}
	got, err = r.call(ctx, t, nil, "image", "inspect", "--format", "{{.Id}}", id)
	if err != nil {
		return "", fmt.Errorf("loading the image into %s: %w", r.name, err)
	}
	if !sameID(got, id) {
		return "", fmt.Errorf("loading the image into %s: it does not hold %s afterwards", r.name, id)
	}
	return id, nil
}

// sameID compares image IDs as docker ("sha256:hex") and podman ("hex")
// print them.
func sameID(got, want string) bool {
	got = strings.TrimSpace(got)
	return got == want || "sha256:"+got == want
}

// errNoAnswer ends an engine call that took longer than its deadline.
var errNoAnswer = errors.New("no answer")

// output runs the CLI and returns its stdout, as call does, with the
// runtime's own engine timeout.
func (r *cliRuntime) output(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	return r.call(ctx, r.engineTimeout(nil), stdin, args...)
}

// call runs the CLI and returns its stdout; a failure carries the last
// line of its stderr. The call has t to answer, counted afresh whenever it
// reads more of stdin (an image load takes as long as the image needs,
// but never stalls for t): past it the CLI is killed and the error is a
// *NoAnswerError. When ctx ends first, the error is ctx's.
func (r *cliRuntime) call(ctx context.Context, t time.Duration, stdin io.Reader, args ...string) (string, error) {
	if t <= 0 {
		t = DefaultEngineTimeout
	}
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	deadline := time.AfterFunc(t, func() { cancel(errNoAnswer) })
	defer deadline.Stop()
	cmd := exec.CommandContext(callCtx, r.bin, args...)
	cmd.Env = r.env
	if stdin != nil {
		cmd.Stdin = &deadlineReader{r: stdin, reset: func() { deadline.Reset(t) }}
	}
	var stdout bytes.Buffer
	stderr := &tailBuffer{}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if errors.Is(context.Cause(callCtx), errNoAnswer) {
			what := args[0]
			if what == "image" && len(args) > 1 {
				what += " " + args[1]
			}
			return "", &NoAnswerError{Engine: r.engine(), What: what, After: t}
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

// deadlineReader calls reset whenever a read returns bytes, and at the
// end of the stream (the reader then has the whole deadline to answer).
type deadlineReader struct {
	r     io.Reader
	reset func()
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 || err == io.EOF {
		d.reset()
	}
	return n, err
}
