package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

// TestImageFixturesJudged judges, in-process (verify.Judge: the verdict
// without a rebuild), every shape's published image against the image its
// spec makes from the build's artifacts: the faithful image and the
// retagged one are identical, a recompressed layer is equivalent, every
// other tampered variant fails, and the overall verdict and exit code
// follow as for files.
func TestImageFixturesJudged(t *testing.T) {
	env := fx.NewEnv(t)
	for _, shape := range fx.Shapes() {
		for _, v := range fx.ImageVariants() {
			t.Run(string(shape)+"/"+string(v), func(t *testing.T) {
				start := time.Now()
				f := env.ImageFixture(t, shape, v)
				made := time.Since(start)
				vr := judgeImageFixture(t, f)
				t.Logf("published in %s, judged in %s", made.Round(time.Millisecond), (time.Since(start) - made).Round(time.Millisecond))
				checkImageVerdict(t, f, vr)
				if v == fx.ImageRecompressed {
					// The policy decides: no pass, no equivalence.
					vr := judgeImageFixture(t, f, "passes", "none")
					for _, a := range vr.Artifacts {
						if a.Kind == verify.KindImage && (a.Status != report.StatusDifferent || !strings.Contains(a.Detail, "policy")) {
							t.Errorf("with passes none: %s (%s), want different by the policy", a.Status, a.Detail)
						}
					}
					vr = judgeImageFixture(t, f, "accept-normalized", "true")
					if vr.ExitCode() != 0 {
						t.Errorf("with --accept-normalized: exit %d (%s)", vr.ExitCode(), vr.Reason)
					}
				}
			})
		}
	}
}

// judgeImageFixture judges the fixture with flags given as name, value
// pairs.
func judgeImageFixture(t *testing.T, f *fx.ImageFixture, flags ...string) *report.Verification {
	t.Helper()
	s, err := spec.Load(f.Spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(flags); i += 2 {
		if err := s.SetFlag(flags[i], flags[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vr, err := verify.Judge(ctx, verify.Options{
		Spec:    s,
		Release: release.SourceOptions{GitHubAPI: f.Published.GitHubAPI, GitLabAPI: f.Published.GitLabAPI, Getenv: func(string) string { return "" }},
		TempDir: t.TempDir(), CacheDir: t.TempDir(),
	}, f.RebuiltDir, f.Project.SourceDateEpoch)
	if err != nil {
		t.Fatal(err)
	}
	return vr
}

func checkImageVerdict(t *testing.T, f *fx.ImageFixture, vr *report.Verification) {
	t.Helper()
	if string(vr.Verdict) != f.Expect.Verdict || vr.ExitCode() != f.Expect.Exit {
		t.Errorf("%s: verdict %s (%s), exit %d; want %s, exit %d", f.Change, vr.Verdict, vr.Reason, vr.ExitCode(), f.Expect.Verdict, f.Expect.Exit)
	}
	name := fx.ImageName(f.Project.Shape)
	var img *report.Artifact
	for i, a := range vr.Artifacts {
		if want, ok := f.Expect.Status[a.Name]; ok && string(a.Status) != want {
			t.Errorf("artifact %s: %s (%s), want %s", a.Name, a.Status, a.Detail, want)
		}
		if a.Name == name {
			img = &vr.Artifacts[i]
		}
	}
	if img == nil {
		t.Fatalf("no artifact %s in %+v", name, vr.Artifacts)
	}
	if img.Kind != verify.KindImage || img.Image == nil || img.Image.PublishedDigest == "" || len(img.Image.Platforms) == 0 && img.Status != report.StatusChecksumMismatch {
		t.Errorf("image artifact: %+v", img)
	}
	if img.Status == report.StatusEquivalent && len(img.Normalizations) == 0 {
		t.Errorf("equivalent without a normalization: %+v", img)
	}
	if f.Variant != fx.ImageFaithful && f.Variant != fx.ImageRetagged && f.Variant != fx.ImageRecompressed && vr.Verdict == report.VerdictReproducible {
		t.Errorf("%s passed: %s", f.Change, vr.Reason)
	}
	if img.Status == report.StatusDifferent && !strings.Contains(img.Detail, "/") {
		t.Errorf("a different image's detail names no path: %q", img.Detail)
	}
	t.Logf("%s: %s: %s", name, img.Status, img.Detail)
}
