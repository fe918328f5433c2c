package spec

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/name"
)

// Image is an [[image]] table: a container image the release publishes,
// and how reproof makes the rebuilt image it is compared with. Exactly
// one of Artifact, Base (reproof assembles the image) and Dockerfile says
// how.
type Image struct {
	// Name labels the image in reports; default: the published
	// reference's repository.
	Name string
	// Published is the published image: docker://REGISTRY/REPO[:TAG]
	// [@sha256:…], or oci:DIR, oci-archive:FILE or docker-archive:FILE
	// (paths resolved against the spec's directory). A digest in it must
	// be what the registry answers (and what the tag, if any, resolves
	// to).
	Published string
	// Platforms are the platforms of an image reproof assembles or
	// builds; more than one makes an index. Default: build.platform.
	Platforms []string

	// Artifact is a rebuilt artifact (its path relative to the checkout,
	// matched by build.artifacts) that is an image: an OCI layout in a
	// tar (oci-archive) or what docker save writes.
	Artifact string

	// Base is the base image of an image reproof assembles, pinned by
	// digest (REF@sha256:…), or "scratch".
	Base string
	// Add are the files of the one layer reproof adds on Base, in order.
	Add []ImageAdd
	// The config of an assembled image; Env, Labels and ExposedPorts are
	// added to the base's, the others replace it when set.
	Env          []string
	Entrypoint   []string
	Cmd          []string
	Labels       map[string]string
	WorkingDir   string
	User         string
	ExposedPorts []string
	// EntrypointSet and CmdSet say that the key was given (an empty
	// array clears the base's).
	EntrypointSet, CmdSet bool

	// Dockerfile is a rebuilt artifact (matched by build.artifacts) that
	// buildah builds, with the directory of rebuilt artifacts as its
	// context, the network off, timestamps from SOURCE_DATE_EPOCH and
	// every FROM pinned by digest.
	Dockerfile string
}

// ImageAdd is one entry of an [[image]]'s add list: COPY, or ADD of a
// tar (unpacked as Docker does).
type ImageAdd struct {
	// Src is a rebuilt artifact: its path relative to the checkout.
	Src string
	// Dest is the absolute path in the image; ending in "/", a directory
	// Src is put in (or unpacked into, for a tar with Unpack).
	Dest string
	// Unpack unpacks Src, a tar (compressed or not), into Dest, as
	// Dockerfile's ADD does with a local tarball. Default: true for
	// names ending in .tar, .tar.gz, .tgz, .tar.xz, .tar.zst, .tar.bz2.
	Unpack bool
	// Chown is the numeric UID:GID of the files (default 0:0); the
	// members of an unpacked tar keep theirs unless it is set.
	Chown string
	// Mode is the permission bits of a copied file as octal digits
	// ("0755"); default: 0755 when the rebuilt file is executable,
	// else 0644.
	Mode string
	// Platform limits the entry to one of the image's platforms.
	Platform string
}

// ImageMode says how the rebuilt image is made.
func (im Image) Mode() string {
	switch {
	case im.Artifact != "":
		return "artifact"
	case im.Base != "":
		return "assemble"
	case im.Dockerfile != "":
		return "dockerfile"
	}
	return ""
}

// imageKey is one key of an [[image]] table, table-driven like fields:
// the template and docs/spec.md name every one (TestImageKeysDocumented).
type imageKey struct {
	key  string
	mode string // "" for every mode, else the one mode it belongs to
	set  func(im *Image, data any, base string) error
}

// ImageKeys lists the keys an [[image]] table takes, in the order of
// docs/spec.md.
func ImageKeys() []string {
	out := make([]string, len(imageKeys))
	for i, k := range imageKeys {
		out[i] = k.key
	}
	return out
}

