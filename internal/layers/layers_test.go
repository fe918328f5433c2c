package layers

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/reproof/reproof/"

// allowed lists, for each package of the module (by its path below the
// module), the packages of the module its non-test files may import.
// "internal/..." stands for the leaf utilities (every internal package but
// testenv, which only tests and fixtures use). A package missing from the
// table fails the test: a new package takes a place in the pipeline on
// purpose.
var allowed = map[string][]string{
	"archive":             {"internal/..."},
	"archive/archivetest": {"archive"},
	"compare":             {"archive", "internal/..."},
	"report":              {"archive", "attest", "compare", "internal/..."},
	"release":             {"internal/..."},
	"rebuild":             {"archive", "attest", "internal/..."},
	// Container images: references, pulling (through rebuild's
	// transport) and comparison with the archive engine.
	"image":  {"archive", "compare", "rebuild", "internal/..."},
	"spec":   {"archive", "internal/..."},
	"verify": {"archive", "attest", "compare", "image", "report", "release", "rebuild", "spec", "internal/..."},
	"check":  {"archive", "compare", "rebuild", "spec", "report", "internal/..."},
	// Signing and DSSE envelopes: a leaf the report, the rebuild and the
	// CLI use.
	"attest":      {"internal/..."},
	"cmd/reproof": {"*"},
	// Test infrastructure and examples: anything but the CLI.
	"fixtures":                           {"*"},
	"fixtures/images":                    {"*"},
	"fixtures/check":                     {"*"},
	"fixtures/cmd/fixture-release":       {"*"},
	"fixtures/images/cmd/fixture-images": {"*"},
	"examples/demo":                      {"*"},
	// Release tooling: assembles the build image from the fixtures' busybox.
	"internal/dist/cmd/reproof-release": {"*"},
	"internal/testenv":                  {"internal/..."},
	"internal/layers":                   {},
}

// leaf packages under internal/ import nothing of ours but each other.
func isLeaf(pkg string) bool {
	return strings.HasPrefix(pkg, "internal/") && pkg != "internal/testenv" && pkg != "internal/layers"
}

func TestImportDirection(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		rules, known := allowed[pkg]
		if !known && isLeaf(pkg) {
			rules, known = []string{"internal/..."}, true
		}
		if !known {
			t.Errorf("package %s is not in the import table of internal/layers: give it its place in the pipeline", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours || slices.Contains(rules, "*") || slices.Contains(rules, dep) {
				continue
			}
			if isLeaf(dep) && slices.Contains(rules, "internal/...") {
				continue
			}
			t.Errorf("%s imports %s: against the pipeline's direction (DESIGN.md; allowed: %q)", pkg, dep, rules)
		}
	}
}
