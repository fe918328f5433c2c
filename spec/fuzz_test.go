package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/spec"
)

// FuzzParse: Parse never panics; it fails with one *spec.Error line that
// starts with the file's name, or returns a spec that validates (missing
// fields aside), the same way every time.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.toml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(spec.Template())
	for _, doc := range []string{
		"[build]\ntimeout = \"2 hours\"\n",
		"[[member]]\nartifact = \"a\"\n[[member]]\nartifact = \"[\"\n",
		"skip = [{artifact = \"a\", reason = \"r\"}]",
		"build = { command = [\"make\"], env = [\"A=1\"] }",
		"[source]\nsource_date_epoch = 2024-01-01T00:00:00Z\n",
		"a = '''x''''\nb = \"\"\"y\\\"\"\"\"\n",
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := spec.Parse("reproof.toml", data, "/base")
		if err != nil {
			var se *spec.Error
			msg := err.Error()
			switch {
			case !errors.As(err, &se):
				t.Fatalf("error %T is not a *spec.Error: %v", err, err)
			case !strings.HasPrefix(msg, "reproof.toml"):
				t.Fatalf("error does not start with the file name: %q", msg)
			case strings.ContainsAny(msg, "\n\r"):
				t.Fatalf("error is not one line: %q", msg)
			case errors.Is(err, spec.ErrMissing):
				t.Fatalf("Parse reported a missing field: %v", err)
			}
			if _, err2 := spec.Parse("reproof.toml", data, "/base"); err2 == nil || err2.Error() != msg {
				t.Fatalf("Parse is not deterministic: %v, then %v", err, err2)
			}
			return
		}
		if err := s.Validate(spec.NeedNone); err != nil {
			t.Fatalf("Parse accepted what Validate refuses: %v", err)
		}
		if err := s.Validate(spec.NeedVerify); err != nil && !errors.Is(err, spec.ErrMissing) {
			t.Fatalf("Validate(NeedVerify) = %v, want nil or ErrMissing", err)
		}
		again, err := spec.Parse("reproof.toml", data, "/base")
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("Parse is not deterministic: %+v, then %+v, %v", s, again, err)
		}
		for _, name := range []string{"a", "build/x", "./a/b.tar.gz", string(data[:min(len(data), 64)])} {
			s.MemberRuleFor(name)
			s.SkipFor(name)
			s.Build.MatchesArtifact(name)
			for _, r := range s.Members {
				r.MatchesMember(name)
			}
		}
		s.Compare.EnabledPasses()
	})
}

// FuzzSetFlag: a flag value is accepted into a spec that validates, or
// refused with an error naming the flag and the spec left as it was.
func FuzzSetFlag(f *testing.F) {
	for _, fl := range spec.Flags() {
		f.Add(fl.Name, "x", "")
	}
	f.Add("timeout", "2 hours", "")
	f.Add("member", "*.tar.gz:build/*", "*.zip")
	f.Add("skip", "*.zip=reason", "*.tar=other")
	f.Add("source-date-epoch", "2024-01-01T00:00:00Z", "")
	f.Add("passes", "tar-order,-tar-mtime", "none")
	f.Fuzz(func(t *testing.T, name, v1, v2 string) {
		s, err := spec.Parse("reproof.toml", spec.Template(), "")
		if err != nil {
			t.Fatal(err)
		}
		before, err := spec.Parse("reproof.toml", spec.Template(), "")
		if err != nil {
			t.Fatal(err)
		}
		values := []string{v1}
		if v2 != "" {
			values = append(values, v2)
		}
		known := slices.ContainsFunc(spec.Flags(), func(f spec.Flag) bool { return f.Name == name })
		if err := s.SetFlag(name, values...); err != nil {
			msg := err.Error()
			if known && !strings.HasPrefix(msg, "--"+name+": ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("SetFlag error %q does not start with --%s or is not one line", msg, name)
			}
			if !reflect.DeepEqual(s, before) {
				t.Fatalf("SetFlag(%q, %q) failed and changed the spec", name, values)
			}
			return
		}
		if err := s.Validate(spec.NeedVerify); err != nil {
			t.Fatalf("SetFlag(%q, %q) accepted what Validate refuses: %v", name, values, err)
		}
	})
}
