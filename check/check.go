package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/rebuild"
)

// Defaults of Options.
const (
	DefaultMaxBuilds = 16
)

// DefaultJobs is how many builds run at once by default: 2 on a machine
// with 4 CPUs or more, else 1.
func DefaultJobs() int {
	if runtime.NumCPU() >= 4 {
		return 2
	}
	return 1
}

// Options is one check.
type Options struct {
	// Rebuild is the reference build, as rebuild makes it. Check sets
	// OutDir, Progress, Log, Variation (and User, Runtime) per build.
	Rebuild rebuild.Options
	// Vary names the variations to apply (ParseVary); none at all makes
	// the second build like the first.
	Vary []string
	// MaxBuilds bounds the builds in all, the reference included
	// (default DefaultMaxBuilds; at least 2).
	MaxBuilds int
	// Jobs is how many builds run at once (default DefaultJobs).
	Jobs int
	// Compare bounds the comparisons.
	Compare compare.Options
	// Progress receives one line per build and stage; nil discards.
	Progress io.Writer
	// HeadOf, when set, is a git working tree: the check builds its
	// current commit (the tree must be clean) instead of Rebuild's tag.
	HeadOf string
}

// Verdicts of a check.
const (
	Reproducible    = "reproducible"
	NotReproducible = "not-reproducible"
	BuildFailed     = "build-failed"
	Error           = "error"
)

// Artifact statuses.
const (
	StatusIdentical = "identical"
	StatusDiffers   = "differs"
	StatusMissing   = "missing"
)

// Result is a finished check.
type Result struct {
	Verdict string
	Reason  string
	// Builds is how many builds were made, the reference included.
	Builds     int
	Variations []VariationStatus
	Artifacts  []Artifact
	Warnings   []string
	// BuildFailure, when varied builds failed where the reference did
	// not: the variations that make the build fail.
	BuildFailure *Artifact
	// BuildLog is what the log of a failed reference build says.
	BuildLog []string
	// What was built, for the reports.
	Repo, Tag, Commit string
	SourceDateEpoch   int64
	Image, Runtime    string
	ImageDigest       string
}

// ExitCode is the exit status of reproof check for the result.
func (r *Result) ExitCode() int {
	switch r.Verdict {
	case Reproducible:
		return 0
	case NotReproducible:
		return 1
	case BuildFailed:
		return 4
	}
	return 2
}

// Artifact is one artifact of the reference build (or of the varied
// build only) and what the check found about it.
type Artifact struct {
	// Name is its name as rebuild names it (the file name in rebuild's
	// output directory: "app" for dist/app).
	Name   string
	Status string
	// Differences between the reference and the build under every
	// variation, from the comparison engine.
	Differences []compare.Difference
	// Incomplete: where that comparison stopped short.
	Incomplete []string
	// Findings are its culprits, each with the differences its build
	// makes and the hints.
	Findings []Finding
	// Nondeterministic: it differs between builds made alike, or under
	// every variation alone.
	Nondeterministic bool
}

