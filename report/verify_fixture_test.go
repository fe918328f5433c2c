package report

import (
	"fmt"
	"strings"

	"github.com/reproof/reproof/compare"
)

// Verifications built by hand, shaped like what reproof verify reports for
// the seed projects' releases. Every list is in the order reproof verify
// gives it (artifacts sorted by name, differences in report order).

// fixtureHex makes a digest-shaped string of n hex digits from a seed.
func fixtureHex(seed string, n int) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	h := uint32(2166136261)
	for b.Len() < n {
		for i := 0; i < len(seed); i++ {
			h = (h ^ uint32(seed[i])) * 16777619
		}
		h = (h ^ uint32(b.Len())) * 16777619
		b.WriteByte(digits[h>>28])
	}
	return b.String()
}

func fixtureSHA256(seed string) string { return fixtureHex("sha256:"+seed, 64) }
func fixtureSHA512(seed string) string { return fixtureHex("sha512:"+seed, 128) }

const (
	verifyTimestamp = "2024-05-01T12:00:00Z"
	verifyVersion   = "v0.3.0"
)

var allPasses = []string{
	"tar-order", "tar-mtime", "tar-owner", "tar-mode", "tar-pax", "tar-xattr", "tar-devices",
	"gzip-header", "zip-order", "zip-time", "zip-extra", "ar-header",
}

func fixtureDigest(name, url string, size int64, seed string) *FileDigest {
	return &FileDigest{Name: name, URL: url, Size: size, SHA256: fixtureSHA256(seed), SHA512: fixtureSHA512(seed)}
}

// lixEnvironment is a pinned image on the loopback registry.
func lixEnvironment() Environment {
	return Environment{
		Image:          "127.0.0.1:5000/reproof/lix-builder@sha256:" + fixtureSHA256("lix-image"),
		ImageDigest:    "sha256:" + fixtureSHA256("lix-image"),
		Platform:       "linux/amd64",
		Runtime:        "docker",
		RuntimeVersion: "20.10.24+dfsg1",
		User:           "1000:1000",
		Command:        []string{"make", "dist", "VERSION=2.91.1"},
	}
}

// reproducibleVerification: a Lix-shaped release, a source tarball and a
// binary tarball each identical to the published one, bare-hex sidecars.
func reproducibleVerification() *Verification {
	const rel = "https://releases.example.org/lix/lix-2.91.1/"
	src := fixtureDigest("lix-2.91.1.tar.gz", rel+"lix-2.91.1.tar.gz", 3187205, "lix-src")
	bin := fixtureDigest("lix-2.91.1-x86_64-linux.tar.xz", rel+"lix-2.91.1-x86_64-linux.tar.xz", 24117248, "lix-bin")
	rebuilt := func(d *FileDigest) *FileDigest { c := *d; c.URL = ""; return &c }
	return &Verification{
		Schema:    VerifySchema,
		Verdict:   VerdictReproducible,
		Reason:    "2 artifacts identical bit for bit",
		Timestamp: verifyTimestamp,
		Reproof:   verifyVersion,
		Source: SourceInfo{
			Repo: "https://git.example.org/lix-project/lix.git", Tag: "2.91.1",
			Commit: fixtureHex("lix-commit", 40), Tree: fixtureHex("lix-tree", 40), SourceDateEpoch: 1727438400,
		},
		Environment: lixEnvironment(),
		Published: Published{
			Source: rel,
			Manifests: []Manifest{
				{Name: "lix-2.91.1-x86_64-linux.tar.xz.sha256", Layout: "bare", Checksums: 1},
				{Name: "lix-2.91.1.tar.gz.sha256", Layout: "bare", Checksums: 1},
			},
			Files: []File{
				{Name: bin.Name, URL: bin.URL, Size: bin.Size, SHA256: bin.SHA256},
				{Name: "lix-2.91.1-x86_64-linux.tar.xz.sha256", URL: rel + "lix-2.91.1-x86_64-linux.tar.xz.sha256", Size: 64, SHA256: fixtureSHA256("lix-bin-sidecar")},
				{Name: src.Name, URL: src.URL, Size: src.Size, SHA256: src.SHA256},
				{Name: "lix-2.91.1.tar.gz.sha256", URL: rel + "lix-2.91.1.tar.gz.sha256", Size: 65, SHA256: fixtureSHA256("lix-src-sidecar")},
			},
		},
		Policy: Policy{Passes: allPasses},
		Artifacts: []Artifact{
			{
				Name: bin.Name, Status: StatusIdentical, Detail: "identical bytes",
				Rebuilt: rebuilt(bin), Published: bin, ComparedBy: "bytes",
				Checksums: []Checksum{{Manifest: "lix-2.91.1-x86_64-linux.tar.xz.sha256", Name: bin.Name, Algorithm: "sha256", Expected: bin.SHA256, Computed: bin.SHA256, Match: true}},
			},
			{
				Name: src.Name, Status: StatusIdentical, Detail: "identical bytes",
				Rebuilt: rebuilt(src), Published: src, ComparedBy: "bytes",
				Checksums: []Checksum{{Manifest: "lix-2.91.1.tar.gz.sha256", Name: src.Name, Algorithm: "sha256", Expected: src.SHA256, Computed: src.SHA256, Match: true}},
			},
		},
		Warnings: []string{},
	}
}

