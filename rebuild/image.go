package rebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultPlatform is the platform an image index is resolved to when
// ImageOptions.Platform is empty.
const DefaultPlatform = "linux/amd64"

// Sentinel errors for errors.Is. The errors PullImage returns wrap them.
var (
	// ErrUnpinned: the reference names no digest and unpinned images were
	// not allowed. The error is an *UnpinnedError.
	ErrUnpinned = errors.New("image not pinned by digest")
	// ErrPlatformNotFound: the pinned index has no image for the platform.
	ErrPlatformNotFound = errors.New("platform not found in image index")
	// ErrDigestMismatch: bytes from the registry or the cache do not hash to
	// the digest that names them.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// UnpinnedError reports a reference without a digest, and the digest it
// resolved to when it was refused.
type UnpinnedError struct {
	Ref    string // the reference as given
	Digest string // what it resolves to now, sha256:...
}

func (e *UnpinnedError) Error() string {
	return fmt.Sprintf("image %q is not pinned by digest; it resolves to %s (pin it as %s@%s or pass --allow-unpinned)",
		e.Ref, e.Digest, e.Ref, e.Digest)
}

// Is makes errors.Is(err, ErrUnpinned) true for an *UnpinnedError.
func (e *UnpinnedError) Is(target error) bool { return target == ErrUnpinned }

// ImageOptions configures PullImage. The zero value pulls linux/amd64 images
// into the default cache with the Docker config's credentials.
type ImageOptions struct {
	// Platform resolves an image index, as os/arch[/variant]. Default
	// DefaultPlatform.
	Platform string
	// AllowUnpinned pulls a reference without a digest instead of refusing
	// it; the resolved digest is recorded and PulledImage.Unpinned is set.
	AllowUnpinned bool
	// CacheDir is the root of the OCI image layout that caches pulled
	// images. Default: DefaultCacheDir().
	CacheDir string
	// Keychain supplies registry credentials. Default authn.DefaultKeychain
	// (the Docker config and its credential helpers).
	Keychain authn.Keychain
	// Insecure talks plain HTTP to the registry (ggcr's name.Insecure).
	// Loopback and private addresses use HTTP anyway.
	Insecure bool
	// Transport is the HTTP transport under reproof's timeouts, redirect
	// policy and retries and ggcr's authentication. Default: a copy of
	// remote.DefaultTransport of the pull's own, without keep-alives.
	Transport http.RoundTripper
	// Timeout bounds each wait for the registry: for the response headers,
	// and for the next bytes of a body (a slow but moving download never
	// times out). Default: $REPROOF_HTTP_TIMEOUT if it holds a positive Go
	// duration, else DefaultRegistryTimeout.
	Timeout time.Duration
	// Retries is how many attempts a transient failure (a 5xx, 408 or 429
	// answer, a refused or reset connection, a stall, a truncated body)
	// gets in all. Default DefaultRegistryRetries.
	Retries int
	// RetryBackoff is the wait after the first failed attempt; it doubles
	// after each further one. Default DefaultRegistryBackoff.
	RetryBackoff time.Duration
	// Getenv reads REPROOF_HTTP_TIMEOUT; nil means os.Getenv.
	Getenv func(string) string
}

// PulledImage is a verified image, kept in the cache.
type PulledImage struct {
	Ref         string   // the reference as given
	Digest      string   // manifest digest of the platform image, sha256:...
	IndexDigest string   // the index digest, when the reference named an index
	Platform    string   // the image's platform, os/arch[/variant]
	Unpinned    bool     // pulled by tag with AllowUnpinned: the report should warn
	FromCache   bool     // served from the cache without contacting a registry
	Image       v1.Image // backed by the cache's OCI layout
	// Warnings are what the pull noticed that a report should say: an
	// image cache index that had to be rebuilt, leftovers of killed runs
	// it could not remove.
	Warnings []string
}

// DefaultCacheDir is where pulled images are cached when
// ImageOptions.CacheDir is empty: reproof/images under the user cache
// directory.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the image cache: %w", err)
	}
	return filepath.Join(dir, "reproof", "images"), nil
}

