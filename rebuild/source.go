package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reproof/reproof/internal/idle"
)

// Sentinel errors for errors.Is. The errors CheckoutSource returns wrap them.
var (
	// ErrTagNotFound: the repository has no such tag.
	ErrTagNotFound = errors.New("tag not found")
	// ErrCommitMismatch: the tag does not point at the expected commit.
	ErrCommitMismatch = errors.New("tag does not point at the expected commit")
)

// SourceOptions configures CheckoutSource.
type SourceOptions struct {
	// Repo is a git URL (https://, ssh://, file://, host:path) or a local
	// path, absolute or relative to the working directory.
	Repo string
	// Tag is the release tag, without refs/tags/.
	Tag string
	// Commit is the commit the tag must point at, in full or abbreviated
	// hex (at least 4 digits; an abbreviation must be unambiguous in the
	// fetched history). Empty: no check.
	Commit string
	// WorkDir receives the checkout, in WorkDir/src. It must not exist yet
	// or be an empty directory. Nothing is written outside it.
	WorkDir string
	// SourceDateEpoch overrides the commit's committer time.
	SourceDateEpoch *int64
	// Git is the git binary. Default "git", looked up in PATH.
	Git string
	// Stderr receives git's progress. Nil discards it.
	Stderr io.Writer
	// Timeout bounds how long a git command may go without progress
	// (output on stdout or stderr; fetches, checkouts and submodule
	// updates always report progress): git is then killed and the error
	// says so. Default: $REPROOF_HTTP_TIMEOUT if it holds a positive Go
	// duration, else DefaultGitTimeout.
	Timeout time.Duration
	// Getenv reads REPROOF_HTTP_TIMEOUT; nil means os.Getenv.
	Getenv func(string) string

	// fileSubmodules lets submodules be fetched over the file transport.
	// Only tests set it; see gitRun.config.
	fileSubmodules bool
}

// Source is a checked-out tag.
type Source struct {
	Repo      string // the repository fetched: the URL as given, or a local path made absolute
	Tag       string
	Commit    string // the commit the tag points at (peeled), full hex
	Tree      string // that commit's tree, full hex
	TagObject string // the annotated tag object, full hex; "" for a lightweight tag
	Dir       string // the checkout: WorkDir/src, detached at Commit

	// SourceDateEpoch is the commit's committer time in Unix seconds, or
	// the override; EpochFromCommit says which.
	SourceDateEpoch int64
	EpochFromCommit bool

	// Submodules are the initialised submodules, recursively, in the order
	// git lists them, each checked out at the commit its superproject
	// records.
	Submodules []Submodule
}

// Submodule is a submodule checked out at its recorded commit.
type Submodule struct {
	Path   string // relative to Source.Dir, slash-separated
	Commit string // full hex
	URL    string // where it was fetched from (its origin)
}

// gitWaitDelay bounds how long a killed git's output pipes are waited for.
const gitWaitDelay = 2 * time.Second

// DefaultGitTimeout bounds how long a git command may go without
// progress when SourceOptions.Timeout is zero.
const DefaultGitTimeout = 2 * time.Minute

// maxGitOutput caps what is kept of a git command's standard output.
const maxGitOutput = 16 << 20

