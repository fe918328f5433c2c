package rebuild

import (
	"context"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryOptions returns the go-containerregistry options that PullImage
// uses for every registry request, for callers that read registries
// themselves (reproof diff of images): opts.Keychain (default
// authn.DefaultKeychain: the Docker config and its credential helpers,
// anonymous otherwise), the transport under reproof's idle timeout,
// redirect policy and one request per connection, and ggcr's retries with
// opts' backoff. opts.Platform and opts.CacheDir are not used.
func RegistryOptions(ctx context.Context, opts ImageOptions) []remote.Option {
	opts = opts.withDefaults()
	keychain := opts.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	base := opts.Transport
	if base == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.DisableKeepAlives = true
		base = t
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithTransport(&registryTransport{base: base, timeout: opts.Timeout}),
		remote.WithRetryBackoff(remote.Backoff{Duration: opts.RetryBackoff, Factor: 2, Steps: opts.Retries}),
	}
}

// RegistryNameOptions returns the options that parse a registry reference
// as PullImage does (name.Insecure when opts.Insecure is set).
func RegistryNameOptions(opts ImageOptions) []name.Option {
	if opts.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// ChoosePlatform picks the first image of index that satisfies want, as
// PullImage does (a child without a platform is linux/amd64); the error
// wraps ErrPlatformNotFound and lists the platforms the index has.
func ChoosePlatform(index *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	return choosePlatform(index, want)
}

// PlatformOf returns a descriptor's platform, linux/amd64 when it has none.
func PlatformOf(p *v1.Platform) v1.Platform { return platformOf(p) }

// RegistryError describes a failed registry request in one line, with the
// registry's own text cut short and stripped of control characters, as
// PullImage's errors are; what is the reference being read.
func RegistryError(what string, err error) error {
	if isGGCRDigestError(err) {
		return &registryError{what: what, err: err, digest: true}
	}
	return &registryError{what: what, err: err}
}

type registryError struct {
	what   string
	err    error
	digest bool
}

func (e *registryError) Error() string { return e.what + ": " + remoteText(e.err.Error()) }

func (e *registryError) Unwrap() []error {
	if e.digest {
		return []error{e.err, ErrDigestMismatch}
	}
	return []error{e.err}
}
