package report_test

import (
	"os"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/report"
)

// ExampleVerifyText renders the verification of a release whose tarball
// was rebuilt with a different version string in one file.
func ExampleVerifyText() {
	published := &report.FileDigest{Name: "app-1.0.tar.gz", URL: "https://example.org/app-1.0.tar.gz", Size: 20480,
		SHA256: "5f0c7e0b1d9a3c2e4f6a8b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6"}
	rebuilt := &report.FileDigest{Name: "app-1.0.tar.gz", Size: 20480,
		SHA256: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"}
	v := &report.Verification{
		Schema:    report.VerifySchema,
		Verdict:   report.VerdictNotReproducible,
		Reason:    "artifacts do not reproduce: 1 different",
		Timestamp: "2024-05-01T12:00:00Z",
		Reproof:   "v0.3.0",
		Source:    report.SourceInfo{Repo: "https://example.org/app.git", Tag: "v1.0", SourceDateEpoch: 1704067200},
		Environment: report.Environment{Image: "127.0.0.1:5000/builder@sha256:0123", Platform: "linux/amd64",
			Runtime: "runc", Command: []string{"make", "dist"}},
		Published: report.Published{Source: "https://example.org/releases/v1.0/"},
		Artifacts: []report.Artifact{{
			Name: "app-1.0.tar.gz", Status: report.StatusDifferent, Detail: "1 entry differs in content",
			Rebuilt: rebuilt, Published: published, ComparedBy: "normalized",
			Differences: []compare.Difference{{Path: "app/VERSION", Kind: compare.KindContent, Detail: "6 bytes, content differs",
				Diff: &compare.ContentDiff{Format: "text", Unified: "@@ -1 +1 @@\n-1.0.0\n+1.0.1\n"}}},
		}},
	}
	if err := report.VerifyText(os.Stdout, v, report.TextOptions{}); err != nil {
		panic(err)
	}
	// Output:
	// NOT REPRODUCIBLE: artifacts do not reproduce: 1 different
	//   exit status 1; 1 artifact: 1 different
	//
	// Inputs
	//   source    https://example.org/app.git @ v1.0
	//   epoch     SOURCE_DATE_EPOCH 1704067200 (2024-01-01T00:00:00Z)
	//   image     127.0.0.1:5000/builder@sha256:0123 (linux/amd64)
	//   runtime   runc, network off
	//   published https://example.org/releases/v1.0/ (0 files, 0 checksum manifests)
	//   reproof   v0.3.0, finished 2024-05-01T12:00:00Z
	//
	// Artifacts
	//   NAME            STATUS     REBUILT       PUBLISHED     COMPARED BY
	//   app-1.0.tar.gz  different  a1b2c3d4e5f6  5f0c7e0b1d9a  normalized
	//
	// app-1.0.tar.gz: different
	//   1 entry differs in content
	//   published  app-1.0.tar.gz <https://example.org/app-1.0.tar.gz>, 20,480 bytes, sha256 5f0c7e0b1d9a3c2e4f6a8b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6
	//   rebuilt    app-1.0.tar.gz, 20,480 bytes, sha256 a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90
	//   compared by normalized content
	//   differences (A is the published file (- lines), B the rebuilt one (+ lines))
	//     1 entry differs in content:
	//       app/VERSION: 6 bytes, content differs
	//           @@ -1 +1 @@
	//           -1.0.0
	//           +1.0.1
}
