package rebuild

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/internal/owner"
)

// Options is one rebuild, as the spec file and the flags describe it.
type Options struct {
	// The source: a git URL or local path, the release tag, optionally the
	// commit the tag must point at and a SOURCE_DATE_EPOCH override.
	Repo            string
	Tag             string
	Commit          string
	SourceDateEpoch *int64

	// The image, pinned by digest unless AllowUnpinned.
	Image         string
	AllowUnpinned bool
	Platform      string
	// Registry access and the image cache (see ImageOptions).
	ImageOptions ImageOptions

	// Runtime is auto, docker, podman or runc. RuntimeEnv is the
	// environment of the docker/podman CLI (nil: reproof's own).
	Runtime    string
	RuntimeEnv []string
	// RuntimeBinary is the runtime's program when Runtime names one;
	// default docker, podman or runc from PATH.
	RuntimeBinary string

	// Command is the build's argv; with Shell it is one string run by
	// /bin/sh -c. Either way the umask is set to 022 first.
	Command []string
	Shell   bool
	// Env entries KEY=VALUE added to the image's environment and reproof's
	// fixed one; they may not set the reserved keys.
	Env []string
	// User builds as this UID:GID instead of DefaultUser.
	User *User
	// Network gives the build the host's network (recorded; the report
	// warns).
	Network bool
	// Timeout bounds the build command. Default DefaultTimeout.
	Timeout time.Duration
	// EngineTimeout bounds each wait for the container engine (or runc)
	// to answer a call. Default: DefaultEngineTimeout, or Timeout if that
	// is shorter, but not less than 10 seconds.
	EngineTimeout time.Duration
	// Limits bound what the build may use; a zero field takes its default
	// (ResolveLimits).
	Limits Limits

	// Artifacts are globs (doublestar syntax) relative to the checkout.
	Artifacts []string
	// OutDir receives the artifacts, SHA256SUMS, SHA512SUMS, build.log and
	// provenance.intoto.json. It must not exist or be empty; it is created
	// complete or not at all.
	OutDir string

	// TempDir is where the work directory is made. Default os.TempDir().
	TempDir string
	// LogLimit caps the build log kept in OutDir. Default DefaultLogLimit.
	LogLimit int64
	// Log receives the build's output as it happens; Progress one line per
	// stage. Either may be nil.
	Log      io.Writer
	Progress io.Writer
	// Version is reproof's own version, recorded in the provenance.
	Version string
	// Getenv is the environment reproof runs in (SUDO_UID for DefaultUser).
	Getenv func(string) string
	// Now is the clock for the provenance's start and finish times.
	Now func() time.Time

	// SecretEnv names variables of reproof's environment (Getenv) passed
	// to the build whose values the provenance does not record (it lists
	// their names).
	SecretEnv []string
	// Signer, if set, signs the provenance: ProvenanceEnvelopeFile beside
	// ProvenanceFile holds it in a DSSE envelope.
	Signer *attest.Signer

	// Variation, if set, builds in a varied environment (reproof check;
	// vary.go).
	Variation *Variation
	// RootfsCache is RunSpec.RootfsCache: runc unpacks the image there
	// once for all the builds that share it (reproof check). The caller
	// removes it.
	RootfsCache string
}

// DefaultTimeout bounds a build when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Hour

// Reserved environment keys: reproof sets them and a spec may not.
var reservedEnv = []string{"SOURCE_DATE_EPOCH", "TZ", "LC_ALL", "HOME"}

// Result is a finished rebuild.
type Result struct {
	Source         *Source
	Image          *PulledImage
	Runtime        string
	RuntimeVersion string
	User           User
	Network        bool
	Command        []string // the user's command as given (Shell: one string)
	Shell          bool
	Env            []string // the build's complete environment
	Patterns       []string // the artifact patterns as given
	Artifacts      []Artifact
	OutDir         string
	StartedOn      time.Time
	FinishedOn     time.Time
	// LogSHA256 is the digest of build.log as written; ProvenanceSHA256
	// that of the provenance this run wrote, for attestations that cite
	// it (the file may be replaced by a later run).
	LogSHA256        string
	ProvenanceSHA256 string
	// Limits are the limits the build ran under, defaults resolved;
	// OutputLimit says how the output limit was held ("filesystem", or
	// "watched (WHY)").
	Limits      Limits
	OutputLimit string
	// SecretEnv names the variables given to the build whose values are
	// not in Env.
	SecretEnv []string
}