var imageKeys = []imageKey{
	{key: "name", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil {
			err = checkImageName(s)
		}
		im.Name = s
		return err
	}},
	{key: "published", set: func(im *Image, data any, base string) error {
		s, err := imageString(data)
		if err != nil {
			return err
		}
		if err := checkPublishedImage(s); err != nil {
			return err
		}
		im.Published = resolveImageRef(base, s)
		return nil
	}},
	{key: "platforms", set: func(im *Image, data any, _ string) error {
		ps, err := imageStrings(data)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return errors.New("empty list; leave it out for build.platform")
		}
		for _, p := range ps {
			if err := checkPlatform(p); err != nil {
				return err
			}
		}
		im.Platforms = ps
		return nil
	}},
	{key: "artifact", mode: "artifact", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil {
			s = trimDotSlash(s)
			err = checkRelPath(s)
		}
		im.Artifact = s
		return err
	}},
	{key: "base", mode: "assemble", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil {
			err = checkBase(s)
		}
		im.Base = s
		return err
	}},
	{key: "add", mode: "assemble", set: func(im *Image, data any, _ string) error {
		adds, err := imageAdds(data)
		im.Add = adds
		return err
	}},
	{key: "env", mode: "assemble", set: func(im *Image, data any, _ string) error {
		env, err := imageStrings(data)
		if err == nil {
			err = checkImageEnv(env)
		}
		im.Env = env
		return err
	}},
	{key: "entrypoint", mode: "assemble", set: func(im *Image, data any, _ string) error {
		argv, err := imageStrings(data)
		im.Entrypoint, im.EntrypointSet = argv, err == nil
		return err
	}},
	{key: "cmd", mode: "assemble", set: func(im *Image, data any, _ string) error {
		argv, err := imageStrings(data)
		im.Cmd, im.CmdSet = argv, err == nil
		return err
	}},
	{key: "labels", mode: "assemble", set: func(im *Image, data any, _ string) error {
		m, ok := data.(map[string]any)
		if !ok {
			return fmt.Errorf(`want a table such as {"org.opencontainers.image.version" = "1.0"}, got %s`, tomlType(data))
		}
		im.Labels = map[string]string{}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("label %s: want a string, got %s", quote(k), tomlType(v))
			}
			if k == "" || hasControl(k) || hasControl(s) {
				return fmt.Errorf("label %s: empty, or holds control characters", quote(k))
			}
			im.Labels[k] = s
		}
		return nil
	}},
	{key: "workdir", mode: "assemble", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil && !path.IsAbs(s) {
			err = fmt.Errorf("%s is not an absolute path", quote(s))
		}
		im.WorkingDir = s
		return err
	}},
	{key: "user", mode: "assemble", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil && (s == "" || hasControl(s) || strings.ContainsAny(s, " \t")) {
			err = fmt.Errorf("%s is not a user (NAME or UID, optionally :GROUP)", quote(s))
		}
		im.User = s
		return err
	}},
	{key: "expose", mode: "assemble", set: func(im *Image, data any, _ string) error {
		ports, err := imageStrings(data)
		if err != nil {
			return err
		}
		for i, p := range ports {
			if ports[i], err = checkPort(p); err != nil {
				return err
			}
		}
		im.ExposedPorts = ports
		return nil
	}},
	{key: "dockerfile", mode: "dockerfile", set: func(im *Image, data any, _ string) error {
		s, err := imageString(data)
		if err == nil {
			s = trimDotSlash(s)
			err = checkRelPath(s)
		}
		im.Dockerfile = s
		return err
	}},
}

func imageKeyByName(k string) *imageKey {
	for i := range imageKeys {
		if imageKeys[i].key == k {
			return &imageKeys[i]
		}
	}
	return nil
}

func imageString(data any) (string, error) {
	s, ok := data.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", tomlType(data))
	}
	if s == "" {
		return "", errors.New("empty")
	}
	return s, nil
}

func imageStrings(data any) ([]string, error) {
	strs, ok := stringArray(data)
	if !ok {
		return nil, fmt.Errorf(`want an array of strings such as ["a", "b"], got %s`, tomlType(data))
	}
	return strs, nil
}

var addKeys = []string{"src", "dest", "unpack", "chown", "mode", "platform"}

