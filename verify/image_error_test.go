package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

// A published image that cannot be read is an error (exit 2), whatever
// the files say; so is a rebuilt artifact that is not an image.
func TestImageErrors(t *testing.T) {
	rebuilt, published := t.TempDir(), t.TempDir()
	for _, d := range []string{rebuilt, published} {
		if err := os.WriteFile(filepath.Join(d, "app"), []byte("app\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rebuilt, "image.tar"), []byte("not a tar"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ published, want string }{
		{"docker://127.0.0.1:1/nothing:1", "the published image could not be read"},
		{"oci:" + published, "the published image could not be read"},
	} {
		text := `[source]
repo = "https://example.org/app.git"
tag = "v1"
[build]
image = "example.org/build@sha256:0000000000000000000000000000000000000000000000000000000000000000"
command = "make"
artifacts = ["dist/*"]
[published]
source = "` + published + `"
[[image]]
name = "img"
published = "` + c.published + `"
artifact = "dist/image.tar"
`
		s, err := spec.Parse("reproof.toml", []byte(text), "")
		if err != nil {
			t.Fatal(err)
		}
		vr, err := verify.Judge(context.Background(), verify.Options{Spec: s, TempDir: t.TempDir(), CacheDir: t.TempDir(),
			Rebuild: rebuild.Options{ImageOptions: rebuild.ImageOptions{Retries: 1}}}, rebuilt, 0)
		if err != nil {
			t.Fatal(err)
		}
		if vr.Verdict != report.VerdictError || vr.ExitCode() != 2 {
			t.Errorf("%s: verdict %s, exit %d; want error, 2", c.published, vr.Verdict, vr.ExitCode())
		}
		for _, a := range vr.Artifacts {
			if a.Name == "img" && (a.Status != report.StatusError || !strings.Contains(a.Detail, c.want)) {
				t.Errorf("%s: %s (%s), want error: %s", c.published, a.Status, a.Detail, c.want)
			}
		}
	}
}
