package report

import (
	"fmt"
	"strings"

	"github.com/reproof/reproof/compare"
)

// imageLines describes a comparison of container images (Result.Image)
// in plain lines, for every human report: what each reference resolved
// to, then per platform its verdict, its layers side by side, the
// squashed view and, for an equivalent image, the normalizations and
// what they hid. Nil when the inputs were not images.
func imageLines(im *compare.ImageSummary) []string {
	if im == nil {
		return nil
	}
	text := func(s string) string { return visible(s, false) }
	var out []string
	for i, s := range []compare.ImageSource{im.A, im.B} {
		how := "tag resolved to"
		if s.Pinned {
			how = "pinned"
		}
		line := fmt.Sprintf("image %s: %s", "AB"[i:i+1], text(s.Reference))
		if s.Digest != "" {
			line += fmt.Sprintf(" (%s %s, %s)", how, text(s.Digest), text(s.MediaType))
		} else {
			line += fmt.Sprintf(" (%s, no manifest)", text(s.MediaType))
		}
		out = append(out, line)
	}
	for _, p := range im.Platforms {
		out = append(out, fmt.Sprintf("platform %s: %s", text(p.Platform), text(p.Verdict)))
		if len(p.Layers) > 0 {
			parts := make([]string, len(p.Layers))
			for i, l := range p.Layers {
				parts[i] = fmt.Sprintf("%d %s", l.Position, text(l.Status))
			}
			out = append(out, "  layers: "+strings.Join(parts, ", "))
		}
		for i, m := range []*compare.ImageManifest{p.A, p.B} {
			if m == nil {
				continue
			}
			desc := make([]string, len(m.Layers))
			for j, l := range m.Layers {
				desc[j] = fmt.Sprintf("%s %s", short(l.Digest), text(l.Compression))
			}
			out = append(out, fmt.Sprintf("  %s: config %s, %s: %s", "AB"[i:i+1], short(m.ConfigDigest),
				plural64(int64(len(m.Layers)), "layer", "layers"), strings.Join(desc, ", ")))
		}
		if sv := p.Squashed; sv != nil {
			state := "equal"
			if !sv.Equal {
				state = plural64(int64(sv.Differences), "difference", "differences")
			}
			out = append(out, fmt.Sprintf("  squashed filesystems: %s (%s entries in A, %s in B; %s)", state,
				formatInt(sv.EntriesA), formatInt(sv.EntriesB), text(sv.Reason)))
			for _, n := range sv.Notes {
				out = append(out, "    note: "+text(n))
			}
		}
		for _, n := range p.Normalizations {
			out = append(out, fmt.Sprintf("  equivalent after %s (%s): %s", text(n.Name), plural64(int64(n.Count), "difference", "differences"),
				text(strings.Join(n.Hid, "; "))))
		}
	}
	return out
}

// short abbreviates a digest for a one-line summary.
func short(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return visible(alg+":"+hex[:12], false)
	}
	return visible(d, false)
}
