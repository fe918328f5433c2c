package verify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"

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
	testenv.RequireTools(t, "tar", "gzip", "find")
	members := []spec.MemberRule{{Artifact: "app.tar.gz", Members: []string{"**/build/app"}, Reason: "a plain tar czf"}}
	npm := []spec.MemberRule{{Artifact: "app.tar.gz", Consumer: "npm", Reason: "an npm package"}}
	ignoring := []spec.MemberRule{{Artifact: "app.tar.gz", Members: []string{"**/build/app"}, Ignore: []string{"**/build/buildinfo.txt"}, Reason: "buildinfo names the CI runner"}}
	tests := []struct {
		name             string
		rules            []spec.MemberRule
		rebuiltChange    string // the rebuilt tarball's change, if any
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
		{name: "hardlink instead of a copy, no rule", rebuiltChange: `cp pkg/build/app pkg/bin/helper`,
			change: `rm pkg/bin/helper && ln pkg/build/app pkg/bin/helper`, pack: sortedPack,
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
			packJudge(t, rebuilt, tt.rebuiltChange, sortedPack)
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

// gpgEnv makes a throwaway GnuPG home with one ed25519 key and returns a
// function that runs gpg in it, and the exported public keyring.
func gpgEnv(t *testing.T, uid string) (gpg func(args ...string), keyring string) {
	t.Helper()
	testenv.RequireTools(t, "gpg")
	home := t.TempDir()
	gpg = func(args ...string) {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--batch", "--quiet", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gpg %q: %v\n%s", args, err, b)
		}
	}
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run() }) //nolint:errcheck // best effort
	gpg("--quick-gen-key", uid, "ed25519", "sign", "never")
	keyring = filepath.Join(t.TempDir(), "keyring.gpg")
	gpg("--output", keyring, "--export", uid)
	return gpg, keyring
}

// TestJudgeDetachedSignatures: a release whose SHA256SUMS carries a
// detached signature is trusted only when gpgv accepts it with the
// keyring given; a manifest edited after signing, or signed by a key not
// in the keyring, fails the verification, and without a keyring the
// report says the signature was not checked.
func TestJudgeDetachedSignatures(t *testing.T) {
	gpg, keyring := gpgEnv(t, "release@example.org")
	otherGPG, _ := gpgEnv(t, "intruder@example.org")
	rebuilt := t.TempDir()
	packJudge(t, rebuilt, "", sortedPack)
	sum := sha256File(t, filepath.Join(rebuilt, "app.tar.gz"))
	release := func(manifest string, sign func(args ...string)) string {
		dir := t.TempDir()
		packJudge(t, dir, "", sortedPack)
		if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		sign("--armor", "--output", filepath.Join(dir, "SHA256SUMS.asc"), "--detach-sign", filepath.Join(dir, "SHA256SUMS"))
		return dir
	}
	good := sum + "  app.tar.gz\n"
	edited := func() string { // signed, then edited
		dir := release(good, gpg)
		if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(good+strings.Repeat("0", 64)+"  other.tar.gz\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}()
	for _, tt := range []struct {
		name, dir, keyring string
		verdict            report.Verdict
		warning            string
	}{
		{"signed, keyring given", release(good, gpg), keyring, report.VerdictReproducible, ""},
		{"signed, no keyring", release(good, gpg), "", report.VerdictReproducible, "SHA256SUMS is signed, but its signature was not checked"},
		{"edited after signing", edited, keyring, report.VerdictNotReproducible, ""},
		{"signed by a key not in the keyring", release(good, otherGPG), keyring, report.VerdictNotReproducible, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := spec.Default()
			s.Published.Source, s.Published.Keyring = tt.dir, tt.keyring
			v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tt.verdict {
				t.Errorf("Judge = %s (%s), want %s; artifacts %+v", v.Verdict, v.Reason, tt.verdict, v.Artifacts)
			}
			if tt.warning != "" && !slices.ContainsFunc(v.Warnings, func(w string) bool { return strings.HasPrefix(w, tt.warning) }) {
				t.Errorf("Judge: warnings %q, want one starting %q", v.Warnings, tt.warning)
			}
			for _, a := range v.Artifacts {
				if a.Name == "SHA256SUMS.asc" || a.Name == "SHA256SUMS" {
					t.Errorf("Judge: %s taken for an artifact (%s)", a.Name, a.Status)
				}
			}
		})
	}
}

// serveDir serves dir with Python's http.server on 127.0.0.1 and returns
// its base URL.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	return testenv.ServeDir(t, testenv.PythonHTTP, dir) + "/"
}

