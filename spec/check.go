package spec

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/google/go-containerregistry/pkg/name"
)

// Bounds on values.
const (
	// MaxEpoch is the largest SOURCE_DATE_EPOCH accepted:
	// 9999-12-31T23:59:59Z, the last second tar, zip and ar tools agree on.
	MaxEpoch = 253402300799
	// MaxMaxDepth is the largest compare.max_depth.
	MaxMaxDepth = 64
	// MaxGlobLen bounds a glob, so matching stays cheap on hostile names.
	MaxGlobLen = 1024
	// A glob matcher backtracks over wildcards and tries each {a,b}
	// alternative in turn, so the time to match grows with their product:
	// a glob has at most maxWildcards "*" and "?", at most maxAlternations
	// {...} groups, and at most maxAlternatives alternatives in all.
	maxWildcards    = 16
	maxAlternations = 4
	maxAlternatives = 16
)

// Runtimes are the values build.runtime takes.
var Runtimes = []string{"auto", "docker", "podman", "runc"}

// ReservedEnv are the variables reproof sets in the build itself; the
// spec cannot set them.
var ReservedEnv = []string{"SOURCE_DATE_EPOCH", "TZ", "LC_ALL", "HOME"}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

func checkRepo(repo string) error {
	switch {
	case repo == "":
		return errors.New("empty; give a git URL or a local path")
	case hasControl(repo):
		return fmt.Errorf("%s holds control characters", quote(repo))
	case strings.HasPrefix(repo, "-"):
		return fmt.Errorf("%s may not start with '-'", quote(repo))
	}
	return nil
}

// checkTag applies git's rules for reference names (git check-ref-format)
// to refs/tags/TAG, and refuses a leading '-' (it would read as an option).
func checkTag(tag string) error {
	bad := func(why string) error { return fmt.Errorf("%s is not a valid tag name: %s", quote(tag), why) }
	switch {
	case tag == "":
		return errors.New("empty; give the release tag, such as v1.2.3")
	case strings.HasPrefix(tag, "-"):
		return bad("it starts with '-'")
	case strings.HasPrefix(tag, "refs/"):
		return bad("give the tag's name without refs/tags/")
	case strings.ContainsFunc(tag, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }):
		return bad("it holds spaces or control characters")
	case strings.ContainsAny(tag, "~^:?*[\\"):
		return bad(`it holds one of ~ ^ : ? * [ \`)
	case strings.Contains(tag, ".."):
		return bad(`it holds ".."`)
	case strings.Contains(tag, "@{") || tag == "@":
		return bad(`it holds "@{" or is "@"`)
	case strings.HasSuffix(tag, "."):
		return bad("it ends with '.'")
	}
	for _, part := range strings.Split(tag, "/") {
		switch {
		case part == "":
			return bad("it has an empty path component")
		case strings.HasPrefix(part, "."):
			return bad("a component starts with '.'")
		case strings.HasSuffix(part, ".lock"):
			return bad(`a component ends with ".lock"`)
		}
	}
	return nil
}

func checkCommit(c string) error {
	if n := len(c); !isLowerHex(c) || n < 4 || (n > 40 && n != 64) {
		return fmt.Errorf("%s is not a commit id (want 4 to 40 hex digits, or 64 for a SHA-256 repository)", quote(c))
	}
	return nil
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func checkEpoch(n int64) error {
	if n < 0 || n > MaxEpoch {
		return fmt.Errorf("%d is out of range (0 to %d, the end of year 9999)", n, int64(MaxEpoch))
	}
	return nil
}

// checkImage checks the reference's syntax with go-containerregistry, as
// the puller reads it. Whether it must be pinned is the puller's to say: it
// names the digest an unpinned reference resolves to.
func checkImage(ref string) error {
	switch {
	case ref == "":
		return errors.New("empty; give an image reference pinned by digest, such as docker.io/library/debian:bookworm@sha256:<64 hex digits>")
	case strings.ContainsFunc(ref, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("%s holds spaces or control characters", quote(ref))
	}
	if _, err := name.ParseReference(ref); err != nil {
		return fmt.Errorf("%s is not an image reference (want REGISTRY/REPOSITORY[:TAG]@sha256:DIGEST)", quote(ref))
	}
	return nil
}

// ImagePinned reports whether an image reference names a digest.
func ImagePinned(ref string) bool {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false
	}
	_, ok := r.(name.Digest)
	return ok
}

var platformRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)?$`)

func checkPlatform(p string) error {
	if len(p) > 64 || !platformRE.MatchString(p) {
		return fmt.Errorf("%s is not a platform (want os/arch[/variant], such as linux/amd64 or linux/arm/v7)", quote(p))
	}
	return nil
}

func checkRuntime(r string) error {
	if !slices.Contains(Runtimes, r) {
		return fmt.Errorf("%s is not a runtime (want %s)", quote(r), strings.Join(Runtimes, ", "))
	}
	return nil
}

func checkCommand(c Command) error {
	if c.Shell {
		if len(c.Argv) != 1 || strings.TrimSpace(c.Argv[0]) == "" {
			return errors.New(`empty; give the build command, such as ["make", "dist"] or "make dist"`)
		}
	} else if len(c.Argv) == 0 || c.Argv[0] == "" {
		return errors.New(`empty program; give the build command, such as ["make", "dist"] or "make dist"`)
	}
	for _, a := range c.Argv {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("argument %s holds a NUL byte", quote(a))
		}
	}
	return nil
}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkEnv(env []string) error {
	seen := make(map[string]bool, len(env))
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			return fmt.Errorf("entry %s: want KEY=VALUE", quote(e))
		case !envKeyRE.MatchString(k):
			return fmt.Errorf("entry %s: %s is not a variable name (letters, digits and _, not starting with a digit)", quote(e), quote(k))
		case slices.Contains(ReservedEnv, k):
			return fmt.Errorf("entry %s: reproof sets %s itself (reserved: %s)", quote(e), k, strings.Join(ReservedEnv, ", "))
		case strings.ContainsRune(v, 0):
			return fmt.Errorf("entry %s: the value holds a NUL byte", quote(e))
		case seen[k]:
			return fmt.Errorf("entry %s: %s is set twice", quote(e), k)
		}
		seen[k] = true
	}
	return nil
}

