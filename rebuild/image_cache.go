package rebuild

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reproof/reproof/internal/owner"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// annotationPinned marks an index.json entry with the digest it was pulled
// by: the image's own manifest digest, or the index it was resolved from.
const annotationPinned = "dev.reproof.image.pinned-digest"

// maxManifestSize bounds manifests, indexes and configs read into memory.
const maxManifestSize = 8 << 20

var (
	errCacheMiss    = errors.New("not in the image cache")
	errCacheCorrupt = errors.New("cached image is corrupt")
)

// indexMu serialises read-modify-write cycles of index.json within the
// process. Across processes a lost update only loses a cache entry, never
// corrupts one: index.json is replaced by rename.
var indexMu sync.Mutex

// imageCache is an OCI image layout holding verified images. index.json lists
// one entry per pulled image, annotated with the digest it was pinned by;
// it is only a hint: every load re-verifies the blobs it points at. So an
// index.json that does not parse is rebuilt from the blobs (or, failing
// that, replaced by an empty one) with a warning, never an error that
// would stop every later run.
//
// Files being written are named ".tmp-OWNER-*" (internal/owner), beside
// index.json or in the blob directory, so that the sweep at the start of
// every pull removes what a killed run left.
type imageCache struct {
	dir string

	mu       sync.Mutex
	warnings []string
}

// tmpPrefix starts the names of the cache's temporary files.
const tmpPrefix = ".tmp-"

// legacyTempAge is how old a temporary file without an owner in its name
// (made by an older reproof) must be before a sweep removes it.
const legacyTempAge = 24 * time.Hour

func (c *imageCache) warn(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warnings = append(c.warnings, msg)
}

// takeWarnings returns the warnings so far and forgets them.
func (c *imageCache) takeWarnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.warnings
	c.warnings = nil
	return w
}

// tempDirs are the directories that may hold the cache's temporary files:
// the layout's root (index.json) and each blob directory.
func (c *imageCache) tempDirs() []string {
	dirs := []string{c.dir}
	algs, _ := os.ReadDir(filepath.Join(c.dir, "blobs"))
	for _, a := range algs {
		if a.IsDir() {
			dirs = append(dirs, filepath.Join(c.dir, "blobs", a.Name()))
		}
	}
	return dirs
}

