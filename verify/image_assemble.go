package verify

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/spec"
)

// Caps on what an assembled image takes in.
const (
	maxUnpackEntries = 1_000_000 // members of one tar an add entry unpacks
)

// AssembleOptions configure AssembleImage.
type AssembleOptions struct {
	// Epoch is SOURCE_DATE_EPOCH: the created time, the history's, and
	// the mtime of every file of the added layer (an unpacked tar's
	// members are clamped to it).
	Epoch int64
	// Platform is the platform when the image names none
	// (spec.DefaultPlatform when "").
	Platform string
	// Registry reads the base image.
	Registry rebuild.ImageOptions
	// TempDir holds the added layer's tar, which the image reads whenever
	// it is written: the caller removes it once done with the image.
	// Required.
	TempDir string
}

// Assembled is an image AssembleImage made: one image, or an index of one
// image per platform.
type Assembled struct {
	Image v1.Image      // when one platform
	Index v1.ImageIndex // when several
}

// Digest is the digest of the image's manifest or the index.
func (a *Assembled) Digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	return a.Image.Digest()
}

// WriteLayout writes the image to dir as an OCI image layout whose
// index.json names it (tagged ref, as org.opencontainers.image.ref.name).
func (a *Assembled) WriteLayout(dir, ref string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	opt := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})
	if a.Index != nil {
		return p.AppendIndex(a.Index, opt)
	}
	return p.AppendImage(a.Image, opt)
}

// Push writes the image to the registry reference ref (REGISTRY/REPO:TAG).
func (a *Assembled) Push(ctx context.Context, ref string, reg rebuild.ImageOptions) error {
	r, err := name.ParseReference(ref, rebuild.RegistryNameOptions(reg)...)
	if err != nil {
		return err
	}
	opts := rebuild.RegistryOptions(ctx, reg)
	if a.Index != nil {
		err = remote.WriteIndex(r, a.Index, opts...)
	} else {
		err = remote.Write(r, a.Image, opts...)
	}
	if err != nil {
		return rebuild.RegistryError("pushing "+ref, err)
	}
	return nil
}

// AssembleImage makes the image an [[image]] table with a base describes,
// as a Dockerfile without RUN steps would (FROM, COPY/ADD, ENV,
// ENTRYPOINT, CMD, LABEL, WORKDIR, USER, EXPOSE), daemonless and
// deterministically: the same base, files and epoch give the same
// digest. file returns the local path of a rebuilt artifact named by its
// path in the checkout (an add entry's src).
func AssembleImage(ctx context.Context, im spec.Image, file func(src string) (string, error), opts AssembleOptions) (*Assembled, error) {
	if im.Base == "" {
		return nil, errors.New("the image has no base")
	}
	if opts.TempDir == "" {
		return nil, errors.New("assembling an image needs a work directory")
	}
	platforms := im.Platforms
	if len(platforms) == 0 {
		p := opts.Platform
		if p == "" {
			p = spec.DefaultPlatform
		}
		platforms = []string{p}
	}
	var imgs []v1.Image
	var plats []*v1.Platform
	for _, p := range platforms {
		want, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", p, err)
		}
		img, err := assembleOne(ctx, im, *want, file, opts)
		if err != nil {
			if len(platforms) > 1 {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			return nil, err
		}
		imgs = append(imgs, img)
		plats = append(plats, want)
	}
	if len(imgs) == 1 {
		return &Assembled{Image: imgs[0]}, nil
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range imgs {
		mt, err := img.MediaType()
		if err != nil {
			return nil, err
		}
		if mt != types.OCIManifestSchema1 {
			idx = mutate.IndexMediaType(idx, types.DockerManifestList)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plats[i]}})
	}
	return &Assembled{Index: idx}, nil
}

func assembleOne(ctx context.Context, im spec.Image, want v1.Platform, file func(string) (string, error), opts AssembleOptions) (v1.Image, error) {
	epoch := time.Unix(opts.Epoch, 0).UTC()
	base, err := baseImage(ctx, im.Base, want, opts.Registry)
	if err != nil {
		return nil, err
	}
	baseMT, err := base.MediaType()
	if err != nil {
		return nil, err
	}
	layerMT := types.DockerLayer
	if baseMT == types.OCIManifestSchema1 {
		layerMT = types.OCILayer
	}
	cfg, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base's config: %w", err)
	}
	cfg = cfg.DeepCopy()
	if im.Base == "scratch" {
		cfg.OS, cfg.Architecture, cfg.Variant = want.OS, want.Architecture, want.Variant
	} else if have := (v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}); !have.Satisfies(want) {
		return nil, fmt.Errorf("the base %s is %s, not %s", im.Base, have.String(), want.String())
	}

	var adds []spec.ImageAdd
	for _, a := range im.Add {
		if a.Platform == "" || a.Platform == want.String() {
			adds = append(adds, a)
		}
	}
	img := base
	if len(adds) > 0 {
		lpath, desc, err := writeAddedLayer(adds, file, opts.Epoch, opts.TempDir)
		if err != nil {
			return nil, err
		}
		// The file stays until the caller removes TempDir: the layer is
		// read from it whenever the image is written.
		layer, err := tarball.LayerFromFile(lpath, tarball.WithMediaType(layerMT))
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: layerMT, History: v1.History{
			Created: v1.Time{Time: epoch}, CreatedBy: "reproof assemble: " + desc,
		}})
		if err != nil {
			return nil, err
		}
	} else {
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "reproof assemble: config", EmptyLayer: true})
	}
	if len(adds) > 0 {
		// mutate.Append recorded the layer's history and diff_id: start
		// from its config.
		withLayer, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		cfg.History, cfg.RootFS = withLayer.History, withLayer.RootFS
	}
	applyConfig(&cfg.Config, im)
	cfg.Created = v1.Time{Time: epoch}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// baseImage is the base for one platform: scratch, or the pinned