// parseUser reads "UID:GID"; "" is nil, the host's user.
func parseUser(s string) (*User, error) {
	if s == "" {
		return nil, nil
	}
	bad := fmt.Errorf("%s is not UID:GID (numeric, such as 1000:1000)", quote(s))
	us, gs, ok := strings.Cut(s, ":")
	if !ok {
		return nil, bad
	}
	uid, err1 := strconv.ParseUint(us, 10, 31)
	gid, err2 := strconv.ParseUint(gs, 10, 31)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	return &User{UID: int(uid), GID: int(gid)}, nil
}

func checkUser(u *User) error {
	if u != nil && (u.UID < 0 || u.GID < 0 || u.UID > math.MaxInt32 || u.GID > math.MaxInt32) {
		return fmt.Errorf("%s is out of range (0 to %d)", u, math.MaxInt32)
	}
	return nil
}

func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s is not positive", quote(d.String()))
	}
	return nil
}

// checkGlob checks a doublestar glob over slash-separated names.
func checkGlob(g string) error {
	switch {
	case g == "":
		return errors.New("empty glob")
	case len(g) > MaxGlobLen:
		return fmt.Errorf("glob %s is longer than %d bytes", quote(g), MaxGlobLen)
	case hasControl(g):
		return fmt.Errorf("glob %s holds control characters", quote(g))
	case strings.Count(g, "*")+strings.Count(g, "?") > maxWildcards:
		return fmt.Errorf("glob %s has more than %d wildcards (* and ?)", quote(g), maxWildcards)
	case strings.Count(g, "{") > maxAlternations || strings.Count(g, "{")+strings.Count(g, ",") > maxAlternatives:
		return fmt.Errorf("glob %s has more than %d {a,b} groups or %d alternatives", quote(g), maxAlternations, maxAlternatives)
	case !doublestar.ValidatePattern(g):
		return fmt.Errorf("invalid glob %s (unclosed [ or {, or a trailing \\)", quote(g))
	}
	return nil
}

// checkArtifactGlobs checks build.artifacts: globs that stay inside the
// checkout.
func checkArtifactGlobs(globs []string) error {
	seen := make(map[string]bool, len(globs))
	for _, g := range globs {
		if err := checkGlob(g); err != nil {
			return err
		}
		if strings.HasPrefix(g, "/") {
			return fmt.Errorf("glob %s is absolute; artifacts are relative to the checkout", quote(g))
		}
		for _, part := range strings.Split(g, "/") {
			switch part {
			case "", ".", "..":
				return fmt.Errorf(`glob %s has an empty, "." or ".." path component; artifacts are relative to the checkout, inside it`, quote(g))
			}
		}
		if seen[g] {
			return fmt.Errorf("glob %s is listed twice", quote(g))
		}
		seen[g] = true
	}
	return nil
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("path %s holds a NUL byte", quote(p))
	}
	return nil
}