// sweep removes the temporary files of dead runs (and those of an older
// reproof once a day old) and returns their paths.
func (c *imageCache) sweep() ([]string, error) {
	var removed []string
	var errs []error
	for _, d := range c.tempDirs() {
		r, err := owner.Sweep(d, tmpPrefix)
		removed = append(removed, r...)
		errs = append(errs, err)
		r, err = owner.SweepUnowned(d, tmpPrefix, legacyTempAge)
		removed = append(removed, r...)
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// SweepImageCache removes from the image cache at dir the temporary files
// that runs killed in the middle of a pull left (see internal/owner). Every
// pull does this first; `reproof gc` calls it directly. It returns the
// paths it removed.
func SweepImageCache(dir string) ([]string, error) {
	return (&imageCache{dir: dir}).sweep()
}

func (c *imageCache) blobPath(h v1.Hash) string {
	return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
}

// load returns the image pinned by digest pinned (resolved to platform if
// pinned names an index) if the cache holds it and all its blobs verify. It
// returns an error wrapping errCacheMiss or errCacheCorrupt otherwise.
func (c *imageCache) load(ctx context.Context, pinned v1.Hash, platform v1.Platform) (*PulledImage, error) {
	index, err := c.index(ctx)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, desc := range index.Manifests {
		if desc.Annotations[annotationPinned] != pinned.String() || !desc.MediaType.IsImage() {
			continue
		}
		img, err := c.loadEntry(ctx, desc, pinned, platform)
		if err == nil {
			return img, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if firstErr == nil && !errors.Is(err, errCacheMiss) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%s: %w", pinned, errCacheMiss)
}

// loadEntry verifies one index.json entry for pinned.
func (c *imageCache) loadEntry(ctx context.Context, desc v1.Descriptor, pinned v1.Hash, platform v1.Platform) (*PulledImage, error) {
	img := &PulledImage{Digest: desc.Digest.String(), FromCache: true}
	if desc.Digest != pinned {
		// Pinned by index: the index itself must verify and resolve to
		// this entry, or index.json could point a pin anywhere.
		raw, err := c.readBlob(ctx, v1.Descriptor{Digest: pinned, Size: -1})
		if err != nil {
			return nil, err
		}
		index, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("index %s: %s: %w", pinned, oneLine(err), errCacheCorrupt)
		}
		child, err := choosePlatform(index, platform)
		if err != nil || child.Digest != desc.Digest {
			return nil, fmt.Errorf("index %s: entry %s is not its %s image: %w", pinned, desc.Digest, platform, errCacheMiss)
		}
		img.IndexDigest = pinned.String()
		img.Platform = platformOf(child.Platform).String()
	}
	rawManifest, err := c.readBlob(ctx, desc)
	if err != nil {
		return nil, err
	}
	manifest, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %s: %w", desc.Digest, oneLine(err), errCacheCorrupt)
	}
	rawConfig, err := c.readBlob(ctx, manifest.Config)
	if err != nil {
		return nil, err
	}
	for _, layer := range manifest.Layers {
		if err := c.verifyBlob(ctx, layer); err != nil {
			return nil, err
		}
	}
	if img.Platform == "" {
		img.Platform = configPlatform(rawConfig)
	}
	l, err := layout.FromPath(c.dir)
	if err != nil {
		return nil, fmt.Errorf("opening %q: %w", c.dir, err)
	}
	if img.Image, err = l.Image(desc.Digest); err != nil {
		return nil, fmt.Errorf("opening %s in %q: %s: %w", desc.Digest, c.dir, oneLine(err), errCacheCorrupt)
	}
	return img, nil
}

// store writes img, verifying each blob, then records it in index.json under
// pinned. rawIndex is the index pinned names, or nil if pinned is img's own
// digest; platform is the index entry's platform.
func (c *imageCache) store(ctx context.Context, img v1.Image, pinned v1.Hash, rawIndex []byte, platform v1.Platform) (*PulledImage, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	manifest, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	desc := v1.Descriptor{MediaType: mediaType, Size: int64(len(rawManifest))}
	if desc.Digest, err = digestOf(pinned.Algorithm, rawManifest); err != nil {
		return nil, err
	}
	if rawIndex == nil && desc.Digest != pinned {
		return nil, fmt.Errorf("manifest is %s, want %s: %w", desc.Digest, pinned, ErrDigestMismatch)
	}

	// Blobs first, each verified before it is renamed into place; the
	// manifest after what it references; index.json last.
	for _, layer := range manifest.Layers {
		if err := c.verifyBlob(ctx, layer); err == nil {
			continue
		} else if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		l, err := img.LayerByDigest(layer.Digest)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
		err = c.writeBlob(ctx, layer, rc)
		if closeErr := rc.Close(); err == nil && closeErr != nil {
			err = closeErr
		}
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", layer.Digest, err)
		}
	}
	if manifest.Config.Size > maxManifestSize {
		return nil, fmt.Errorf("config %s: the manifest says %d bytes, more than the %d a config may have", manifest.Config.Digest, manifest.Config.Size, maxManifestSize)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", manifest.Config.Digest, err)
	}
	if err := c.putBytes(ctx, manifest.Config, rawConfig); err != nil {
		return nil, fmt.Errorf("config %s: %w", manifest.Config.Digest, err)
	}
	if err := c.putBytes(ctx, desc, rawManifest); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	pulled := &PulledImage{Digest: desc.Digest.String()}
	if rawIndex != nil {
		indexDesc := v1.Descriptor{Digest: pinned, Size: int64(len(rawIndex))}
		if err := c.putBytes(ctx, indexDesc, rawIndex); err != nil {
			return nil, fmt.Errorf("index %s: %w", pinned, err)
		}
		pulled.IndexDigest = pinned.String()
		pulled.Platform = platform.String()
		desc.Platform = &platform
	} else {
		pulled.Platform = configPlatform(rawConfig)
	}
	desc.Annotations = map[string]string{annotationPinned: pinned.String()}
	if err := c.addEntry(ctx, desc); err != nil {
		return nil, err
	}
	l, err := layout.FromPath(c.dir)
	if err != nil {
		return nil, err
	}
	if pulled.Image, err = l.Image(desc.Digest); err != nil {
		return nil, err
	}
	return pulled, nil
}

// init creates the layout's skeleton if it is missing.
func (c *imageCache) init() error {
	if err := os.MkdirAll(filepath.Join(c.dir, "blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("creating the image cache: %w", err)
	}
	files := []struct{ name, content string }{
		{"oci-layout", `{"imageLayoutVersion":"1.0.0"}` + "\n"},
		{"index.json", `{"schemaVersion":2,"mediaType":"` + string(types.OCIImageIndex) + `","manifests":[]}` + "\n"},
	}
	for _, f := range files {
		path := filepath.Join(c.dir, f.name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := writeFileAtomic(path, []byte(f.content)); err != nil {
			return fmt.Errorf("creating the image cache: %w", err)
		}
	}
	return nil
}

// index reads index.json; one that does not parse is repaired first.
func (c *imageCache) index(ctx context.Context) (*v1.IndexManifest, error) {
	index, err := c.readIndex()
	if !errors.Is(err, errCacheCorrupt) {
		return index, err
	}
	indexMu.Lock()
	defer indexMu.Unlock()
	return c.repairIndex(ctx)
}

// repairIndex replaces an index.json that does not parse with one rebuilt
// from the blobs, or with an empty one when the blobs cannot be read, and
// warns. Another process may have repaired it meanwhile: then it is only
// read. The caller holds indexMu.
func (c *imageCache) repairIndex(ctx context.Context) (*v1.IndexManifest, error) {
	index, err := c.readIndex()
	if !errors.Is(err, errCacheCorrupt) {
		return index, err
	}
	why := err.Error()
	var ie *indexError
	if errors.As(err, &ie) {
		why = oneLine(ie.err)
	}
	rebuilt, rerr := c.indexFromBlobs(ctx)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, ctxErr
	}
	var how string
	if rerr == nil {
		images := map[v1.Hash]bool{}
		for _, d := range rebuilt.Manifests {
			images[d.Digest] = true
		}
		how = fmt.Sprintf("rebuilt it from its blobs (%d %s)", len(images), map[bool]string{true: "image", false: "images"}[len(images) == 1])
	} else {
		rebuilt = emptyIndex()
		how = fmt.Sprintf("started it over (the blobs could not be read: %s)", oneLine(rerr))
	}
	if err := c.writeIndex(rebuilt); err != nil {
		return nil, fmt.Errorf("repairing the image cache's index.json (%s): %w", why, err)
	}
	c.warn(fmt.Sprintf("the image cache's index.json in %s was unusable (%s); reproof %s", c.dir, why, how))
	return rebuilt, nil
}

func emptyIndex() *v1.IndexManifest {
	return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
}

// indexFromBlobs lists the images the blobs hold: each image manifest,
// pinned by its own digest, and each image of an index whose manifest is
// there, pinned by the index's digest with its platform. Only small blobs
// that hash to their names are read; an entry is listed only when its
// config is there too. Every entry is still verified when it is loaded.
func (c *imageCache) indexFromBlobs(ctx context.Context) (*v1.IndexManifest, error) {
	dir := filepath.Join(c.dir, "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return emptyIndex(), nil
	}
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			have[e.Name()] = true
		}
	}
	// The parts of a manifest or an index that say which it is.
	type probe struct {
		SchemaVersion int64             `json:"schemaVersion"`
		MediaType     types.MediaType   `json:"mediaType"`
		Config        *v1.Descriptor    `json:"config"`
		Manifests     []v1.Descriptor   `json:"manifests"`
		Layers        []json.RawMessage `json:"layers"`
	}
	index := emptyIndex()
	add := func(d v1.Descriptor, pinned string) {
		d.Annotations = map[string]string{annotationPinned: pinned}
		index.Manifests = append(index.Manifests, d)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > maxManifestSize || strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		h := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		raw, err := c.readBlob(ctx, v1.Descriptor{Digest: h, Size: info.Size()})
		if err != nil {
			continue // not a blob, or a corrupt one: a pull replaces it
		}
		var p probe
		if json.Unmarshal(raw, &p) != nil || p.SchemaVersion != 2 {
			continue // a config or a layer
		}
		switch {
		case p.Config != nil && (p.MediaType == "" || p.MediaType.IsImage()):
			if p.Config.Digest.Algorithm == "sha256" && have[p.Config.Digest.Hex] {
				mt := p.MediaType
				if mt == "" {
					mt = types.OCIManifestSchema1
				}
				add(v1.Descriptor{MediaType: mt, Digest: h, Size: info.Size()}, h.String())
			}
		case p.Manifests != nil && (p.MediaType == "" || p.MediaType.IsIndex()):
			for _, child := range p.Manifests {
				if child.MediaType.IsImage() && child.Digest.Algorithm == "sha256" && have[child.Digest.Hex] {
					add(v1.Descriptor{MediaType: child.MediaType, Digest: child.Digest, Size: child.Size, Platform: child.Platform}, h.String())
				}
			}
		}
	}
	slices.SortFunc(index.Manifests, func(a, b v1.Descriptor) int {
		return strings.Compare(a.Annotations[annotationPinned]+a.Digest.String(), b.Annotations[annotationPinned]+b.Digest.String())
	})
	return index, nil
}

