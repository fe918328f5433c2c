package report

import (
	"path"
	"strings"

	"github.com/package-url/packageurl-go"
)

// vsaPublishedImage is what an image's statement says of it besides its
// subject: the reference as the spec gives it, the digest it resolved to
// (the subject's), how the rebuilt image was made and each platform's
// verdict.
type vsaPublishedImage struct {
	Reference string        `json:"reference"`
	Digest    string        `json:"digest"`
	Pinned    bool          `json:"pinned"`
	RebuiltBy string        `json:"rebuilt_by"`
	Rebuilt   string        `json:"rebuilt_digest,omitempty"`
	Platforms []vsaPlatform `json:"platforms,omitempty"`
}

type vsaPlatform struct {
	Platform  string `json:"platform"`
	Verdict   string `json:"verdict"`
	Published string `json:"published_manifest,omitempty"`
	Rebuilt   string `json:"rebuilt_manifest,omitempty"`
}

func vsaImageOf(im *ImageArtifact) *vsaPublishedImage {
	out := &vsaPublishedImage{Reference: im.Published, Digest: im.PublishedDigest, Pinned: im.Pinned,
		RebuiltBy: im.RebuiltBy, Rebuilt: im.RebuiltDigest}
	for _, p := range im.Platforms {
		vp := vsaPlatform{Platform: p.Platform, Verdict: p.Verdict}
		if p.A != nil {
			vp.Published = p.A.Digest
		}
		if p.B != nil {
			vp.Rebuilt = p.B.Digest
		}
		out.Platforms = append(out.Platforms, vp)
	}
	return out
}

// imageSubjectName is the subject's name of an image: its reference
// without the transport (REGISTRY/REPO:TAG, or the local path); the
// subject's digest is the manifest's (or the index's) the reference
// resolved to.
func imageSubjectName(im *ImageArtifact) string {
	ref := im.Published
	if rest, ok := strings.CutPrefix(ref, "docker://"); ok {
		return rest
	}
	return ref
}

// imageResourceURI is the pkg:oci purl of a published image
// (pkg:oci/NAME@sha256%3AHEX?repository_url=REGISTRY/REPO&tag=TAG), for a
// registry image; for a local one, its reference as given.
func imageResourceURI(im *ImageArtifact, hex string) string {
	rest, ok := strings.CutPrefix(im.Published, "docker://")
	if !ok || hex == "" {
		return im.Published
	}
	repo, _, _ := strings.Cut(rest, "@")
	tag := ""
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo, tag = repo[:i], repo[i+1:]
	}
	q := packageurl.Qualifiers{{Key: "repository_url", Value: repo}}
	if tag != "" {
		q = append(q, packageurl.Qualifier{Key: "tag", Value: tag})
	}
	return packageurl.NewPackageURL("oci", "", strings.ToLower(path.Base(repo)), "sha256:"+hex, q, "").ToString()
}
