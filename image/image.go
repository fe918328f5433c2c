package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/rebuild"
)

// Image is one platform's image of a Source, its manifest and config read
// and verified.
type Image struct {
	Source *Source
	// Digest is the manifest's digest; zero for a docker archive.
	Digest    v1.Hash
	MediaType types.MediaType
	// Platform is os/arch[/variant], from the index or else the config.
	Platform     string
	Manifest     *v1.Manifest
	RawManifest  []byte
	ConfigDigest v1.Hash
	RawConfig    []byte
	Config       *v1.ConfigFile
	// Layers are the manifest's layers, each with its diff_id.
	Layers []Layer
}

// Layer is one layer of an image.
type Layer struct {
	v1.Descriptor
	// DiffID is the digest of the uncompressed tar, from the config.
	DiffID v1.Hash
}

// DefaultPlatform is the platform an index is resolved to by default.
const DefaultPlatform = rebuild.DefaultPlatform

// Platforms lists the platforms of an index source in its order, skipping
// entries that are not images of a platform (attestation manifests); for
// an image source, its one platform.
func (s *Source) Platforms(ctx context.Context) ([]string, error) {
	if s.index == nil {
		img, err := s.Image(ctx, "")
		if err != nil {
			return nil, err
		}
		return []string{img.Platform}, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range s.index.Manifests {
		if !isPlatformImage(d) {
			continue
		}
		p := rebuild.PlatformOf(d.Platform).String()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// isPlatformImage tells images of a platform from the other entries of an
// index (BuildKit's attestation manifests, platform unknown/unknown).
func isPlatformImage(d v1.Descriptor) bool {
	if !d.MediaType.IsImage() && d.MediaType != "" {
		return false
	}
	if d.Platform != nil && (d.Platform.OS == "unknown" || d.Platform.Architecture == "unknown") {
		return false
	}
	return d.Annotations["vnd.docker.reference.type"] != "attestation-manifest"
}

// Image returns the source's image for platform (os/arch[/variant]). An
// image source is returned whatever its platform when platform is "";
// an index is resolved to platform, DefaultPlatform when "".
func (s *Source) Image(ctx context.Context, platform string) (*Image, error) {
	img, err := s.image(ctx, platform)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", s.Ref, err)
	}
	return img, nil
}

func (s *Source) image(ctx context.Context, platform string) (*Image, error) {
	if s.docker != nil {
		return s.dockerArchiveImage(ctx)
	}
	raw, digest, mt := s.raw, s.Digest, s.MediaType
	var idxPlatform string
	if s.index != nil {
		if platform == "" {
			platform = DefaultPlatform
		}
		want, err := v1.ParsePlatform(platform)
		if err != nil || want.OS == "" || want.Architecture == "" {
			return nil, fmt.Errorf("bad platform %q: want os/arch[/variant]", platform)
		}
		var images v1.IndexManifest
		for _, d := range s.index.Manifests {
			if isPlatformImage(d) {
				images.Manifests = append(images.Manifests, d)
			}
		}
		child, err := rebuild.ChoosePlatform(&images, *want)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", s.Digest, err)
		}
		if child.MediaType.IsIndex() {
			return nil, fmt.Errorf("index %s: the %s entry is a nested index", s.Digest, platform)
		}
		if raw, err = fetchManifest(ctx, s.store, child); err != nil {
			return nil, err
		}
		digest, mt = child.Digest, child.MediaType
		if mt == "" {
			mt = sniffMediaType(raw)
		}
		idxPlatform = rebuild.PlatformOf(child.Platform).String()
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("%s is a %q, not an image manifest", digest, mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", digest, err)
	}
	img := &Image{Source: s, Digest: digest, MediaType: mt, Manifest: m, RawManifest: raw}
	if err := img.readConfig(ctx, m.Config); err != nil {
		return nil, err
	}
	if len(img.Config.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest %s has %d layers, its config %d diff_ids", digest, len(m.Layers), len(img.Config.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		img.Layers = append(img.Layers, Layer{Descriptor: l, DiffID: img.Config.RootFS.DiffIDs[i]})
	}
	img.Platform = idxPlatform
	if img.Platform == "" {
		img.Platform = configPlatform(img.Config)
	}
	if platform != "" && s.index == nil {
		if want, err := v1.ParsePlatform(platform); err == nil {
			have := v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
			if !have.Satisfies(*want) {
				return nil, fmt.Errorf("the image is %s, not %s: %w", img.Platform, platform, rebuild.ErrPlatformNotFound)
			}
		}
	}
	return img, nil
}

func configPlatform(c *v1.ConfigFile) string {
	p := v1.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}
	return p.String()
}

func (img *Image) readConfig(ctx context.Context, d v1.Descriptor) error {
	raw, err := fetchSmall(ctx, img.Source.store, d, maxConfigBytes, "config "+d.Digest.String())
	if err != nil {
		return err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("parsing config %s: %w", d.Digest, err)
	}
	img.ConfigDigest, img.RawConfig, img.Config = d.Digest, raw, cfg
	return nil
}

// dockerArchiveImage reads a docker archive's config and describes its
// layer files: docker save stores them uncompressed, so each one's digest
// is the config's diff_id (verified as it is read).
func (s *Source) dockerArchiveImage(ctx context.Context) (*Image, error) {
	st := s.store.(*archiveStore)
	rc, err := st.openFile(s.docker.configName)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxConfigBytes+1))
	rc.Close()
	if err != nil {
		return nil, err
	}
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("config %q: more than %d bytes", s.docker.configName, maxConfigBytes)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing config %q: %w", s.docker.configName, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(s.docker.layerNames) {
		return nil, fmt.Errorf("manifest.json lists %d layers, the config %d diff_ids", len(s.docker.layerNames), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{Source: s, MediaType: mediaTypeDockerArchive, ConfigDigest: digestOf(raw), RawConfig: raw, Config: cfg,
		Platform: configPlatform(cfg)}
	st.byDigest = map[v1.Hash]string{}
	for i, n := range s.docker.layerNames {
		f, ok := st.files[n]
		for hops := 0; ok && f.link != "" && hops < 8; hops++ {
			f, ok = st.files[f.link]
		}
		if !ok || f.link != "" {
			return nil, fmt.Errorf("layer %q is not in the archive", n)
		}
		d := v1.Descriptor{MediaType: types.OCIUncompressedLayer, Size: f.size, Digest: cfg.RootFS.DiffIDs[i]}
		if err := sniffLayer(st, n, &d); err != nil {
			return nil, err
		}
		st.byDigest[d.Digest] = n
		img.Layers = append(img.Layers, Layer{Descriptor: d, DiffID: cfg.RootFS.DiffIDs[i]})
	}
	img.Manifest = &v1.Manifest{SchemaVersion: 2, MediaType: mediaTypeDockerArchive,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(raw)), Digest: img.ConfigDigest}}
	for _, l := range img.Layers {
		img.Manifest.Layers = append(img.Manifest.Layers, l.Descriptor)
	}
	return img, nil
}

