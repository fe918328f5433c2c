package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/rebuild"
)

// Caps on what is read into memory.
const (
	maxManifestBytes = 4 << 20  // a manifest or an index, as ggcr caps them
	maxConfigBytes   = 16 << 20 // a config, docker save's manifest.json
	maxArchiveFiles  = 100000   // files of an oci-archive or docker-archive
)

// Options configure how images are read and compared. The zero value
// reads linux/amd64 with the default keychain.
type Options struct {
	// Platform resolves an index, as os/arch[/variant] (default
	// linux/amd64).
	Platform string
	// AllPlatforms compares every platform of the indexes instead.
	AllPlatforms bool
	// Squashed says when the squashed filesystems are compared: "auto"
	// (default: when the layer counts differ), "always" or "never".
	Squashed string
	// Registry configures registry access (keychain, timeouts, retries,
	// insecure); its Platform and CacheDir are not used.
	Registry rebuild.ImageOptions
	// Compare bounds and tunes the comparison of layers (caps, work
	// directory, diff sizes).
	Compare compare.Options
}

// store reads the blobs of one source.
type store interface {
	// open returns the blob d names, unverified: the caller verifies.
	open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error)
	close() error
}

// Source is an opened image reference: what it names (an index or an
// image manifest), resolved and verified, and where its blobs are read.
// Close it when done.
type Source struct {
	Ref Reference
	// Digest is the digest of what the reference names (an index or a
	// manifest); zero for a docker archive, which has no manifest.
	Digest v1.Hash
	// MediaType is the media type of what the reference names.
	MediaType types.MediaType
	// Pinned is set when the reference named the digest itself.
	Pinned bool

	raw    []byte            // the index or manifest
	index  *v1.IndexManifest // when raw is an index
	docker *dockerImage      // a docker archive's image
	repo   name.Repository   // registry sources
	remote []remote.Option
	store  store
}

// Close releases the source's files.
func (s *Source) Close() error {
	if s.store == nil {
		return nil
	}
	return s.store.close()
}

// Open resolves ref (see ParseReference) and verifies what it names: a
// tag is resolved to a digest (recorded in Source.Digest), a digest in
// the reference must match the manifest's bytes.
func Open(ctx context.Context, ref string, opts Options) (*Source, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	var s *Source
	switch r.Transport {
	case Docker:
		s, err = openRegistry(ctx, r, opts)
	case OCI:
		s, err = openLayout(ctx, r, &layoutStore{dir: r.Name})
	case OCIArchive:
		var st *archiveStore
		if st, err = openArchiveStore(r.Name); err == nil {
			if s, err = openLayout(ctx, r, st); err != nil {
				st.close()
			}
		}
	case DockerArchive:
		s, err = openDockerArchive(ctx, r)
	}
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", r, err)
	}
	return s, nil
}

func openRegistry(ctx context.Context, r Reference, opts Options) (*Source, error) {
	parsed, err := name.ParseReference(r.Name, rebuild.RegistryNameOptions(opts.Registry)...)
	if err != nil {
		return nil, err
	}
	ropts := rebuild.RegistryOptions(ctx, opts.Registry)
	s := &Source{Ref: r, repo: parsed.Context(), remote: ropts}
	s.store = &registryStore{repo: s.repo, opts: ropts}
	desc, err := remote.Get(parsed, ropts...)
	if err != nil {
		return nil, rebuild.RegistryError("from "+parsed.Context().RegistryStr(), err)
	}
	if int64(len(desc.Manifest)) > maxManifestBytes {
		return nil, fmt.Errorf("manifest of %d bytes, more than the %d read for one", len(desc.Manifest), maxManifestBytes)
	}
	s.raw, s.MediaType, s.Digest = desc.Manifest, desc.MediaType, digestOf(desc.Manifest)
	if d, ok := parsed.(name.Digest); ok {
		s.Pinned = true
		if d.DigestStr() != s.Digest.String() {
			return nil, fmt.Errorf("the registry's manifest hashes to %s, the reference pins %s: %w", s.Digest, d.DigestStr(), ErrDigestMismatch)
		}
	}
	return s, s.parseTop()
}

// parseTop parses raw as an index when the media type says so.
func (s *Source) parseTop() error {
	switch {
	case s.MediaType.IsIndex():
		idx, err := v1.ParseIndexManifest(strings.NewReader(string(s.raw)))
		if err != nil {
			return fmt.Errorf("parsing index %s: %w", s.Digest, err)
		}
		s.index = idx
	case s.MediaType.IsImage():
	default:
		return fmt.Errorf("%s is a %q, not an image manifest or an index", s.Digest, s.MediaType)
	}
	return nil
}

