// Package rebuild turns a release spec into rebuilt artifacts: it fetches the
// source at a tag, pulls the pinned base image, runs the build and collects the
// artifacts with their provenance.
//
// [Rebuild] runs the whole stage; its parts are usable alone.
// [CheckoutSource] clones the repository with the
// git CLI into a fresh work directory, fetches only the release tag, refuses
// a tag that does not point at the expected commit ([ErrCommitMismatch]),
// records tag, commit and tree, takes SOURCE_DATE_EPOCH from the commit's
// committer time, and checks submodules out at their recorded commits. git
// runs with a fixed environment: no system or user configuration, no
// credential helpers, no prompts, and no file-transport submodules (a
// hostile .gitmodules cannot pull other repositories of this machine in).
//
// [PullImage] fetches an image from any
// OCI registry by digest, resolves a multi-platform index to one platform,
// verifies every blob it keeps (manifest, config and layers) against its
// digest and size, and stores the image in a content-addressed cache: an OCI
// image layout under the user cache directory. A later pull of the same
// pinned digest is served from the cache, re-verified, without contacting any
// registry.
//
// A [Runtime] runs the build: docker and podman through their CLIs
// ([NewDocker], [NewPodman]; the verified image is streamed to the engine
// with load, never pulled by it), or runc without a daemon ([NewRunc]: the
// layers are unpacked by reproof, confined to the root filesystem, and an
// OCI runtime config is written). Every runtime runs the build as an
// unprivileged UID/GID with a passwd entry, no capabilities, no new
// privileges, the image read-only, tmpfs /tmp and HOME, the checkout the
// only writable host path, and no network but loopback unless asked; a
// cancelled context or the timeout stops and removes the container.
// [Rebuild] then copies the artifacts out of the checkout through an
// os.Root (a symlink cannot point it outside), and writes SHA256SUMS,
// SHA512SUMS, a capped build log and an in-toto SLSA provenance record
// ([Provenance]) into an output directory that appears complete or not at
// all.
//
// The package is strict about:
//
//   - pins: a reference without a digest is refused with an [*UnpinnedError]
//     naming the digest it resolves to, unless the caller allows unpinned
//     images, in which case the resolved digest is recorded and
//     [PulledImage.Unpinned] is set so the report can warn;
//   - digests: a manifest, index or blob whose bytes do not hash to the digest
//     that names it is an [ErrDigestMismatch], whether it came from the
//     registry or from the cache;
//   - platforms: an index without the requested platform is an
//     [ErrPlatformNotFound] listing the platforms it does have;
//   - the cache: blobs are written to a temporary file and renamed into place
//     only after their digest checked out, and index.json is replaced
//     atomically after all of an image's blobs are in place, so an interrupted
//     pull never leaves an entry that looks complete. A cached copy that fails
//     verification is ignored and pulled again.
//
// Like every library in reproof, this package never prints.
package rebuild
