package verify

import (
	"testing"

	"github.com/reproof/reproof/report"
)

// The pipeline runs end to end against real fixtures in
// cmd/reproof/verify_e2e_test.go; these are the rules it decides with.

func TestSectionMatches(t *testing.T) {
	for _, c := range []struct {
		section, name string
		want          bool
	}{
		{"", "anything.tar.gz", true},
		{"Linux AMD64", "nimbus-eth2_Linux_amd64_24.1.0_5fc16b9f.tar.gz", true},
		{"Linux ARM64", "nimbus-eth2_Linux_amd64_24.1.0_5fc16b9f.tar.gz", false},
		{"macOS (arm64)", "nimbus-eth2_macOS_arm64_24.1.0.tar.gz", true},
		{"---", "x.tar.gz", false}, // a heading with no words names nothing
	} {
		if got := sectionMatches(c.section, c.name); got != c.want {
			t.Errorf("sectionMatches(%q, %q) = %v", c.section, c.name, got)
		}
	}
}

func TestMemberNamed(t *testing.T) {
	for _, c := range []struct {
		member, listed string
		want           bool
	}{
		{"build/app", "build/app", true},
		{"nimbus_Linux/build/app", "build/app", true},
		{"nimbus_Linux/build/app", "app", true},
		{"nimbus_Linux/build/app", "./build/app", true},
		{"nimbus_Linux/rebuild/app", "build/app", false},
		{"build/app.sha512sum", "app", false},
	} {
		if got := memberNamed(c.member, c.listed); got != c.want {
			t.Errorf("memberNamed(%q, %q) = %v", c.member, c.listed, got)
		}
	}
}

func TestDecide(t *testing.T) {
	art := func(st report.Status, by string) report.Artifact {
		return report.Artifact{Name: string(st) + by, Status: st, ComparedBy: by}
	}
	for _, c := range []struct {
		arts []report.Artifact
		want report.Verdict
		exit int
	}{
		{[]report.Artifact{art(report.StatusIdentical, "bytes"), art(report.StatusSkipped, "")}, report.VerdictReproducible, 0},
		{[]report.Artifact{art(report.StatusIdentical, "members")}, report.VerdictReproducible, 0},
		{[]report.Artifact{art(report.StatusIdentical, "bytes"), art(report.StatusEquivalent, "normalized")}, report.VerdictNormalized, 3},
		{[]report.Artifact{art(report.StatusEquivalent, "normalized"), art(report.StatusMissing, "")}, report.VerdictNotReproducible, 1},
		{[]report.Artifact{art(report.StatusIdentical, "bytes"), art(report.StatusChecksumMismatch, "")}, report.VerdictNotReproducible, 1},
		// A limit reached outranks everything: the verdict cannot be known.
		{[]report.Artifact{art(report.StatusDifferent, "bytes"), art(report.StatusError, "")}, report.VerdictError, 2},
		// Nothing compared is never reproducible.
		{[]report.Artifact{art(report.StatusSkipped, ""), art(report.StatusExtra, "")}, report.VerdictError, 2},
		{nil, report.VerdictError, 2},
	} {
		v := &report.Verification{Artifacts: c.arts}
		decide(v)
		if v.Verdict != c.want || v.ExitCode() != c.exit || v.Reason == "" {
			t.Errorf("%v: verdict %s exit %d (%q), want %s exit %d", c.arts, v.Verdict, v.ExitCode(), v.Reason, c.want, c.exit)
		}
	}
	v := &report.Verification{Artifacts: []report.Artifact{art(report.StatusEquivalent, "normalized")}, Policy: report.Policy{AcceptNormalized: true}}
	decide(v)
	if v.ExitCode() != 0 {
		t.Errorf("--accept-normalized: exit %d", v.ExitCode())
	}
}