// normalizedVerification: an archlinux-docker-shaped release whose rootfs
// was packed with another tar: equal once normalized; one group declared
// not reproducible; the image pulled by tag.
func normalizedVerification() *Verification {
	const rel = "https://gitlab.example.org/archlinux/archlinux-docker/-/releases/v20240101.0.12345/downloads/"
	base := fixtureDigest("base-20240101.0.12345.tar.zst", rel+"base-20240101.0.12345.tar.zst", 145227776, "arch-base")
	rebuiltBase := fixtureDigest("base-20240101.0.12345.tar.zst", "", 145227903, "arch-base-rebuilt")
	devel := fixtureDigest("base-devel-20240101.0.12345.tar.zst", rel+"base-devel-20240101.0.12345.tar.zst", 260046848, "arch-devel")

	var diffs []compare.Difference
	diffs = append(diffs, compare.Difference{Path: "", Kind: compare.KindOrder, Detail: "12802 entries in a different order"})
	diffs = append(diffs, compare.Difference{Path: "", Kind: compare.KindCompression, Detail: "zstd frame: window log 27 → 23, same payload"})
	for i := 0; i < 500; i++ {
		diffs = append(diffs, compare.Difference{
			Path: fmt.Sprintf("usr/share/locale/%s/LC_MESSAGES/pacman.mo", locale(i)), Kind: compare.KindMtime,
			Detail: "2024-01-01T00:00:00Z → 2024-01-01T00:17:33Z", Old: "2024-01-01T00:00:00Z", New: "2024-01-01T00:17:33Z",
		})
	}
	diffs = append(diffs, compare.Difference{Path: "etc/", Kind: compare.KindPax, Detail: "atime, ctime records only in B"})
	inReportOrder(diffs)

	env := Environment{
		Image: "127.0.0.1:5000/reproof/archlinux-builder:latest", ImageDigest: "sha256:" + fixtureSHA256("arch-image"),
		Platform: "linux/amd64", Runtime: "runc", RuntimeVersion: "1.1.5+ds1", User: "1000:1000",
		Command: []string{"/bin/sh", "-c", "make rootfs GROUP=base && zstd --long -T0 -8 output/base.tar"}, Unpinned: true,
	}
	return &Verification{
		Schema:    VerifySchema,
		Verdict:   VerdictNormalized,
		Reason:    "1 artifact equal only after normalization (0 identical); 1 skipped as declared not reproducible",
		Timestamp: verifyTimestamp,
		Reproof:   verifyVersion,
		Source: SourceInfo{
			Repo: "https://gitlab.example.org/archlinux/archlinux-docker.git", Tag: "v20240101.0.12345",
			Commit: fixtureHex("arch-commit", 40), Tree: fixtureHex("arch-tree", 40), SourceDateEpoch: 1704067200,
		},
		Environment: env,
		Published: Published{
			Source: rel, Tag: "v20240101.0.12345",
			Manifests: []Manifest{
				{Name: "base-20240101.0.12345.tar.zst.SHA256", Layout: "coreutils", Checksums: 1},
				{Name: "base-devel-20240101.0.12345.tar.zst.SHA256", Layout: "coreutils", Checksums: 1},
			},
			Files: []File{
				{Name: base.Name, URL: base.URL, Size: base.Size, SHA256: base.SHA256},
				{Name: "base-20240101.0.12345.tar.zst.SHA256", URL: rel + "base-20240101.0.12345.tar.zst.SHA256", Size: 96, SHA256: fixtureSHA256("arch-base-sidecar")},
				{Name: devel.Name, URL: devel.URL, Size: devel.Size, SHA256: devel.SHA256},
				{Name: "base-devel-20240101.0.12345.tar.zst.SHA256", URL: rel + "base-devel-20240101.0.12345.tar.zst.SHA256", Size: 102, SHA256: fixtureSHA256("arch-devel-sidecar")},
			},
		},
		Policy: Policy{
			Passes: allPasses,
			Skips: []Rule{{Artifact: "base-devel-*.tar.zst",
				Reason: "pacman's keyring is populated at build time with the current date"}},
		},
		Artifacts: []Artifact{
			{
				Name: base.Name, Status: StatusEquivalent,
				Detail:  "equal after tar-order, tar-mtime, tar-pax (the compressed bytes differ)",
				Rebuilt: rebuiltBase, Published: base, ComparedBy: "normalized",
				Checksums: []Checksum{{Manifest: "base-20240101.0.12345.tar.zst.SHA256", Name: base.Name, Algorithm: "sha256", Expected: base.SHA256, Computed: base.SHA256, Match: true}},
				Normalizations: []Normalization{
					{Pass: "tar-order", ChangedRebuilt: 12802, ChangedPublished: 0, Hid: []string{"12802 entries in a different order"}},
					{Pass: "tar-mtime", ChangedRebuilt: 500, ChangedPublished: 0, Hid: []string{
						"500 entries with an mtime after SOURCE_DATE_EPOCH, e.g. usr/share/locale/aa_000/LC_MESSAGES/pacman.mo (2024-01-01T00:17:33Z)"}},
					{Pass: "tar-pax", ChangedRebuilt: 1, ChangedPublished: 0, Hid: []string{"atime and ctime records on 1 entry (etc/)"}},
				},
				Differences: diffs,
			},
			{
				Name: devel.Name, Status: StatusSkipped,
				Detail:    "declared not reproducible: pacman's keyring is populated at build time with the current date",
				Published: devel,
				Checksums: []Checksum{{Manifest: "base-devel-20240101.0.12345.tar.zst.SHA256", Name: devel.Name, Algorithm: "sha256", Expected: devel.SHA256, Computed: devel.SHA256, Match: true}},
			},
		},
		Warnings: []string{
			"the image 127.0.0.1:5000/reproof/archlinux-builder:latest was not pinned by digest; it resolved to sha256:" + fixtureSHA256("arch-image"),
		},
	}
}

