package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	fx "github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/internal/testenv"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
	"github.com/reproof/reproof/verify"
)

// TestDockerfileImage builds a Dockerfile with RUN steps with buildah
// twice, as the publisher and as verify's [[image]] dockerfile = …: the
// same pinned base, artifacts and epoch give the same image, identical;
// the image built from another epoch is not.
func TestDockerfileImage(t *testing.T) {
	testenv.RequireTools(t, "buildah")
	env := fx.NewEnv(t)
	const epoch = 1700000000
	rebuilt := t.TempDir()
	files := map[string]string{
		"app": "#!/bin/sh\necho app\n",
		"Dockerfile": "FROM " + env.Images.Busybox.Ref + "\nCOPY app /usr/bin/app\n" +
			"RUN chmod 0750 /usr/bin/app && echo built >/etc/built\nENV APP_HOME=/srv\nENTRYPOINT [\"/usr/bin/app\"]\n",
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(rebuilt, n), []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	publish := func(tag string, epoch int64) string {
		out := filepath.Join(t.TempDir(), "published.oci.tar")
		start := time.Now()
		if err := verify.BuildDockerfile(ctx, verify.DockerfileBuild{Dockerfile: filepath.Join(rebuilt, "Dockerfile"), Context: rebuilt,
			Out: out, Epoch: epoch, Platforms: []string{"linux/amd64"}, TempDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		t.Logf("buildah built the image in %s", time.Since(start).Round(time.Millisecond))
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := fx.ImageFromOCIArchive(data, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ref := env.Registry + "/reproof-buildah/app:" + tag
		if err := (&verify.Assembled{Image: img}).Push(ctx, ref, rebuild.ImageOptions{}); err != nil {
			t.Fatal(err)
		}
		return "docker://" + ref
	}
	published := t.TempDir()
	if err := os.WriteFile(filepath.Join(published, "app"), []byte(files["app"]), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tag   string
		epoch int64
		want  report.Status
	}{
		{"same", epoch, report.StatusIdentical},
		{"other-epoch", epoch + 86400, report.StatusEquivalent},
	} {
		ref := publish(c.tag, c.epoch)
		text := `[source]
repo = "https://example.org/app.git"
tag = "v1"
[build]
image = "` + env.Images.Busybox.Ref + `"
command = "make"
artifacts = ["dist/*"]
[published]
source = "` + published + `"
[[image]]
name = "app-image"
published = "` + ref + `"
dockerfile = "dist/Dockerfile"
`
		s, err := spec.Parse("reproof.toml", []byte(text), "")
		if err != nil {
			t.Fatal(err)
		}
		vr, err := verify.Judge(ctx, verify.Options{Spec: s, TempDir: t.TempDir(), CacheDir: t.TempDir()}, rebuilt, epoch)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range vr.Artifacts {
			if a.Name == "app-image" {
				if a.Status != c.want {
					t.Errorf("%s: %s (%s), want %s", c.tag, a.Status, a.Detail, c.want)
				}
				t.Logf("%s: %s: %s", c.tag, a.Status, a.Detail)
			}
		}
	}
}