// CheckoutSource fetches opts.Tag from opts.Repo into opts.WorkDir/src and
// checks it out, detached, at the commit the tag points at, with its
// submodules at their recorded commits.
//
// Only the tag and its history are fetched, into a fresh repository, so what
// is checked out is what the tag names now, whatever any earlier checkout
// saw. If opts.Commit is set and the tag points elsewhere, the error wraps
// ErrCommitMismatch; a missing tag is an ErrTagNotFound.
//
// git runs in a fixed environment: no system or global configuration, no
// credential helpers, no prompts, the C locale, and a HOME inside WorkDir
// that is removed before returning. Submodules are not fetched over the file
// transport (git's protocol.file.allow=user), so a repository cannot make
// the checkout read other repositories on this machine. Cancelling ctx kills
// git and everything it started. On failure, WorkDir/src is removed.
func CheckoutSource(ctx context.Context, opts SourceOptions) (src *Source, err error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("checking out %q at tag %q: %s", opts.Repo, opts.Tag, fmt.Sprintf(format, args...))
	}
	switch {
	case opts.Repo == "":
		return nil, fail("no repository given")
	case strings.HasPrefix(opts.Repo, "-"):
		return nil, fail("a repository may not start with '-'")
	case opts.Tag == "":
		return nil, fail("no tag given")
	case strings.HasPrefix(opts.Tag, "-"):
		return nil, fail("a tag may not start with '-'")
	case opts.WorkDir == "":
		return nil, fail("no work directory given")
	}
	want := strings.ToLower(opts.Commit)
	if want != "" && !isHex(want, 4, 64) {
		return nil, fail("expected commit %q is not 4 to 64 hex digits", opts.Commit)
	}
	if opts.SourceDateEpoch != nil && *opts.SourceDateEpoch < 0 {
		return nil, fail("SOURCE_DATE_EPOCH %d is negative", *opts.SourceDateEpoch)
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	repo, err := repoLocation(opts.Repo)
	if err != nil {
		return nil, fail("%s", oneLine(err))
	}

	workDir, err := filepath.Abs(opts.WorkDir)
	if err != nil {
		return nil, fail("%s", oneLine(err))
	}
	createdWorkDir, err := prepareWorkDir(workDir)
	if err != nil {
		return nil, fail("%s", oneLine(err))
	}
	dir := filepath.Join(workDir, "src")
	home, err := os.MkdirTemp(workDir, ".git-home-")
	if err != nil {
		return nil, fail("%s", oneLine(err))
	}
	defer func() {
		rmErr := os.RemoveAll(home)
		if err == nil && rmErr != nil {
			src, err = nil, fail("removing git's home: %s", oneLine(rmErr))
		}
		if err != nil {
			os.RemoveAll(dir)
			if createdWorkDir {
				os.Remove(workDir)
			}
		}
	}()

	idleTimeout := opts.Timeout
	if idleTimeout <= 0 {
		getenv := opts.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		idleTimeout = idle.TimeoutFromEnv(getenv, DefaultGitTimeout)
	}
	g := &gitRun{
		git:            opts.Git,
		home:           home,
		progress:       opts.Stderr,
		fileSubmodules: opts.fileSubmodules,
		idle:           idleTimeout,
	}
	if g.env, err = gitEnv(home); err != nil {
		return nil, fail("%s", oneLine(err))
	}
	// gitFail describes a failed git command, or the cancellation that
	// killed it.
	gitFail := func(what string, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("checking out %q at tag %q: %s: %w", opts.Repo, opts.Tag, what, ctxErr)
		}
		return fail("%s: %s", what, oneLine(err))
	}

	if _, err := g.run(ctx, workDir, "init", "--quiet", "--", "src"); err != nil {
		return nil, gitFail("creating the repository", err)
	}
	if _, err := g.run(ctx, dir, "remote", "add", "--", "origin", repo); err != nil {
		return nil, gitFail("adding the remote", err)
	}
	ref := "refs/tags/" + opts.Tag
	if _, err := g.run(ctx, dir, "check-ref-format", ref); err != nil {
		return nil, fail("%q is not a valid tag name", opts.Tag)
	}
	// --progress always: its updates are what tells a slow fetch from a
	// stalled one.
	fetch := []string{"fetch", "--no-tags", "--no-recurse-submodules", "--progress"}
	fetch = append(fetch, "origin", "+"+ref+":"+ref)
	if _, err := g.run(ctx, dir, fetch...); err != nil {
		var ge *gitError
		if ctx.Err() == nil && errors.As(err, &ge) && strings.Contains(ge.tail, "couldn't find remote ref") {
			return nil, fmt.Errorf("checking out %q at tag %q: %w", opts.Repo, opts.Tag, ErrTagNotFound)
		}
		return nil, gitFail("fetching the tag", err)
	}

	tagID, err := g.revParse(ctx, dir, ref)
	if err != nil {
		return nil, gitFail("resolving the tag", err)
	}
	kind, err := g.run(ctx, dir, "cat-file", "-t", tagID)
	if err != nil {
		return nil, gitFail("reading the tag", err)
	}
	src = &Source{Repo: repo, Tag: opts.Tag, Dir: dir}
	if strings.TrimSpace(kind) == "tag" {
		src.TagObject = tagID
	}
	if src.Commit, err = g.revParse(ctx, dir, ref+"^{commit}"); err != nil {
		if ctx.Err() == nil {
			return nil, fail("tag %q does not point at a commit", opts.Tag)
		}
		return nil, gitFail("peeling the tag", err)
	}

	if want != "" {
		if err := checkCommit(ctx, g, dir, src.Commit, want); err != nil {
			if errors.Is(err, ErrCommitMismatch) {
				return nil, fmt.Errorf("checking out %q at tag %q: tag points at commit %s, not the expected %s: %w",
					opts.Repo, opts.Tag, src.Commit, opts.Commit, ErrCommitMismatch)
			}
			return nil, gitFail("checking the expected commit", err)
		}
	}

	if _, err := g.run(ctx, dir, "checkout", "--quiet", "--progress", "--detach", src.Commit); err != nil {
		return nil, gitFail("checking out "+src.Commit, err)
	}
	if src.Tree, err = g.revParse(ctx, dir, src.Commit+"^{tree}"); err != nil {
		return nil, gitFail("resolving the tree", err)
	}
	ct, err := g.run(ctx, dir, "show", "--no-patch", "--format=%ct", src.Commit)
	if err != nil {
		return nil, gitFail("reading the committer time", err)
	}
	epoch, err := strconv.ParseInt(strings.TrimSpace(ct), 10, 64)
	if err != nil {
		return nil, fail("committer time %q of %s is not a number", strings.TrimSpace(ct), src.Commit)
	}
	src.SourceDateEpoch, src.EpochFromCommit = epoch, true
	if opts.SourceDateEpoch != nil {
		src.SourceDateEpoch, src.EpochFromCommit = *opts.SourceDateEpoch, false
	}

	update := []string{"submodule", "update", "--init", "--recursive", "--checkout", "--progress"}
	if _, err := g.run(ctx, dir, update...); err != nil {
		return nil, gitFail("updating submodules", err)
	}
	status, err := g.run(ctx, dir, "submodule", "status", "--recursive")
	if err != nil {
		return nil, gitFail("listing submodules", err)
	}
	if src.Submodules, err = parseSubmoduleStatus(status, dir); err != nil {
		return nil, fail("%s", oneLine(err))
	}
	// Where each submodule was fetched from, for the provenance: its
	// origin as git resolved it (a relative URL joined to the parent's).
	for i, sub := range src.Submodules {
		u, err := g.run(ctx, filepath.Join(dir, filepath.FromSlash(sub.Path)), "config", "--get", "remote.origin.url")
		if err != nil {
			return nil, gitFail("reading the URL of submodule "+sub.Path, err)
		}
		src.Submodules[i].URL = strings.TrimSpace(u)
	}
	return src, nil
}

