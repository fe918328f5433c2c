package spec_test

import (
	"errors"
	"testing"
	"time"

	"github.com/reproof/reproof/spec"
)

func TestValidateMissing(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		need spec.Need
		want string
	}{
		{"nothing needed", "", spec.NeedNone, ""},
		{"rebuild, empty file", "", spec.NeedRebuild,
			"reproof.toml: missing source.repo, source.tag, build.image, build.command and build.artifacts (set them in the file or with --repo, --tag, --image, --command and --artifacts)"},
		{"verify, one missing", `[source]
repo = "."
tag = "v1"
[build]
image = "debian@sha256:` + zeros + `"
command = "make"
artifacts = ["*"]
`, spec.NeedVerify, "reproof.toml: missing published.source (set it in the file or with --published)"},
		{"rebuild does not need published", `[source]
repo = "."
tag = "v1"
[build]
image = "debian@sha256:` + zeros + `"
command = "make"
artifacts = ["*"]
`, spec.NeedRebuild, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spec.Parse("reproof.toml", []byte(tt.doc), "")
			if err != nil {
				t.Fatal(err)
			}
			err = s.Validate(tt.need)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate(%v) = %v, want nil", tt.need, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate(%v) = %v\nwant %s", tt.need, err, tt.want)
			}
			if !errors.Is(err, spec.ErrMissing) {
				t.Errorf("Validate(%v) = %v, want ErrMissing", tt.need, err)
			}
		})
	}
}

func TestValidateWithoutFile(t *testing.T) {
	s := spec.Default()
	for name, value := range map[string]string{"repo": "/src", "image": "debian@sha256:" + zeros, "command": "make"} {
		if err := s.SetFlag(name, value); err != nil {
			t.Fatal(err)
		}
	}
	want := "missing --tag, --artifacts and --published (give them as flags or in a spec file)"
	if err := s.Validate(spec.NeedVerify); err == nil || err.Error() != want {
		t.Errorf("Validate = %v\nwant %s", err, want)
	}
}

// Validate re-checks values a program set directly, not only those that
// came through Parse or SetFlag.
func TestValidateValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *spec.Spec)
		want   string
	}{
		{"zero timeout", func(s *spec.Spec) { s.Build.Timeout = 0 }, `reproof.toml: build.timeout: "0s" is not positive`},
		{"bad tag", func(s *spec.Spec) { s.Source.Tag = "a b" }, `reproof.toml: source.tag: "a b" is not a valid tag name: it holds spaces or control characters`},
		{"no platform", func(s *spec.Spec) { s.Build.Platform = "" }, `reproof.toml: build.platform: "" is not a platform (want os/arch[/variant], such as linux/amd64 or linux/arm/v7)`},
		{"bad epoch", func(s *spec.Spec) { n := int64(-1); s.Source.SourceDateEpoch = &n }, `reproof.toml: source.source_date_epoch: -1 is out of range (0 to 253402300799, the end of year 9999)`},
		{"shell with two args", func(s *spec.Spec) { s.Build.Command = spec.Command{Argv: []string{"a", "b"}, Shell: true} },
			`reproof.toml: build.command: empty; give the build command, such as ["make", "dist"] or "make dist"`},
		{"negative user", func(s *spec.Spec) { s.Build.User = &spec.User{UID: -1} }, `reproof.toml: build.user: -1:0 is out of range (0 to 2147483647)`},
		{"skip without reason", func(s *spec.Spec) { s.Skips = []spec.SkipRule{{Artifact: "x"}} }, `reproof.toml: skip #1: missing "reason": say why the artifact does not reproduce`},
		{"member without artifact", func(s *spec.Spec) { s.Members = []spec.MemberRule{{}} }, `reproof.toml: member #1: missing "artifact", the glob over artifact names the rule is for`},
		{"bad member glob", func(s *spec.Spec) { s.Members = []spec.MemberRule{{Artifact: "a", Members: []string{"{"}}} },
			`reproof.toml: member #1: members: invalid glob "{" (unclosed [ or {, or a trailing \)`},
		{"no passes", func(s *spec.Spec) { s.Compare.Passes = nil }, `reproof.toml: compare.passes: empty list; use ["none"] to allow no normalization, ["all"] for every pass`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := spec.Parse("reproof.toml", nil, "")
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(s)
			err = s.Validate(spec.NeedNone)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	s := spec.Default()
	if s.Build.Platform != "linux/amd64" || s.Build.Runtime != "auto" || s.Build.Timeout != 2*time.Hour ||
		s.Build.Out != "rebuilt" || s.Compare.MaxDepth != 8 || len(s.Compare.Passes) != 1 || s.Compare.Passes[0] != "all" {
		t.Errorf("Default() = %+v", s)
	}
	if err := s.Validate(spec.NeedNone); err != nil {
		t.Errorf("Default().Validate(NeedNone) = %v", err)
	}
	// Each call is a fresh value.
	s.Compare.Passes[0] = "none"
	if spec.Default().Compare.Passes[0] != "all" {
		t.Error("Default() shares its Passes slice between calls")
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
