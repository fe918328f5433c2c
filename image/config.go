package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/reproof/reproof/compare"
)

// What the config's fields are. Timestamps are metadata (mtime); the
// records a builder leaves that no runtime applies (docker's build
// container, its config and docker's version, the parent image id) are
// pax; the platform fields are type; everything else — env, entrypoint,
// cmd, user, workdir, labels, ports, volumes, stop signal, history — is
// content.
func configKind(rel string, changed compare.Kind) compare.Kind {
	segs := strings.Split(rel, "/")
	switch {
	case rel == "created", len(segs) == 3 && segs[0] == "history" && segs[2] == "created":
		return compare.KindMtime
	case rel == "Labels/org.opencontainers.image.created":
		return compare.KindMtime
	case segs[0] == "container", segs[0] == "container_config", segs[0] == "docker_version", rel == "Image":
		return compare.KindPax
	case rel == "architecture", rel == "os", rel == "variant", rel == "os.version", rel == "os.features":
		return compare.KindType
	}
	return changed
}

// configDiffs compares two configs field by field under base.
func configDiffs(rawA, rawB []byte, base string) ([]compare.Difference, error) {
	fa, err := flattenConfig(rawA)
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	fb, err := flattenConfig(rawB)
	if err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	return leafDiffs(fa, fb, base, configKind), nil
}

// leafDiffs compares two flattened documents.
func leafDiffs(fa, fb map[string]string, base string, kind func(string, compare.Kind) compare.Kind) []compare.Difference {
	keys := make([]string, 0, len(fa)+len(fb))
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []compare.Difference
	for _, k := range keys {
		va, inA := fa[k]
		vb, inB := fb[k]
		d := compare.Difference{Path: base + "/" + k, Old: va, New: vb}
		switch {
		case !inB:
			d.Kind, d.Detail = kind(k, compare.KindMissing), fmt.Sprintf("%s in A only (%s)", k, clip(va))
		case !inA:
			d.Kind, d.Detail = kind(k, compare.KindExtra), fmt.Sprintf("%s in B only (%s)", k, clip(vb))
		case va != vb:
			d.Kind, d.Detail = kind(k, compare.KindContent), clip(va)+" → "+clip(vb)
		default:
			continue
		}
		out = append(out, d)
	}
	return out
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// flattenConfig turns a config into leaf paths and values: the runtime
// config's fields ("Env/PATH", "Entrypoint", "Labels/KEY") beside the
// top-level ones ("created", "history/3/created_by"). rootfs.diff_ids are
// left to the layers.
func flattenConfig(raw []byte) (map[string]string, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range doc {
		switch k {
		case "config":
			if err := flattenRuntime(v, "", out); err != nil {
				return nil, err
			}
		case "container_config":
			if err := flattenRuntime(v, k+"/", out); err != nil {
				return nil, err
			}
		case "history":
			var hs []map[string]json.RawMessage
			if err := json.Unmarshal(v, &hs); err != nil {
				return nil, fmt.Errorf("history: %w", err)
			}
			for i, h := range hs {
				out[fmt.Sprintf("history/%d", i+1)] = ""
				for hk, hv := range h {
					out[fmt.Sprintf("history/%d/%s", i+1, hk)] = leaf(hv)
				}
			}
		case "rootfs":
			var r map[string]json.RawMessage
			if err := json.Unmarshal(v, &r); err != nil {
				return nil, fmt.Errorf("rootfs: %w", err)
			}
			for rk, rv := range r {
				if rk != "diff_ids" {
					out["rootfs/"+rk] = leaf(rv)
				}
			}
		default:
			out[k] = leaf(v)
		}
	}
	return out, nil
}

// flattenRuntime flattens the runtime config: Env by variable (and its
// order), Labels, ExposedPorts and Volumes by key, other fields whole.
func flattenRuntime(raw json.RawMessage, prefix string, out map[string]string) error {
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%sconfig: %w", prefix, err)
	}
	for k, v := range c {
		switch k {
		case "Env":
			var env []string
			if err := json.Unmarshal(v, &env); err != nil {
				return fmt.Errorf("env: %w", err)
			}
			var names []string
			for _, e := range env {
				name, val, _ := strings.Cut(e, "=")
				out[prefix+"Env/"+name] = val
				names = append(names, name)
			}
			out[prefix+"Env"] = "order: " + strings.Join(names, " ")
		case "Labels", "ExposedPorts", "Volumes":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			for mk, mv := range m {
				out[prefix+k+"/"+mk] = leaf(mv)
			}
		default:
			if s := leaf(v); s != "null" {
				out[prefix+k] = s
			}
		}
	}
	return nil
}

// leaf renders a JSON value: strings bare, anything else compact JSON.
func leaf(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return string(v)
	}
	return buf.String()
}

// manifestDiffs compares what the manifests say beyond their layers and
// config: the media types, annotations, artifact type and subject. A
// docker archive has no manifest to compare.
func manifestDiffs(a, b *Image, prefix string) []compare.Difference {
	if a.MediaType == mediaTypeDockerArchive || b.MediaType == mediaTypeDockerArchive {
		return nil
	}
	var out []compare.Difference
	p := prefix + "manifest"
	if a.MediaType != b.MediaType {
		out = append(out, compare.Difference{Path: p, Kind: compare.KindType, Old: string(a.MediaType), New: string(b.MediaType),
			Detail: fmt.Sprintf("%s → %s", a.MediaType, b.MediaType)})
	}
	if a.Manifest.Config.MediaType != b.Manifest.Config.MediaType {
		out = append(out, compare.Difference{Path: p + "/config", Kind: compare.KindType, Old: string(a.Manifest.Config.MediaType),
			New: string(b.Manifest.Config.MediaType), Detail: fmt.Sprintf("config %s → %s", a.Manifest.Config.MediaType, b.Manifest.Config.MediaType)})
	}
	fa, fb := manifestLeaves(a), manifestLeaves(b)
	out = append(out, leafDiffs(fa, fb, p, annotationKind)...)
	return out
}

func manifestLeaves(img *Image) map[string]string {
	out := map[string]string{}
	for k, v := range img.Manifest.Annotations {
		out["annotations/"+k] = v
	}
	if img.Manifest.Subject != nil {
		out["subject"] = img.Manifest.Subject.Digest.String()
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
	}
	json.Unmarshal(img.RawManifest, &m)
	if m.ArtifactType != "" {
		out["artifactType"] = m.ArtifactType
	}
	return out
}

// annotationKind: the OCI created annotation is a timestamp; every other
// annotation is content.
func annotationKind(rel string, changed compare.Kind) compare.Kind {
	if rel == "annotations/org.opencontainers.image.created" {
		return compare.KindMtime
	}
	return changed
}

// indexDiffs compares two indexes' own fields (their platforms are
// compared one by one).
func (c *comparer) indexDiffs(a, b *Source) {
	if a.index == nil || b.index == nil || a.Digest == b.Digest {
		return
	}
	if a.MediaType != b.MediaType {
		c.add(compare.Difference{Path: "index", Kind: compare.KindType, Old: string(a.MediaType), New: string(b.MediaType),
			Detail: fmt.Sprintf("%s → %s", a.MediaType, b.MediaType)})
	}
	fa, fb := map[string]string{}, map[string]string{}
	for k, v := range a.index.Annotations {
		fa["annotations/"+k] = v
	}
	for k, v := range b.index.Annotations {
		fb["annotations/"+k] = v
	}
	c.add(leafDiffs(fa, fb, "index", annotationKind)...)
}
