package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
)

const (
	imageIndexHex = "1111111111111111111111111111111111111111111111111111111111111111"
	imageAmdHex   = "2222222222222222222222222222222222222222222222222222222222222222"
)

// imageVerification is a verification whose one artifact is a published
// two-platform image, identical to the rebuilt one.
func imageVerification() *Verification {
	ref := "docker://registry.example/org/app:1.0"
	man := &compare.ImageManifest{Digest: "sha256:" + imageAmdHex, MediaType: "application/vnd.oci.image.manifest.v1+json",
		ConfigDigest: "sha256:" + strings.Repeat("3", 64),
		Layers:       []compare.ImageLayer{{Digest: "sha256:" + strings.Repeat("4", 64), Compression: "gzip"}}}
	return &Verification{
		Schema: VerifySchema, Verdict: VerdictReproducible, Reason: "1 artifact identical bit for bit", Timestamp: "2024-01-01T00:00:00Z",
		Source:    SourceInfo{Repo: "https://example.org/app.git", Tag: "v1.0", Commit: strings.Repeat("a", 40)},
		Published: Published{Source: "https://example.org/releases/v1.0", Manifests: []Manifest{}, Files: []File{}},
		Artifacts: []Artifact{{
			Name: "app", Kind: "image", Status: StatusIdentical, ComparedBy: "image",
			Detail:    "the same digest sha256:" + imageIndexHex,
			Published: &FileDigest{Name: ref, SHA256: imageIndexHex},
			Rebuilt:   &FileDigest{Name: "oci:rebuilt/images/app", SHA256: imageIndexHex},
			Image: &ImageArtifact{Published: ref, PublishedDigest: "sha256:" + imageIndexHex, PublishedType: "application/vnd.oci.image.index.v1+json",
				RebuiltBy: "assemble", Base: "scratch", Rebuilt: "oci:rebuilt/images/app", RebuiltDigest: "sha256:" + imageIndexHex,
				Platforms: []compare.ImagePlatform{
					{Platform: "linux/amd64", Verdict: compare.ImageIdentical, A: man, B: man, Layers: []compare.ImageLayerPair{{Position: 1, Status: compare.LayerIdentical}}},
					{Platform: "linux/arm64", Verdict: compare.ImageIdentical, A: man, B: man},
				}},
		}},
		Warnings: []string{},
	}
}

// Every report names the image's reference, the digest it resolved to
// and its platforms; the JSON report says its kind.
func TestImageArtifactReports(t *testing.T) {
	v := imageVerification()
	for name, render := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return VerifyText(b, v, TextOptions{}) },
		"markdown": func(b *bytes.Buffer) error { return VerifyMarkdown(b, v) },
		"html":     func(b *bytes.Buffer) error { return VerifyHTML(b, v) },
		"json":     func(b *bytes.Buffer) error { return VerifyJSON(b, v) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := b.String()
		for _, want := range []string{"registry.example/org/app:1.0", imageIndexHex, "linux/amd64", "linux/arm64"} {
			if !strings.Contains(out, want) {
				t.Errorf("the %s report does not name %q", name, want)
			}
		}
		if name == "json" && !strings.Contains(out, `"kind": "image"`) {
			t.Errorf("the JSON report does not say the artifact is an image:\n%s", out)
		}
	}
}

// The attestation's subject of an image is its manifest (here index)
// digest, its resourceUri the image's pkg:oci purl.
func TestImageAttestationSubject(t *testing.T) {
	sts, err := VSAStatements(imageVerification(), AttestationOptions{Policy: ResourceDescriptor{Digest: map[string]string{"sha256": imageAmdHex}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 {
		t.Fatalf("%d statements, want 1", len(sts))
	}
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate map[string]json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(sts[0], &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Subject) != 1 || st.Subject[0].Name != "registry.example/org/app:1.0" || st.Subject[0].Digest["sha256"] != imageIndexHex {
		t.Errorf("subject = %+v, want registry.example/org/app:1.0 sha256:%s", st.Subject, imageIndexHex)
	}
	var uri, result string
	if err := json.Unmarshal(st.Predicate["resourceUri"], &uri); err != nil {
		t.Fatalf("resourceUri: %v", err)
	}
	if err := json.Unmarshal(st.Predicate["verificationResult"], &result); err != nil {
		t.Fatalf("verificationResult: %v", err)
	}
	want := "pkg:oci/app@sha256:" + imageIndexHex + "?repository_url=registry.example%2Forg%2Fapp&tag=1.0"
	if uri != want || result != "PASSED" {
		t.Errorf("resourceUri %q, result %q; want %q, PASSED", uri, result, want)
	}
	if !bytes.Contains(sts[0], []byte(`"published_image":{"reference":"docker://registry.example/org/app:1.0"`)) {
		t.Errorf("the extension does not describe the image: %s", sts[0])
	}
}