// TestJudgeWebDirectory verifies a release served as a plain web
// directory (Python's http.server listing): its own SHA256SUMS is read, so
// a manifest that lies about the tarball makes a checksum-mismatch, and
// the report says how the release was listed.
func TestJudgeWebDirectory(t *testing.T) {
	rebuilt := t.TempDir()
	packJudge(t, rebuilt, "", sortedPack)
	sum := sha256File(t, filepath.Join(rebuilt, "app.tar.gz"))
	for _, tt := range []struct {
		name     string
		manifest string
		verdict  report.Verdict
		status   report.Status
	}{
		{"honest SHA256SUMS", sum + "  app.tar.gz\n", report.VerdictReproducible, report.StatusIdentical},
		{"lying SHA256SUMS", strings.Repeat("0", 64) + "  app.tar.gz\n", report.VerdictNotReproducible, report.StatusChecksumMismatch},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			packJudge(t, dir, "", sortedPack)
			if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(tt.manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			s := spec.Default()
			s.Published.Source = serveDir(t, dir)
			v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tt.verdict || len(v.Artifacts) != 1 || v.Artifacts[0].Status != tt.status {
				t.Errorf("Judge = %s (%s), artifacts %+v; want %s, app.tar.gz %s", v.Verdict, v.Reason, v.Artifacts, tt.verdict, tt.status)
			}
			if !strings.Contains(v.Published.Listing, "http.server") {
				t.Errorf("Judge: published listing %q, want it to name Python's http.server", v.Published.Listing)
			}
		})
	}
}

// TestJudgeUnlistedWebDirectory verifies a release on a server that gives
// no listing (an index.html where the listing would be): the rebuilt
// names are asked for, and so are their sidecars and the common manifest
// names, so a sidecar that lies is caught although nothing lists it.
func TestJudgeUnlistedWebDirectory(t *testing.T) {
	rebuilt := t.TempDir()
	packJudge(t, rebuilt, "", sortedPack)
	sum := sha256File(t, filepath.Join(rebuilt, "app.tar.gz"))
	for _, tt := range []struct {
		name, sidecar, content string
		status                 report.Status
		unvouched              bool
	}{
		{"honest sidecar", "app.tar.gz.sha256", sum + "\n", report.StatusIdentical, false},
		{"lying sidecar", "app.tar.gz.sha256", strings.Repeat("1", 64) + "\n", report.StatusChecksumMismatch, false},
		{"lying SHA256SUMS", "SHA256SUMS", strings.Repeat("2", 64) + "  app.tar.gz\n", report.StatusChecksumMismatch, false},
		{"nothing vouches", "", "", report.StatusIdentical, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			packJudge(t, dir, "", sortedPack)
			files := map[string]string{"index.html": "<html><body>Downloads</body></html>\n"}
			if tt.sidecar != "" {
				files[tt.sidecar] = tt.content
			}
			for name, content := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := spec.Default()
			s.Published.Source = serveDir(t, dir)
			v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Artifacts) != 1 || v.Artifacts[0].Status != tt.status || v.Artifacts[0].Unvouched != tt.unvouched {
				t.Fatalf("Judge = %s (%s), artifacts %+v; want app.tar.gz %s, unvouched %v", v.Verdict, v.Reason, v.Artifacts, tt.status, tt.unvouched)
			}
			if !strings.Contains(v.Published.Listing, "other files were not checked") {
				t.Errorf("Judge: published listing %q, want it to say what was not checked", v.Published.Listing)
			}
		})
	}
}

// TestJudgeNoRelease: a base URL without a listing where none of the
// rebuilt names, their sidecars or the common manifests exist (nginx
// with autoindex off, a directory that is not there: 404 for everything)
// is an error naming the source, not a release whose artifacts are all
// missing; the same server with the files there gives a verdict.
func TestJudgeNoRelease(t *testing.T) {
	rebuilt := t.TempDir()
	packJudge(t, rebuilt, "", sortedPack)
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(root, "rel")
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	packJudge(t, rel, "", sortedPack)
	base := testenv.ServeDir(t, testenv.NginxNoIndex, root)
	for _, tt := range []struct {
		dir     string
		verdict report.Verdict
		reason  string
	}{
		{"/missing/", report.VerdictError, base + "/missing/ has none of the files asked for (1 rebuilt name, their checksum sidecars and SHA256SUMS, SHA512SUMS, checksums.txt; no listing: " + base + "/missing/ answered 404 Not Found): it is not where the release is"},
		{"/rel/", report.VerdictReproducible, ""},
	} {
		s := spec.Default()
		s.Published.Source = base + tt.dir
		v, err := Judge(context.Background(), Options{Spec: s, CacheDir: t.TempDir(), TempDir: t.TempDir()}, rebuilt, 1700000000)
		if err != nil {
			t.Fatal(err)
		}
		if v.Verdict != tt.verdict || !strings.Contains(v.Reason, tt.reason) {
			t.Errorf("Judge(%s) = %s (%s), want %s (%s)", tt.dir, v.Verdict, v.Reason, tt.verdict, tt.reason)
		}
	}
}
