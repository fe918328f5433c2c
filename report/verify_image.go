package report

import (
	"fmt"
	"strings"

	"github.com/reproof/reproof/compare"
)

// comparedByImage explains how an image artifact was compared.
const comparedByImage = "image: the manifests' digests, then per platform the config, the layers by position through the archive engine and, when the layer boundaries differ, the squashed filesystems (docs/images.md)"

// verifyImageLines describe an image artifact in plain lines for every
// human report: the published reference and what it resolved to, how the
// rebuilt image was made, and per platform its verdict, both manifests
// and the layers side by side. Nil for a file.
func verifyImageLines(a Artifact) []string {
	im := a.Image
	if im == nil {
		return nil
	}
	text := func(s string) string { return visible(s, false) }
	how := "tag resolved to"
	if im.Pinned {
		how = "pinned"
	}
	pub := "published image " + text(im.Published)
	if im.PublishedDigest != "" {
		pub += fmt.Sprintf(" (%s %s", how, text(im.PublishedDigest))
		if im.PublishedType != "" {
			pub += ", " + text(im.PublishedType)
		}
		pub += ")"
	}
	out := []string{pub}
	if im.TagDigest != "" {
		out = append(out, "its tag now resolves to "+text(im.TagDigest))
	}
	reb := "rebuilt image: " + rebuiltByPhrase(im)
	if im.Rebuilt != "" {
		reb += ", " + text(im.Rebuilt)
	}
	if im.RebuiltDigest != "" {
		reb += " (" + text(im.RebuiltDigest) + ")"
	}
	out = append(out, reb)
	for _, p := range im.Platforms {
		out = append(out, platformLines(p)...)
	}
	return out
}

func rebuiltByPhrase(im *ImageArtifact) string {
	switch im.RebuiltBy {
	case "artifact":
		return "written by the build"
	case "assemble":
		return "assembled by reproof on " + visible(im.Base, false)
	case "dockerfile":
		return "built by buildah from the Dockerfile"
	}
	return visible(im.RebuiltBy, false)
}

// platformLines are one platform's verdict, its manifests (A published,
// B rebuilt) and layers.
func platformLines(p compare.ImagePlatform) []string {
	text := func(s string) string { return visible(s, false) }
	out := []string{fmt.Sprintf("platform %s: %s", text(p.Platform), text(p.Verdict))}
	for i, m := range []*compare.ImageManifest{p.A, p.B} {
		if m == nil {
			continue
		}
		side := []string{"published", "rebuilt"}[i]
		desc := make([]string, len(m.Layers))
		for j, l := range m.Layers {
			desc[j] = fmt.Sprintf("%s %s", short(l.Digest), text(l.Compression))
		}
		digest := "no manifest"
		if m.Digest != "" {
			digest = "manifest " + short(m.Digest)
		}
		out = append(out, fmt.Sprintf("  %s: %s, config %s, %s: %s", side, digest, short(m.ConfigDigest),
			plural64(int64(len(m.Layers)), "layer", "layers"), strings.Join(desc, ", ")))
	}
	if len(p.Layers) > 0 {
		parts := make([]string, len(p.Layers))
		for i, l := range p.Layers {
			parts[i] = fmt.Sprintf("%d %s", l.Position, text(l.Status))
		}
		out = append(out, "  layers by position: "+strings.Join(parts, ", "))
	}
	if sv := p.Squashed; sv != nil {
		state := "equal"
		if !sv.Equal {
			state = plural64(int64(sv.Differences), "difference", "differences")
		}
		out = append(out, fmt.Sprintf("  squashed filesystems: %s (%s)", state, text(sv.Reason)))
	}
	return out
}
