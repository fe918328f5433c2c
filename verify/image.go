package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/image"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// ImagesDir is the directory of the output directory that receives the
// images reproof makes (assembled or built), one OCI layout each.
const ImagesDir = "images"

// KindImage is the report.Artifact Kind of a container image.
const KindImage = "image"

// imageJudge judges the spec's [[image]] tables: each published image is
// read and verified, the rebuilt one made (or read from the build's
// artifacts), and the two compared by package image.
type imageJudge struct {
	*comparer
	reg        rebuild.ImageOptions
	rebuilt    []rebuild.Artifact
	rebuiltDir string
}

// addImages adds to the file artifacts one artifact per [[image]] of
// the spec; an image whose name is a file's is called "image NAME".
func (c *comparer) addImages(files []report.Artifact, reg rebuild.ImageOptions, rebuilt []rebuild.Artifact, rebuiltDir string) ([]report.Artifact, error) {
	images, err := c.judgeImages(reg, rebuilt, rebuiltDir)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, f := range files {
		taken[f.Name] = true
	}
	for i := range images {
		if taken[images[i].Name] {
			images[i].Name = "image " + images[i].Name
		}
	}
	return append(files, images...), nil
}

// judgeImages returns one artifact per [[image]] of the spec, in spec
// order. An image that cannot be read or made is an artifact in error,
// never a failure of the whole verification.
func (c *comparer) judgeImages(reg rebuild.ImageOptions, rebuilt []rebuild.Artifact, rebuiltDir string) ([]report.Artifact, error) {
	j := &imageJudge{comparer: c, reg: reg, rebuilt: rebuilt, rebuiltDir: rebuiltDir}
	var out []report.Artifact
	for _, im := range c.spec.Images {
		a := j.judge(im)
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (j *imageJudge) judge(im spec.Image) report.Artifact {
	a := report.Artifact{Name: im.DisplayName(), Kind: KindImage,
		Image: &report.ImageArtifact{Published: im.Published, RebuiltBy: im.Mode()}}
	if im.Mode() == "assemble" {
		a.Image.Base = im.Base
	}
	fail := func(st report.Status, format string, args ...any) report.Artifact {
		a.Status, a.Detail = st, oneLine(fmt.Sprintf(format, args...))
		return a
	}
	fmt.Fprintf(j.progress, "image: %s: reading %s\n", a.Name, im.Published)
	pinned := pinnedDigest(im.Published)
	pub, err := image.Open(j.ctx, im.Published, j.imageOptions())
	if err != nil {
		if errors.Is(err, image.ErrDigestMismatch) && pinned != "" {
			a.Checksums = []report.Checksum{{Manifest: "the spec's reference", Name: im.Published, Algorithm: "sha256",
				Expected: pinned, Match: false}}
			return fail(report.StatusChecksumMismatch, "the registry's answer is not the digest the reference names: %v", err)
		}
		return fail(report.StatusError, "the published image could not be read: %v", err)
	}
	defer pub.Close()
	a.Image.PublishedDigest, a.Image.PublishedType, a.Image.Pinned = digestString(pub), string(pub.MediaType), pub.Pinned
	a.Published = &report.FileDigest{Name: im.Published, SHA256: pub.Digest.Hex}
	if pinned != "" {
		a.Checksums = append(a.Checksums, report.Checksum{Manifest: "the spec's reference", Name: im.Published, Algorithm: "sha256",
			Expected: pinned, Computed: pub.Digest.Hex, Match: pinned == pub.Digest.Hex})
	}
	if tagRef, ok := tagOfPinned(im.Published); ok {
		ck := report.Checksum{Manifest: "the tag " + tagRef, Name: im.Published, Algorithm: "sha256", Expected: pinned}
		tagged, err := image.Open(j.ctx, "docker://"+tagRef, j.imageOptions())
		if err != nil {
			return fail(report.StatusError, "the published tag %s could not be read: %v", tagRef, err)
		}
		a.Image.TagDigest, ck.Computed = digestString(tagged), tagged.Digest.Hex
		ck.Match = ck.Computed == pinned
		tagged.Close()
		a.Checksums = append(a.Checksums, ck)
	}

	fmt.Fprintf(j.progress, "image: %s: making the rebuilt image (%s)\n", a.Name, im.Mode())
	reb, ref, err := j.rebuiltImage(im)
	if err != nil {
		if j.ctx.Err() != nil {
			return a
		}
		a = fail(report.StatusError, "the rebuilt image could not be made: %v", err)
		markImageChecksum(&a)
		return a
	}
	defer reb.Close()
	a.Image.Rebuilt, a.Image.RebuiltDigest = ref, digestString(reb)
	a.Rebuilt = &report.FileDigest{Name: ref, SHA256: reb.Digest.Hex}

	fmt.Fprintf(j.progress, "compare: image %s\n", a.Name)
	if err := j.compareImages(&a, pub, reb); err != nil {
		if j.ctx.Err() != nil {
			return a
		}
		a.Status, a.Detail = report.StatusError, oneLine(err.Error())
	}
	markImageChecksum(&a)
	return a
}

// markImageChecksum makes the artifact a checksum-mismatch when the
// registry's answer is not the digest the reference pins, saying so in
// the terms of images.
func markImageChecksum(a *report.Artifact) {
	for _, ck := range a.Checksums {
		if ck.Match {
			continue
		}
		what := fmt.Sprintf("the reference pins sha256:%s, the registry answers sha256:%s", short(ck.Expected), short(ck.Computed))
		if tag, ok := strings.CutPrefix(ck.Manifest, "the tag "); ok {
			what = fmt.Sprintf("the tag %s resolves to sha256:%s, not the sha256:%s the reference pins (moved, or the pin is stale)", tag, short(ck.Computed), short(ck.Expected))
		}
		if a.Status != "" && a.Status != report.StatusChecksumMismatch {
			what += fmt.Sprintf("; rebuilt vs the pinned image: %s", a.Status)
		}
		a.Status, a.Detail = report.StatusChecksumMismatch, what
		return
	}
}

func (j *imageJudge) imageOptions() image.Options {
	o := image.Options{Platform: j.spec.Build.Platform, Registry: j.reg, Compare: j.caps}
	o.Compare.TempDir, o.Compare.MaxDepth = j.tmp, j.spec.Compare.MaxDepth
	return o
}

func digestString(s *image.Source) string {
	if s.Digest.Hex == "" {
		return ""
	}
	return s.Digest.String()
}

var pinnedRE = regexp.MustCompile(`@sha256:([a-f0-9]{64})$`)

// pinnedDigest is the hex digest a docker:// reference pins, or "".
func pinnedDigest(ref string) string {
	if !strings.HasPrefix(ref, "docker://") {
		return ""
	}
	if m := pinnedRE.FindStringSubmatch(ref); m != nil {
		return m[1]
	}
	return ""
}

// tagOfPinned is the REGISTRY/REPO:TAG of a docker:// reference that
// names both a tag and a digest.
func tagOfPinned(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "docker://")
	if !ok || pinnedDigest(ref) == "" {
		return "", false
	}
	named, _, _ := strings.Cut(rest, "@")
	t, err := name.NewTag(named, name.StrictValidation)
	if err != nil {
		return "", false
	}
	return t.String(), true
}

// rebuiltImage makes (or reads) the rebuilt image and returns it opened,
// with its reference for the report.
func (j *imageJudge) rebuiltImage(im spec.Image) (*image.Source, string, error) {
	file := func(src string) (string, error) { return artifactPath(j.rebuilt, j.rebuiltDir, src) }
	switch im.Mode() {
	case "artifact":
		p, err := file(im.Artifact)
		if err != nil {
			return nil, "", err
		}
		return openImageFile(j.ctx, p, j.imageOptions())
	case "assemble":
		asm, err := AssembleImage(j.ctx, im, file, AssembleOptions{Epoch: j.epoch, Platform: j.spec.Build.Platform, Registry: j.reg, TempDir: j.tmp})
		if err != nil {
			return nil, "", err
		}
		dir, err := j.imageOutput(im, "")
		if err != nil {
			return nil, "", err
		}
		if err := asm.WriteLayout(dir, "rebuilt"); err != nil {
			return nil, "", fmt.Errorf("writing %s: %w", dir, err)
		}
		ref := "oci:" + dir
		s, err := image.Open(j.ctx, ref, j.imageOptions())
		return s, ref, err
	case "dockerfile":
		df, err := file(im.Dockerfile)
		if err != nil {
			return nil, "", err
		}
		out, err := j.imageOutput(im, ".oci.tar")
		if err != nil {
			return nil, "", err
		}
		if err := BuildDockerfile(j.ctx, DockerfileBuild{
			Dockerfile: df, Context: j.rebuiltDir, Out: out, Epoch: j.epoch,
			Platforms: platformsOf(im, j.spec.Build.Platform), Registry: j.reg, TempDir: j.tmp, Progress: j.progress,
		}); err != nil {
			return nil, "", err
		}
		ref := "oci-archive:" + out
		s, err := image.Open(j.ctx, ref, j.imageOptions())
		return s, ref, err
	}
	return nil, "", fmt.Errorf("the image says no way to make it")
}

func platformsOf(im spec.Image, def string) []string {
	if len(im.Platforms) > 0 {
		return im.Platforms
	}
	if def == "" {
		def = spec.DefaultPlatform
	}
	return []string{def}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// imageOutput is where the image is written in the output directory
// (ImagesDir/NAME + ext), removed first if an earlier run left it.
func (j *imageJudge) imageOutput(im spec.Image, ext string) (string, error) {
	dir := filepath.Join(j.rebuiltDir, ImagesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, strings.Trim(unsafeName.ReplaceAllString(im.DisplayName(), "_"), "_.")+ext)
	if err := os.RemoveAll(p); err != nil {
		return "", err
	}
	return p, nil
}

// openImageFile opens a rebuilt artifact that is an image: an OCI layout
// in a tar, or a docker archive.
func openImageFile(ctx context.Context, p string, opts image.Options) (*image.Source, string, error) {
	ref := "oci-archive:" + p
	s, err := image.Open(ctx, ref, opts)
	if err == nil {
		return s, ref, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	ref = "docker-archive:" + p
	s, derr := image.Open(ctx, ref, opts)
	if derr != nil {
		return nil, "", fmt.Errorf("%s is neither an OCI layout in a tar nor a docker archive: %v; %v", filepath.Base(p), err, derr)
	}
	return s, ref, nil
}

// compareImages compares the published image (A) with the rebuilt one
// (B), as files are compared: every platform of an index.
func (j *imageJudge) compareImages(a *report.Artifact, pub, reb *image.Source) error {
	opts := j.imageOptions()
	var res *compare.Result
	var err error
	if pub.MediaType.IsIndex() || reb.MediaType.IsIndex() {
		opts.AllPlatforms = true
		res, err = image.Compare(j.ctx, pub, reb, opts)
	} else {
		var ia, ib *image.Image
		if ia, err = pub.Image(j.ctx, ""); err != nil {
			return err
		}
		if ib, err = reb.Image(j.ctx, ""); err != nil {
			return err
		}
		res, err = image.CompareImages(j.ctx, ia, ib, opts)
	}
	if err != nil {
		return err
	}
	if res.Image != nil {
		a.Image.Platforms = res.Image.Platforms
	}
	// The sizes of what the references name: the index or manifest.
	a.Published.Size, a.Rebuilt.Size = res.A.Size, res.B.Size
	a.Differences, a.Incomplete = res.Differences, res.Incomplete
	a.ComparedBy = "image"
	j.imageVerdict(a, pub, reb, res)
	return nil
}

// imageNormalizationPasses are the archive passes each image
// normalization needs the policy to allow; the config-level ones need
// any pass (none: the policy wants bytes).
var imageNormalizationPasses = map[string][]string{
	image.NormLayerMtimes:      {"tar-mtime"},
	image.NormLayerTarEncoding: {"tar-order", "tar-pax"},
	image.NormLayerCompression: {"gzip-header"},
}

// imageVerdict decides identical, equivalent or different from the
// comparison.
func (j *imageJudge) imageVerdict(a *report.Artifact, pub, reb *image.Source, res *compare.Result) {
	pd, rd := digestString(pub), digestString(reb)
	if len(res.Incomplete) > 0 {
		a.Status, a.Detail = report.StatusError, "the comparison stopped short: "+strings.Join(res.Incomplete, "; ")
		return
	}
	if pd != "" && pd == rd {
		a.Status, a.Detail = report.StatusIdentical, "the same digest "+pd+platformsSuffix(a.Image.Platforms)
		return
	}
	var content []compare.Difference
	for _, d := range res.Differences {
		if d.IsContent() {
			content = append(content, d)
		}
	}
	if len(content) > 0 {
		// What a reader looks at first: a file or the config, before
		// the history that records it.
		sort.SliceStable(content, func(i, k int) bool { return detailRank(content[i].Path) < detailRank(content[k].Path) })
		d := content[0]
		detail := d.Path + ": " + d.Detail
		if d.Detail == "" {
			detail = fmt.Sprintf("%s: %s differs", d.Path, d.Kind)
		}
		if n := len(content) - 1; n > 0 {
			detail += fmt.Sprintf(" (and %s)", plural(n, "more content difference"))
		}
		a.Status, a.Detail = report.StatusDifferent, detail
		return
	}
	if len(res.Differences) == 0 {
		a.Status, a.Detail = report.StatusIdentical, "no difference in config and layers (the rebuilt image has no manifest digest of its own)"
		return
	}
	norms := imageNormalizations(a.Image.Platforms, res.Differences)
	var refused []string
	for _, n := range norms {
		need := imageNormalizationPasses[n.Pass]
		ok := len(j.passes.Names()) > 0
		for _, p := range need {
			ok = ok && j.passes.Has(p)
		}
		if !ok {
			why := "compare.passes allows none"
			if len(need) > 0 && len(j.passes.Names()) > 0 {
				why = "it needs " + strings.Join(need, " and ") + " in compare.passes"
			}
			refused = append(refused, n.Pass+" ("+why+")")
		}
	}
	if len(refused) > 0 {
		a.Status = report.StatusDifferent
		a.Detail = "equal only after image normalizations the policy does not allow: " + strings.Join(refused, ", ")
		return
	}
	var names []string
	for _, n := range norms {
		names = append(names, n.Pass)
	}
	a.Status, a.Normalizations = report.StatusEquivalent, norms
	a.Detail = fmt.Sprintf("digests differ (published %s, rebuilt %s); equal after %s", shortDigest(pd), shortDigest(rd), strings.Join(names, ", "))
}

// detailRank orders differences for the one-line detail: a file of the
// filesystem a container sees or of a layer, then the config, then a
// layer as a whole, then the history.
func detailRank(p string) int {
	switch {
	case strings.Contains(p, "squashed!/"):
		return 0
	case strings.Contains(p, "!/"):
		return 1
	case strings.Contains(p, "history/"):
		return 4
	case strings.Contains(p, "config/"):
		return 2
	}
	return 3
}

func shortDigest(d string) string {
	if d == "" {
		return "none"
	}
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

func platformsSuffix(ps []compare.ImagePlatform) string {
	if len(ps) <= 1 {
		return ""
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Platform
	}
	return " (an index: " + strings.Join(names, ", ") + ")"
}

// imageNormalizations gathers the normalizations of the platforms, and
// names the harmless differences of the index itself.
func imageNormalizations(ps []compare.ImagePlatform, ds []compare.Difference) []report.Normalization {
	byName := map[string]*report.Normalization{}
	add := func(name string, n int, hid ...string) {
		r := byName[name]
		if r == nil {
			r = &report.Normalization{Pass: name, Hid: []string{}}
			byName[name] = r
		}
		r.ChangedPublished += int64(n)
		r.ChangedRebuilt += int64(n)
		for _, h := range hid {
			if len(r.Hid) < 5 {
				r.Hid = append(r.Hid, h)
			}
		}
	}
	for _, p := range ps {
		for _, n := range p.Normalizations {
			add(n.Name, n.Count, n.Hid...)
		}
	}
	for _, d := range ds {
		if !strings.HasPrefix(d.Path, "index") {
			continue
		}
		n := image.NormManifestEncoding
		if d.Kind == compare.KindMtime {
			n = image.NormConfigTimestamps
		}
		add(n, 1, d.Path+": "+d.Detail)
	}
	out := make([]report.Normalization, 0, len(byName))
	for _, r := range byName {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Pass < out[k].Pass })
	return out
}