// ErrTimeout: the build did not finish within Options.Timeout.
var ErrTimeout = errors.New("build timed out")

// Rebuild checks out the tag, pulls the image, runs the command in it and
// collects the artifacts with their provenance into opts.OutDir.
//
// Errors: a *BuildError when the command failed (with the log's tail) or
// reached one of opts.Limits (its Limit says which), an error wrapping
// ErrNoArtifacts when it produced nothing the patterns match, ErrTimeout
// when it ran out of time, a *NoAnswerError when the engine stopped
// answering, ctx's error when cancelled, anything else for the source, the
// image, the runtime or the output. The work directory and the container
// are gone when Rebuild returns, or the error wraps a *CleanupError that
// says what is left; OutDir is either complete or untouched.
func Rebuild(ctx context.Context, opts Options) (res *Result, err error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	secrets, err := SecretEnv(opts.SecretEnv, opts.Env, getenv)
	if err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	user := DefaultUser(getenv)
	if opts.User != nil {
		user = *opts.User
	}
	if os.Geteuid() != 0 && user.UID != os.Geteuid() {
		return nil, fmt.Errorf("building as %s needs root: reproof runs as UID %d and cannot hand the checkout to another user", user, os.Geteuid())
	}
	out, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return nil, err
	}
	if err := checkOutDir(out); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	engineTimeout := opts.EngineTimeout
	if engineTimeout <= 0 {
		// A short build timeout shortens the engine's too, but not below
		// what a busy engine may need for an ordinary call.
		engineTimeout = min(DefaultEngineTimeout, max(timeout, minEngineTimeout))
	}
	tempDir := opts.TempDir
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	limits, err := ResolveLimits(opts.Limits, tempDir)
	if err != nil {
		return nil, err
	}

	work, err := owner.TempDir(opts.TempDir, "reproof-rebuild-")
	if err != nil {
		return nil, fmt.Errorf("creating the work directory: %w", err)
	}
	defer func() {
		if rmErr := removeTree(work); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the work directory: %w", rmErr)
		}
	}()

	res = &Result{User: user, Network: opts.Network, Command: opts.Command, Shell: opts.Shell, Patterns: opts.Artifacts, StartedOn: now().UTC(), Limits: limits}

	// The checkout lives in the output volume, which holds the output
	// limit; it is unmounted before the work directory is removed.
	vol, err := newOutputVolume(ctx, filepath.Join(work, "checkout"), work, limits.OutputSize, engineTimeout)
	if err != nil {
		return nil, fmt.Errorf("preparing the output volume: %w", err)
	}
	defer func() {
		if cerr := vol.Close(); cerr != nil {
			err = withCleanup(err, cerr)
		}
	}()
	res.OutputLimit = vol.Enforcement()

	fmt.Fprintf(progress, "source: fetching %s at tag %s\n", opts.Repo, opts.Tag)
	src, err := CheckoutSource(ctx, SourceOptions{
		Repo: opts.Repo, Tag: opts.Tag, Commit: opts.Commit, SourceDateEpoch: opts.SourceDateEpoch,
		Getenv:  getenv,
		WorkDir: filepath.Join(work, "checkout"), // git's progress is noise; its errors are kept
	})
	if err != nil {
		return nil, err
	}
	res.Source = src
	fmt.Fprintf(progress, "source: commit %s, SOURCE_DATE_EPOCH %d\n", src.Commit, src.SourceDateEpoch)

	imgOpts := opts.ImageOptions
	imgOpts.Platform = opts.Platform
	imgOpts.AllowUnpinned = opts.AllowUnpinned
	if imgOpts.Getenv == nil {
		imgOpts.Getenv = getenv
	}
	img, err := PullImage(ctx, opts.Image, imgOpts)
	if err != nil {
		return nil, err
	}
	res.Image = img
	from := "pulled and verified"
	if img.FromCache {
		from = "verified in the cache"
	}
	fmt.Fprintf(progress, "image: %s (%s, %s)\n", img.Digest, img.Platform, from)

	rt, version, err := selectRuntime(ctx, opts.Runtime, opts.RuntimeBinary, opts.RuntimeEnv, engineTimeout)
	if err != nil {
		return nil, err
	}
	res.Runtime, res.RuntimeVersion = rt.Name(), version
	fmt.Fprintf(progress, "runtime: %s %s\n", rt.Name(), version)
	sweepRuntime(ctx, rt, progress)

	runOpts := opts
	runOpts.Env = append(slices.Clip(opts.Env), secrets...)
	spec, err := prepareRun(ctx, runOpts, src, img, user, work)
	if err != nil {
		return nil, err
	}
	undoVariation, err := applyVariation(ctx, opts.Variation, spec, user, work, engineTimeout)
	defer func() {
		if cerr := undoVariation(); cerr != nil {
			err = withCleanup(err, cerr)
		}
	}()
	if err != nil {
		return nil, err
	}
	spec.RootfsCache = opts.RootfsCache
	res.Env, res.SecretEnv = withoutKeys(spec.Env, opts.SecretEnv), opts.SecretEnv
	spec.Limits, spec.EngineTimeout = limits, engineTimeout

	blog := newBuildLog(opts.LogLimit)
	var stream io.Writer = blog
	if opts.Log != nil {
		stream = io.MultiWriter(blog, opts.Log)
	}
	spec.Stdout, spec.Stderr = stream, stream
	fmt.Fprintf(progress, "build: running as %s, network %s, timeout %s\n", user, onOff(opts.Network), timeout)
	fmt.Fprintf(progress, "build: limits: %s (output %s)\n", limits, res.OutputLimit)
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	limitCtx, stopAtLimit := context.WithCancelCause(runCtx)
	endWatch := vol.Watch(func(l *LimitReached) { stopAtLimit(l) })
	err = rt.Run(limitCtx, spec)
	endWatch()
	stopAtLimit(nil)
	cancel()
	// The output may have reached the limit between two looks, or in the
	// build's last moment.
	var be *BuildError
	if (err == nil || errors.As(err, &be) && be.Limit == nil) && vol.Exceeded() {
		err = limitBuildError(outputReached(limits.OutputSize))
	}
	if err != nil {
		var na *NoAnswerError
		var ce *CleanupError
		switch {
		case errors.As(err, &be):
			be.LogTail = blog.Tail(20)
			be.Log = blog.Bytes()
			be.Explain, be.Hint = Explain(be.Log, opts.Network)
			if WriteFailedLog(out, be.Log) == nil {
				be.LogFile = filepath.Join(out, FailedLogFile)
			}
			return res, err
		case ctx.Err() == nil && errors.Is(context.Cause(runCtx), ErrTimeout) && errors.As(err, &na):
			// The engine stopped answering: whether the build itself
			// ran out of time is not known, and not claimed.
			return res, err
		case ctx.Err() == nil && errors.Is(context.Cause(runCtx), ErrTimeout):
			hint := ""
			if len(blog.Bytes()) == 0 && !opts.Network {
				hint = "; it printed nothing: if it was waiting on the network, " + NetworkHint
			}
			if errors.As(err, &ce) {
				return res, fmt.Errorf("%w after %s; the build was stopped, but %w%s", ErrTimeout, timeout, ce, hint)
			}
			return res, fmt.Errorf("%w after %s; the build was stopped and its container removed%s", ErrTimeout, timeout, hint)
		}
		return res, err
	}

	res.FinishedOn = now().UTC()
	if err := writeOutput(res, opts, src.Dir, out, blog.Bytes()); err != nil {
		return res, err
	}
	res.OutDir = out
	return res, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (opts *Options) check() error {
	switch {
	case opts.Image == "":
		return errors.New("no image given")
	case len(opts.Command) == 0 || opts.Shell && (len(opts.Command) != 1 || strings.TrimSpace(opts.Command[0]) == ""):
		return errors.New("no build command given")
	case len(opts.Artifacts) == 0:
		return errors.New("no artifact patterns given: say which files the build produces")
	case opts.OutDir == "":
		return errors.New("no output directory given")
	}
	for _, p := range opts.Artifacts {
		if err := ValidateArtifactPattern(p); err != nil {
			return err
		}
	}
	for _, e := range opts.Env {
		if err := CheckEnv(e); err != nil {
			return err
		}
	}
	return opts.Variation.check()
}

