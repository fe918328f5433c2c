package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// judgeTree is the tree the rebuilt tarball packs: build/app is what must
// reproduce, the rest rides along.
const judgeTree = `
mkdir -p pkg/build pkg/etc pkg/bin
printf 'the binary\n' >pkg/build/app
chmod 755 pkg/build/app
printf 'built by ci-42\n' >pkg/build/buildinfo.txt
printf 'config\n' >pkg/etc/app.conf
printf '#!/bin/sh\n' >pkg/bin/helper
chmod 755 pkg/bin/helper
`

// packJudge makes dir/app.tar.gz from judgeTree changed by change and
// packed by pack (run in the tree's parent; $OUT is the archive).
func packJudge(t *testing.T, dir, change, pack string) {
	t.Helper()
	work := t.TempDir()
	script := "set -e; umask 022\n" + judgeTree + change + "\n" + pack
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "OUT="+filepath.Join(dir, "app.tar.gz"), "TZ=UTC", "LC_ALL=C")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packing: %v\n%s", err, b)
	}
}

const (
	sortedPack = `tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf - pkg | gzip -n >"$OUT"`
	plainPack  = `find pkg -exec touch -d @1800000000 {} + && tar cf - pkg | gzip >"$OUT"` // a plain tar czf: mtimes, owner names, order
)

