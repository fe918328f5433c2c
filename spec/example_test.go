package spec_test

import (
	"fmt"

	"github.com/reproof/reproof/spec"
)

func ExampleParse() {
	doc := []byte(`
[source]
repo = "https://github.com/status-im/nimbus-eth2"
tag = "v24.1.0"

[build]
image = "docker.io/library/debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000000"
command = ["make", "dist-amd64"]
timeout = "3h"
artifacts = ["dist/*.tar.gz"]

[[member]]
artifact = "nimbus-eth2_Linux_amd64_*.tar.gz"
members = ["build/*"]
`)
	s, err := spec.Parse("reproof.toml", doc, "/src/nimbus")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Build.Command.Args(), s.Build.Timeout, s.Build.Out)
	r, _ := s.MemberRuleFor("nimbus-eth2_Linux_amd64_24.1.0_a1b2c3d4.tar.gz")
	fmt.Println(r.MatchesMember("build/nimbus_beacon_node"))
	fmt.Println(s.Validate(spec.NeedVerify))

	_, err = spec.Parse("reproof.toml", []byte("[build]\ntimeout = \"2 hours\"\n"), "")
	fmt.Println(err)
	// Output:
	// [make dist-amd64] 3h0m0s /src/nimbus/rebuilt
	// true
	// reproof.toml: missing published.source (set it in the file or with --published)
	// reproof.toml:2: build.timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)
}

// A command loads the file, applies the flags the user gave, then
// validates.
func ExampleSpec_SetFlag() {
	s := spec.Default() // no reproof.toml: every required field comes from flags
	flags := [][]string{
		{"repo", "."},
		{"tag", "v1.0.0"},
		{"image", "debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000000"},
		{"command", "make dist"},
		{"artifacts", "dist/*.tar.gz", "dist/*.zip"},
		{"skip", "*-docs.tar.gz=the manual embeds its build time"},
	}
	for _, f := range flags {
		if err := s.SetFlag(f[0], f[1:]...); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(s.Validate(spec.NeedRebuild))
	fmt.Println(s.Build.Command.Args())
	fmt.Println(s.SetFlag("timeout", "2 hours"))
	// Output:
	// <nil>
	// [/bin/sh -c make dist]
	// --timeout: invalid duration "2 hours" (use Go syntax such as 90m or 2h)
}
