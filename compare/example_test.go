package compare_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/reproof/reproof/compare"
)

// Compare two files: each Difference has a path, a kind and a detail, and
// the Result's status is the exit code of reproof diff.
func ExampleCompare() {
	dir, err := os.MkdirTemp("", "reproof-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir) //nolint:errcheck // an example's temporary directory, best effort
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	if err := os.WriteFile(a, []byte("name: reproof\nversion: 1.0.0\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("name: reproof\nversion: 1.0.1\n"), 0o644); err != nil {
		log.Fatal(err)
	}

	res, err := compare.Compare(context.Background(), a, b, compare.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range res.Differences {
		fmt.Printf("%s: %s\n%s", d.Kind, d.Detail, d.Diff.Unified)
	}
	fmt.Printf("status %d: %v\n", res.Status(), res.Status())
	// Output:
	// content: 29 bytes, content differs
	// @@ -1,2 +1,2 @@
	//  name: reproof
	// -version: 1.0.0
	// +version: 1.0.1
	// status 1: content differs
}