func imageAdds(data any) ([]ImageAdd, error) {
	var tables []map[string]any
	switch v := data.(type) {
	case []map[string]any:
		tables = v
	case []any:
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf(`want an array of tables such as [{src = "dist/app", dest = "/usr/bin/app"}], got %s`, tomlType(data))
			}
			tables = append(tables, m)
		}
	default:
		return nil, fmt.Errorf(`want an array of tables such as [{src = "dist/app", dest = "/usr/bin/app"}], got %s`, tomlType(data))
	}
	if len(tables) == 0 {
		return nil, errors.New("empty list; leave add out to add no file")
	}
	var out []ImageAdd
	for i, m := range tables {
		a, err := imageAdd(m)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func imageAdd(m map[string]any) (ImageAdd, error) {
	var a ImageAdd
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	unpackSet := false
	for _, k := range keys {
		v := m[k]
		var err error
		switch k {
		case "src":
			if a.Src, err = imageString(v); err == nil {
				a.Src = trimDotSlash(a.Src)
				err = checkRelPath(a.Src)
			}
		case "dest":
			if a.Dest, err = imageString(v); err == nil && !path.IsAbs(a.Dest) {
				err = fmt.Errorf("%s is not an absolute path", quote(a.Dest))
			}
		case "unpack":
			b, ok := v.(bool)
			if !ok {
				err = fmt.Errorf("want true or false, got %s", tomlType(v))
			}
			a.Unpack, unpackSet = b, true
		case "chown":
			if a.Chown, err = imageString(v); err == nil {
				_, err = parseUser(a.Chown)
			}
		case "mode":
			if a.Mode, err = imageString(v); err == nil {
				_, err = ParseFileMode(a.Mode)
			}
		case "platform":
			if a.Platform, err = imageString(v); err == nil {
				err = checkPlatform(a.Platform)
			}
		default:
			err = unknownKey(k, addKeys)
		}
		if err != nil {
			return a, fmt.Errorf("%s: %w", k, err)
		}
	}
	switch {
	case a.Src == "":
		return a, errors.New(`missing "src", the rebuilt artifact to add`)
	case a.Dest == "":
		return a, errors.New(`missing "dest", the absolute path in the image`)
	}
	if !unpackSet {
		a.Unpack = IsTarName(a.Src)
	}
	return a, nil
}

// IsTarName reports whether a file's name says it is a tar that
// Dockerfile's ADD would unpack.
func IsTarName(n string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tar.bz2", ".tbz2"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// ParseFileMode reads permission bits written in octal ("0755", "4755").
func ParseFileMode(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("%s is not a file mode (octal digits such as 0755)", quote(s))
	}
	return uint32(n), nil
}

var imageNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,127}$`)

func checkImageName(s string) error {
	if !imageNameRE.MatchString(s) {
		return fmt.Errorf("%s: want letters, digits and . _ / : @ -, at most 128", quote(s))
	}
	return nil
}

// checkPublishedImage checks a published image reference: one of the four
// transports, and a registry reference that parses.
func checkPublishedImage(s string) error {
	if hasControl(s) || strings.ContainsAny(s, " \t") {
		return fmt.Errorf("%s holds spaces or control characters", quote(s))
	}
	rest, ok := strings.CutPrefix(s, "docker://")
	if !ok {
		for _, t := range []string{"oci:", "oci-archive:", "docker-archive:"} {
			if p, ok := strings.CutPrefix(s, t); ok && p != "" {
				return nil
			}
		}
		return fmt.Errorf("%s is not an image reference: want docker://REGISTRY/REPO[:TAG][@sha256:…], oci:DIR, oci-archive:FILE or docker-archive:FILE", quote(s))
	}
	if _, err := name.ParseReference(rest); err != nil {
		return fmt.Errorf("%s is not an image reference (want docker://REGISTRY/REPO[:TAG][@sha256:…])", quote(s))
	}
	return nil
}

// resolveImageRef joins the path of a local image reference to base.
func resolveImageRef(base, s string) string {
	for _, t := range []string{"oci-archive:", "docker-archive:", "oci:"} {
		if p, ok := strings.CutPrefix(s, t); ok {
			return t + resolvePath(base, p)
		}
	}
	return s
}

// checkBase accepts "scratch" or a reference pinned by digest: the base
// of a rebuilt image is an input like the build image.
func checkBase(s string) error {
	if s == "scratch" {
		return nil
	}
	if err := checkImage(s); err != nil {
		return err
	}
	if !ImagePinned(s) {
		return fmt.Errorf("%s is not pinned by digest: give REF@sha256:… (or scratch); an unpinned base is not an input anyone can check", quote(s))
	}
	return nil
}

// checkRelPath checks a path relative to the checkout.
func checkRelPath(p string) error {
	if err := checkPath(p); err != nil {
		return err
	}
	if path.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
		return fmt.Errorf("%s: want a path relative to the checkout, without a .. component", quote(p))
	}
	return nil
}

// checkImageEnv checks an image's ENV entries: KEY=VALUE, each key once.
// Unlike build.env, every name may be set.
func checkImageEnv(env []string) error {
	seen := map[string]bool{}
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		switch {
		case !ok || k == "":
			return fmt.Errorf("entry %s: want KEY=VALUE", quote(e))
		case strings.ContainsRune(k, ' ') || hasControl(k) || strings.ContainsRune(v, 0):
			return fmt.Errorf("entry %s: a name with spaces or control characters, or a NUL byte", quote(e))
		case seen[k]:
			return fmt.Errorf("entry %s: %s is set twice", quote(e), k)
		}
		seen[k] = true
	}
	return nil
}

var portRE = regexp.MustCompile(`^([0-9]{1,5})(/(tcp|udp|sctp))?$`)

// checkPort reads an EXPOSE port ("8080", "53/udp") and returns it as the
// config writes it ("8080/tcp").
func checkPort(p string) (string, error) {
	m := portRE.FindStringSubmatch(p)
	if m == nil {
		return "", fmt.Errorf("%s is not a port (such as 8080, 8080/tcp or 53/udp)", quote(p))
	}
	n, _ := strconv.Atoi(m[1])
	if n < 1 || n > 65535 {
		return "", fmt.Errorf("%s: port out of range", quote(p))
	}
	proto := m[3]
	if proto == "" {
		proto = "tcp"
	}
	return strconv.Itoa(n) + "/" + proto, nil
}

// images decodes the [[image]] tables.
func (p *parser) images(prim toml.Primitive) error {
	var tables []map[string]toml.Primitive
	if err := p.decode(prim, "image", true, func(data any) error {
		if !isArrayOfTables(data) {
			return fmt.Errorf("want an array of tables ([[image]]), got %s", tomlType(data))
		}
		return nil
	}); err != nil {
		return err
	}
	if err := p.md.PrimitiveDecode(prim, &tables); err != nil {
		return &Error{File: p.name, Key: "image", Err: err}
	}
	for i, tbl := range tables {
		lineOK := func(key string) bool {
			for _, later := range tables[i+1:] {
				if _, ok := later[key]; ok {
					return false
				}
			}
			return true
		}
		elem := fmt.Sprintf("image #%d", i+1)
		var im Image
		keys := make([]string, 0, len(tbl))
		for k := range tbl {
			keys = append(keys, k)
		}
		// In the order of the reference, unknown keys first.
		sort.SliceStable(keys, func(a, b int) bool {
			return imageKeyIndex(keys[a]) < imageKeyIndex(keys[b])
		})
		for _, k := range keys {
			ik := imageKeyByName(k)
			if ik == nil {
				return p.decode(tbl[k], elem+": "+keyString([]string{k}), lineOK(k), func(any) error {
					return unknownKey(k, ImageKeys())
				})
			}
			if err := p.decode(tbl[k], elem+": "+k, lineOK(k), func(data any) error {
				return ik.set(&im, data, p.base)
			}); err != nil {
				return err
			}
			// The library records the keys of nested tables as decoded
			// only when it decodes them into a map itself.
			switch k {
			case "add":
				var sink []map[string]any
				_ = p.md.PrimitiveDecode(tbl[k], &sink)
			case "labels":
				var sink map[string]any
				_ = p.md.PrimitiveDecode(tbl[k], &sink)
			}
		}
		p.spec.Images = append(p.spec.Images, im)
	}
	return nil
}

func imageKeyIndex(k string) int {
	for i, ik := range imageKeys {
		if ik.key == k {
			return i
		}
	}
	return -1
}

// checkImages checks the [[image]] tables as a whole: each says what is
// published and exactly one way to make the rebuilt image, with only the
// keys of that way; names and published references are not repeated;
// the rebuilt artifacts an image uses are matched by build.artifacts
// (when those are set).
func checkImages(s *Spec) (string, error) {
	names := map[string]int{}
	refs := map[string]int{}
	for i, im := range s.Images {
		key := fmt.Sprintf("image #%d", i+1)
		if im.Published == "" {
			return key, errors.New(`missing "published", the published image (docker://REGISTRY/REPO:TAG or @sha256:…)`)
		}
		if err := checkPublishedImage(im.Published); err != nil {
			return key + ": published", err
		}
		var modes []string
		for _, m := range []struct{ key, val string }{{"artifact", im.Artifact}, {"base", im.Base}, {"dockerfile", im.Dockerfile}} {
			if m.val != "" {
				modes = append(modes, m.key)
			}
		}
		switch len(modes) {
		case 0:
			return key, errors.New(`say how the rebuilt image is made: "artifact" (an image the build writes), "base" (reproof assembles it) or "dockerfile" (buildah builds it)`)
		case 1:
		default:
			return key, fmt.Errorf("%s: give one of them", strings.Join(modes, " and "))
		}
		mode := im.Mode()
		for _, k := range imageKeys {
			if k.mode == "" || k.mode == mode || !imageKeySet(im, k.key) {
				continue
			}
			return key + ": " + k.key, fmt.Errorf("only an assembled image (base = …) takes %s", k.key)
		}
		if mode == "artifact" && len(im.Platforms) > 0 {
			return key + ": platforms", errors.New("the artifact's image says its own platforms; platforms is for images reproof makes")
		}
		for _, a := range im.Add {
			if a.Platform != "" && len(im.Platforms) > 0 && !slices.Contains(im.Platforms, a.Platform) {
				return key + ": add", fmt.Errorf("%s: platform %s is not one of platforms", quote(a.Src), a.Platform)
			}
		}
		n := im.DisplayName()
		if j, ok := names[n]; ok {
			return key, fmt.Errorf("name %s repeats image #%d's; give each image a name", quote(n), j)
		}
		names[n] = i + 1
		if j, ok := refs[im.Published]; ok {
			return key, fmt.Errorf("published %s repeats image #%d's", quote(im.Published), j)
		}
		refs[im.Published] = i + 1
		if len(s.Build.Artifacts) == 0 {
			continue
		}
		for _, src := range im.inputs() {
			if !s.Build.MatchesArtifact(src) {
				return key, fmt.Errorf("%s is not matched by build.artifacts (%s): add it there, so the rebuild keeps it", quote(src), strings.Join(s.Build.Artifacts, ", "))
			}
		}
	}
	return "", nil
}