// hostileArtifact is a rebuilt file name with a terminal escape, HTML, a
// bidi override, Markdown and a run of backticks.
const hostileArtifact = "build/\x1b[31mevil\x1b[0m<img src=x onerror=alert(1)>\u202e|**bold**```.txt"

// notReproducibleVerification: a nimbus-eth2-shaped release. The amd64
// tarball's binaries differ (an ELF and its .sha512sum); the release body's
// SHA-512 for the arm64 binary disagrees with the binary in the published
// archive; the Windows zip was not rebuilt; the build made a file nobody
// published, with a hostile name.
func notReproducibleVerification() *Verification {
	const rel = "https://github.com/status-im/nimbus-eth2/releases/download/v24.1.0/"
	amd64 := "nimbus-eth2_Linux_amd64_24.1.0_1a2b3c4d.tar.gz"
	arm64 := "nimbus-eth2_Linux_arm64v8_24.1.0_1a2b3c4d.tar.gz"
	win := "nimbus-eth2_Windows_amd64_24.1.0_1a2b3c4d.tar.gz"

	elf := &compare.ContentDiff{
		Format:   "elf",
		Sections: []string{".note.gnu.build-id (36 → 36 bytes)", ".rodata (88412 → 88412 bytes)"},
		BuildID:  []string{"8f3a61c0d2b5e4f7a9c1d3e5f7a9b1c3d5e7f9a1", "b2d4f6a8c0e2a4c6e8a0b2d4f6a8c0e2a4c6e8b0"},
		Unified: "section .rodata:\n" +
			"@@ offset 0x1a40, 9 bytes differ @@\n" +
			"-00001a40: 6275 696c 6465 7240 6369 2d37 0000 0000  builder@ci-7....\n" +
			"+00001a40: 726f 6f74 406c 6f63 616c 686f 7374 0000  root@localhost..\n",
	}
	sum := &compare.ContentDiff{Format: "text", Unified: "@@ -1 +1 @@\n" +
		"-" + fixtureSHA512("nbn-published") + "  nimbus_beacon_node\n" +
		"+" + fixtureSHA512("nbn-rebuilt") + "  nimbus_beacon_node\n"}
	diffs := []compare.Difference{
		{Path: "", Kind: compare.KindOrder, Detail: "4 entries in a different order"},
		{Path: "build/nimbus_beacon_node", Kind: compare.KindContent, Detail: "43,515,904 bytes, content differs", Diff: elf},
		{Path: "build/nimbus_beacon_node", Kind: compare.KindMtime, Detail: "2024-01-10T09:12:44Z → 2024-01-10T08:00:00Z", Old: "2024-01-10T09:12:44Z", New: "2024-01-10T08:00:00Z"},
		{Path: "build/nimbus_beacon_node.sha512sum", Kind: compare.KindContent, Detail: "148 bytes, content differs", Diff: sum},
		{Path: "build/nimbus_beacon_node.sha512sum", Kind: compare.KindMtime, Detail: "2024-01-10T09:12:45Z → 2024-01-10T08:00:00Z", Old: "2024-01-10T09:12:45Z", New: "2024-01-10T08:00:00Z"},
		{Path: "build/nimbus_validator_client", Kind: compare.KindMtime, Detail: "2024-01-10T09:12:50Z → 2024-01-10T08:00:00Z", Old: "2024-01-10T09:12:50Z", New: "2024-01-10T08:00:00Z"},
		{Path: "build/nimbus_validator_client", Kind: compare.KindOwner, Detail: "1000/1000 → 0/0", Old: "1000/1000", New: "0/0"},
	}
	inReportOrder(diffs)

	pubAmd64 := fixtureDigest(amd64, rel+amd64, 20983040, "nimbus-amd64")
	pubArm64 := fixtureDigest(arm64, rel+arm64, 19922944, "nimbus-arm64")
	pubWin := fixtureDigest(win, rel+win, 22020096, "nimbus-win")
	notes := "release notes (## SHA512 checksums)"
	return &Verification{
		Schema:    VerifySchema,
		Verdict:   VerdictNotReproducible,
		Reason:    "artifacts do not reproduce: 1 different, 1 missing, 1 checksum-mismatch",
		Timestamp: verifyTimestamp,
		Reproof:   verifyVersion,
		Source: SourceInfo{
			Repo: "https://github.com/status-im/nimbus-eth2.git", Tag: "v24.1.0",
			Commit: "1a2b3c4d" + fixtureHex("nimbus-commit", 32), Tree: fixtureHex("nimbus-tree", 40), SourceDateEpoch: 1704873600,
		},
		Environment: Environment{
			Image:       "127.0.0.1:5000/reproof/nimbus-builder:24.1.0@sha256:" + fixtureSHA256("nimbus-image"),
			ImageDigest: "sha256:" + fixtureSHA256("nimbus-image"), Platform: "linux/amd64",
			Runtime: "docker", RuntimeVersion: "20.10.24+dfsg1", User: "1000:1000",
			Command: []string{"make", "dist-amd64", "dist-arm64"},
		},
		Published: Published{
			Source: "https://github.com/status-im/nimbus-eth2/releases/tag/v24.1.0", Tag: "v24.1.0",
			Manifests: []Manifest{{Name: notes, Layout: "coreutils, in Markdown", Checksums: 6}},
			Files: []File{
				{Name: amd64, URL: pubAmd64.URL, Size: pubAmd64.Size, SHA256: pubAmd64.SHA256},
				{Name: arm64, URL: pubArm64.URL, Size: pubArm64.Size, SHA256: pubArm64.SHA256},
				{Name: win, URL: pubWin.URL, Size: pubWin.Size, SHA256: pubWin.SHA256},
			},
		},
		Policy: Policy{
			Passes: []string{"tar-order", "tar-mtime", "tar-owner", "gzip-header"},
			Members: []Rule{{Artifact: "nimbus-eth2_*.tar.gz", Members: []string{"build/nimbus_beacon_node", "build/nimbus_beacon_node.sha512sum"},
				Reason: "the tarball is made by a plain tar czf; its binaries are what reproduce"}},
		},
		Artifacts: []Artifact{
			{
				Name: hostileArtifact, Status: StatusExtra, Detail: "rebuilt, not published",
				Rebuilt: &FileDigest{Name: hostileArtifact, Size: 61, SHA256: fixtureSHA256("hostile")},
			},
			{
				Name: amd64, Status: StatusDifferent,
				Detail:  "2 of 2 members differ in content: build/nimbus_beacon_node, build/nimbus_beacon_node.sha512sum",
				Rebuilt: fixtureDigest(amd64, "", 20983552, "nimbus-amd64-rebuilt"), Published: pubAmd64, ComparedBy: "members",
				Checksums: []Checksum{{Manifest: notes, Name: "nimbus_beacon_node", Algorithm: "sha512",
					Expected: fixtureSHA512("nbn-published"), Computed: fixtureSHA512("nbn-published"), Match: true}},
				Differences: diffs,
			},
			{
				Name: arm64, Status: StatusChecksumMismatch,
				Detail:  "the release notes' SHA-512 of nimbus_beacon_node (# Linux ARM64) is not that of build/nimbus_beacon_node in the published archive",
				Rebuilt: fixtureDigest(arm64, "", 19922944, "nimbus-arm64"), Published: pubArm64, ComparedBy: "members",
				Checksums: []Checksum{{Manifest: notes, Name: "nimbus_beacon_node", Algorithm: "sha512",
					Expected: fixtureSHA512("arm64-notes"), Computed: fixtureSHA512("arm64-archive"), Match: false}},
			},
			{
				Name: win, Status: StatusMissing, Detail: "published, not rebuilt: no artifact of the build matches", Published: pubWin,
			},
		},
		Warnings: []string{
			"published checksums name nimbus_light_client, which no published archive holds",
			"a release asset name holds control characters: \"notes\x1b]0;pwned\x07.txt\"",
		},
	}
}

