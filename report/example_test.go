package report_test

import (
	"fmt"
	"os"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/report"
)

// exampleResult is what package compare reports for a tarball rebuilt
// with other timestamps and one changed file.
func exampleResult() *compare.Result {
	r := &compare.Result{
		A:        compare.Input{Path: "published/app.tar.gz", Kind: "file", Format: "tar+gzip", Size: 20480},
		B:        compare.Input{Path: "rebuilt/app.tar.gz", Kind: "file", Format: "tar+gzip", Size: 20480},
		EntriesA: 4,
		EntriesB: 4,
		Differences: []compare.Difference{
			{Path: "", Kind: compare.KindOrder, Detail: "3 entries in a different order"},
			{Path: "app/VERSION", Kind: compare.KindContent, Detail: "6 bytes, content differs",
				Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1 +1 @@\n-1.0.0\n+1.0.1\n"}},
			{Path: "app/VERSION", Kind: compare.KindMtime, Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z",
				Old: "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z"},
		},
	}
	for _, p := range []string{"app/bin/app", "app/README"} {
		r.Differences = append(r.Differences, compare.Difference{Path: p, Kind: compare.KindMtime,
			Detail: "2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z", Old: "2024-01-01T00:00:00Z", New: "2020-01-01T00:00:00Z"})
	}
	return r
}

func ExampleText() {
	if err := report.Text(os.Stdout, exampleResult(), report.TextOptions{}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// reproof diff: content differs (exit status 1)
	//   A: published/app.tar.gz (file, tar+gzip, 20,480 bytes)
	//   B: rebuilt/app.tar.gz (file, tar+gzip, 20,480 bytes)
	//   entries: 4 in A, 4 in B
	//   differences: 1 content, 3 mtime, 1 order
	//
	// 1 entry differs in content:
	//   app/VERSION: 6 bytes, content differs
	//       @@ -1 +1 @@
	//       -1.0.0
	//       +1.0.1
	//
	// 2 entries differ only in mtime (2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z): app/README, app/bin/app
	// 1 entry also differs in mtime (2024-01-01T00:00:00Z → 2020-01-01T00:00:00Z): app/VERSION
	// 3 entries in a different order
	//
	// reproof diff: content differs (exit status 1)
}

func ExampleSummarize() {
	for _, g := range report.Summarize(exampleResult()) {
		fmt.Printf("%-8s content=%-5v only=%-5v %s\n", g.Kind, g.Content, g.Only, g.Title())
	}
	// Output:
	// content  content=true  only=false 1 entry differs in content
	// mtime    content=false only=true  2 entries differ only in mtime
	// mtime    content=false only=false 1 entry also differs in mtime
	// order    content=false only=true  1 archive with entries in a different order
}