func imageKeySet(im Image, k string) bool {
	switch k {
	case "add":
		return len(im.Add) > 0
	case "env":
		return len(im.Env) > 0
	case "entrypoint":
		return im.EntrypointSet
	case "cmd":
		return im.CmdSet
	case "labels":
		return len(im.Labels) > 0
	case "workdir":
		return im.WorkingDir != ""
	case "user":
		return im.User != ""
	case "expose":
		return len(im.ExposedPorts) > 0
	}
	return false
}

// inputs are the rebuilt artifacts the image is made from.
func (im Image) inputs() []string {
	var out []string
	switch im.Mode() {
	case "artifact":
		out = append(out, im.Artifact)
	case "dockerfile":
		out = append(out, im.Dockerfile)
	}
	for _, a := range im.Add {
		out = append(out, a.Src)
	}
	return out
}

// DisplayName is Name, or the published reference without its
// transport (REGISTRY/REPO:TAG for a registry; the file's or directory's
// base name for a local image).
func (im Image) DisplayName() string {
	if im.Name != "" {
		return im.Name
	}
	if rest, ok := strings.CutPrefix(im.Published, "docker://"); ok {
		return rest
	}
	_, p, _ := strings.Cut(im.Published, ":")
	return path.Base(p)
}

// publishedImageFlag reads a --published-image value: REF, or REF=ARTIFACT
// (the rebuilt image is that artifact).
func publishedImageFlag(v string) (Image, error) {
	ref, artifact, hasArtifact := strings.Cut(v, "=")
	if err := checkPublishedImage(ref); err != nil {
		return Image{}, err
	}
	im := Image{Published: ref}
	if hasArtifact {
		artifact = trimDotSlash(artifact)
		if err := checkRelPath(artifact); err != nil {
			return Image{}, fmt.Errorf("%s: %w", quote(v), err)
		}
		im.Artifact = artifact
	}
	return im, nil
}