// buildFailedVerification: a Garage-shaped release whose build failed.
func buildFailedVerification() *Verification {
	const rel = "https://garagehq.example.org/_releases/v1.0.1/"
	return &Verification{
		Schema:    VerifySchema,
		Verdict:   VerdictBuildFailed,
		Reason:    "the build failed, so nothing was compared: build: exit status 101",
		Timestamp: verifyTimestamp,
		Reproof:   verifyVersion,
		Source: SourceInfo{
			Repo: "https://git.example.org/Deuxfleurs/garage.git", Tag: "v1.0.1",
			Commit: fixtureHex("garage-commit", 40), Tree: fixtureHex("garage-tree", 40), SourceDateEpoch: 1728043200,
		},
		Environment: Environment{
			Image:       "127.0.0.1:5000/reproof/garage-builder@sha256:" + fixtureSHA256("garage-image"),
			ImageDigest: "sha256:" + fixtureSHA256("garage-image"), Platform: "linux/amd64",
			Runtime: "docker", RuntimeVersion: "20.10.24+dfsg1", User: "1000:1000",
			Command: []string{"cargo", "build", "--release", "--offline", "--target", "x86_64-unknown-linux-musl"},
		},
		Published: Published{
			Source:    "https://garagehq.example.org/_releases.json",
			Manifests: []Manifest{},
			Files: []File{
				{Name: "x86_64-unknown-linux-musl/garage", URL: rel + "x86_64-unknown-linux-musl/garage", Size: 30408704, SHA256: fixtureSHA256("garage-amd64")},
				{Name: "aarch64-unknown-linux-musl/garage", URL: rel + "aarch64-unknown-linux-musl/garage", Size: 28311552, SHA256: fixtureSHA256("garage-arm64")},
			},
		},
		Policy:    Policy{Passes: []string{}},
		Artifacts: []Artifact{},
		Warnings:  []string{},
		Error:     "build: exit status 101",
		BuildLogTail: "   Compiling garage_api v1.0.1 (/src/src/api)\n" +
			"error[E0425]: cannot find value `GIT_VERSION` in this scope\n" +
			"  --> src/garage/main.rs:42:23\n" +
			"   |\n" +
			"42 |     let version = ```GIT_VERSION```;\n" +
			"   |                   ^^^^^^^^^^^ not found in this scope\n" +
			"\x1b[1m\x1b[31merror\x1b[0m: could not compile `garage` (bin \"garage\") due to 1 previous error\n",
	}
}