// PullImage returns the image ref names, verified and cached.
//
// ref is a registry reference. With a digest (repo@sha256:... or
// repo:tag@sha256:..., where the tag is then ignored) the cache is consulted
// first, and a cached copy whose blobs all verify is returned with no
// registry contact. Otherwise the image is fetched, checked against the
// pinned digest, resolved to opts.Platform if it is an index, and every blob
// is verified while it is written to the cache.
//
// Without a digest, PullImage refuses with an *UnpinnedError naming the
// digest the reference resolves to, unless opts.AllowUnpinned is set.
//
// A hostile or broken registry gets bounded time and attempts: each wait
// for it is bounded by opts.Timeout, transient failures are tried
// opts.Retries times in all, redirects are capped and loops refused, and
// its error texts are cut short. Errors are one line. Nothing reaches the
// cache unverified: a failed pull leaves at most complete, verified blobs
// (which a later pull reuses) and never an index.json entry.
func PullImage(ctx context.Context, ref string, opts ImageOptions) (*PulledImage, error) {
	opts = opts.withDefaults()
	if opts.Platform == "" {
		opts.Platform = DefaultPlatform
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.CacheDir == "" {
		dir, err := DefaultCacheDir()
		if err != nil {
			return nil, fmt.Errorf("pulling image %q: %w", ref, err)
		}
		opts.CacheDir = dir
	}
	platform, err := v1.ParsePlatform(opts.Platform)
	if err != nil || platform.OS == "" || platform.Architecture == "" {
		return nil, fmt.Errorf("pulling image %q: bad platform %q: want os/arch[/variant]", ref, opts.Platform)
	}
	var nameOpts []name.Option
	if opts.Insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	parsed, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("pulling image %q: %s", ref, oneLine(err))
	}
	base := opts.Transport
	if base == nil {
		// A transport of the pull's own: never a connection another
		// client left idle, and none kept (registryTransport makes one
		// request per connection anyway).
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.DisableKeepAlives = true
		base = t
	}
	cache := &imageCache{dir: opts.CacheDir}
	if _, err := cache.sweep(); err != nil {
		cache.warn(fmt.Sprintf("cleaning the image cache: %s", oneLine(err)))
	}
	p := &puller{
		ref:      ref,
		parsed:   parsed,
		platform: *platform,
		cache:    cache,
		remote: []remote.Option{
			remote.WithContext(ctx),
			remote.WithAuthFromKeychain(opts.Keychain),
			remote.WithPlatform(*platform),
			remote.WithTransport(&registryTransport{base: base, timeout: opts.Timeout}),
			remote.WithRetryBackoff(remote.Backoff{Duration: opts.RetryBackoff, Factor: 2, Steps: opts.Retries}),
		},
	}
	retrying := func(pull func() (*PulledImage, error)) (*PulledImage, error) {
		img, err := retryPull(ctx, opts.Retries, opts.RetryBackoff, pull)
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
			return nil, fmt.Errorf("pulling image %q: %w", ref, ctxErr)
		}
		if img != nil {
			img.Warnings = append(img.Warnings, cache.takeWarnings()...)
		}
		return img, err
	}

	pinnedRef, pinned := parsed.(name.Digest)
	if !pinned {
		return retrying(func() (*PulledImage, error) { return p.pullUnpinned(ctx, opts.AllowUnpinned) })
	}
	want, err := v1.NewHash(pinnedRef.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("pulling image %q: %s", ref, oneLine(err))
	}
	cached, cacheErr := p.cache.load(ctx, want, p.platform)
	if cacheErr == nil {
		cached.Ref = ref
		cached.Warnings = cache.takeWarnings()
		return cached, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("pulling image %q: %w", ref, ctxErr)
	}
	img, err := retrying(func() (*PulledImage, error) { return p.pull(ctx, pinnedRef, want) })
	if err != nil && errors.Is(cacheErr, errCacheCorrupt) {
		return nil, fmt.Errorf("%w (the cached copy was unusable: %s)", err, oneLine(cacheErr))
	}
	return img, err
}

// puller pulls one reference.
type puller struct {
	ref      string
	parsed   name.Reference
	platform v1.Platform
	cache    *imageCache
	remote   []remote.Option
}

// pullUnpinned resolves a reference without a digest and, if allowed, pulls
// the digest it resolved to.
func (p *puller) pullUnpinned(ctx context.Context, allow bool) (*PulledImage, error) {
	desc, err := remote.Get(p.parsed, p.remote...)
	if err != nil {
		return nil, p.remoteError(err)
	}
	got, _, err := v1.SHA256(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("pulling image %q: %w", p.ref, err)
	}
	if !allow {
		return nil, &UnpinnedError{Ref: p.ref, Digest: got.String()}
	}
	img, err := p.store(ctx, desc, got)
	if err != nil {
		return nil, err
	}
	img.Unpinned = true
	return img, nil
}

// pull fetches the image pinned by digest want.
func (p *puller) pull(ctx context.Context, ref name.Digest, want v1.Hash) (*PulledImage, error) {
	desc, err := remote.Get(ref, p.remote...)
	if err != nil {
		return nil, p.remoteError(err)
	}
	// ggcr checks a manifest fetched by digest; check again, on the bytes
	// we are about to trust.
	got, _, err := v1.SHA256(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("pulling image %q: %w", p.ref, err)
	}
	if got != want {
		return nil, fmt.Errorf("pulling image %q: manifest is %s, want %s: %w", p.ref, got, want, ErrDigestMismatch)
	}
	return p.store(ctx, desc, want)
}

