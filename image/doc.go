// Package image reads container images wherever they are, and compares
// two of them.
//
// An image is named the way skopeo names it: docker://REGISTRY/REPO:TAG
// (with @sha256:… to pin it), oci:DIR[:TAG] (an OCI image layout),
// oci-archive:FILE[:TAG] (the same, in a tar) and docker-archive:FILE[:REF]
// (what docker save writes). Registries are read through
// go-containerregistry with the user's Docker credentials and credential
// helpers, anonymously otherwise, under the timeouts, redirect policy and
// retries of package rebuild. A tag is resolved and the digest it
// resolved to recorded; an index is resolved to a platform, or every
// platform is compared.
//
// The package is strict about what it trusts: every manifest, config and
// layer blob is checked against its digest and size as it streams (a
// layer's decompressed bytes against the config's diff_id too), nothing
// is read without a cap, nothing of an image is extracted by name, and
// two images are identical only when their manifests' digests are.
//
// Compare reports the differences of two images as a compare.Result:
// the manifest and index, the config (whose timestamps are metadata and
// whose env, entrypoint, cmd, user and workdir are content), the layers
// by position through the archive engine of package compare (each layer a
// tar, its compression named), and, when the layer boundaries differ, a
// squashed view: the filesystem a container sees once the layers are
// applied with their whiteouts. Result.Image carries the image-level
// summary and a verdict per platform.
package image
