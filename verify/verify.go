// Package verify is the whole pipeline of reproof verify: it checks the
// published release against its own checksums, rebuilds the tagged commit,
// pairs rebuilt and published artifacts, compares each pair, and decides a
// verdict.
//
// Honesty is the point of the package: an artifact is identical only when
// its bytes are, equivalent only when both sides, normalized with the
// passes the policy allows, are byte for byte the same (the report names
// each pass and what it hid), and compared by members only when a member
// rule of the spec says so, by the SHA-256 of each member's content.
// Nothing is called reproducible without such an equality computed here; a
// build failure or an infrastructure error is never "not reproducible".
//
// Like every library in reproof, it never prints; progress goes to the
// writer the caller gives.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/internal/owner"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// Options is one verification.
type Options struct {
	// Spec is the validated spec (file and flags merged).
	Spec *spec.Spec
	// Rebuild are the rebuild's options, from the spec; OutDir is ignored:
	// the rebuilt artifacts go to RebuiltDir.
	Rebuild rebuild.Options
	// RebuiltDir receives the rebuilt artifacts and their provenance
	// (rebuild's output directory). It must not exist, be empty, or hold
	// an earlier rebuild's output (which is replaced once the new rebuild
	// is complete). Empty: a temporary directory, removed at the end.
	RebuiltDir string
	// Release configures the published side; CacheDir is the download
	// cache (default the user cache directory's reproof/downloads).
	Release  release.SourceOptions
	CacheDir string
	// TempDir holds normalized copies and comparison spills.
	TempDir string
	// Caps bounds every archive read: the Max* caps of a compare.Options
	// (zero: their defaults) except MaxDepth, which comes from the spec.
	Caps     compare.Options
	Progress io.Writer
	Version  string
	Now      func() time.Time
}

