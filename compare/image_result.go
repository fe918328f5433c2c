package compare

// ImageSummary describes a comparison of two container images for the
// reports: what each reference resolved to and, per platform compared,
// the verdict, the layers side by side and the squashed view. Package
// image fills it in (Result.Image); the differences themselves are in
// Result.Differences, their paths starting with the section they belong
// to ("manifest", "config/…", "layers/N", "layers/N!/usr/bin/app",
// "squashed!/usr/bin/app"), after "OS/ARCH[/VARIANT]/" when several
// platforms were compared.
type ImageSummary struct {
	A ImageSource `json:"a"`
	B ImageSource `json:"b"`
	// Platforms lists the platforms compared, in the order of the
	// reference's index (A's, then those only B has).
	Platforms []ImagePlatform `json:"platforms"`
}

// ImageSource is one side: the reference as given and what it resolved
// to.
type ImageSource struct {
	// Reference is the reference as given ("docker://host/repo:tag").
	Reference string `json:"reference"`
	// Transport is docker, oci, oci-archive or docker-archive.
	Transport string `json:"transport"`
	// Digest is the digest of what the reference names, an index or a
	// manifest ("sha256:…"); empty for a docker archive, which has no
	// manifest.
	Digest string `json:"digest,omitempty"`
	// MediaType is the media type of what the reference names.
	MediaType string `json:"media_type"`
	// Pinned is set when the reference named the digest itself; otherwise
	// the tag was resolved to Digest when it was read.
	Pinned bool `json:"pinned"`
}

// Image verdicts, as package verify names artifact statuses.
const (
	ImageIdentical  = "identical"  // the same manifest digest
	ImageEquivalent = "equivalent" // only harmless differences (see Normalizations)
	ImageDifferent  = "different"  // a content difference
	ImageIncomplete = "incomplete" // a limit was reached or a side could not be read
	ImageMissing    = "missing"    // the platform is in A only
	ImageExtra      = "extra"      // the platform is in B only
)

// ImagePlatform is the comparison of the two images of one platform.
type ImagePlatform struct {
	Platform string `json:"platform"`
	// Verdict is one of the Image* verdicts.
	Verdict string `json:"verdict"`
	// A and B are the two images; nil for the side a platform is
	// missing from.
	A *ImageManifest `json:"a,omitempty"`
	B *ImageManifest `json:"b,omitempty"`
	// Layers pairs the layers by position.
	Layers []ImageLayerPair `json:"layers"`
	// Squashed is the comparison of the final filesystems, nil when it
	// was not made.
	Squashed *SquashedView `json:"squashed,omitempty"`
	// Normalizations name, for an equivalent image, each kind of harmless
	// difference found and what it hid: config-timestamps,
	// build-records, layer-mtimes, layer-compression, layer-tar-encoding.
	Normalizations []ImageNormalization `json:"normalizations,omitempty"`
	// Differences counts the differences of this platform in
	// Result.Differences.
	Differences int `json:"differences"`
}

// ImageManifest is one side's image of a platform.
type ImageManifest struct {
	// Digest is the manifest's digest; empty for a docker archive.
	Digest       string       `json:"digest,omitempty"`
	MediaType    string       `json:"media_type"`
	ConfigDigest string       `json:"config_digest"`
	Layers       []ImageLayer `json:"layers"`
}

// ImageLayer is one layer of an image.
type ImageLayer struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
	// Compression is none, gzip or zstd, as the media type says.
	Compression string `json:"compression"`
	DiffID      string `json:"diff_id"`
}

// Layer pair statuses.
const (
	LayerIdentical    = "identical"    // the same blob
	LayerRecompressed = "recompressed" // the same tar (diff_id), compressed differently
	LayerDifferent    = "different"    // the tars differ (see the differences under layers/N)
	LayerMissing      = "missing"      // only A has a layer at this position
	LayerExtra        = "extra"        // only B has one
	LayerNotOpened    = "not-opened"   // the layer counts differ: see the squashed view
)

// ImageLayerPair is the comparison of the layers at one position
// (1-based).
type ImageLayerPair struct {
	Position int    `json:"position"`
	Status   string `json:"status"`
}

// SquashedView is the comparison of the filesystems a container of each
// image sees: every layer applied in order, with OCI whiteouts (.wh.NAME)
// and opaque directories (.wh..wh..opq).
type SquashedView struct {
	// Reason says why it was made ("the layer counts differ: 1 → 3").
	Reason string `json:"reason"`
	// EntriesA and EntriesB count the entries of each filesystem.
	EntriesA int64 `json:"entries_a"`
	EntriesB int64 `json:"entries_b"`
	// Equal is set when the filesystems have no difference at all, and
	// Differences counts those under "squashed".
	Equal       bool `json:"equal"`
	Differences int  `json:"differences"`
	// Notes are what a reader must know about the view (a hardlink whose
	// target a later layer replaced).
	Notes []string `json:"notes,omitempty"`
}

// ImageNormalization is one named kind of harmless difference between
// two images and what it hid.
type ImageNormalization struct {
	Name string `json:"name"`
	// Hid lists examples of what it hid ("config/created: 2024-… → 2025-…").
	Hid []string `json:"hid"`
	// Count is the number of differences it hid.
	Count int `json:"count"`
}