// writeIndex replaces index.json.
func (c *imageCache) writeIndex(index *v1.IndexManifest) error {
	raw, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(c.dir, "index.json"), append(raw, '\n'))
}

// readIndex reads index.json; a missing one is an empty cache.
func (c *imageCache) readIndex() (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(c.dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the image cache: %w", err)
	}
	defer f.Close()
	index, err := v1.ParseIndexManifest(io.LimitReader(f, maxManifestSize))
	if err != nil {
		return nil, &indexError{path: f.Name(), err: err}
	}
	return index, nil
}

// indexError is an index.json that does not parse.
type indexError struct {
	path string
	err  error
}

func (e *indexError) Error() string {
	return fmt.Sprintf("reading %q: %s: %v", e.path, oneLine(e.err), errCacheCorrupt)
}

func (e *indexError) Unwrap() error { return errCacheCorrupt }

// addEntry records desc in index.json, replacing an entry with the same digest
// and pin.
func (c *imageCache) addEntry(ctx context.Context, desc v1.Descriptor) error {
	indexMu.Lock()
	defer indexMu.Unlock()
	index, err := c.repairIndex(ctx)
	if err != nil {
		return err
	}
	if index.SchemaVersion == 0 {
		index.SchemaVersion = 2
	}
	kept := index.Manifests[:0]
	for _, d := range index.Manifests {
		if d.Digest == desc.Digest && d.Annotations[annotationPinned] == desc.Annotations[annotationPinned] {
			continue
		}
		kept = append(kept, d)
	}
	index.Manifests = append(kept, desc)
	return c.writeIndex(index)
}