// Verify runs the verification. It returns the Verification whatever the
// outcome — its Verdict says what happened, and an error or failed build
// is recorded in it — and a non-nil error only when ctx ended (the
// Verification is then nil).
func Verify(ctx context.Context, opts Options) (*report.Verification, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	s := opts.Spec
	v := newVerification(opts)
	fail := func(err error) (*report.Verification, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.Verdict, v.Error = report.VerdictError, oneLine(err.Error())
		v.Reason = "the verification could not be completed: " + v.Error
		v.Timestamp = opts.Now().UTC().Format(time.RFC3339)
		return v, nil
	}

	passes, err := archive.ParsePasses(s.Compare.PassList())
	if err != nil {
		return fail(fmt.Errorf("compare.passes: %w", err))
	}
	work, err := owner.TempDir(opts.TempDir, "reproof-verify-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)

	// The published side first: it is cheap next to a build, and a release
	// that cannot be fetched should not cost one.
	fmt.Fprintf(opts.Progress, "published: reading %s\n", s.Published.Source)
	pub, err := fetchPublished(ctx, opts)
	if err != nil {
		return fail(err)
	}
	defer pub.finish(v)
	v.Published = pub.summary()
	fmt.Fprintf(opts.Progress, "published: %s, %s\n", plural(len(pub.check.Assets), "file"), plural(len(pub.check.Manifests), "checksum manifest"))

	rebuiltDir := opts.RebuiltDir
	if rebuiltDir == "" {
		rebuiltDir = filepath.Join(work, "rebuilt")
	} else if err := checkRebuiltDir(rebuiltDir); err != nil {
		return fail(err)
	}
	ro := opts.Rebuild
	ro.OutDir = filepath.Join(work, "rebuild-out")
	ro.TempDir = opts.TempDir
	ro.Progress = opts.Progress
	res, err := rebuild.Rebuild(ctx, ro)
	if res != nil {
		fillRebuild(v, res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var be *rebuild.BuildError
		if errors.As(err, &be) || errors.Is(err, rebuild.ErrNoArtifacts) {
			v.Verdict, v.Error = report.VerdictBuildFailed, oneLine(err.Error())
			v.Reason = "the build failed, so nothing was compared: " + v.Error
			if be != nil {
				v.BuildLogTail = be.LogTail
				v.BuildExplain = be.Explain
				if be.Hint != "" {
					v.Warnings = append(v.Warnings, "the build reached for the network: "+be.Hint)
				}
				// Keep the whole log where the user asked for output.
				if opts.RebuiltDir != "" && rebuild.WriteFailedLog(opts.RebuiltDir, be.Log) == nil {
					v.BuildLogFile = filepath.Join(opts.RebuiltDir, rebuild.FailedLogFile)
				}
			}
			v.Timestamp = opts.Now().UTC().Format(time.RFC3339)
			return v, nil
		}
		return fail(err)
	}
	if err := placeRebuilt(ro.OutDir, rebuiltDir); err != nil {
		return fail(err)
	}

	if err := judge(ctx, opts, v, pub, res.Artifacts, rebuiltDir, res.Source.SourceDateEpoch, passes, work); err != nil {
		return fail(err)
	}
	v.Timestamp = opts.Now().UTC().Format(time.RFC3339)
	return v, nil
}

// judge is the verdict: it pairs the rebuilt artifacts (in rebuiltDir) with
// the published release, compares each pair and decides. No build and no
// container: Judge runs it on a directory of artifacts.
func judge(ctx context.Context, opts Options, v *report.Verification, pub *published, rebuilt []rebuild.Artifact, rebuiltDir string, epoch int64, passes archive.PassSet, work string) error {
	if pub.byName != nil {
		var names []string
		for _, a := range rebuilt {
			names = append(names, a.Name)
		}
		if err := pub.fetchNamed(ctx, names); err != nil {
			return err
		}
		v.Published = pub.summary()
	}
	c := &comparer{
		ctx: ctx, spec: opts.Spec, passes: passes, epoch: epoch,
		tmp: work, caps: opts.Caps,
		progress: opts.Progress,
	}
	arts, warnings, err := c.artifacts(rebuilt, rebuiltDir, pub)
	if err != nil {
		return err
	}
	if arts, err = c.addImages(arts, opts.Rebuild.ImageOptions, rebuilt, rebuiltDir); err != nil { // verify/image.go
		return err
	}
	v.Artifacts = arts
	v.Warnings = append(v.Warnings, warnings...)
	decide(v)
	if pub.nothingThere != "" {
		v.Verdict, v.Error = report.VerdictError, pub.nothingThere
		v.Reason = "the verification could not be completed: " + v.Error
	}
	return nil
}

// Judge decides a verification from artifacts already rebuilt: every file
// in rebuiltDir is an artifact, compared with the release opts.Spec
// publishes, as Verify compares what its build made (epoch is the
// SOURCE_DATE_EPOCH the time passes use). It is the verdict logic alone,
// for tests and for artifacts rebuilt elsewhere. Like Verify, it records
// an error in the Verification and returns an error only when ctx ended.
func Judge(ctx context.Context, opts Options, rebuiltDir string, epoch int64) (*report.Verification, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	v := newVerification(opts)
	err := func() error {
		passes, err := archive.ParsePasses(opts.Spec.Compare.PassList())
		if err != nil {
			return fmt.Errorf("compare.passes: %w", err)
		}
		work, err := owner.TempDir(opts.TempDir, "reproof-verify-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		pub, err := fetchPublished(ctx, opts)
		if err != nil {
			return err
		}
		defer pub.finish(v)
		v.Published = pub.summary()
		arts, err := artifactsIn(ctx, rebuiltDir)
		if err != nil {
			return err
		}
		return judge(ctx, opts, v, pub, arts, rebuiltDir, epoch, passes, work)
	}()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		v.Verdict, v.Error = report.VerdictError, oneLine(err.Error())
		v.Reason = "the verification could not be completed: " + v.Error
	}
	v.Timestamp = opts.Now().UTC().Format(time.RFC3339)
	return v, nil
}

// artifactsIn lists and hashes the regular files directly in dir.
func artifactsIn(ctx context.Context, dir string) ([]rebuild.Artifact, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	d256 := release.HashFiles(ctx, paths, release.SHA256, 0)
	d512 := release.HashFiles(ctx, paths, release.SHA512, 0)
	out := make([]rebuild.Artifact, len(paths))
	for i, p := range paths {
		if err := errors.Join(d256[i].Err, d512[i].Err); err != nil {
			return nil, err
		}
		name := filepath.Base(p)
		out[i] = rebuild.Artifact{Name: name, Path: name, Size: d256[i].Size, SHA256: d256[i].Digest, SHA512: d512[i].Digest}
	}
	return out, nil
}

func newVerification(opts Options) *report.Verification {
	s := opts.Spec
	v := &report.Verification{
		Schema:  report.VerifySchema,
		Reproof: opts.Version,
		Source:  report.SourceInfo{Repo: s.Source.Repo, Tag: s.Source.Tag, Commit: s.Source.Commit},
		Environment: report.Environment{
			Image: s.Build.Image, Platform: s.Build.Platform, Network: s.Build.Network,
			Command: commandOf(s.Build.Command),
		},
		Published: report.Published{Source: s.Published.Source, Manifests: []report.Manifest{}, Files: []report.File{}},
		Policy: report.Policy{
			Passes:           s.Compare.EnabledPasses(),
			AcceptNormalized: s.Compare.AcceptNormalized,
		},
		Artifacts: []report.Artifact{},
		Warnings:  []string{},
	}
	if v.Policy.Passes == nil {
		v.Policy.Passes = []string{}
	}
	if s.Source.SourceDateEpoch != nil {
		v.Source.SourceDateEpoch = *s.Source.SourceDateEpoch
	}
	for _, m := range s.Members {
		v.Policy.Members = append(v.Policy.Members, report.Rule{Artifact: m.Artifact, Members: m.Members, Reason: m.Reason})
	}
	for _, sk := range s.Skips {
		v.Policy.Skips = append(v.Policy.Skips, report.Rule{Artifact: sk.Artifact, Reason: sk.Reason})
	}
	if s.Build.Network {
		v.Warnings = append(v.Warnings, "the build had network access (--network): its inputs are not all recorded")
	}
	return v
}

func commandOf(c spec.Command) []string {
	if c.Shell && len(c.Argv) == 1 {
		return []string{"/bin/sh", "-c", c.Argv[0]}
	}
	return append([]string{}, c.Argv...)
}

// fillRebuild records what the rebuild resolved: the commit, tree and
// epoch, the image digest, the runtime.
func fillRebuild(v *report.Verification, res *rebuild.Result) {
	if src := res.Source; src != nil {
		v.Source.Repo, v.Source.Commit, v.Source.Tree, v.Source.SourceDateEpoch = src.Repo, src.Commit, src.Tree, src.SourceDateEpoch
	}
	if img := res.Image; img != nil {
		v.Environment.ImageDigest, v.Environment.Platform, v.Environment.Unpinned = img.Digest, img.Platform, img.Unpinned
		if img.Unpinned {
			v.Warnings = append(v.Warnings, fmt.Sprintf("the image %s was not pinned by digest; it resolved to %s", img.Ref, img.Digest))
		}
		v.Warnings = append(v.Warnings, img.Warnings...)
	}
	v.Environment.Runtime, v.Environment.RuntimeVersion = res.Runtime, res.RuntimeVersion
	v.Environment.User = res.User.String()
	v.ProvenanceSHA256 = res.ProvenanceSHA256
}

// checkRebuiltDir accepts a directory that does not exist, is empty, or
// holds an earlier rebuild's output.
func checkRebuiltDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist), err == nil && len(entries) == 0:
		return nil
	case err == nil && len(entries) == 1 && entries[0].Name() == rebuild.FailedLogFile:
		return nil // an earlier failed build's log: the new output replaces it
	case err != nil:
		return fmt.Errorf("output directory %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, rebuild.ProvenanceFile)); err != nil {
		return fmt.Errorf("output directory %s is not empty and holds no earlier rebuild (no %s); remove it or choose another --out", dir, rebuild.ProvenanceFile)
	}
	return nil
}