// reference resolved to the platform (every manifest and blob checked
// against its digest by go-containerregistry).
func baseImage(ctx context.Context, ref string, want v1.Platform, reg rebuild.ImageOptions) (v1.Image, error) {
	if ref == "scratch" {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
	}
	if !spec.ImagePinned(ref) {
		return nil, fmt.Errorf("the base %s is not pinned by digest", ref)
	}
	r, err := name.ParseReference(ref, rebuild.RegistryNameOptions(reg)...)
	if err != nil {
		return nil, err
	}
	opts := append(rebuild.RegistryOptions(ctx, reg), remote.WithPlatform(want))
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, rebuild.RegistryError("the base "+ref, err)
	}
	return img, nil
}

// applyConfig sets what the table says on the base's config, as the
// Dockerfile instructions would.
func applyConfig(c *v1.Config, im spec.Image) {
	for _, kv := range im.Env {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range c.Env {
			if ok, _, _ := strings.Cut(old, "="); ok == k {
				c.Env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			c.Env = append(c.Env, kv)
		}
	}
	if im.EntrypointSet {
		c.Entrypoint = append([]string{}, im.Entrypoint...)
		if !im.CmdSet {
			c.Cmd = nil // ENTRYPOINT resets an inherited CMD, as in a Dockerfile
		}
	}
	if im.CmdSet {
		c.Cmd = append([]string{}, im.Cmd...)
	}
	if len(im.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for k, v := range im.Labels {
			c.Labels[k] = v
		}
	}
	if im.WorkingDir != "" {
		c.WorkingDir = im.WorkingDir
	}
	if im.User != "" {
		c.User = im.User
	}
	if len(im.ExposedPorts) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range im.ExposedPorts {
			c.ExposedPorts[p] = struct{}{}
		}
	}
}

// layerWriter writes the added layer: entries in the order added, parent
// directories made as needed, no name twice.
type layerWriter struct {
	tw    *tar.Writer
	epoch time.Time
	seen  map[string]byte // name (no leading or trailing slash) -> typeflag
}

// writeAddedLayer writes the uncompressed tar of the add entries to a
// temporary file and returns its path and a description for the history.
func writeAddedLayer(adds []spec.ImageAdd, file func(string) (string, error), epoch int64, tmp string) (p, desc string, err error) {
	f, err := os.CreateTemp(tmp, "reproof-layer-*.tar")
	if err != nil {
		return "", "", err
	}
	p = f.Name()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	lw := &layerWriter{tw: tar.NewWriter(bw), epoch: time.Unix(epoch, 0).UTC(), seen: map[string]byte{}}
	var descs []string
	for _, a := range adds {
		local, err := file(a.Src)
		if err != nil {
			return p, "", err
		}
		verb := "COPY"
		if a.Unpack {
			verb = "ADD"
			err = lw.unpack(local, a)
		} else {
			err = lw.copyFile(local, a)
		}
		if err != nil {
			return p, "", fmt.Errorf("add %s: %w", a.Src, err)
		}
		descs = append(descs, fmt.Sprintf("%s %s %s", verb, path.Base(a.Src), a.Dest))
	}
	if err := lw.tw.Close(); err != nil {
		return p, "", err
	}
	if err := bw.Flush(); err != nil {
		return p, "", err
	}
	return p, strings.Join(descs, "; "), nil
}

func chownIDs(chown string) (int, int) {
	if chown == "" {
		return 0, 0
	}
	var uid, gid int
	fmt.Sscanf(chown, "%d:%d", &uid, &gid)
	return uid, gid
}