// sniffLayer sets the media type of a docker archive's layer file from
// its first bytes. docker save stores layers uncompressed (their digest
// is the diff_id); a compressed one (go-containerregistry's tarballs) is
// hashed here, since nothing in the archive names its digest.
func sniffLayer(st *archiveStore, n string, d *v1.Descriptor) error {
	rc, err := st.openFile(n)
	if err != nil {
		return err
	}
	defer rc.Close()
	head := make([]byte, 16)
	k, _ := io.ReadFull(rc, head)
	switch archive.DetectCompression(head[:k]) {
	case archive.NoCompression:
		return nil
	case archive.Gzip:
		d.MediaType = types.OCILayer
	case archive.Zstd:
		d.MediaType = types.OCILayerZStd
	default:
		return fmt.Errorf("layer %q: compressed with %v, which image layers are not", n, archive.DetectCompression(head[:k]))
	}
	rc2, err := st.openFile(n)
	if err != nil {
		return err
	}
	defer rc2.Close()
	h, _, err := v1.SHA256(rc2)
	if err != nil {
		return fmt.Errorf("layer %q: %w", n, err)
	}
	d.Digest = h
	return nil
}

// compressionOf names the compression a layer's media type says.
func compressionOf(mt types.MediaType) string {
	s := string(mt)
	switch {
	case strings.HasSuffix(s, "+zstd") || strings.HasSuffix(s, ".zstd"):
		return "zstd"
	case strings.HasSuffix(s, "+gzip") || strings.HasSuffix(s, ".gzip") || mt == types.DockerLayer || mt == types.DockerForeignLayer:
		return "gzip"
	case strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, "diff.tar"):
		return "none"
	}
	return "unknown"
}