// repoLocation returns what git should fetch: a URL or scp-like host:path
// as given, a local path made absolute (the fetch runs in another
// directory).
func repoLocation(repo string) (string, error) {
	if strings.Contains(repo, "://") {
		return repo, nil
	}
	// git's rule: a colon before the first slash makes host:path.
	if colon := strings.IndexByte(repo, ':'); colon > 0 {
		if slash := strings.IndexByte(repo, '/'); slash < 0 || colon < slash {
			return repo, nil
		}
	}
	return filepath.Abs(repo)
}

// prepareWorkDir makes sure dir is an empty directory, creating it if
// needed, and reports whether it did.
func prepareWorkDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("work directory %q: %w", dir, err)
	case len(entries) > 0:
		return false, fmt.Errorf("work directory %q is not empty", dir)
	}
	return false, nil
}

// checkCommit checks that want, a lowercase full or abbreviated commit id,
// names commit. An abbreviation must be unambiguous among the fetched
// commits.
func checkCommit(ctx context.Context, g *gitRun, dir, commit, want string) error {
	if len(want) == len(commit) {
		if want != commit {
			return ErrCommitMismatch
		}
		return nil
	}
	if !strings.HasPrefix(commit, want) {
		return ErrCommitMismatch
	}
	got, err := g.revParse(ctx, dir, want+"^{commit}")
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("abbreviated commit %s is ambiguous; give more digits", want)
	}
	if got != commit {
		return fmt.Errorf("abbreviated commit %s is ambiguous; give more digits", want)
	}
	return nil
}

// parseSubmoduleStatus reads `git submodule status --recursive` after an
// update: every line must start with a space, meaning the submodule is
// checked out at the commit its superproject records.
func parseSubmoduleStatus(out, dir string) ([]Submodule, error) {
	var subs []Submodule
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		marker, rest := line[0], line[1:]
		id, path, ok := strings.Cut(rest, " ")
		if !ok || !isHex(id, 40, 64) || path == "" {
			return nil, fmt.Errorf("unexpected line from git submodule status: %q", line)
		}
		// "path (describe)" when the submodule's commit has a name; a
		// path may itself end in ")", so prefer what exists on disk.
		if open := strings.LastIndex(path, " ("); open > 0 && strings.HasSuffix(path, ")") {
			if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(path))); err != nil {
				path = path[:open]
			}
		}
		switch marker {
		case ' ':
		case '-':
			return nil, fmt.Errorf("submodule %q was not initialised", path)
		case '+':
			return nil, fmt.Errorf("submodule %q is checked out at %s, not the commit its superproject records", path, id)
		case 'U':
			return nil, fmt.Errorf("submodule %q has merge conflicts", path)
		default:
			return nil, fmt.Errorf("unexpected line from git submodule status: %q", line)
		}
		subs = append(subs, Submodule{Path: path, Commit: id})
	}
	return subs, nil
}

