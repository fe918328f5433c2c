package mountinfo

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:         "/plain",
		`/a\040b\011c`:   "/a b\tc",
		`/back\134slash`: `/back\slash`,
		`/not\9octal\04`: `/not\9octal\04`,
		`/trailing\`:     `/trailing\`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// Under finds /proc, through a symlink to it too, and nothing under a
// directory where nothing is mounted.
func TestUnder(t *testing.T) {
	points, err := Under("/proc")
	if err != nil || !slices.Contains(points, "/proc") {
		t.Fatalf("Under(/proc) = %q, %v; want /proc in it", points, err)
	}
	for i := 1; i < len(points); i++ {
		if len(points[i]) > len(points[i-1]) {
			t.Errorf("Under(/proc) = %q: not deepest first", points)
		}
	}
	link := filepath.Join(t.TempDir(), "proc")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	if via, err := Under(link); err != nil || !slices.Equal(via, points) {
		t.Errorf("Under(%s) = %q, %v; want %q", link, via, err, points)
	}
	if none, err := Under(t.TempDir()); err != nil || len(none) != 0 {
		t.Errorf("Under(an empty directory) = %q, %v", none, err)
	}
}
