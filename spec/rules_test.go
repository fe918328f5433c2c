package spec_test

import (
	"testing"

	"github.com/reproof/reproof/spec"
)

func TestMemberRule(t *testing.T) {
	r := spec.MemberRule{Artifact: "nimbus-eth2_Linux_amd64_*.tar.gz", Members: []string{"build/*", "**/*.sha512sum"}}
	artifacts := map[string]bool{
		"nimbus-eth2_Linux_amd64_24.1.0_a1b2c3d4.tar.gz": true,
		"nimbus-eth2_Linux_arm64_24.1.0_a1b2c3d4.tar.gz": false,
		"dir/nimbus-eth2_Linux_amd64_24.1.0.tar.gz":      false, // * does not cross /
	}
	for name, want := range artifacts {
		if got := r.Matches(name); got != want {
			t.Errorf("Matches(%q) = %v, want %v", name, got, want)
		}
	}
	members := map[string]bool{
		"build/nimbus_beacon_node":               true,
		"./build/nimbus_beacon_node":             true,
		"/build/nimbus_beacon_node":              true,
		"build/":                                 false, // the directory itself: "build" is not build/*
		"build/lib/x.so":                         false,
		"top/build/nimbus_beacon_node.sha512sum": true,
		"README.md":                              false,
	}
	for name, want := range members {
		if got := r.MatchesMember(name); got != want {
			t.Errorf("MatchesMember(%q) = %v, want %v", name, got, want)
		}
	}
	all := spec.MemberRule{Artifact: "*"}
	if !all.MatchesMember("anything/at/all") {
		t.Error("a rule without member globs does not match every member")
	}
}

func TestRuleLookup(t *testing.T) {
	s := spec.Default()
	s.Members = []spec.MemberRule{{Artifact: "*.tar.gz", Reason: "first"}, {Artifact: "app-*", Reason: "second"}}
	s.Skips = []spec.SkipRule{{Artifact: "*-docs.*", Reason: "docs embed the date"}}
	if r, ok := s.MemberRuleFor("app-1.tar.gz"); !ok || r.Reason != "first" {
		t.Errorf("MemberRuleFor(app-1.tar.gz) = %+v, %v; want the first rule", r, ok)
	}
	if r, ok := s.MemberRuleFor("app-1.zip"); !ok || r.Reason != "second" {
		t.Errorf("MemberRuleFor(app-1.zip) = %+v, %v; want the second rule", r, ok)
	}
	if _, ok := s.MemberRuleFor("other.zip"); ok {
		t.Error("MemberRuleFor(other.zip) found a rule")
	}
	if r, ok := s.SkipFor("app-docs.tar.gz"); !ok || r.Reason != "docs embed the date" {
		t.Errorf("SkipFor(app-docs.tar.gz) = %+v, %v", r, ok)
	}
	if _, ok := s.SkipFor("app.tar.gz"); ok {
		t.Error("SkipFor(app.tar.gz) found a rule")
	}
}

func TestMatchesArtifact(t *testing.T) {
	b := spec.Build{Artifacts: []string{"dist/*.tar.gz", "out/**/*.{zip,xz}", "garage"}}
	paths := map[string]bool{
		"dist/a.tar.gz":       true,
		"./dist/a.tar.gz":     true,
		"dist/sub/a.tar.gz":   false,
		"out/a.zip":           true,
		"out/x/y/a.xz":        true,
		"out/a.gz":            false,
		"garage":              true,
		"target/garage":       false,
		"dist/.hidden.tar.gz": true,
	}
	for p, want := range paths {
		if got := b.MatchesArtifact(p); got != want {
			t.Errorf("MatchesArtifact(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestImagePinned(t *testing.T) {
	for ref, want := range map[string]bool{
		"debian:bookworm@sha256:" + zeros:           true,
		"registry.example:5000/a/b@sha256:" + zeros: true,
		"debian:bookworm":                           false,
		"debian":                                    false,
		"not a reference":                           false,
	} {
		if got := spec.ImagePinned(ref); got != want {
			t.Errorf("ImagePinned(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestCommand(t *testing.T) {
	argv := spec.Command{Argv: []string{"make", "dist amd64", ""}}
	if got, want := argv.String(), `make "dist amd64" ""`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	shell := spec.Command{Argv: []string{"make dist && ls"}, Shell: true}
	if got := shell.Args(); len(got) != 3 || got[0] != "/bin/sh" || got[1] != "-c" || got[2] != "make dist && ls" {
		t.Errorf("Args() = %q", got)
	}
	if got := shell.String(); got != "make dist && ls" {
		t.Errorf("String() = %q", got)
	}
}
