package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
	runowner "github.com/reproof/reproof/internal/owner"
)

// Compare compares the images a and b name: every platform of their
// indexes with opts.AllPlatforms, else the one opts.Platform resolves to.
// The Result's differences carry the section in their paths (see
// compare.ImageSummary) and Result.Image the verdict per platform. An
// error means a side could not be read or verified at all.
func Compare(ctx context.Context, a, b *Source, opts Options) (*compare.Result, error) {
	c, err := newComparer(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer c.cleanup()
	res := c.result(a, b)
	if !opts.AllPlatforms {
		ia, err := a.Image(ctx, opts.Platform)
		if err != nil {
			return nil, err
		}
		ib, err := b.Image(ctx, opts.Platform)
		if err != nil {
			return nil, err
		}
		if err := c.platform(ia, ib, ""); err != nil {
			return nil, err
		}
		return c.finish(res), nil
	}
	pa, err := a.Platforms(ctx)
	if err != nil {
		return nil, err
	}
	pb, err := b.Platforms(ctx)
	if err != nil {
		return nil, err
	}
	c.indexDiffs(a, b)
	for _, p := range union(pa, pb) {
		inA, inB := slices.Contains(pa, p), slices.Contains(pb, p)
		if !inA || !inB {
			ip := compare.ImagePlatform{Platform: p, Verdict: compare.ImageMissing}
			d := compare.Difference{Path: "index/" + p, Kind: compare.KindMissing, Detail: "an image for " + p + " in A only"}
			side := a
			if !inA {
				ip.Verdict, d.Kind, d.Detail, side = compare.ImageExtra, compare.KindExtra, "an image for "+p+" in B only", b
			}
			img, err := side.Image(ctx, p)
			if err != nil {
				return nil, err
			}
			if inA {
				ip.A = manifestOf(img)
			} else {
				ip.B = manifestOf(img)
			}
			ip.Differences = 1
			c.add(d)
			c.summary.Platforms = append(c.summary.Platforms, ip)
			continue
		}
		ia, err := a.Image(ctx, p)
		if err != nil {
			return nil, err
		}
		ib, err := b.Image(ctx, p)
		if err != nil {
			return nil, err
		}
		if err := c.platform(ia, ib, p+"/"); err != nil {
			return nil, err
		}
	}
	return c.finish(res), nil
}

// CompareImages compares two resolved images (one platform each): the
// Result has one compare.ImagePlatform, whose Verdict is identical,
// equivalent (with its Normalizations), different or incomplete.
func CompareImages(ctx context.Context, a, b *Image, opts Options) (*compare.Result, error) {
	c, err := newComparer(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer c.cleanup()
	res := c.result(a.Source, b.Source)
	if err := c.platform(a, b, ""); err != nil {
		return nil, err
	}
	return c.finish(res), nil
}

func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, p := range b {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// comparer carries one comparison of images.
type comparer struct {
	ctx     context.Context
	opts    Options
	tmp     string
	budget  *archive.Budget
	summary *compare.ImageSummary

	diffs      []compare.Difference
	incomplete []string
	entriesA   int64
	entriesB   int64

	mu     sync.Mutex
	layers map[v1.Hash]*layerFile // fetched layers by blob digest
	seq    int
}

// layerFile is a layer's uncompressed tar in the work directory.
type layerFile struct {
	once        sync.Once
	path        string
	diffID      v1.Hash // computed
	compression archive.Compression
	err         error
}

func newComparer(ctx context.Context, opts Options) (*comparer, error) {
	if opts.Squashed == "" {
		opts.Squashed = "auto"
	}
	switch opts.Squashed {
	case "auto", "always", "never":
	default:
		return nil, fmt.Errorf("squashed view %q: want auto, always or never", opts.Squashed)
	}
	tmp, err := runowner.TempDir(opts.Compare.TempDir, "reproof-diff-")
	if err != nil {
		return nil, fmt.Errorf("creating work directory: %w", err)
	}
	max := opts.Compare.MaxTotalBytes
	if max <= 0 {
		max = compare.DefaultMaxTotalBytes
	}
	return &comparer{ctx: ctx, opts: opts, tmp: tmp, budget: archive.NewBudget(max, "--max-total-bytes"),
		layers: map[v1.Hash]*layerFile{}}, nil
}

func (c *comparer) cleanup() { os.RemoveAll(c.tmp) }

func (c *comparer) add(ds ...compare.Difference) { c.diffs = append(c.diffs, ds...) }

func (c *comparer) result(a, b *Source) *compare.Result {
	c.summary = &compare.ImageSummary{A: sourceOf(a), B: sourceOf(b)}
	return &compare.Result{A: inputOf(a), B: inputOf(b), Image: c.summary}
}

func (c *comparer) finish(res *compare.Result) *compare.Result {
	sortDifferences(c.diffs)
	res.Differences, res.Incomplete = c.diffs, c.incomplete
	res.EntriesA, res.EntriesB = c.entriesA, c.entriesB
	sort.Strings(res.Incomplete)
	return res
}

func sourceOf(s *Source) compare.ImageSource {
	out := compare.ImageSource{Reference: s.Ref.String(), Transport: string(s.Ref.Transport), MediaType: string(s.MediaType), Pinned: s.Pinned}
	if s.Digest != (v1.Hash{}) {
		out.Digest = s.Digest.String()
	}
	return out
}

func inputOf(s *Source) compare.Input {
	in := compare.Input{Path: s.Ref.String(), Kind: "image", Format: string(s.MediaType), Size: int64(len(s.raw))}
	if s.Digest != (v1.Hash{}) {
		in.SHA256 = s.Digest.Hex
	}
	return in
}

func manifestOf(img *Image) *compare.ImageManifest {
	m := &compare.ImageManifest{MediaType: string(img.MediaType), ConfigDigest: img.ConfigDigest.String()}
	if img.Digest != (v1.Hash{}) {
		m.Digest = img.Digest.String()
	}
	for _, l := range img.Layers {
		m.Layers = append(m.Layers, compare.ImageLayer{Digest: l.Digest.String(), Size: l.Size, MediaType: string(l.MediaType),
			Compression: compressionOf(l.MediaType), DiffID: l.DiffID.String()})
	}
	return m
}

// platform compares the images of one platform; prefix starts the paths
// of its differences ("linux/arm64/" when several platforms are
// compared).
func (c *comparer) platform(a, b *Image, prefix string) error {
	start := len(c.diffs)
	startIncomplete := len(c.incomplete)
	ip := compare.ImagePlatform{Platform: a.Platform, A: manifestOf(a), B: manifestOf(b)}
	if a.Platform != b.Platform {
		ip.Platform = a.Platform + " → " + b.Platform
		c.add(compare.Difference{Path: prefix + "config/platform", Kind: compare.KindType, Detail: a.Platform + " → " + b.Platform, Old: a.Platform, New: b.Platform})
	}
	if a.Digest != (v1.Hash{}) && a.Digest == b.Digest {
		ip.Verdict = compare.ImageIdentical
		for i := range a.Layers {
			ip.Layers = append(ip.Layers, compare.ImageLayerPair{Position: i + 1, Status: compare.LayerIdentical})
		}
		c.summary.Platforms = append(c.summary.Platforms, ip)
		return nil
	}
	c.add(manifestDiffs(a, b, prefix)...)
	if a.ConfigDigest != b.ConfigDigest {
		ds, err := configDiffs(a.RawConfig, b.RawConfig, prefix+"config")
		if err != nil {
			return err
		}
		if len(ds) == 0 && slices.Equal(a.Config.RootFS.DiffIDs, b.Config.RootFS.DiffIDs) {
			ds = append(ds, compare.Difference{Path: prefix + "config", Kind: compare.KindPax,
				Detail: "config JSON encoded differently, every field equal"})
		}
		c.add(ds...)
	}
	pairs, err := c.layerPairs(a, b, prefix)
	if err != nil {
		return err
	}
	ip.Layers = pairs
	squash := c.opts.Squashed == "always" || c.opts.Squashed == "auto" && len(a.Layers) != len(b.Layers)
	if squash {
		reason := "asked for (--squashed always)"
		if len(a.Layers) != len(b.Layers) {
			reason = fmt.Sprintf("the layer counts differ: %d → %d", len(a.Layers), len(b.Layers))
		}
		sv, err := c.squashed(a, b, prefix)
		if err != nil {
			return err
		}
		sv.Reason = reason
		ip.Squashed = sv
	}
	mine := c.diffs[start:]
	if len(mine) == 0 && len(c.incomplete) == startIncomplete && a.Digest != b.Digest && a.Digest != (v1.Hash{}) && b.Digest != (v1.Hash{}) {
		// Different manifest bytes, every field equal.
		c.add(compare.Difference{Path: prefix + "manifest", Kind: compare.KindPax, Detail: "manifest JSON encoded differently, every field equal"})
		mine = c.diffs[start:]
	}
	ip.Differences = len(mine)
	ip.Verdict, ip.Normalizations = verdictOf(mine, len(c.incomplete) > startIncomplete, prefix)
	c.summary.Platforms = append(c.summary.Platforms, ip)
	return nil
}

// verdictOf judges one platform's differences.
func verdictOf(ds []compare.Difference, incomplete bool, prefix string) (string, []compare.ImageNormalization) {
	switch {
	case incomplete:
		return compare.ImageIncomplete, nil
	case len(ds) == 0:
		return compare.ImageIdentical, nil
	}
	for _, d := range ds {
		if d.IsContent() {
			return compare.ImageDifferent, nil
		}
	}
	byName := map[string]*compare.ImageNormalization{}
	var names []string
	for _, d := range ds {
		n := normalizationOf(strings.TrimPrefix(d.Path, prefix), d.Kind)
		norm := byName[n]
		if norm == nil {
			norm = &compare.ImageNormalization{Name: n}
			byName[n] = norm
			names = append(names, n)
		}
		norm.Count++
		if len(norm.Hid) < 5 {
			s := d.Path + ": " + d.Detail
			norm.Hid = append(norm.Hid, s)
		}
	}
	sort.Strings(names)
	var out []compare.ImageNormalization
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return compare.ImageEquivalent, out
}

// Names of the normalizations an equivalent image's harmless differences
// fall under.
const (
	NormConfigTimestamps = "config-timestamps"  // created, history created, the created label or annotation
	NormBuildRecords     = "build-records"      // docker's container, container_config, docker_version, config.Image
	NormLayerMtimes      = "layer-mtimes"       // mtimes of files in layers
	NormLayerCompression = "layer-compression"  // a layer's compression, compressor or settings
	NormLayerTarEncoding = "layer-tar-encoding" // order, pax records and header encodings of layer tars
	NormManifestEncoding = "manifest-encoding"  // manifest or config JSON encoded differently
)

// normalizationOf names the normalization that hides a harmless
// difference at path p (without the platform prefix).
func normalizationOf(p string, k compare.Kind) string {
	inLayer := strings.HasPrefix(p, "layers/") || strings.HasPrefix(p, "squashed")
	switch {
	case (p == "manifest" || p == "config") && k == compare.KindPax:
		return NormManifestEncoding
	case !inLayer && k == compare.KindMtime:
		return NormConfigTimestamps
	case !inLayer:
		return NormBuildRecords
	case k == compare.KindMtime:
		return NormLayerMtimes
	case k == compare.KindCompression && !strings.Contains(p, "!/"):
		return NormLayerCompression
	}
	return NormLayerTarEncoding
}

// sortDifferences orders differences by path, then kind, as package
// compare does.
func sortDifferences(ds []compare.Difference) {
	rank := func(k compare.Kind) int {
		if i := slices.Index(compare.Kinds, k); i >= 0 {
			return i
		}
		return len(compare.Kinds)
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Path != ds[j].Path {
			return ds[i].Path < ds[j].Path
		}
		return rank(ds[i].Kind) < rank(ds[j].Kind)
	})
}

// layerPairs compares the layers by position: with the archive engine
// when both images have as many layers, else by digest only (the squashed
// view then compares the filesystems).
func (c *comparer) layerPairs(a, b *Image, prefix string) ([]compare.ImageLayerPair, error) {
	sameCount := len(a.Layers) == len(b.Layers)
	var pairs []compare.ImageLayerPair
	for i := 0; i < max(len(a.Layers), len(b.Layers)); i++ {
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
		p := fmt.Sprintf("%slayers/%d", prefix, i+1)
		pair := compare.ImageLayerPair{Position: i + 1}
		switch {
		case i >= len(b.Layers):
			pair.Status = compare.LayerMissing
			c.add(compare.Difference{Path: p, Kind: compare.KindMissing, Detail: "a layer in A only: " + layerDesc(a.Layers[i])})
		case i >= len(a.Layers):
			pair.Status = compare.LayerExtra
			c.add(compare.Difference{Path: p, Kind: compare.KindExtra, Detail: "a layer in B only: " + layerDesc(b.Layers[i])})
		case a.Layers[i].Digest == b.Layers[i].Digest && a.Layers[i].DiffID == b.Layers[i].DiffID:
			pair.Status = compare.LayerIdentical
		case !sameCount:
			pair.Status = compare.LayerNotOpened
			if a.Layers[i].DiffID == b.Layers[i].DiffID {
				pair.Status = compare.LayerRecompressed
			}
			c.add(compare.Difference{Path: p, Kind: compare.KindContent,
				Detail: layerDesc(a.Layers[i]) + " → " + layerDesc(b.Layers[i]) + " (the layer counts differ: see squashed)"})
		default:
			st, err := c.layerPair(a, b, i, p)
			if err != nil {
				return nil, err
			}
			pair.Status = st
		}
		pairs = append(pairs, pair)
	}
	return pairs, nil
}

func layerDesc(l Layer) string {
	return fmt.Sprintf("%s, %s, %s bytes, diff_id %s", l.Digest, compressionOf(l.MediaType), formatInt(l.Size), l.DiffID)
}

func formatInt(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// layerPair compares the layers at one position whose blobs differ.
func (c *comparer) layerPair(a, b *Image, i int, p string) (string, error) {
	la, lb := a.Layers[i], b.Layers[i]
	var fa, fb *layerFile
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fb = c.fetchLayer(b, i, "B")
	}()
	fa = c.fetchLayer(a, i, "A")
	wg.Wait()
	for _, f := range []*layerFile{fa, fb} {
		if f.err != nil {
			return "", f.err
		}
	}
	c.add(c.compressionDiffs(la, lb, fa, fb, p)...)
	if fa.diffID == fb.diffID {
		if la.Digest != lb.Digest && compressionOf(la.MediaType) == compressionOf(lb.MediaType) {
			c.add(compare.Difference{Path: p, Kind: compare.KindCompression, Old: la.Digest.String(), New: lb.Digest.String(),
				Detail: fmt.Sprintf("the same tar, %s-compressed into different bytes (compressor or settings)", compressionOf(la.MediaType))})
		}
		if la.DiffID != lb.DiffID {
			return "", fmt.Errorf("layer %d: equal tars with different diff_ids", i+1)
		}
		return compare.LayerRecompressed, nil
	}
	res, err := compare.Compare(c.ctx, fa.path, fb.path, c.opts.Compare)
	if err != nil {
		return "", fmt.Errorf("comparing layer %d: %w", i+1, err)
	}
	c.entriesA += res.EntriesA
	c.entriesB += res.EntriesB
	c.addNested(res, p, false)
	return compare.LayerDifferent, nil
}

// addNested adds the differences of a comparison of two tars under
// base ("layers/2", "squashed"): inside an image, owners are what the
// container's processes run with, so an owner difference is content.
func (c *comparer) addNested(res *compare.Result, base string, squashed bool) int {
	n := 0
	for _, d := range res.Differences {
		if squashed && (d.Kind == compare.KindOrder || d.Path == "" && (d.Kind == compare.KindPax || d.Kind == compare.KindCompression)) {
			continue // the squashed tars are written here: their order and encoding are ours
		}
		if squashed && d.Kind == compare.KindOwner && numericOwner(d.Old) == numericOwner(d.New) {
			continue // user and group names: no runtime applies them
		}
		if d.Path == "" {
			d.Path = base
		} else {
			d.Path = base + "!/" + d.Path
		}
		if d.Kind == compare.KindOwner && !d.Privileged && numericOwner(d.Old) != numericOwner(d.New) {
			// Runtimes apply the numeric uid and gid (never the names):
			// they decide what the image's USER may change.
			d.Privileged = true
			d.Detail += " (owners apply in a container)"
		}
		c.add(d)
		n++
	}
	for _, note := range res.Incomplete {
		c.incomplete = append(c.incomplete, base+": "+note)
	}
	return n
}

// compressionDiffs names a difference in the layers' compression, and a
// blob whose media type says another compression than its bytes.
func (c *comparer) compressionDiffs(la, lb Layer, fa, fb *layerFile, p string) []compare.Difference {
	var out []compare.Difference
	ca, cb := compressionOf(la.MediaType), compressionOf(lb.MediaType)
	if ca != cb {
		out = append(out, compare.Difference{Path: p, Kind: compare.KindCompression, Old: ca, New: cb,
			Detail: fmt.Sprintf("tar+%s → tar+%s", ca, cb)})
	}
	for _, s := range []struct {
		side, said string
		got        archive.Compression
	}{{"A", ca, fa.compression}, {"B", cb, fb.compression}} {
		if s.said != "unknown" && s.said != s.got.String() {
			out = append(out, compare.Difference{Path: p, Kind: compare.KindAmbiguous, Old: s.said,
				Detail: fmt.Sprintf("in %s: the media type says %s, the blob is %s (runtimes that trust the media type fail or differ)", s.side, s.said, s.got)})
		}
	}
	return out
}

// fetchLayer streams layer i of img into the work directory,
// decompressed, verifying the blob's digest and size and the tar's
// diff_id. A blob is fetched once per comparison.
func (c *comparer) fetchLayer(img *Image, i int, side string) *layerFile {
	l := img.Layers[i]
	c.mu.Lock()
	f := c.layers[l.Digest]
	if f == nil {
		f = &layerFile{}
		c.layers[l.Digest] = f
		c.seq++
		f.path = fmt.Sprintf("%s/layer-%d.tar", c.tmp, c.seq)
	}
	c.mu.Unlock()
	f.once.Do(func() {
		f.err = c.fetch(img, l, f)
		if f.err != nil {
			f.err = fmt.Errorf("layer %d of %s (%s): %w", i+1, side, img.Source.Ref, f.err)
		}
	})
	return f
}

func (c *comparer) fetch(img *Image, l Layer, f *layerFile) (err error) {
	rc, err := img.Source.store.open(c.ctx, l.Descriptor)
	if err != nil {
		return err
	}
	defer rc.Close()
	v, err := newVerifier(rc, "blob "+l.Digest.String(), l.Digest, l.Size)
	if err != nil {
		return err
	}
	// A blob that does not decompress is first a blob that is not what
	// its digest names, if it is not.
	blobErr := func(err error) error {
		if c.ctx.Err() == nil {
			if verr := v.finish(); verr != nil {
				return verr
			}
		}
		return err
	}
	payload, comp, err := archive.OpenPayload(v, archive.Options{Limits: c.opts.Compare.Limits(), Budget: c.budget})
	if err != nil {
		return blobErr(err)
	}
	defer payload.Close()
	f.compression = comp
	out, err := os.Create(f.path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(out, 1<<20)
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(bw, h), ctxReader{c.ctx, payload}); err != nil {
		return blobErr(err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := v.finish(); err != nil {
		return err
	}
	f.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if f.diffID != l.DiffID {
		return fmt.Errorf("the tar hashes to %s, the config's diff_id is %s: %w", f.diffID, l.DiffID, ErrDigestMismatch)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// numericOwner is the "uid/gid" of an owner value "uid/gid uname/gname".
func numericOwner(s string) string {
	f, _, _ := strings.Cut(s, " ")
	return f
}
