package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// A Runtime runs one build command in a container made from a pulled image.
//
// Implementations: docker and podman through their CLIs (so DOCKER_HOST,
// contexts and remote engines work), and runc without any daemon.
type Runtime interface {
	// Name is the runtime's name as the user selects it: "docker",
	// "podman" or "runc".
	Name() string
	// Version reports the runtime's version for the provenance record, for
	// example "20.10.24+dfsg1" (for docker, the engine's, which may be
	// remote). An error means the runtime is not usable here; auto
	// selection skips it.
	Version(ctx context.Context) (string, error)
	// Run runs spec to completion. It returns nil when the command exited
	// 0, a *BuildError when it ran and failed (non-zero exit, killed by a
	// signal, or stopped at one of spec.Limits), and any other error when
	// the runtime could not run it.
	// When ctx ends, Run stops the container, removes it and whatever it
	// created, and returns an error wrapping ctx.Err().
	//
	// Every call to the engine is bounded by spec.EngineTimeout: an engine
	// that does not answer makes Run return a *NoAnswerError. Run removes
	// the container, mounts and temporary files it made whichever way it
	// returns; when it cannot, the error it returns wraps a *CleanupError
	// saying what is left.
	Run(ctx context.Context, spec *RunSpec) error
}

// RunSpec is one build, fully resolved: everything a runtime needs and
// nothing it has to decide.
type RunSpec struct {
	// Name identifies the container ("reproof-<owner ID>-<random hex>",
	// see owner.go): unique, and what Run uses to find and remove it.
	Name string
	// Image is the verified, cached image the container is made from.
	Image *PulledImage
	// Args is the process's argv, run as is (the caller has already wrapped
	// the user's command to set the umask). Args[0] is looked up in the
	// image's PATH.
	Args []string
	// Env is the complete environment, KEY=VALUE, in order. Every runtime
	// adds HOSTNAME, the container's host name, unless Env sets it (docker
	// always does: the same build must see the same environment with
	// each runtime), and nothing else (see containerEnv).
	Env []string
	// UID and GID the process runs as. Not root unless the user asked.
	UID, GID int
	// SourceDir is the host directory mounted read-write at WorkDir; it is
	// also the process's working directory.
	SourceDir string
	WorkDir   string // in the container, e.g. /src
	// EtcDir is a host directory holding "passwd" and "group" files that
	// name UID and GID; they are mounted read-only over /etc/passwd and
	// /etc/group.
	EtcDir string
	// Home is the container path of the user's home directory. It and /tmp
	// are writable (tmpfs); the rest of the image's filesystem is
	// read-only.
	Home string
	// Network gives the build the host's network. Off, the container has
	// a network namespace of its own with loopback only.
	Network bool
	// ScratchDir is a host directory the runtime may use for its own files
	// (an unpacked root filesystem, a runtime config). It exists, is empty,
	// and the caller removes it after Run.
	ScratchDir string
	// Stdout and Stderr receive the build's output.
	Stdout, Stderr io.Writer
	// Limits bound what the build may use; Rebuild resolves their
	// defaults. A zero field is no limit.
	Limits Limits
	// EngineTimeout bounds each wait for the engine (or runc) to answer a
	// call; 0 means DefaultEngineTimeout.
	EngineTimeout time.Duration

	// Set by a Variation (vary.go); zero values keep the defaults.
	// Hostname of the container ("" is "reproof"), its Domainname (none
	// by default; podman cannot set one), the CPUs the build may run on
	// (a cpuset list, "" for all), host files mounted read-only.
	Hostname, Domainname string
	CPUSet               string
	Mounts               []RunMount
	// RootfsCache, for runc: a directory where the image is unpacked once
	// (by digest) for every build that names it; each build mounts an
	// overlay of it. "" unpacks the image in ScratchDir for each build.
	RootfsCache string
}

// containerEnv is the build's environment as every runtime gives it:
// spec.Env, and HOSTNAME, the container's host name, after it unless
// spec.Env sets it.
func containerEnv(spec *RunSpec) []string {
	env := append([]string(nil), spec.Env...)
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOSTNAME=") {
			return env
		}
	}
	return append(env, "HOSTNAME="+orDefault(spec.Hostname, "reproof"))
}

// BuildError reports a build command that ran and failed.
type BuildError struct {
	ExitCode int    // the command's exit status; -1 if a signal killed it
	Signal   string // the signal that killed it, if one did
	LogTail  string // the last lines of the build log
	// Explain are the lines of the log that usually say why a build
	// failed (errors, failed commands, unreachable hosts); Hint says what
	// to do when the build reached for the network it runs without.
	Explain []string
	Hint    string
	// LogFile is where the whole kept log was written (FailedLogFile in
	// the output directory), "" if it could not be.
	LogFile string
	// Log is the whole kept log.
	Log []byte
	// Limit is set when the build reached one of its limits and was
	// stopped for it: which limit, and the sentence that says so.
	Limit *LimitReached
}

func (e *BuildError) Error() string {
	if e.Limit != nil {
		return e.Limit.Error()
	}
	what := fmt.Sprintf("exited with status %d", e.ExitCode)
	if e.Signal != "" {
		what = "was killed by " + e.Signal
	}
	return "the build command " + what
}

// NoAnswerError: the engine (or runc) did not answer a call in time. The
// build, if it was running, may or may not have finished: nothing can be
// said of it, and Run says so rather than claim a timeout or a result.
type NoAnswerError struct {
	Engine string        // "the docker engine", "podman", "runc"
	What   string        // the call: "version", "inspect", "rm", ...
	After  time.Duration // how long reproof waited
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("%s did not answer %s within %s", e.Engine, e.What, e.After)
}

// CleanupError: Run could not remove something it made (a container, a
// runc state, a mount). The error of a Run that returns one wraps it, next
// to whatever else happened, so that nothing claims a clean stop.
type CleanupError struct {
	Err error
}

func (e *CleanupError) Error() string { return e.Err.Error() }
func (e *CleanupError) Unwrap() error { return e.Err }

// withCleanup adds a cleanup failure to err, the result of Run: err's own
// error first, then what was left behind. Either may be nil.
func withCleanup(err, cleanup error) error {
	switch {
	case cleanup == nil:
		return err
	case err == nil:
		return &CleanupError{Err: cleanup}
	}
	return fmt.Errorf("%w; %w", err, &CleanupError{Err: cleanup})
}

// ErrNoRuntime: no runtime of those asked for works on this machine.
var ErrNoRuntime = errors.New("no container runtime available")
