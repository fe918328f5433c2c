package spec_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/spec"
)

// The flags are the ones the CLI contract names, one per field.
func TestFlagNames(t *testing.T) {
	want := []string{
		"repo", "tag", "commit", "source-date-epoch", "image", "allow-unpinned", "platform", "runtime",
		"command", "env", "user", "network", "timeout",
		"engine-timeout", "pids-limit", "memory", "cpus", "tmpfs-size", "output-limit", "artifacts", "out", "published", "checksums",
		"keyring", "passes", "accept-normalized", "max-depth", "member", "skip", "published-image",
	}
	var got []string
	for _, f := range spec.Flags() {
		got = append(got, f.Name)
		if f.Kind != spec.FlagBool && !strings.Contains(f.Usage, "`") {
			t.Errorf("--%s: usage %q names no `VALUE`", f.Name, f.Usage)
		}
		if f.Kind == spec.FlagBool && strings.Contains(f.Usage, "`") {
			t.Errorf("--%s is a switch but its usage names a value", f.Name)
		}
		verifyOnly := !slices.Contains([]string{"source", "build"}, strings.Split(f.Key, ".")[0])
		if f.VerifyOnly != verifyOnly {
			t.Errorf("--%s: VerifyOnly = %v, want %v", f.Name, f.VerifyOnly, verifyOnly)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Flags() = %v\nwant %v", got, want)
	}
}

func TestSetFlag(t *testing.T) {
	s, err := spec.Load("testdata/nimbus-eth2.toml")
	if err != nil {
		t.Fatal(err)
	}
	set := func(name string, values ...string) {
		t.Helper()
		if err := s.SetFlag(name, values...); err != nil {
			t.Fatalf("SetFlag(%q, %q) = %v", name, values, err)
		}
	}
	set("repo", "../nimbus")
	set("tag", "v24.2.0")
	set("commit", "DEADBEEF")
	set("source-date-epoch", "2024-01-01T00:00:00Z")
	set("image", "debian:bookworm")
	set("allow-unpinned", "true")
	set("platform", "linux/arm64")
	set("runtime", "runc")
	set("command", "make dist-arm64")
	set("env", "A=1", "B=2")
	set("user", "1000:1000")
	set("network", "true")
	set("timeout", "90m")
	set("artifacts", "./dist/*.tar.gz", "dist/**/*.sha512sum")
	set("out", "out")
	set("published", "dist")
	set("checksums", "SHA512SUMS")
	set("keyring", "keys.gpg")
	set("passes", "tar-order,tar-mtime", "gzip-header")
	set("accept-normalized", "true")
	set("max-depth", "3")
	set("member", "*.tar.gz:build/*", "*.zip", "*.tar.gz:lib/*")
	set("skip", "*-docs.tar.gz=the manual embeds its build time=really")

	want := &spec.Spec{
		Path:   "testdata/nimbus-eth2.toml",
		Dir:    "testdata",
		Source: spec.Source{Repo: "../nimbus", Tag: "v24.2.0", Commit: "deadbeef", SourceDateEpoch: int64p(1704067200)},
		Build: spec.Build{
			Image: "debian:bookworm", AllowUnpinned: true, Platform: "linux/arm64", Runtime: "runc",
			Command: spec.Command{Argv: []string{"make dist-arm64"}, Shell: true}, Env: []string{"A=1", "B=2"},
			User: &spec.User{UID: 1000, GID: 1000}, Network: true, Timeout: 90 * time.Minute,
			Artifacts: []string{"dist/*.tar.gz", "dist/**/*.sha512sum"}, Out: "out",
		},
		Published: spec.Published{Source: "dist", Checksums: []string{"SHA512SUMS"}, Keyring: "keys.gpg"},
		Compare:   spec.Compare{Passes: []string{"tar-order", "tar-mtime", "gzip-header"}, AcceptNormalized: true, MaxDepth: 3},
		Members: []spec.MemberRule{
			{Artifact: "*.tar.gz", Members: []string{"build/*", "lib/*"}},
			{Artifact: "*.zip"},
		},
		Skips: []spec.SkipRule{{Artifact: "*-docs.tar.gz", Reason: "the manual embeds its build time=really"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("after SetFlag:\n%+v\nwant\n%+v", s, want)
	}
	if err := s.Validate(spec.NeedVerify); err != nil {
		t.Errorf("Validate = %v", err)
	}

	// Switches turn off what the file turned on; an empty --user is the
	// host's again.
	set("network", "false")
	set("user", "")
	if s.Build.Network || s.Build.User != nil {
		t.Errorf("Network, User = %v, %v; want false, nil", s.Build.Network, s.Build.User)
	}
	// A member glob without ":" means every member, whatever else was given.
	set("member", "*.tar.gz:build/*", "*.tar.gz")
	if want := []spec.MemberRule{{Artifact: "*.tar.gz"}}; !reflect.DeepEqual(s.Members, want) {
		t.Errorf("Members = %+v, want %+v", s.Members, want)
	}
}

func TestSetFlagInvalid(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"timeout", []string{"2 hours"}, `--timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)`},
		{"timeout", []string{"1h", "2h"}, `--timeout: given 2 times; it takes one value`},
		{"timeout", nil, `--timeout: no value given`},
		{"network", []string{"yes please"}, `--network: "yes please" is not true or false`},
		{"max-depth", []string{"deep"}, `--max-depth: "deep" is not an integer`},
		{"max-depth", []string{"0"}, `--max-depth: 0 is out of range (1 to 64)`},
		{"source-date-epoch", []string{"yesterday"}, `--source-date-epoch: "yesterday" is neither Unix seconds nor an RFC 3339 date-time such as 2024-01-01T00:00:00Z`},
		{"source-date-epoch", []string{"-5"}, `--source-date-epoch: -5 is out of range (0 to 253402300799, the end of year 9999)`},
		{"tag", []string{""}, `--tag: empty; give the release tag, such as v1.2.3`},
		{"env", []string{"HOME=/root"}, `--env: entry "HOME=/root": reproof sets HOME itself (reserved: SOURCE_DATE_EPOCH, TZ, LC_ALL, HOME)`},
		{"artifacts", []string{"/abs"}, `--artifacts: glob "/abs" is absolute; artifacts are relative to the checkout`},
		{"passes", []string{"tar-order,,zip-order"}, `--passes: empty pass name`},
		{"passes", []string{"tar-order,nope"}, `--passes: unknown pass "nope" (want all, none, or tar-order, tar-mtime, tar-owner, tar-mode, tar-pax, tar-xattr, tar-devices, gzip-header, zip-order, zip-time, zip-extra, ar-header; -name removes one)`},
		{"command", []string{""}, `--command: empty; give the build command, such as ["make", "dist"] or "make dist"`},
		{"member", []string{":build/*"}, `--member: ":build/*": empty glob (want ARTIFACT_GLOB[:MEMBER_GLOB])`},
		{"member", []string{"*.tar.gz:["}, `--member: "*.tar.gz:[": invalid glob "[" (unclosed [ or {, or a trailing \) (want ARTIFACT_GLOB[:MEMBER_GLOB])`},
		{"skip", []string{"*.zip"}, `--skip: "*.zip": no reason (want GLOB=REASON; say why it does not reproduce)`},
		{"skip", []string{"*.zip=a", "*.zip=b"}, `--skip: skip #2: artifact "*.zip" repeats skip #1's`},
		{"skip", []string{"*.tar.gz=x"}, `--skip: skip #1: artifact "*.tar.gz" is also member #1's; an artifact is either skipped or compared`},
		{"verbose", []string{"true"}, `"--verbose" is not a spec flag`},
	}
	for _, tt := range tests {
		s := spec.Default()
		s.Members = []spec.MemberRule{{Artifact: "*.tar.gz"}}
		before := *s
		err := s.SetFlag(tt.name, tt.values...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("SetFlag(%q, %q) = %v\nwant %s", tt.name, tt.values, err, tt.want)
		}
		if !reflect.DeepEqual(*s, before) {
			t.Errorf("SetFlag(%q, %q) failed but changed the spec", tt.name, tt.values)
		}
	}
}