// openLayout reads an OCI layout's index.json and picks the image named
// by r.Tag (org.opencontainers.image.ref.name), or the only one.
func openLayout(ctx context.Context, r Reference, st store) (*Source, error) {
	s := &Source{Ref: r, store: st}
	rc, err := st.(interface {
		openFile(string) (io.ReadCloser, error)
	}).openFile("index.json")
	if err != nil {
		return nil, fmt.Errorf("not an OCI layout: %w", err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	if len(raw) > maxManifestBytes {
		return nil, fmt.Errorf("index.json: more than %d bytes", maxManifestBytes)
	}
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("parsing index.json: %w", err)
	}
	var pick []v1.Descriptor
	var names []string
	for _, d := range idx.Manifests {
		n := d.Annotations["org.opencontainers.image.ref.name"]
		names = append(names, n)
		if r.Tag == "" || n == r.Tag {
			pick = append(pick, d)
		}
	}
	switch {
	case len(pick) == 0 && r.Tag != "":
		return nil, fmt.Errorf("no image tagged %q in index.json (it has %q)", r.Tag, names)
	case len(pick) == 0:
		return nil, errors.New("index.json names no image")
	case len(pick) > 1 && r.Tag == "":
		return nil, fmt.Errorf("index.json names %d images (%q): say which, as %s:TAG", len(pick), names, r)
	case len(pick) > 1:
		return nil, fmt.Errorf("index.json names %d images tagged %q", len(pick), r.Tag)
	}
	d := pick[0]
	s.raw, err = fetchManifest(ctx, st, d)
	if err != nil {
		return nil, err
	}
	s.Digest, s.MediaType, s.Pinned = d.Digest, d.MediaType, false
	if s.MediaType == "" {
		s.MediaType = sniffMediaType(s.raw)
	}
	return s, s.parseTop()
}

// sniffMediaType reads a manifest's own mediaType field, for descriptors
// that have none.
func sniffMediaType(raw []byte) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	json.Unmarshal(raw, &m)
	return m.MediaType
}

// fetchManifest reads and verifies a manifest: from the registry's
// manifests endpoint, or a layout's blobs.
func fetchManifest(ctx context.Context, st store, d v1.Descriptor) ([]byte, error) {
	what := "manifest " + d.Digest.String()
	rs, ok := st.(*registryStore)
	if !ok {
		return fetchSmall(ctx, st, d, maxManifestBytes, what)
	}
	desc, err := remote.Get(rs.repo.Digest(d.Digest.String()), rs.opts...)
	if err != nil {
		return nil, rebuild.RegistryError(what, err)
	}
	return readAll(strings.NewReader(string(desc.Manifest)), what, d.Digest, d.Size, maxManifestBytes)
}

// fetchSmall reads and verifies a blob of at most max bytes.
func fetchSmall(ctx context.Context, st store, d v1.Descriptor, max int64, what string) ([]byte, error) {
	rc, err := st.open(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	return readAll(rc, what, d.Digest, d.Size, max)
}

// registryStore reads blobs from a registry repository.
type registryStore struct {
	repo name.Repository
	opts []remote.Option
}

func (s *registryStore) open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	l, err := remote.Layer(s.repo.Digest(d.Digest.String()), s.opts...)
	if err != nil {
		return nil, rebuild.RegistryError("blob "+d.Digest.String(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, rebuild.RegistryError("blob "+d.Digest.String(), err)
	}
	return rc, nil
}

func (s *registryStore) close() error { return nil }

var hexDigest = regexp.MustCompile(`^[a-f0-9]{64}$`)

// blobName is the path of a blob inside an OCI layout.
func blobName(h v1.Hash) (string, error) {
	if h.Algorithm != "sha256" || !hexDigest.MatchString(h.Hex) {
		return "", fmt.Errorf("digest %q is not a sha256 digest", h)
	}
	return "blobs/sha256/" + h.Hex, nil
}

// layoutStore reads the blobs of an OCI layout directory.
type layoutStore struct{ dir string }

func (s *layoutStore) openFile(name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(s.dir, filepath.FromSlash(name)))
}

func (s *layoutStore) open(_ context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	n, err := blobName(d.Digest)
	if err != nil {
		return nil, err
	}
	return s.openFile(n)
}

func (s *layoutStore) close() error { return nil }

// archiveStore reads the files of a tar (an oci-archive or a docker
// archive) in place, found by the offsets of one pass over the archive.
type archiveStore struct {
	f     *os.File
	files map[string]archiveFile
	// byDigest names the file of each blob of a docker archive.
	byDigest map[v1.Hash]string
}

type archiveFile struct {
	offset, size int64
	link         string // a symlink's or hardlink's target, cleaned
}

func openArchiveStore(p string) (*archiveStore, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st := &archiveStore{f: f, files: map[string]archiveFile{}}
	if err := st.scan(p); err != nil {
		f.Close()
		return nil, err
	}
	return st, nil
}

// scan records where every file of the tar is. The tar must not be
// compressed (its files are read in place), and a name stored twice is
// refused: which copy a tool reads differs.
func (st *archiveStore) scan(p string) error {
	s, err := archive.Open(st.f, p, archive.Options{Limits: archive.Limits{MaxEntries: maxArchiveFiles}})
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Format.Container != archive.Tar || s.Format.Compression != archive.NoCompression {
		return fmt.Errorf("%q is a %v, not an uncompressed tar", p, s.Format)
	}
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(e.Ambiguities) > 0 {
			return fmt.Errorf("%q: entry %q: %s", p, e.Name, e.Ambiguities[0])
		}
		n := cleanName(e.Name)
		if _, dup := st.files[n]; dup {
			return fmt.Errorf("%q stores %q twice", p, n)
		}
		switch e.Type {
		case archive.TypeRegular:
			if e.ContentOffset < 0 {
				return fmt.Errorf("%q: %q is not stored in one piece", p, e.Name)
			}
			st.files[n] = archiveFile{offset: e.ContentOffset, size: e.Size}
		case archive.TypeSymlink:
			st.files[n] = archiveFile{link: cleanName(path.Join(path.Dir(n), e.Linkname))}
		case archive.TypeHardlink:
			st.files[n] = archiveFile{link: cleanName(e.Linkname)}
		}
	}
	return nil
}