// errorVerification: a release where one artifact could not be compared
// completely (a limit was reached) and the other is identical.
func errorVerification() *Verification {
	v := reproducibleVerification()
	v.Verdict = VerdictError
	v.Reason = "1 artifact could not be compared completely"
	bin := &v.Artifacts[0]
	bin.Status = StatusError
	bin.Detail = "the comparison stopped short: more than 100,000 entries (--max-entries)"
	bin.Rebuilt.SHA256, bin.Rebuilt.SHA512, bin.Rebuilt.Size = fixtureSHA256("lix-bin-rebuilt"), fixtureSHA512("lix-bin-rebuilt"), 24117312
	bin.ComparedBy = "normalized"
	bin.Incomplete = []string{"lix-2.91.1-x86_64-linux.tar.xz: more than 100000 entries (--max-entries)"}
	bin.Differences = []compare.Difference{
		{Path: "", Kind: compare.KindCompression, Detail: "xz check CRC64 → CRC32, same payload"},
		{Path: "lix-2.91.1-x86_64-linux/store/aaaa-lix-2.91.1/bin/nix", Kind: compare.KindMode, Detail: "0555 → 0755", Old: "0555", New: "0755"},
	}
	return v
}

// verifyFixtures names every Verification the verify golden tests render.
var verifyFixtures = []struct {
	name string
	v    func() *Verification
}{
	{"reproducible", reproducibleVerification},
	{"normalized", normalizedVerification},
	{"not-reproducible", notReproducibleVerification},
	{"build-failed", buildFailedVerification},
	{"error", errorVerification},
}

// fixtureAttestationOptions cites the spec file at the tag and the
// rebuild's provenance.
func fixtureAttestationOptions(v *Verification) AttestationOptions {
	return AttestationOptions{
		Policy: ResourceDescriptor{Name: "reproof.toml",
			URI:    strings.TrimSuffix(v.Source.Repo, ".git") + "/blob/" + v.Source.Tag + "/reproof.toml",
			Digest: map[string]string{"sha256": fixtureSHA256("spec:" + v.Source.Repo)}},
		InputAttestations: []ResourceDescriptor{{Name: "provenance.intoto.json",
			URI:    "file:///var/lib/reproof/rebuilt/provenance.intoto.json",
			Digest: map[string]string{"sha256": fixtureSHA256("provenance:" + v.Source.Repo)}}},
	}
}
