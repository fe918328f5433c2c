package spec_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/spec"
)

const imageBase = `[source]
repo = "https://example.org/app.git"
tag = "v1"
[build]
image = "example.org/build@sha256:0000000000000000000000000000000000000000000000000000000000000000"
command = "make"
artifacts = ["dist/*", "out/image.tar"]
[published]
source = "https://example.org/releases"
`

const pinnedBase = "example.org/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// The three ways to make the rebuilt image parse into what they say.
func TestParseImages(t *testing.T) {
	text := imageBase + `
[[image]]
published = "docker://registry.example/org/app:1.0"
base = "` + pinnedBase + `"
platforms = ["linux/amd64", "linux/arm64"]
add = [
  {src = "dist/app", dest = "/usr/bin/app", mode = "0755", chown = "1000:1000"},
  {src = "dist/root.tar.zst", dest = "/", platform = "linux/arm64"},
]
env = ["LANG=C.UTF-8"]
entrypoint = ["/usr/bin/app"]
cmd = []
labels = {"org.opencontainers.image.version" = "1.0"}
workdir = "/srv"
user = "app"
expose = ["8080", "53/udp"]

[[image]]
name = "nix"
published = "docker://registry.example/org/app-nix@sha256:2222222222222222222222222222222222222222222222222222222222222222"
artifact = "out/image.tar"

[[image]]
published = "oci-archive:published/app.tar"
dockerfile = "dist/Dockerfile"
`
	s, err := spec.Parse("reproof.toml", []byte(text), "/spec")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 3 {
		t.Fatalf("%d images, want 3", len(s.Images))
	}
	a := s.Images[0]
	want := spec.Image{
		Published: "docker://registry.example/org/app:1.0", Base: pinnedBase, Platforms: []string{"linux/amd64", "linux/arm64"},
		Add: []spec.ImageAdd{
			{Src: "dist/app", Dest: "/usr/bin/app", Mode: "0755", Chown: "1000:1000"},
			{Src: "dist/root.tar.zst", Dest: "/", Unpack: true, Platform: "linux/arm64"},
		},
		Env: []string{"LANG=C.UTF-8"}, Entrypoint: []string{"/usr/bin/app"}, Cmd: []string{}, EntrypointSet: true, CmdSet: true,
		Labels: map[string]string{"org.opencontainers.image.version": "1.0"}, WorkingDir: "/srv", User: "app",
		ExposedPorts: []string{"8080/tcp", "53/udp"},
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("image 1 = %+v\nwant %+v", a, want)
	}
	if a.Mode() != "assemble" || s.Images[1].Mode() != "artifact" || s.Images[2].Mode() != "dockerfile" {
		t.Errorf("modes %q %q %q", a.Mode(), s.Images[1].Mode(), s.Images[2].Mode())
	}
	if got := s.Images[2].Published; got != "oci-archive:/spec/published/app.tar" {
		t.Errorf("a local published image is not resolved against the spec's directory: %q", got)
	}
	if a.DisplayName() != "registry.example/org/app:1.0" || s.Images[1].DisplayName() != "nix" {
		t.Errorf("names %q %q", a.DisplayName(), s.Images[1].DisplayName())
	}
	// The canonical form reads back to the same images.
	c, err := s.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := spec.Parse("canonical.toml", c, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, c)
	}
	if !reflect.DeepEqual(back.Images, s.Images) {
		t.Errorf("canonical round trip:\n%+v\nwant\n%+v\n%s", back.Images, s.Images, c)
	}
}

func TestParseImageErrors(t *testing.T) {
	for _, c := range []struct{ image, want string }{
		{`published = "docker://r.example/a:1"`, `image #1: say how the rebuilt image is made`},
		{`base = "scratch"`, `image #1: missing "published"`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "example.org/debian:12"`, `image #1: base: "example.org/debian:12" is not pinned by digest`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `artifact = "out/image.tar"`, `image #1: artifact and base: give one of them`},
		{`published = "docker://r.example/a:1"` + "\n" + `artifact = "out/image.tar"` + "\n" + `entrypoint = ["/x"]`, `image #1: entrypoint: only an assembled image (base = …) takes entrypoint`},
		{`published = "docker://r.example/a:1"` + "\n" + `artifact = "out/other.tar"`, `is not matched by build.artifacts`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `add = [{src = "dist/a", dest = "usr/bin/a"}]`, `dest: "usr/bin/a" is not an absolute path`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `add = [{src = "dist/a", dest = "/a", owner = "0:0"}]`, `unknown key`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `add = [{src = "../a", dest = "/a"}]`, `without a .. component`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `expose = ["http"]`, `"http" is not a port`},
		{`published = "registry.example/a:1"` + "\n" + `base = "scratch"`, `is not an image reference`},
		{`published = "docker://r.example/a:1"` + "\n" + `base = "scratch"` + "\n" + `entrypiont = []`, `unknown key (did you mean "entrypoint"?)`},
	} {
		_, err := spec.Parse("reproof.toml", []byte(imageBase+"\n[[image]]\n"+c.image+"\n"), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.image, err, c.want)
		}
	}
}

// --published-image REF=ARTIFACT is an image of its own; a bare REF takes
// the spec's one recipe.
func TestPublishedImageFlag(t *testing.T) {
	s, err := spec.Parse("reproof.toml", []byte(imageBase+"\n[[image]]\npublished = \"docker://r.example/a:1\"\nbase = \"scratch\"\ncmd = [\"/x\"]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetFlag("published-image", "docker://r.example/a:2"); err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 1 || s.Images[0].Published != "docker://r.example/a:2" || s.Images[0].Base != "scratch" || !s.Images[0].CmdSet {
		t.Errorf("a bare REF: %+v", s.Images)
	}
	if err := s.SetFlag("published-image", "docker://r.example/b:1=out/image.tar", "docker://r.example/c:1=out/image.tar"); err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 2 || s.Images[1].Artifact != "out/image.tar" || s.Images[1].Published != "docker://r.example/c:1" {
		t.Errorf("REF=ARTIFACT: %+v", s.Images)
	}
	for _, bad := range []string{"docker://r.example/b:1", "r.example/b:1=out/image.tar", "docker://r.example/b:1=/abs"} {
		if err := s.SetFlag("published-image", bad); err == nil {
			t.Errorf("--published-image %s accepted", bad)
		}
	}
}

// The template and docs/spec.md name every key of [[image]].
func TestImageKeysDocumented(t *testing.T) {
	docs, err := os.ReadFile("../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(spec.Template())
	for _, k := range spec.ImageKeys() {
		if !regexp.MustCompile(`(?m)^#\s+` + k + ` = `).MatchString(tmpl) {
			t.Errorf("the template shows no image key %s", k)
		}
		if !strings.Contains(string(docs), "| `"+k+"` |") {
			t.Errorf("docs/spec.md's [[image]] table has no %s", k)
		}
	}
}