// store resolves desc (whose manifest hashes to pinned) to the platform's
// image and writes it to the cache.
func (p *puller) store(ctx context.Context, desc *remote.Descriptor, pinned v1.Hash) (*PulledImage, error) {
	var (
		img      v1.Image
		rawIndex []byte
		platform v1.Platform
	)
	switch {
	case desc.MediaType.IsIndex():
		index, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("pulling image %q: parsing index %s: %s", p.ref, pinned, oneLine(err))
		}
		child, err := choosePlatform(index, p.platform)
		if err != nil {
			return nil, fmt.Errorf("pulling image %q: index %s: %w", p.ref, pinned, err)
		}
		if !child.MediaType.IsImage() {
			return nil, fmt.Errorf("pulling image %q: index %s: the %s entry is a %s, not an image manifest", p.ref, pinned, p.platform, child.MediaType)
		}
		childRef := p.parsed.Context().Digest(child.Digest.String())
		childDesc, err := remote.Get(childRef, p.remote...)
		if err != nil {
			return nil, p.remoteError(err)
		}
		got, _, err := v1.SHA256(bytes.NewReader(childDesc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("pulling image %q: %w", p.ref, err)
		}
		if got != child.Digest {
			return nil, fmt.Errorf("pulling image %q: %s manifest is %s, want %s: %w", p.ref, p.platform, got, child.Digest, ErrDigestMismatch)
		}
		if img, err = childDesc.Image(); err != nil {
			return nil, p.remoteError(err)
		}
		rawIndex = desc.Manifest
		platform = platformOf(child.Platform)
	case desc.MediaType.IsImage():
		var err error
		if img, err = desc.Image(); err != nil {
			return nil, p.remoteError(err)
		}
	default:
		return nil, fmt.Errorf("pulling image %q: %s is a %q, not an image or an index", p.ref, pinned, desc.MediaType)
	}

	entry, err := p.cache.store(ctx, img, pinned, rawIndex, platform)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("pulling image %q: %w", p.ref, ctxErr)
		}
		if isGGCRDigestError(err) && !errors.Is(err, ErrDigestMismatch) {
			return nil, fmt.Errorf("pulling image %q: %s: %w", p.ref, remoteText(err.Error()), ErrDigestMismatch)
		}
		return nil, fmt.Errorf("pulling image %q: %w", p.ref, remoteErr{err})
	}
	entry.Ref = p.ref
	return entry, nil
}

// remoteError describes a failed registry request in one line, with what
// the registry said cut short and stripped of control characters.
func (p *puller) remoteError(err error) error {
	if isGGCRDigestError(err) {
		return fmt.Errorf("pulling image %q: %s: %w", p.ref, remoteText(err.Error()), ErrDigestMismatch)
	}
	for _, ctxErr := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("pulling image %q: %w", p.ref, ctxErr)
		}
	}
	return fmt.Errorf("pulling image %q from %s: %w", p.ref, p.parsed.Context().RegistryStr(), remoteErr{err})
}

// remoteErr is a registry's error, its message made safe by remoteText,
// its chain kept for errors.Is and errors.As.
type remoteErr struct{ err error }

func (r remoteErr) Error() string { return remoteText(r.err.Error()) }
func (r remoteErr) Unwrap() error { return r.err }

// isGGCRDigestError reports whether err is go-containerregistry's own digest
// verification failing (a manifest fetched by digest, or a blob read through
// its verifying reader). ggcr does not export these errors, so they are
// recognised by their text.
func isGGCRDigestError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "does not match requested digest") ||
		strings.Contains(s, "error verifying")
}

// choosePlatform picks the first image in index that satisfies want. A child
// without a platform is taken as linux/amd64, as registries and ggcr do.
func choosePlatform(index *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var have []string
	for _, child := range index.Manifests {
		p := platformOf(child.Platform)
		if p.Satisfies(want) {
			return child, nil
		}
		have = append(have, p.String())
	}
	if len(have) == 0 {
		return v1.Descriptor{}, fmt.Errorf("no %s image: the index is empty: %w", want, ErrPlatformNotFound)
	}
	return v1.Descriptor{}, fmt.Errorf("no %s image (available: %s): %w", want, strings.Join(have, ", "), ErrPlatformNotFound)
}

func platformOf(p *v1.Platform) v1.Platform {
	if p == nil {
		return v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	return *p
}

// oneLine folds a multi-line error message onto one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