// CheckEnv validates one KEY=VALUE build environment entry.
func CheckEnv(e string) error {
	k, _, ok := strings.Cut(e, "=")
	if !ok || k == "" || strings.ContainsAny(k, " \t\n\x00") || strings.ContainsRune(e, 0) {
		return fmt.Errorf("environment entry %q: want KEY=VALUE", e)
	}
	for _, r := range reservedEnv {
		if k == r {
			return fmt.Errorf("environment entry %q: reproof sets %s itself", e, k)
		}
	}
	return nil
}

// checkOutDir accepts an output directory that does not exist yet, an
// empty one, or one holding only an earlier failed build's log (which a
// new output replaces).
func checkOutDir(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output directory %s: %w", out, err)
	case len(entries) == 1 && entries[0].Name() == FailedLogFile && entries[0].Type().IsRegular():
		return nil
	case len(entries) > 0:
		return fmt.Errorf("output directory %s is not empty; remove it or choose another --out", out)
	}
	return nil
}

// WriteFailedLog keeps a failed build's whole log as FailedLogFile in dir
// (temporary file, then rename), replacing an earlier one; Rebuild does so
// in its output directory, which it checked before the build.
func WriteFailedLog(dir string, log []byte) error {
	out := dir
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := owner.TempFile(owner.Beside(filepath.Join(out, FailedLogFile), ".tmp-"))
	if err != nil {
		return err
	}
	_, err = f.Write(log)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(out, FailedLogFile))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// removeFailedLog clears an output directory that holds only an earlier