// readBlob reads a small blob (manifest, index, config) and verifies it. A
// size of -1 is not checked.
func (c *imageCache) readBlob(ctx context.Context, desc v1.Descriptor) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if desc.Size > maxManifestSize {
		return nil, fmt.Errorf("blob %s: %d bytes is too large: %w", desc.Digest, desc.Size, errCacheCorrupt)
	}
	f, err := os.Open(c.blobPath(desc.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, errCacheMiss)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	if err := checkBytes(desc, raw); err != nil {
		return nil, fmt.Errorf("%w: %w", err, errCacheCorrupt)
	}
	return raw, nil
}

// verifyBlob hashes a cached blob through.
func (c *imageCache) verifyBlob(ctx context.Context, desc v1.Descriptor) error {
	f, err := os.Open(c.blobPath(desc.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", desc.Digest, errCacheMiss)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := v1.Hasher(desc.Digest.Algorithm)
	if err != nil {
		return err
	}
	n, err := io.Copy(h, ctxReader{ctx, io.LimitReader(f, desc.Size+1)})
	if err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	got := v1.Hash{Algorithm: desc.Digest.Algorithm, Hex: hex.EncodeToString(h.Sum(nil))}
	if n != desc.Size || got != desc.Digest {
		return fmt.Errorf("blob %s: %d bytes hash to %s, want %d bytes: %w: %w", desc.Digest, n, got, desc.Size, ErrDigestMismatch, errCacheCorrupt)
	}
	return nil
}

// putBytes stores an in-memory blob unless a verified copy is already there.
func (c *imageCache) putBytes(ctx context.Context, desc v1.Descriptor, raw []byte) error {
	if err := checkBytes(desc, raw); err != nil {
		return err
	}
	if c.verifyBlob(ctx, v1.Descriptor{Digest: desc.Digest, Size: int64(len(raw))}) == nil {
		return nil
	}
	return c.writeBlob(ctx, v1.Descriptor{Digest: desc.Digest, Size: int64(len(raw))}, bytes.NewReader(raw))
}

// writeBlob streams r into a temporary file beside the blob, hashing as it
// goes, and renames it into place only if size and digest match desc. At
// most desc.Size+1 bytes are read.
func (c *imageCache) writeBlob(ctx context.Context, desc v1.Descriptor, r io.Reader) (err error) {
	h, err := v1.Hasher(desc.Digest.Algorithm)
	if err != nil {
		return err
	}
	dir := filepath.Dir(c.blobPath(desc.Digest))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := owner.TempFile(dir, tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, copyErr := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, io.LimitReader(r, desc.Size+1)})
	got := v1.Hash{Algorithm: desc.Digest.Algorithm, Hex: hex.EncodeToString(h.Sum(nil))}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	// ggcr's verifying reader fails at the end of a bad blob; every byte
	// has reached the hasher by then, so report the mismatch ourselves.
	if (copyErr == nil || isGGCRDigestError(copyErr)) && (n != desc.Size || got != desc.Digest) {
		if n > desc.Size {
			return fmt.Errorf("more than the %d bytes the manifest declares: %w", desc.Size, ErrDigestMismatch)
		}
		return fmt.Errorf("%d bytes hash to %s, want %d bytes hashing to %s: %w", n, got, desc.Size, desc.Digest, ErrDigestMismatch)
	}
	if copyErr != nil {
		return copyErr
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.blobPath(desc.Digest))
}

// checkBytes checks an in-memory blob against its descriptor; a size of -1 is
// not checked.
func checkBytes(desc v1.Descriptor, raw []byte) error {
	got, err := digestOf(desc.Digest.Algorithm, raw)
	if err != nil {
		return err
	}
	if (desc.Size != -1 && int64(len(raw)) != desc.Size) || got != desc.Digest {
		return fmt.Errorf("blob %s: %d bytes hash to %s, want %d bytes: %w", desc.Digest, len(raw), got, desc.Size, ErrDigestMismatch)
	}
	return nil
}

func digestOf(algorithm string, raw []byte) (v1.Hash, error) {
	h, err := v1.Hasher(algorithm)
	if err != nil {
		return v1.Hash{}, err
	}
	h.Write(raw)
	return v1.Hash{Algorithm: algorithm, Hex: hex.EncodeToString(h.Sum(nil))}, nil
}

// configPlatform is the platform an image config declares, or "" if none.
func configPlatform(rawConfig []byte) string {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil || cfg.Platform() == nil {
		return ""
	}
	return cfg.Platform().String()
}

// writeFileAtomic replaces path with data by writing a temporary file in the
// same directory and renaming it.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := owner.TempFile(filepath.Dir(path), tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