func cleanName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

func (st *archiveStore) openFile(n string) (io.ReadCloser, error) {
	f, ok := st.files[n]
	for hops := 0; ok && f.link != "" && hops < 8; hops++ {
		f, ok = st.files[f.link]
	}
	if !ok || f.link != "" {
		return nil, fmt.Errorf("%q is not in the archive: %w", n, os.ErrNotExist)
	}
	return io.NopCloser(io.NewSectionReader(st.f, f.offset, f.size)), nil
}

func (st *archiveStore) open(_ context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	if n, ok := st.byDigest[d.Digest]; ok {
		return st.openFile(n)
	}
	n, err := blobName(d.Digest)
	if err != nil {
		return nil, err
	}
	return st.openFile(n)
}

func (st *archiveStore) close() error { return st.f.Close() }

// dockerImage is the image of a docker archive: its manifest.json entry.
type dockerImage struct {
	configName string
	layerNames []string
}

func openDockerArchive(ctx context.Context, r Reference) (*Source, error) {
	st, err := openArchiveStore(r.Name)
	if err != nil {
		return nil, err
	}
	s, err := readDockerManifest(r, st)
	if err != nil {
		st.close()
		return nil, err
	}
	return s, nil
}

func readDockerManifest(r Reference, st *archiveStore) (*Source, error) {
	rc, err := st.openFile("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker archive: %w", err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxConfigBytes {
		return nil, fmt.Errorf("manifest.json: more than %d bytes", maxConfigBytes)
	}
	var entries []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("parsing manifest.json: %w", err)
	}
	var pick []int
	var tags []string
	for i, e := range entries {
		tags = append(tags, e.RepoTags...)
		if r.Tag == "" {
			pick = append(pick, i)
			continue
		}
		for _, t := range e.RepoTags {
			if t == r.Tag || strings.TrimPrefix(t, "docker.io/library/") == r.Tag || t == r.Tag+":latest" {
				pick = append(pick, i)
				break
			}
		}
	}
	switch {
	case len(pick) == 0 && r.Tag != "":
		return nil, fmt.Errorf("no image tagged %q in manifest.json (it has %q)", r.Tag, tags)
	case len(pick) == 0:
		return nil, errors.New("manifest.json names no image")
	case len(pick) > 1:
		return nil, fmt.Errorf("manifest.json names %d images (%q): say which, as %s:TAG", len(pick), tags, r)
	}
	e := entries[pick[0]]
	return &Source{Ref: r, MediaType: mediaTypeDockerArchive, store: st,
		docker: &dockerImage{configName: cleanName(e.Config), layerNames: cleanNames(e.Layers)}}, nil
}

func cleanNames(ns []string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = cleanName(n)
	}
	return out
}

// mediaTypeDockerArchive stands for docker save's manifest.json, which
// has no media type and no digest of its own.
const mediaTypeDockerArchive types.MediaType = "docker-archive manifest.json"
