package spec_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/spec"
)

// spec keeps its own list of pass names so that it imports nothing of
// reproof; it must be archive's.
func TestPassNamesMirrorArchive(t *testing.T) {
	var names []string
	for _, p := range archive.Passes {
		names = append(names, p.Name)
	}
	if !slices.Equal(spec.PassNames, names) {
		t.Errorf("spec.PassNames = %v\narchive.Passes = %v", spec.PassNames, names)
	}
}

// compare.passes means what archive.ParsePasses makes of the same items.
func TestEnabledPassesMirrorArchive(t *testing.T) {
	lists := [][]string{
		{"all"}, {"none"}, {"tar-order"}, {"-tar-mtime"}, {"-tar-mtime", "-zip-time"},
		{"none", "tar-order", "gzip-header"}, {"tar-order", "all", "-ar-header"}, {"all", "none", "zip-extra"},
		{"tar-order", "-tar-order"}, {"gzip-header", "tar-order"},
	}
	for _, items := range lists {
		s := spec.Default()
		if err := s.SetFlag("passes", items...); err != nil {
			t.Fatalf("SetFlag(passes, %q) = %v", items, err)
		}
		set, err := archive.ParsePasses(strings.Join(s.Compare.Passes, ","))
		if err != nil {
			t.Fatalf("archive.ParsePasses(%q) = %v", items, err)
		}
		if got, want := s.Compare.EnabledPasses(), set.Names(); !slices.Equal(got, want) {
			t.Errorf("EnabledPasses(%q) = %v, archive says %v", items, got, want)
		}
		again, err := archive.ParsePasses(s.Compare.PassList())
		if err != nil || again.String() != set.String() {
			t.Errorf("archive.ParsePasses(PassList() = %q) = %v, %v; want %v", s.Compare.PassList(), again, err, set)
		}
	}
}

// published.source accepts the URL and prefix forms release.NewSource
// accepts, and refuses those it refuses. (Directories are checked when
// they are opened, not here.)
func TestPublishedSourceMirrorsRelease(t *testing.T) {
	sources := []string{
		"github:status-im/nimbus-eth2@v24.1.0", "github:o/r@pkg@1.0", "github:o/r", "github:o@v1", "github:o/r/x@v1",
		"github:/r@v1", "github:o/r@", "gitlab:g/p@v1", "gitlab:g/sub/p@v1", "gitlab:12345@v1", "gitlab:g//p@v1",
		"gitlab:@v1", "https://example.org/r/", "http://127.0.0.1:8080/", "https:///x", "https://example.org/#x",
		"https://u:p@example.org/", "file:///srv/r", "file://localhost/srv/r", "file://host/srv", "ftp://x/y",
		"HTTPS://example.org/", "s3://bucket/x", "github:o/r@v1\x01",
	}
	for _, src := range sources {
		_, relErr := release.NewSource(src, release.SourceOptions{})
		if strings.HasPrefix(src, "file://") && relErr != nil && strings.Contains(relErr.Error(), "no such file") {
			relErr = nil // a well-formed URL of a directory that is not here
		}
		specErr := spec.Default().SetFlag("published", src)
		if (relErr == nil) != (specErr == nil) {
			t.Errorf("%q: release.NewSource = %v, spec = %v", src, relErr, specErr)
		}
	}
}