// Culprits lists the names of the variations that change the artifact,
// in table order.
func (a *Artifact) Culprits() []string {
	var out []string
	for _, f := range a.Findings {
		for _, v := range f.Variations {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return inOrder(Names(), out)
}

// Hints of every finding, without repeats.
func (a *Artifact) Hints() []string {
	var out []string
	for _, f := range a.Findings {
		for _, h := range f.Hints {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	return out
}

// Finding is one culprit of an artifact's difference.
type Finding struct {
	Culprit
	// Summary says in a few words what differs ("sections .rodata and
	// .debug_line").
	Summary string
	// Differences between the reference and the culprit's build.
	Differences []compare.Difference
	Hints       []string
	// Log is what the log of the culprit's build says, when it failed.
	Log []string
}

// failedName is the pseudo-artifact a failed build differs in.
const failedName = "\x00build"

// build is one finished build of the check.
type build struct {
	label     string
	dir       string
	artifacts map[string]rebuild.Artifact // by name, as rebuild names them
	failed    *failure
	res       *rebuild.Result
}

// failure is a build that failed: a *rebuild.BuildError (with what its
// log says) or ErrNoArtifacts.
type failure struct {
	err     error
	explain []string // the log's lines that usually say why
	tail    string   // the end of the log
}

func (f *failure) Error() string { return f.err.Error() }

// Log is what the report quotes of the failed build's log: the lines that
// say why, else its last lines.
func (f *failure) Log() []string {
	if len(f.explain) > 0 {
		return f.explain
	}
	lines := strings.Split(strings.TrimRight(f.tail, "\n"), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}

// checker holds a check's state.
type checker struct {
	opts     Options
	host     *Host
	base     rebuild.Options
	work     string
	progress io.Writer
	mu       sync.Mutex
	seq      int
	builds   map[string]*build // by key of the set
	// control is what the control build (a nil set) applies: nothing, or
	// aslr (see search).
	control []string
}

// Check builds the reference and a build under every applicable variation
// of opts.Vary, compares their artifacts, and when they differ searches
// the culprits. An error is an environment error (runtime, image, source)
// that kept the check from reaching a verdict; a failed build is a
// verdict (BuildFailed).
func Check(ctx context.Context, opts Options) (res *Result, err error) {
	if opts.MaxBuilds == 0 {
		opts.MaxBuilds = DefaultMaxBuilds
	}
	if opts.MaxBuilds < 2 {
		return nil, fmt.Errorf("--max-builds %d: a check needs at least 2 builds", opts.MaxBuilds)
	}
	if opts.Jobs <= 0 {
		opts.Jobs = DefaultJobs()
	}
	c := &checker{opts: opts, base: opts.Rebuild, progress: opts.Progress, builds: map[string]*build{}}
	if c.progress == nil {
		c.progress = io.Discard
	}
	// The builds' outputs; rebuild.WorkPrefixes lists the prefix for gc.
	c.work, err = owner.TempDir(opts.Rebuild.TempDir, "reproof-check-")
	if err != nil {
		return nil, fmt.Errorf("creating the work directory: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(c.work); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the work directory: %w", rmErr)
		}
	}()
	if opts.HeadOf != "" {
		repo, commit, err := cloneHead(ctx, opts.HeadOf, c.work)
		if err != nil {
			return nil, err
		}
		c.base.Repo, c.base.Tag, c.base.Commit = repo, HeadTag, commit
	}
	if err := c.prepare(ctx); err != nil {
		return nil, err
	}
	res = &Result{Variations: resolve(c.host, opts.Vary), Runtime: c.host.Runtime, Image: c.base.Image}
	var applied []string
	for _, v := range res.Variations {
		if v.Applied {
			applied = append(applied, v.Name)
		} else {
			fmt.Fprintf(c.progress, "check: %s skipped: %s\n", v.Name, v.Reason)
		}
	}
	varied := applied
	if len(varied) == 0 {
		varied = nil // no variation applies: the second build is a control
	}

	first, err := c.buildAll(ctx, [][]string{{}, varied})
	if err != nil {
		return nil, err
	}
	ref, all := first[0], first[1]
	res.Builds = 2
	if ref.res != nil && ref.res.Source != nil {
		src := ref.res.Source
		res.Repo, res.Tag, res.Commit, res.SourceDateEpoch = src.Repo, src.Tag, src.Commit, src.SourceDateEpoch
		if opts.HeadOf != "" {
			res.Repo, res.Tag = opts.HeadOf, "" // the working tree's commit, no tag
		}
	}
	if ref.res != nil && ref.res.Image != nil {
		res.ImageDigest = ref.res.Image.Digest
	}
	if ref.failed != nil {
		res.Verdict, res.Reason = BuildFailed, "the reference build failed: "+ref.failed.Error()
		res.BuildLog = ref.failed.Log()
		return res, nil
	}

	// The reference against the build under every variation.
	allOut := c.outcome(ref, all)
	res.Artifacts, err = c.compareAll(ctx, ref, all)
	if err != nil {
		return nil, err
	}
	var differing []string
	for _, a := range res.Artifacts {
		if a.Status != StatusIdentical {
			differing = append(differing, a.Name)
		}
	}
	if all.failed != nil {
		// Nothing can be said of the artifacts: search what breaks the
		// build.
		differing = []string{failedName}
	}
	if len(differing) == 0 {
		res.Verdict = Reproducible
		res.Reason = fmt.Sprintf("%d artifacts identical in 2 builds, the second under %d variations", len(res.Artifacts), len(applied))
		if len(applied) == 0 {
			res.Reason = fmt.Sprintf("%d artifacts identical in 2 builds made alike (no variation applied)", len(res.Artifacts))
			res.Warnings = append(res.Warnings, "no variation was applied: the builds only show the build is deterministic in one environment")
		}
		if len(res.Artifacts) == 1 {
			res.Reason = strings.Replace(res.Reason, "1 artifacts", "1 artifact", 1)
		}
		return res, nil
	}

	// Which variations cause what.
	var found map[string]*finding
	if varied != nil {
		var s *searcher
		twin := ""
		if slices.Contains(applied, "aslr") {
			// With ASLR on, the reference is as random as any build: the
			// control repeats the build with ASLR off instead.
			twin, c.control = "aslr", []string{"aslr"}
		}
		found, s, err = search(ctx, applied, allOut, differing, c.batch(ref), opts.MaxBuilds-2, twin)
		if err != nil {
			return nil, err
		}
		res.Builds += s.built
		if s.short {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the culprit search stopped at --max-builds %d: raise it to narrow the culprits down", opts.MaxBuilds))
		}
	} else {
		found = map[string]*finding{}
		for _, a := range differing {
			found[a] = &finding{nondeterministic: true}
		}
	}
	for i := range res.Artifacts {
		a := &res.Artifacts[i]
		f := found[a.Name]
		if f == nil {
			continue
		}
		if err := c.describe(ctx, ref, a, f); err != nil {
			return nil, err
		}
	}
	if f := found[failedName]; f != nil {
		res.BuildFailure = &Artifact{Name: "(the build)", Status: StatusMissing, Nondeterministic: f.nondeterministic}
		for _, cu := range f.culprits {
			b := c.builds[key(cu.set)]
			fd := Finding{Culprit: cu, Summary: "the build fails"}
			if b != nil && b.failed != nil {
				fd.Summary += ": " + b.failed.Error()
				fd.Log = b.failed.Log()
			}
			res.BuildFailure.Findings = append(res.BuildFailure.Findings, fd)
		}
		res.Verdict = BuildFailed
		res.Reason = "the build fails under variations it builds without (the reference built)"
		if cs := res.BuildFailure.Culprits(); len(cs) > 0 {
			res.Reason = "the build fails under " + strings.Join(cs, ", ") + " (the reference built)"
		}
		return res, nil
	}
	res.Verdict = NotReproducible
	n := 0
	for _, a := range res.Artifacts {
		if a.Status != StatusIdentical {
			n++
		}
	}
	res.Reason = fmt.Sprintf("%d of %d artifacts differ between the reference build and one under %d variations", n, len(res.Artifacts), len(applied))
	if varied == nil {
		res.Reason = fmt.Sprintf("%d of %d artifacts differ between two builds made alike: the build is not deterministic", n, len(res.Artifacts))
	}
	return res, nil
}

// prepare selects the runtime, pulls the image once (later builds find
// it in the cache) and gathers the host facts.
func (c *checker) prepare(ctx context.Context) error {
	b := &c.base
	getenv := b.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	rt, version, err := rebuild.SelectRuntime(ctx, b.Runtime, b.RuntimeBinary, b.RuntimeEnv)
	if err != nil {
		return err
	}
	b.Runtime = rt.Name()
	fmt.Fprintf(c.progress, "check: runtime %s %s\n", rt.Name(), version)
	imgOpts := b.ImageOptions
	imgOpts.Platform, imgOpts.AllowUnpinned = b.Platform, b.AllowUnpinned
	if imgOpts.Getenv == nil {
		imgOpts.Getenv = getenv
	}
	img, err := rebuild.PullImage(ctx, b.Image, imgOpts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.progress, "check: image %s\n", img.Digest)
	h := &Host{Runtime: rt.Name(), Root: os.Geteuid() == 0, User: rebuild.DefaultUser(getenv), CPUs: runtime.NumCPU(),
		Disorderfs: rebuild.DisorderfsAvailable()}
	if b.User != nil {
		h.User = *b.User
	}
	if _, err := rebuild.PersonalityTool(); err != nil {
		h.Personality = err
	}
	if h.FakeTime, err = rebuild.ImageHasFile(ctx, img, fakeTimeLibs); err != nil {
		return fmt.Errorf("looking for libfaketime in the image: %w", err)
	}
	c.host = h
	if h.Runtime == "runc" {
		// The image unpacked once for every build, each an overlay of it.
		b.RootfsCache = filepath.Join(c.work, "rootfs")
		if err := os.Mkdir(b.RootfsCache, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// label names a set of variations in progress lines.
func label(set []string) string {
	switch {
	case set == nil:
		return "control, no variation"
	case len(set) == 0:
		return "reference"
	}
	return strings.Join(set, ", ")
}

// buildAll builds each set, opts.Jobs at a time, and returns the builds
// in order. A build that fails is a build with failed set; any other
// error ends the check.
func (c *checker) buildAll(ctx context.Context, sets [][]string) ([]*build, error) {
	out := make([]*build, len(sets))
	errs := make([]error, len(sets))
	sem := make(chan struct{}, c.opts.Jobs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, set := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i], errs[i] = c.buildOne(ctx, set)
			if errs[i] != nil {
				cancel() // the others cannot reach a verdict either
			}
		}()
	}
	wg.Wait()
	// The first error that is not a consequence of another's cancel.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, set := range sets {
		c.builds[key(set)] = out[i]
	}
	return out, nil
}

// buildOne makes one build of the check.
func (c *checker) buildOne(ctx context.Context, set []string) (*build, error) {
	c.mu.Lock()
	c.seq++
	n := c.seq
	c.mu.Unlock()
	vars := set
	if set == nil {
		vars = c.control
	}
	o := withVariations(c.host, c.base, vars)
	b := &build{label: label(set), dir: filepath.Join(c.work, fmt.Sprintf("build-%02d", n))}
	if set == nil && len(vars) > 0 {
		b.label = "control, again with " + strings.Join(vars, ", ")
	}
	o.OutDir, o.Log = b.dir, nil
	o.Progress = &prefixed{w: c.progress, prefix: fmt.Sprintf("check: build %d (%s): ", n, b.label)}
	fmt.Fprintf(c.progress, "check: build %d: %s\n", n, b.label)
	res, err := rebuild.Rebuild(ctx, o)
	b.res = res
	var be *rebuild.BuildError
	switch {
	case errors.As(err, &be):
		b.failed = &failure{err: err, explain: be.Explain, tail: be.LogTail}
		return b, nil
	case errors.Is(err, rebuild.ErrNoArtifacts):
		b.failed = &failure{err: err}
		return b, nil
	case err != nil:
		return nil, fmt.Errorf("build %d (%s): %w", n, b.label, err)
	}
	b.artifacts = map[string]rebuild.Artifact{}
	for _, a := range res.Artifacts {
		b.artifacts[a.Name] = a
	}
	return b, nil
}

// batch is the search's builder: each set built, its outcome against ref.
func (c *checker) batch(ref *build) batchBuilder {
	return func(ctx context.Context, sets [][]string) ([]outcome, error) {
		bs, err := c.buildAll(ctx, sets)
		if err != nil {
			return nil, err
		}
		outs := make([]outcome, len(bs))
		for i, b := range bs {
			twin := ref
			if sets[i] == nil && c.control != nil {
				// The control against the build it repeats.
				if t := c.builds[key(c.control)]; t != nil && t.failed == nil {
					twin = t
				}
			}
			outs[i] = c.outcome(twin, b)
		}
		return outs, nil
	}
}

// outcome is what differs in b from ref, by digest: the streaming hashes
// rebuild computed as it copied the artifacts.
func (c *checker) outcome(ref, b *build) outcome {
	o := outcome{}
	if b.failed != nil {
		o[failedName] = true
		for name := range ref.artifacts {
			o[name] = true
		}
		return o
	}
	for name, ra := range ref.artifacts {
		if ba, ok := b.artifacts[name]; !ok || ba.SHA256 != ra.SHA256 {
			o[name] = true
		}
	}
	for name := range b.artifacts {
		if _, ok := ref.artifacts[name]; !ok {
			o[name] = true
		}
	}
	return o
}

// compareAll pairs the artifacts of ref and b: identical by digest, else
// compared by the engine.
func (c *checker) compareAll(ctx context.Context, ref, b *build) ([]Artifact, error) {
	var names []string
	for n := range ref.artifacts {
		names = append(names, n)
	}
	for n := range b.artifacts {
		if _, ok := ref.artifacts[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]Artifact, 0, len(names))
	for _, n := range names {
		a := Artifact{Name: n}
		diffs, incomplete, status, err := c.compareOne(ctx, ref, b, n)
		if err != nil {
			return nil, err
		}
		a.Status, a.Differences, a.Incomplete = status, diffs, incomplete
		out = append(out, a)
	}
	return out, nil
}

// compareOne compares artifact name of ref and b.
func (c *checker) compareOne(ctx context.Context, ref, b *build, name string) ([]compare.Difference, []string, string, error) {
	ra, inRef := ref.artifacts[name]
	ba, inB := b.artifacts[name]
	switch {
	case b.failed != nil:
		return nil, nil, StatusMissing, nil
	case !inRef:
		return []compare.Difference{{Path: "", Kind: compare.KindExtra, Detail: "only in the varied build"}}, nil, StatusMissing, nil
	case !inB:
		return []compare.Difference{{Path: "", Kind: compare.KindMissing, Detail: "only in the reference build"}}, nil, StatusMissing, nil
	case ra.SHA256 == ba.SHA256:
		return nil, nil, StatusIdentical, nil
	}
	co := c.opts.Compare
	if co.TempDir == "" {
		co.TempDir = c.opts.Rebuild.TempDir
	}
	cr, err := compare.Compare(ctx, filepath.Join(ref.dir, ra.Name), filepath.Join(b.dir, ba.Name), co)
	if err != nil {
		return nil, nil, "", fmt.Errorf("comparing %s: %w", name, err)
	}
	return cr.Differences, cr.Incomplete, StatusDiffers, nil
}

// describe fills in an artifact's findings: for each culprit, the
// comparison of its build with the reference, a summary and hints.
func (c *checker) describe(ctx context.Context, ref *build, a *Artifact, f *finding) error {
	a.Nondeterministic = f.nondeterministic
	for _, cu := range f.culprits {
		b := c.builds[key(cu.set)]
		fd := Finding{Culprit: cu}
		if b != nil {
			diffs, _, status, err := c.compareOne(ctx, ref, b, a.Name)
			if err != nil {
				return err
			}
			fd.Differences = diffs
			fd.Summary = summarize(diffs, status, b.failed)
		}
		fd.Hints = hintsFor(cu.Variations, fd.Differences)
		a.Findings = append(a.Findings, fd)
	}
	return nil
}

// prefixed writes each line with a prefix.
type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