// parents writes the directories above name that are not written yet.
func (lw *layerWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || dir == "/" {
		return nil
	}
	if t, ok := lw.seen[dir]; ok {
		if t != tar.TypeDir {
			return fmt.Errorf("%s is a file in the layer and the parent of %s", dir, name)
		}
		return nil
	}
	if err := lw.parents(dir); err != nil {
		return err
	}
	lw.seen[dir] = tar.TypeDir
	return lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: lw.epoch, Format: tar.FormatPAX})
}

func (lw *layerWriter) header(h *tar.Header) error {
	name := strings.Trim(h.Name, "/")
	if name == "" {
		return nil
	}
	if base := path.Base(name); strings.HasPrefix(base, ".wh.") {
		return fmt.Errorf("%s would be a whiteout in the image", name)
	}
	if t, ok := lw.seen[name]; ok {
		if t == tar.TypeDir && h.Typeflag == tar.TypeDir {
			return nil // a directory made as a parent, or twice: keep the first
		}
		return fmt.Errorf("%s is added twice", name)
	}
	if err := lw.parents(name); err != nil {
		return err
	}
	lw.seen[name] = h.Typeflag
	h.Name = name
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
	}
	h.Uname, h.Gname = "", ""
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	return lw.tw.WriteHeader(h)
}

func (lw *layerWriter) copyFile(local string, a spec.ImageAdd) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", local)
	}
	dest := a.Dest
	if strings.HasSuffix(dest, "/") {
		dest += path.Base(a.Src)
	}
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	if a.Mode != "" {
		m, err := spec.ParseFileMode(a.Mode)
		if err != nil {
			return err
		}
		mode = int64(m)
	}
	uid, gid := chownIDs(a.Chown)
	if err := lw.header(&tar.Header{Typeflag: tar.TypeReg, Name: dest, Mode: mode, Uid: uid, Gid: gid, Size: fi.Size(), ModTime: lw.epoch}); err != nil {
		return err
	}
	n, err := io.Copy(lw.tw, f)
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("%s changed while it was read", local)
	}
	return err
}

// unpack adds the members of a tar under Dest, as Dockerfile's ADD of a
// local tarball: owners kept (or Chown), mtimes clamped to the epoch,
// xattrs kept, user and group names, atime and ctime dropped. A member
// whose name leaves Dest, or a whiteout, is refused.
func (lw *layerWriter) unpack(local string, a spec.ImageAdd) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	payload, _, err := archive.OpenPayload(f, archive.Options{})
	if err != nil {
		return err
	}
	defer payload.Close()
	tr := tar.NewReader(payload)
	dest := strings.Trim(a.Dest, "/")
	under := func(n string) (string, error) {
		for _, part := range strings.Split(n, "/") {
			if part == ".." {
				return "", fmt.Errorf("member %q leaves %s", n, a.Dest)
			}
		}
		return path.Join(dest, strings.TrimPrefix(path.Clean("/"+n), "/")), nil
	}
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if i >= maxUnpackEntries {
			return fmt.Errorf("more than %d members", maxUnpackEntries)
		}
		switch h.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		default:
			return fmt.Errorf("member %q: type %q is not unpacked", h.Name, h.Typeflag)
		}
		name, err := under(h.Name)
		if err != nil {
			return err
		}
		nh := &tar.Header{Typeflag: h.Typeflag, Name: name, Mode: h.Mode, Uid: h.Uid, Gid: h.Gid, Size: h.Size,
			Linkname: h.Linkname, Devmajor: h.Devmajor, Devminor: h.Devminor, ModTime: h.ModTime}
		if nh.ModTime.After(lw.epoch) {
			nh.ModTime = lw.epoch
		}
		nh.ModTime = nh.ModTime.Truncate(time.Second)
		if a.Chown != "" {
			nh.Uid, nh.Gid = chownIDs(a.Chown)
		}
		if h.Typeflag == tar.TypeLink {
			if nh.Linkname, err = under(h.Linkname); err != nil {
				return err
			}
		}
		keys := make([]string, 0, len(h.PAXRecords))
		for k := range h.PAXRecords {
			if strings.HasPrefix(k, "SCHILY.xattr.") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if nh.PAXRecords == nil {
				nh.PAXRecords = map[string]string{}
			}
			nh.PAXRecords[k] = h.PAXRecords[k]
		}
		if name == "" {
			continue // the root of Dest itself
		}
		if err := lw.header(nh); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(lw.tw, tr); err != nil {
				return err
			}
		}
	}
}

// artifactPath finds the rebuilt artifact named by its path in the
// checkout in the rebuilt directory: by its base name, as the output
// directory is flat and its names unique.
func artifactPath(rebuilt []rebuild.Artifact, rebuiltDir, src string) (string, error) {
	base := path.Base(strings.TrimPrefix(src, "./"))
	for _, a := range rebuilt {
		if a.Name == base {
			return filepath.Join(rebuiltDir, a.Name), nil
		}
	}
	return "", fmt.Errorf("%s is not among the rebuilt artifacts", src)
}
