package spec_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/reproof/reproof/spec"
)

// The template parses as it is and is complete enough for verify.
func TestTemplateParses(t *testing.T) {
	s, err := spec.Parse("reproof.toml", spec.Template(), "")
	if err != nil {
		t.Fatalf("Parse(Template()) = %v", err)
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Errorf("Validate(NeedVerify) = %v", err)
	}
	if !strings.Contains(string(spec.Template()), "REPLACE THE PLACEHOLDERS") {
		t.Error("the template does not tell the user to replace its placeholders")
	}
}

var commentedField = regexp.MustCompile(`(?m)^# ((?:[a-z_]+ = |\[\[).*)$`)

// With every example field uncommented, the template still parses, and
// the commented-out fields show the defaults.
func TestTemplateExamplesParse(t *testing.T) {
	full := commentedField.ReplaceAllString(string(spec.Template()), "$1")
	s, err := spec.Parse("reproof.toml", []byte(full), "")
	if err != nil {
		t.Fatalf("Parse(uncommented template) = %v\n%s", err, full)
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Errorf("Validate(NeedVerify) = %v", err)
	}
	d := spec.Default()
	if s.Build.AllowUnpinned || s.Build.Network || s.Compare.AcceptNormalized ||
		s.Build.Platform != d.Build.Platform || s.Build.Runtime != d.Build.Runtime || s.Build.Timeout != d.Build.Timeout ||
		s.Build.Out != d.Build.Out || !reflect.DeepEqual(s.Compare.Passes, d.Compare.Passes) || s.Compare.MaxDepth != d.Compare.MaxDepth {
		t.Errorf("the template's commented-out values are not the defaults: %+v", s)
	}
	if len(s.Members) != 1 || len(s.Skips) != 1 || s.Source.Commit == "" || s.Source.SourceDateEpoch == nil ||
		len(s.Build.Env) == 0 || s.Build.User == nil || len(s.Published.Checksums) == 0 || s.Published.Keyring == "" {
		t.Errorf("an example field is missing from the template: %+v", s)
	}
}

// The template and docs/spec.md name every key and every flag.
func TestTemplateAndDocsNameEveryField(t *testing.T) {
	docs, err := os.ReadFile("../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := string(spec.Template())
	for _, f := range spec.Flags() {
		table, key, dotted := strings.Cut(f.Key, ".")
		if !dotted {
			key = ""
		}
		if key != "" && !regexp.MustCompile(`(?m)^(# )?`+key+` = `).MatchString(tmpl) {
			t.Errorf("the template has no %s", f.Key)
		}
		if !strings.Contains(tmpl, "[--"+f.Name) {
			t.Errorf("the template does not name --%s", f.Name)
		}
		if !strings.Contains(string(docs), "`--"+f.Name) {
			t.Errorf("docs/spec.md does not name --%s", f.Name)
		}
		if key != "" && !strings.Contains(string(docs), "### `"+key+"`") {
			t.Errorf("docs/spec.md has no section for %s.%s", table, key)
		}
	}
}