// TestJudge decides verdicts from a rebuilt directory and a published
// directory, in-process, on real tarballs made by GNU tar: pairing, the
// comparison decision and the member rule's coverage, with no build.
func TestJudge(t *testing.T) {
	for _, tool := range []string{"tar", "gzip", "find"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	members := []spec.MemberRule{{Artifact: "app.tar.gz", Members: []string{"**/build/app"}, Reason: "a plain tar czf"}}
	npm := []spec.MemberRule{{Artifact: "app.tar.gz", Consumer: "npm", Reason: "an npm package"}}
	ignoring := []spec.MemberRule{{Artifact: "app.tar.gz", Members: []string{"**/build/app"}, Ignore: []string{"**/build/buildinfo.txt"}, Reason: "buildinfo names the CI runner"}}
	tests := []struct {
		name             string
		rules            []spec.MemberRule
		change, pack     string // the published tarball's
		status           report.Status
		comparedBy       string
		verdict          report.Verdict
		detail           string // the artifact's detail contains it
		normalizedByPass string // equivalent: this pass is named
	}{
		{name: "same bytes", pack: sortedPack, status: report.StatusIdentical, comparedBy: "bytes", verdict: report.VerdictReproducible},
		{name: "plain tar czf, no rule", pack: plainPack, status: report.StatusEquivalent, comparedBy: "normalized",
			verdict: report.VerdictNormalized, normalizedByPass: "tar-mtime"},
		{name: "plain tar czf, member rule", rules: members, pack: plainPack, status: report.StatusIdentical, comparedBy: "members",
			verdict: report.VerdictReproducible, detail: "by members"},
		{name: "named member changed", rules: members, change: `printf 'evil\n' >pkg/build/app`, pack: plainPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "named members differ (pkg/build/app)"},
		{name: "a file added outside the rule", rules: members, change: `mkdir -p pkg/etc/cron.d && echo '* * * * * root sh' >pkg/etc/cron.d/job`, pack: plainPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/etc/cron.d/job"},
		{name: "setuid helper outside the rule", rules: members, change: `chmod 4755 pkg/bin/helper`, pack: plainPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/bin/helper"},
		{name: "world-writable config outside the rule", rules: members, change: `chmod 666 pkg/etc/app.conf`, pack: plainPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/etc/app.conf"},
		{name: "group-writable file, no rule", change: `chmod 664 pkg/etc/app.conf`, pack: sortedPack,
			status: report.StatusDifferent, comparedBy: "bytes", verdict: report.VerdictNotReproducible, detail: "mode"},
		{name: "hardlink instead of a copy, no rule", change: `rm pkg/bin/helper && ln pkg/build/app pkg/bin/helper`, pack: sortedPack,
			status: report.StatusDifferent, comparedBy: "bytes", verdict: report.VerdictNotReproducible},
		{name: "unignored buildinfo differs", rules: members, change: `printf 'built by ci-7\n' >pkg/build/buildinfo.txt`, pack: plainPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/build/buildinfo.txt"},
		// npm install gives files (mode|0666)&^022 and the installing
		// user as owner: read/write bits and owners are erased, exec and
		// special bits are not.
		{name: "npm: group-writable and owned by a builder", rules: npm, change: `chmod 664 pkg/etc/app.conf`,
			pack:   `tar --sort=name --mtime=@1700000000 --owner=1000 --group=1000 --numeric-owner -cf - pkg | gzip -n >"$OUT"`,
			status: report.StatusIdentical, comparedBy: "members", verdict: report.VerdictReproducible, detail: "judged by npm's extraction rules"},
		{name: "npm: an exec bit dropped", rules: npm, change: `chmod 644 pkg/bin/helper`, pack: sortedPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/bin/helper"},
		{name: "npm: setuid", rules: npm, change: `chmod 4755 pkg/bin/helper`, pack: sortedPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/bin/helper"},
		{name: "group-writable, no consumer", rules: members, change: `chmod 664 pkg/etc/app.conf`, pack: sortedPack,
			status: report.StatusDifferent, comparedBy: "members", verdict: report.VerdictNotReproducible, detail: "pkg/etc/app.conf"},
		{name: "ignored buildinfo differs", rules: ignoring, change: `printf 'built by ci-7\n' >pkg/build/buildinfo.txt`, pack: plainPack,
			status: report.StatusIdentical, comparedBy: "members", verdict: report.VerdictReproducible, detail: "left out by its ignore globs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rebuilt, published := t.TempDir(), t.TempDir()
			packJudge(t, rebuilt, "", sortedPack)
			if tt.name == "hardlink instead of a copy, no rule" {
				packJudge(t, rebuilt, `cp pkg/build/app pkg/bin/helper`, sortedPack)
			}
			packJudge(t, published, tt.change, tt.pack)
			s := spec.Default()
			s.Published.Source = published
			s.Members = tt.rules
			v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			if v.Error != "" {
				t.Fatalf("Judge: error %s", v.Error)
			}
			if len(v.Artifacts) != 1 {
				t.Fatalf("Judge: %d artifacts, want 1: %+v", len(v.Artifacts), v.Artifacts)
			}
			a := v.Artifacts[0]
			if a.Status != tt.status || a.ComparedBy != tt.comparedBy || v.Verdict != tt.verdict {
				t.Errorf("Judge = %s by %s, verdict %s (%s); want %s by %s, verdict %s", a.Status, a.ComparedBy, v.Verdict, a.Detail, tt.status, tt.comparedBy, tt.verdict)
			}
			if want := consumerOf(tt.rules); a.Consumer != want {
				t.Errorf("Judge: consumer %q, want %q", a.Consumer, want)
			}
			if !strings.Contains(a.Detail, tt.detail) {
				t.Errorf("Judge: detail %q, want it to contain %q", a.Detail, tt.detail)
			}
			if tt.normalizedByPass != "" {
				var names []string
				for _, n := range a.Normalizations {
					names = append(names, n.Pass)
					if len(n.Hid) == 0 {
						t.Errorf("Judge: normalization %s hid nothing yet is listed", n.Pass)
					}
				}
				if !strings.Contains(strings.Join(names, ","), tt.normalizedByPass) {
					t.Errorf("Judge: normalizations %v, want %s among them", names, tt.normalizedByPass)
				}
			}
		})
	}
}

func consumerOf(rules []spec.MemberRule) string {
	if len(rules) == 0 {
		return ""
	}
	return rules[0].Consumer
}

// TestJudgeExtra: a rebuilt artifact the release does not publish, and
// that nothing published names, is extra: listed, never failing.
func TestJudgeExtra(t *testing.T) {
	rebuilt, published := t.TempDir(), t.TempDir()
	packJudge(t, rebuilt, "", sortedPack)
	packJudge(t, published, "", sortedPack)
	if err := os.WriteFile(filepath.Join(rebuilt, "app-debug.bin"), []byte("symbols\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := spec.Default()
	s.Published.Source = published
	v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]report.Status{}
	for _, a := range v.Artifacts {
		got[a.Name] = a.Status
	}
	if got["app.tar.gz"] != report.StatusIdentical || got["app-debug.bin"] != report.StatusExtra || v.Verdict != report.VerdictReproducible {
		t.Errorf("Judge = %v, verdict %s (%s); want app.tar.gz identical, app-debug.bin extra, reproducible", got, v.Verdict, v.Reason)
	}
	if !strings.Contains(v.Reason, "1 rebuilt but not published") {
		t.Errorf("Judge: reason %q does not mention the extra artifact", v.Reason)
	}
	// The release publishes no checksum: nothing vouches for app.tar.gz.
	want := "no published checksum or signature covers app.tar.gz"
	if len(v.Warnings) != 1 || !strings.HasPrefix(v.Warnings[0], want) {
		t.Errorf("Judge: warnings %q, want one saying %q", v.Warnings, want)
	}
	for _, a := range v.Artifacts {
		if a.Unvouched != (a.Name == "app.tar.gz") {
			t.Errorf("Judge: %s unvouched = %v", a.Name, a.Unvouched)
		}
	}
}