// setPublishedImages applies --published-image values: a REF=ARTIFACT
// value is an image of its own; a bare REF replaces the published
// reference of the spec's one [[image]] (the same recipe, another
// published image), and is refused when the spec has none or several.
func (s *Spec) setPublishedImages(values []string) error {
	var out []Image
	for _, v := range values {
		im, err := publishedImageFlag(v)
		if err != nil {
			return err
		}
		if im.Artifact == "" {
			if len(s.Images) != 1 {
				return fmt.Errorf("%s: say how the rebuilt image is made, as REF=ARTIFACT (the spec has %d [[image]] tables, not one to take the recipe from)", quote(v), len(s.Images))
			}
			recipe := s.Images[0]
			recipe.Published = im.Published
			im = recipe
		}
		out = append(out, im)
	}
	t := *s
	t.Images = out
	if key, err := checkImages(&t); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	s.Images = out
	return nil
}

// canonicalImages renders the [[image]] tables for Canonical.
func canonicalImages(s *Spec) (string, error) {
	var b strings.Builder
	for _, im := range s.Images {
		b.WriteString("\n[[image]]\n")
		line := func(k, v string, err error) error {
			if err != nil {
				return fmt.Errorf("image %s: %s: %w", quote(im.DisplayName()), k, err)
			}
			fmt.Fprintf(&b, "%s = %s\n", k, v)
			return nil
		}
		str := func(k, v string) error {
			if v == "" {
				return nil
			}
			t, err := tomlString(v)
			return line(k, t, err)
		}
		strs := func(k string, v []string, set bool) error {
			if !set {
				return nil
			}
			t, err := tomlStrings(v)
			return line(k, t, err)
		}
		for _, err := range []error{
			str("name", im.Name), str("published", im.Published),
			strs("platforms", im.Platforms, len(im.Platforms) > 0),
			str("artifact", im.Artifact), str("base", im.Base),
		} {
			if err != nil {
				return "", err
			}
		}
		if len(im.Add) > 0 {
			var parts []string
			for _, a := range im.Add {
				var kv []string
				for _, f := range []struct{ k, v string }{{"src", a.Src}, {"dest", a.Dest}, {"chown", a.Chown}, {"mode", a.Mode}, {"platform", a.Platform}} {
					if f.v == "" {
						continue
					}
					t, err := tomlString(f.v)
					if err != nil {
						return "", fmt.Errorf("image %s: add: %w", quote(im.DisplayName()), err)
					}
					kv = append(kv, f.k+" = "+t)
				}
				kv = append(kv, "unpack = "+strconv.FormatBool(a.Unpack))
				parts = append(parts, "{"+strings.Join(kv, ", ")+"}")
			}
			fmt.Fprintf(&b, "add = [%s]\n", strings.Join(parts, ", "))
		}
		if err := errors.Join(
			strs("env", im.Env, len(im.Env) > 0),
			strs("entrypoint", im.Entrypoint, im.EntrypointSet),
			strs("cmd", im.Cmd, im.CmdSet),
		); err != nil {
			return "", err
		}
		if len(im.Labels) > 0 {
			var kv []string
			for _, k := range sortedLabelKeys(im.Labels) {
				tk, err := tomlString(k)
				if err != nil {
					return "", err
				}
				tv, err := tomlString(im.Labels[k])
				if err != nil {
					return "", err
				}
				kv = append(kv, tk+" = "+tv)
			}
			fmt.Fprintf(&b, "labels = {%s}\n", strings.Join(kv, ", "))
		}
		if err := errors.Join(
			str("workdir", im.WorkingDir), str("user", im.User),
			strs("expose", im.ExposedPorts, len(im.ExposedPorts) > 0),
			str("dockerfile", im.Dockerfile),
		); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func sortedLabelKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