// failed build's log, so that a complete output can take its place.
func removeFailedLog(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil || len(entries) != 1 || entries[0].Name() != FailedLogFile {
		return nil
	}
	if err := os.Remove(filepath.Join(out, FailedLogFile)); err != nil {
		return err
	}
	return os.Remove(out)
}

// SelectRuntime returns the runtime called name and its version; "auto" (or
// "") tries docker, podman and runc in that order and returns the first
// whose Version works. binary, when not empty, is the named runtime's
// program; cliEnv is the docker or podman CLI's environment.
func SelectRuntime(ctx context.Context, name, binary string, cliEnv []string) (Runtime, string, error) {
	return selectRuntime(ctx, name, binary, cliEnv, DefaultEngineTimeout)
}

// selectRuntime is SelectRuntime with engineTimeout bounding each call to
// the runtime (its version, and every call of its builds).
func selectRuntime(ctx context.Context, name, binary string, cliEnv []string, engineTimeout time.Duration) (Runtime, string, error) {
	bin := func(n string) string {
		if n == name {
			return binary
		}
		return ""
	}
	all := map[string]func() Runtime{
		"docker": func() Runtime {
			return &cliRuntime{name: "docker", bin: orDefault(bin("docker"), "docker"), env: cliEnv, timeout: engineTimeout}
		},
		"podman": func() Runtime {
			return &cliRuntime{name: "podman", bin: orDefault(bin("podman"), "podman"), env: cliEnv, timeout: engineTimeout}
		},
		"runc": func() Runtime {
			r := NewRunc(bin("runc")).(*runc)
			r.timeout = engineTimeout
			return r
		},
	}
	if name != "" && name != "auto" {
		mk, ok := all[name]
		if !ok {
			return nil, "", fmt.Errorf("unknown runtime %q: want auto, docker, podman or runc", name)
		}
		rt := mk()
		v, err := rt.Version(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("runtime %s is not usable: %w", name, err)
		}
		return rt, v, nil
	}
	var why []string
	for _, n := range []string{"docker", "podman", "runc"} {
		rt := all[n]()
		v, err := rt.Version(ctx)
		if err == nil {
			return rt, v, nil
		}
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		why = append(why, fmt.Sprintf("%s: %s", n, oneLine(err)))
	}
	return nil, "", fmt.Errorf("%w (%s)", ErrNoRuntime, strings.Join(why, "; "))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// prepareRun resolves everything the runtime needs: the user's passwd
// entry, the environment, the wrapped command, and the checkout owned by
// the build user.
func prepareRun(ctx context.Context, opts Options, src *Source, img *PulledImage, user User, work string) (*RunSpec, error) {
	etc := filepath.Join(work, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		return nil, err
	}
	home, err := writeEtc(ctx, img.Image, user, etc)
	if err != nil {
		return nil, err
	}
	scratch := filepath.Join(work, "runtime")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return nil, err
	}
	if err := chownTree(src.Dir, user); err != nil {
		return nil, fmt.Errorf("handing the checkout to the build user %s: %w", user, err)
	}
	cfg, err := img.Image.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}

	env := newEnv()
	for _, e := range cfg.Config.Env {
		env.set(e)
	}
	if !env.has("PATH") {
		env.set("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env.set("SOURCE_DATE_EPOCH=" + strconv.FormatInt(src.SourceDateEpoch, 10))
	env.set("TZ=UTC")
	env.set("LC_ALL=C.UTF-8")
	env.set("HOME=" + home)
	for _, e := range opts.Env {
		env.set(e)
	}

	// The umask is a property of the process, which no runtime CLI sets, so
	// a shell sets it and then execs the command unchanged.
	var args []string
	if opts.Shell {
		args = []string{"/bin/sh", "-c", "umask " + opts.Variation.umask() + "\n" + opts.Command[0]}
	} else {
		args = append([]string{"/bin/sh", "-c", "umask " + opts.Variation.umask() + ` && exec "$@"`, "reproof-build"}, opts.Command...)
	}

	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return &RunSpec{
		Name:       ownedName(id),
		Image:      img,
		Args:       args,
		Env:        env.list(),
		UID:        user.UID,
		GID:        user.GID,
		SourceDir:  src.Dir,
		WorkDir:    opts.Variation.workDir(),
		EtcDir:     etc,
		Home:       home,
		Network:    opts.Network,
		ScratchDir: scratch,
	}, nil
}

// chownTree gives the checkout to the build user, so a build that writes
// into its source tree (most do) can. Without root it can only be a no-op,
// which Rebuild has already made sure of.
func chownTree(dir string, u User) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, u.UID, u.GID)
	})
}

// env is an ordered environment where a later set of a key replaces the
// earlier value in place.
type env struct {
	keys []string
	vals map[string]string
}

func newEnv() *env { return &env{vals: map[string]string{}} }

func (e *env) set(kv string) {
	k, v, _ := strings.Cut(kv, "=")
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *env) has(k string) bool { _, ok := e.vals[k]; return ok }

func (e *env) list() []string {
	out := make([]string, len(e.keys))
	for i, k := range e.keys {
		out[i] = k + "=" + e.vals[k]
	}
	return out
}

// removeTree removes dir and everything in it, including what the build
// made unwritable: directories without write or search permission (a Go
// module cache is read-only, and a build may chmod 000 anything). Root
// removes those anyway; a user running reproof needs their permissions
// back first. Symbolic links are never followed.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	// WalkDir calls fn on a directory before reading it, so a directory
	// gets its permissions back before it is entered.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error { //nolint:errcheck // RemoveAll says what is left
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700) //nolint:errcheck
		}
		return nil
	})
	return os.RemoveAll(dir)
}