// placeRebuilt moves the finished rebuild output to dir, replacing an
// earlier one only now that the new one is complete.
func placeRebuilt(from, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	old := ""
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		old = dir + ".old-" + filepath.Base(from)
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("replacing %s: %w", dir, err)
		}
	}
	// A same-filesystem rename when possible; otherwise a copy.
	if err := os.Rename(from, dir); err != nil {
		if err := copyDir(from, dir); err != nil {
			return fmt.Errorf("writing %s: %w", dir, err)
		}
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

func copyDir(from, to string) error {
	tmp, err := owner.TempDir(owner.Beside(to, ".tmp-"))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		fi, _ := in.Stat()
		out, err := os.OpenFile(filepath.Join(tmp, e.Name()), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	os.Remove(to) // an empty directory, if any
	return os.Rename(tmp, to)
}

// decide sets the verdict from the artifacts' statuses.
func decide(v *report.Verification) {
	counts := map[report.Status]int{}
	for _, a := range v.Artifacts {
		counts[a.Status]++
	}
	compared := counts[report.StatusIdentical] + counts[report.StatusEquivalent] + counts[report.StatusDifferent]
	bad := counts[report.StatusDifferent] + counts[report.StatusMissing] + counts[report.StatusChecksumMismatch]
	switch {
	case counts[report.StatusError] > 0:
		v.Verdict = report.VerdictError
		v.Reason = fmt.Sprintf("%s could not be compared completely", plural(counts[report.StatusError], "artifact"))
	case bad > 0:
		v.Verdict = report.VerdictNotReproducible
		var parts []string
		for _, st := range []report.Status{report.StatusDifferent, report.StatusMissing, report.StatusChecksumMismatch} {
			if n := counts[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		v.Reason = "artifacts do not reproduce: " + strings.Join(parts, ", ")
	case compared == 0:
		v.Verdict = report.VerdictError
		v.Reason = "no artifact was compared: nothing rebuilt is published (check the artifact patterns and the published source)"
	case counts[report.StatusEquivalent] > 0:
		v.Verdict = report.VerdictNormalized
		v.Reason = fmt.Sprintf("%s equal only after normalization (%d identical)", plural(counts[report.StatusEquivalent], "artifact"), counts[report.StatusIdentical])
	default:
		v.Verdict = report.VerdictReproducible
		v.Reason = identicalReason(v.Artifacts)
	}
	if v.Verdict == report.VerdictReproducible || v.Verdict == report.VerdictNormalized {
		if n := counts[report.StatusSkipped]; n > 0 {
			v.Reason += fmt.Sprintf("; %d skipped as declared not reproducible", n)
		}
		if n := counts[report.StatusExtra]; n > 0 {
			v.Reason += fmt.Sprintf("; %d rebuilt but not published (extra, informational)", n)
		}
	}
	sort.SliceStable(v.Artifacts, func(i, j int) bool { return v.Artifacts[i].Name < v.Artifacts[j].Name })
}

// identicalReason says how the identical artifacts were found identical:
// their bytes, or (under a member rule) the members the rule names.
func identicalReason(arts []report.Artifact) string {
	bytes, members := 0, 0
	for _, a := range arts {
		if a.Status != report.StatusIdentical {
			continue
		}
		if a.ComparedBy == "members" {
			members++
		} else {
			bytes++
		}
	}
	var parts []string
	if bytes > 0 {
		parts = append(parts, plural(bytes, "artifact")+" identical bit for bit")
	}
	if members > 0 {
		parts = append(parts, plural(members, "artifact")+" identical by members: the members the spec's member rules name have the same content, every other member differs at most harmlessly; the archives themselves are not the same bytes")
	}
	return strings.Join(parts, "; ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// oneLine keeps a message on one line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// RebuildOptions are the rebuild.Options a spec's [source] and [build]
// tables say, for `reproof rebuild`, `reproof verify` and the fixtures. The
// caller adds what a spec does not hold: the log, progress, version,
// environment and image cache.
func RebuildOptions(s *spec.Spec) rebuild.Options {
	b := s.Build
	o := rebuild.Options{
		Repo:            s.Source.Repo,
		Tag:             s.Source.Tag,
		Commit:          s.Source.Commit,
		SourceDateEpoch: s.Source.SourceDateEpoch,
		Image:           b.Image,
		AllowUnpinned:   b.AllowUnpinned,
		Platform:        b.Platform,
		Runtime:         b.Runtime,
		Command:         b.Command.Argv,
		Shell:           b.Command.Shell,
		Env:             b.Env,
		Network:         b.Network,
		Timeout:         b.Timeout,
		EngineTimeout:   b.EngineTimeout,
		Artifacts:       b.Artifacts,
		OutDir:          b.Out,
	}
	o.Limits = rebuild.Limits{Pids: b.PidsLimit, Memory: b.Memory, CPUs: b.CPUs, TmpfsSize: b.TmpfsSize, OutputSize: b.OutputLimit}
	if b.User != nil {
		o.User = &rebuild.User{UID: b.User.UID, GID: b.User.GID}
	}
	return o
}