// isHex reports whether s is lowercase hex, min to max digits long.
func isHex(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// gitEnv is the whole environment git runs with: PATH to find ssh and
// helpers, SSH_AUTH_SOCK for ssh URLs, and fixed values for everything git
// would otherwise read from the user.
func gitEnv(home string) ([]string, error) {
	global := os.DevNull
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		// A /dev/null that is not the null device (some sandboxes)
		// might hold configuration; use an empty file of our own.
		global = filepath.Join(home, "gitconfig")
		if err := os.WriteFile(global, nil, 0o600); err != nil {
			return nil, err
		}
	}
	env := []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"LC_ALL=C",
		"TZ=UTC",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + global,
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		// ssh gives up on a server that stops answering, as git's own
		// idle timeout would.
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=60 -o ServerAliveInterval=15 -o ServerAliveCountMax=4",
	}
	for _, name := range []string{"PATH", "SSH_AUTH_SOCK"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env, nil
}

// gitRun runs git commands in the fixed environment.
type gitRun struct {
	git            string
	home           string
	env            []string
	progress       io.Writer
	fileSubmodules bool
	idle           time.Duration // how long a command may go without output
}

// config is passed with -c to every command, and from there to the git
// commands that submodule operations start.
func (g *gitRun) config() []string {
	// protocol.file.allow=user lets the top-level fetch read a local
	// repository (the user named it) but stops submodules from being
	// cloned from local paths, which a hostile .gitmodules could use to
	// copy other repositories on this machine into the checkout
	// (CVE-2022-39253; git >= 2.38.1 has this default, older ones allow
	// it). Tests build their submodule origins in a temporary directory,
	// so they need "always".
	fileAllow := "user"
	if g.fileSubmodules {
		fileAllow = "always"
	}
	return []string{
		"-c", "credential.helper=",
		"-c", "protocol.file.allow=" + fileAllow,
		"-c", "advice.detachedHead=false",
		"-c", "init.defaultBranch=main",
		"-c", "core.fsmonitor=false",
	}
}

// gitError is a failed git command, with the last line it wrote to stderr.
type gitError struct {
	args []string
	err  error
	tail string
}

func (e *gitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", e.args[0], e.err)
	if e.tail != "" {
		msg += ": " + e.tail
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// run runs git with args in dir and returns its standard output.
func (g *gitRun) run(ctx context.Context, dir string, args ...string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	idleTimeout := g.idle
	if idleTimeout <= 0 {
		idleTimeout = DefaultGitTimeout
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(idleTimeout, func() { cancel(errGitStalled) })
	defer stall.Stop()
	moved := func() { stall.Reset(idleTimeout) }
	cmd := exec.CommandContext(runCtx, g.git, append(g.config(), args...)...)
	cmd.Dir = dir
	cmd.Env = g.env
	// Its own process group, so cancelling kills the helpers git starts
	// (upload-pack, remote-https, submodule clones) along with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = gitWaitDelay
	stdout := &cappedBuffer{max: maxGitOutput}
	tail := &tailBuffer{}
	cmd.Stdout = progressWriter{stdout, moved}
	cmd.Stderr = progressWriter{tail, moved}
	if g.progress != nil {
		cmd.Stderr = progressWriter{io.MultiWriter(tail, g.progress), moved}
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(runCtx), errGitStalled) {
			return "", &gitError{args: args, err: fmt.Errorf("no progress for %s; git was stopped", idleTimeout), tail: tail.lastLine()}
		}
		return "", &gitError{args: args, err: err, tail: tail.lastLine()}
	}
	if stdout.overflow {
		return "", fmt.Errorf("git %s: more than %d bytes of output", args[0], maxGitOutput)
	}
	return stdout.String(), nil
}

// errGitStalled ends a git command that made no progress for too long.
var errGitStalled = errors.New("git made no progress")

// progressWriter calls moved for every write: output is progress.
type progressWriter struct {
	w     io.Writer
	moved func()
}

func (p progressWriter) Write(b []byte) (int, error) {
	p.moved()
	return p.w.Write(b)
}

// revParse resolves rev to a full object id.
func (g *gitRun) revParse(ctx context.Context, dir, rev string) (string, error) {
	out, err := g.run(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if !isHex(id, 40, 64) {
		return "", fmt.Errorf("git rev-parse %s: unexpected output %q", rev, id)
	}
	return id, nil
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the last bytes written to it, enough for a last line.
type tailBuffer struct{ buf []byte }

const tailSize = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

// lastLine is the line of git's stderr that says why it failed: the first
// "fatal:" or "error:" line in the kept tail (the cause; the lines after it
// are consequences and advice, such as "Could not read from remote
// repository."), or else the last non-blank line, progress updates (\r)
// counting as lines.
func (t *tailBuffer) lastLine() string {
	lines := strings.FieldsFunc(string(t.buf), func(r rune) bool { return r == '\n' || r == '\r' })
	last := ""
	for _, line := range lines {
		line = strings.Join(strings.Fields(line), " ")
		if strings.HasPrefix(line, "fatal:") || strings.HasPrefix(line, "error:") {
			return line
		}
		if line != "" {
			last = line
		}
	}
	return last
}
