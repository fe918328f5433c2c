package dist

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageBinary is reproof built for one platform of the image.
type ImageBinary struct {
	OS, Arch string // "linux", "arm64"
	Binary   []byte
}

// ImageOptions describes reproof's container image.
type ImageOptions struct {
	Version string    // "v1.2.3": the image's ref name in the OCI layout, and a label
	Commit  string    // the full commit hash, a label
	Source  string    // the repository URL, a label
	Epoch   time.Time // SOURCE_DATE_EPOCH: every time in the image
	// Files are added to every platform's layer, beside the binary, such
	// as usr/share/doc/reproof/LICENSE.
	Files []File
}

// ImageBinaryPath is where the image holds reproof; it is the entrypoint.
const ImageBinaryPath = "usr/local/bin/reproof"

// Image returns reproof's container image: an OCI index with one image per
// binary, each of one layer holding the static binary at /ImageBinaryPath,
// opts.Files and a /tmp (1777) for the comparisons' temporary files, with
// reproof as the entrypoint. Nothing else is in it (FROM scratch: no
// shell, no CA certificates; mount /etc/ssl/certs for https sources).
// The same binaries and options give the same digests.
func Image(bins []ImageBinary, opts ImageOptions) (v1.ImageIndex, error) {
	if len(bins) == 0 {
		return nil, fmt.Errorf("image: no binaries")
	}
	created := v1.Time{Time: opts.Epoch.UTC().Truncate(time.Second)}
	labels := map[string]string{
		"org.opencontainers.image.title":       "reproof",
		"org.opencontainers.image.description": "rebuilds a release from its tagged source and verifies the published artifacts",
		"org.opencontainers.image.version":     opts.Version,
		"org.opencontainers.image.revision":    opts.Commit,
		"org.opencontainers.image.source":      opts.Source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	seen := map[string]bool{}
	for _, b := range bins {
		platform := b.OS + "/" + b.Arch
		if seen[platform] {
			return nil, fmt.Errorf("image: two binaries for %s", platform)
		}
		seen[platform] = true
		files := append([]File{
			{Name: ImageBinaryPath, Mode: 0o755, Data: b.Binary},
			{Name: "tmp", Mode: 0o1777, Dir: true},
		}, opts.Files...)
		var layer bytes.Buffer
		if err := WriteTarGz(&layer, files, opts.Epoch); err != nil {
			return nil, fmt.Errorf("image layer for %s: %w", platform, err)
		}
		gz := layer.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(gz)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("image layer for %s: %w", platform, err)
		}
		img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     l,
			MediaType: types.OCILayer,
			History:   v1.History{Created: created, CreatedBy: "reproof " + opts.Version + ": /" + ImageBinaryPath},
		})
		if err != nil {
			return nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cfg = cfg.DeepCopy()
		cfg.Created = created
		cfg.OS, cfg.Architecture = b.OS, b.Arch
		cfg.Config = v1.Config{
			Entrypoint: []string{"/" + ImageBinaryPath},
			Cmd:        []string{"--help"},
			Env:        []string{"PATH=/usr/local/bin"},
			Labels:     labels,
		}
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: b.OS, Architecture: b.Arch},
		}})
	}
	return mutate.Annotations(mutate.AppendManifests(idx, adds...), labels).(v1.ImageIndex), nil
}

// RefNameAnnotation names an image in an OCI layout's index.json (the TAG
// of skopeo's and podman's oci-archive:FILE:TAG).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// WriteOCIArchive writes idx as an OCI image layout in a tar archive (what
// skopeo and podman call an oci-archive), its index.json naming it
// refName. The layout is made with go-containerregistry's layout package
// in a temporary directory under tmpDir (empty: the default), then
// archived as WriteTar does, every mtime epoch.
func WriteOCIArchive(w io.Writer, idx v1.ImageIndex, refName string, epoch time.Time, tmpDir string) (err error) {
	dir, err := os.MkdirTemp(tmpDir, "oci-layout-")
	if err != nil {
		return err
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefNameAnnotation: refName})); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	var files []File
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("OCI layout: %s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: filepath.ToSlash(rel), Mode: 0o644, Data: data})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return WriteTar(w, files, epoch)
}