// checkPublishedSource checks the forms release.NewSource reads, by the
// same rules: github:OWNER/REPO@TAG, gitlab:PROJECT@TAG (a path or an id),
// http://, https:// and file:// URLs, and anything else without "://" as
// a directory. Errors show URLs without their password.
func checkPublishedSource(src string) error {
	if src == "" {
		return errors.New("empty; give a directory, an http(s) URL, github:OWNER/REPO@TAG, gitlab:GROUP/PROJECT@TAG or npm:NAME@VERSION")
	}
	if rest, ok := strings.CutPrefix(src, "npm:"); ok {
		at := strings.LastIndexByte(rest, '@')
		if at <= 0 || at == len(rest)-1 || hasControl(rest) {
			return fmt.Errorf("%s: want npm:[@SCOPE/]NAME@VERSION", quote(src))
		}
		return nil
	}
	for prefix, want := range map[string]string{"github:": "github:OWNER/REPO@TAG", "gitlab:": "gitlab:GROUP/PROJECT@TAG"} {
		rest, ok := strings.CutPrefix(src, prefix)
		if !ok {
			continue
		}
		project, tag, _ := strings.Cut(rest, "@")
		parts := strings.Split(project, "/")
		if tag == "" || slices.Contains(parts, "") || (prefix == "github:" && len(parts) != 2) {
			return fmt.Errorf("%s: want %s", quote(src), want)
		}
		if hasControl(project) || hasControl(tag) {
			return fmt.Errorf("%s holds control characters", quote(src))
		}
		return nil
	}
	scheme, _, isURL := strings.Cut(src, "://")
	if !isURL {
		if strings.ContainsRune(src, 0) {
			return fmt.Errorf("directory %s holds a NUL byte", quote(src))
		}
		return nil
	}
	u, err := url.Parse(src)
	if err != nil {
		return fmt.Errorf("%s://...: not a valid URL", quote(scheme))
	}
	shown := quote(u.Redacted())
	switch scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("%s: the URL has no host", shown)
		}
		if u.Fragment != "" {
			return fmt.Errorf("%s: a base URL has no #fragment", shown)
		}
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("%s: want file:///ABSOLUTE/PATH", shown)
		}
	default:
		return fmt.Errorf("%s: unsupported URL scheme %s (want http, https or file)", shown, quote(scheme))
	}
	return nil
}

// ChecksumsBody is the published.checksums name for the release's own
// description (Markdown), where nimbus-eth2 publishes its checksums.
const ChecksumsBody = "body"

func checkChecksums(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case n == "":
			return errors.New("empty name")
		case hasControl(n):
			return fmt.Errorf("%s holds control characters", quote(n))
		case strings.HasPrefix(n, "/") || strings.Contains(n, `\`) || slices.Contains(strings.Split(n, "/"), ".."):
			return fmt.Errorf(`%s is not a name in the release (no leading /, no \, no ".." components)`, quote(n))
		case seen[n]:
			return fmt.Errorf("%s is listed twice", quote(n))
		}
		seen[n] = true
	}
	return nil
}

func checkMaxDepth(n int64) error {
	if n < 1 || n > MaxMaxDepth {
		return fmt.Errorf("%d is out of range (1 to %d)", n, MaxMaxDepth)
	}
	return nil
}

func checkReason(r string) error {
	if hasControl(strings.ReplaceAll(r, "\t", " ")) {
		return fmt.Errorf("reason %s holds control characters (a reason is one line)", quote(r))
	}
	return nil
}

// isRemoteRepo applies git's rule: a URL, or host:path with the colon
// before any slash. Anything else is a local path.
func isRemoteRepo(repo string) bool {
	if strings.Contains(repo, "://") {
		return true
	}
	colon := strings.IndexByte(repo, ':')
	if colon <= 0 {
		return false
	}
	slash := strings.IndexByte(repo, '/')
	return slash < 0 || colon < slash
}

func resolveRepo(base, repo string) string {
	if isRemoteRepo(repo) {
		return repo
	}
	return resolvePath(base, repo)
}

func resolvePublished(base, src string) string {
	if strings.HasPrefix(src, "github:") || strings.HasPrefix(src, "gitlab:") || strings.Contains(src, "://") {
		return src
	}
	return resolvePath(base, src)
}

// resolvePath joins a relative path to base.
func resolvePath(base, p string) string {
	if base == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

func trimDotSlash(g string) string {
	for strings.HasPrefix(g, "./") {
		g = g[2:]
	}
	return g
}
