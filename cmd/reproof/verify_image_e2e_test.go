package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/attest"
	fx "github.com/reproof/reproof/fixtures"
)

// imageVerifyE2E are the image variants `reproof verify` runs on end to
// end (a real rebuild with runc) for each shape: the faithful image and
// one tampered variant; every variant with REPROOF_TEST_ALL=1 (make
// test-all). verify.TestImageFixturesJudged judges every variant
// in-process either way.
var imageVerifyE2E = map[fx.Shape]fx.ImageVariant{
	fx.Nimbus:    fx.ImageChangedFile,
	fx.Garage:    fx.ImageChangedEntrypoint,
	fx.Lix:       fx.ImageWhiteout,
	fx.Archlinux: fx.ImageSetuid,
}

// TestVerifyImages runs `reproof verify` on the four shapes with their
// published images: the rebuild makes (Lix) or feeds (the others, whose
// images reproof assembles) the rebuilt image, which must be identical to
// the faithful one and tell the tampered one apart, with the exit code
// and verdict as for files; every report names the image, and its
// attestation's subject is the published digest.
func TestVerifyImages(t *testing.T) {
	env := fx.NewEnv(t)
	for _, shape := range fx.Shapes() {
		variants := []fx.ImageVariant{fx.ImageFaithful, imageVerifyE2E[shape]}
		if os.Getenv("REPROOF_TEST_ALL") != "" {
			variants = fx.ImageVariants()
		}
		for _, v := range variants {
			t.Run(string(shape)+"/"+string(v), func(t *testing.T) {
				f := env.ImageFixture(t, shape, v)
				args := append([]string{"verify", "--runtime", "runc", "--json", "report.json", "--markdown", "report.md",
					"--html", "report.html", "--attestation", "vsa.intoto.jsonl"}, f.VerifyArgs()...)
				r := reproof(t, invocation{dir: f.Dir}, args...)
				if testing.Verbose() {
					t.Logf("reproof %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stdout)
				}
				raw, err := os.ReadFile(filepath.Join(f.Dir, "report.json"))
				if err != nil {
					t.Fatalf("exit %d, no JSON report: %v\n%s", r.code, err, r.stderr)
				}
				var rep struct {
					Verdict   string `json:"verdict"`
					Reason    string `json:"reason"`
					Artifacts []struct {
						Name, Kind, Status, Detail string
						Image                      *struct {
							PublishedDigest string `json:"published_digest"`
							RebuiltDigest   string `json:"rebuilt_digest"`
							Platforms       []struct{ Platform, Verdict string }
						}
					}
				}
				if err := json.Unmarshal(raw, &rep); err != nil {
					t.Fatal(err)
				}
				if r.code != f.Expect.Exit || rep.Verdict != f.Expect.Verdict {
					t.Errorf("%s: exit %d verdict %s (%s), want exit %d verdict %s\nstdout:\n%s\nstderr:\n%s",
						f.Change, r.code, rep.Verdict, rep.Reason, f.Expect.Exit, f.Expect.Verdict, r.stdout, r.stderr)
				}
				digest := ""
				for _, a := range rep.Artifacts {
					if want, ok := f.Expect.Status[a.Name]; ok && a.Status != want {
						t.Errorf("artifact %s: %s (%s), want %s", a.Name, a.Status, a.Detail, want)
					}
					if a.Name == fx.ImageName(shape) {
						if a.Kind != "image" || a.Image == nil || len(a.Image.Platforms) == 0 {
							t.Fatalf("image artifact: %+v", a)
						}
						digest = a.Image.PublishedDigest
						if v == fx.ImageFaithful && a.Image.RebuiltDigest != digest {
							t.Errorf("rebuilt %s, published %s", a.Image.RebuiltDigest, digest)
						}
					}
				}
				for _, name := range []string{"report.md", "report.html"} {
					b, err := os.ReadFile(filepath.Join(f.Dir, name))
					if err != nil || !strings.Contains(string(b), strings.TrimPrefix(f.PublishedImage, "docker://")) || !strings.Contains(string(b), digest) {
						t.Errorf("%s does not name the image %s and its digest %s (%v)", name, f.PublishedImage, digest, err)
					}
				}
				if !strings.Contains(r.stdout, digest) {
					t.Errorf("the text report does not name the digest %s:\n%s", digest, r.stdout)
				}
				checkImageAttestation(t, filepath.Join(f.Dir, "vsa.intoto.jsonl"), strings.TrimPrefix(f.PublishedImage, "docker://"), digest, v == fx.ImageFaithful)
			})
		}
	}
}

// checkImageAttestation finds the image's statement: its subject is the
// published digest, PASSED only for the faithful image.
func checkImageAttestation(t *testing.T, path, name, digest string, pass bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	envs, err := attest.ReadBundle(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		st, err := attest.Open(env)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			ResourceURI        string `json:"resourceUri"`
			VerificationResult string `json:"verificationResult"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			t.Fatal(err)
		}
		if len(st.Subject) != 1 || st.Subject[0].Name != name {
			continue
		}
		if "sha256:"+st.Subject[0].Digest["sha256"] != digest || !strings.HasPrefix(p.ResourceURI, "pkg:oci/") ||
			(p.VerificationResult == "PASSED") != pass {
			t.Errorf("the image's statement: %+v %+v; want digest %s, a pkg:oci resourceUri, passed %v", st.Subject, p, digest, pass)
		}
		return
	}
	t.Errorf("no statement for the image %s", name)
}
