package report

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestVerifyTextVerdictFirst: the first line of the text report is the
// verdict, then the exit status the command will give.
func TestVerifyTextVerdictFirst(t *testing.T) {
	want := map[string]string{
		"reproducible":     "REPRODUCIBLE: ",
		"normalized":       "REPRODUCIBLE AFTER NORMALIZATION: ",
		"not-reproducible": "NOT REPRODUCIBLE: ",
		"build-failed":     "BUILD FAILED: ",
		"error":            "ERROR: ",
	}
	for _, f := range verifyFixtures {
		v := f.v()
		lines := strings.Split(string(renderVerify(t, "txt", v)), "\n")
		if !strings.HasPrefix(lines[0], want[f.name]) || !strings.HasSuffix(lines[0], v.Reason) {
			t.Errorf("%s: first line %q, want %q and the reason", f.name, lines[0], want[f.name])
		}
		if exit := "exit status " + itoa(v.ExitCode()); !strings.HasPrefix(lines[1], "  "+exit) {
			t.Errorf("%s: second line %q, want it to start with %q", f.name, lines[1], exit)
		}
	}
	v := reproducibleVerification()
	v.Verdict = "reproducible\x1b[2J-ish"
	var b bytes.Buffer
	if err := VerifyText(&b, v, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); !strings.HasPrefix(first, `REPRODUCIBLE\X1B[2J-ISH`) {
		t.Errorf("an unknown verdict is shown as %q", first)
	}
}

// sgr matches the colour sequences the text report writes itself.
var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// TestVerifyTextHostile: without colour the report holds no escape
// character at all; with colour, only its own SGR sequences. Hostile
// names, warnings and log lines are shown escaped.
func TestVerifyTextHostile(t *testing.T) {
	for _, f := range verifyFixtures {
		plain := renderVerify(t, "txt", f.v())
		if i := bytes.IndexAny(plain, "\x1b\x07\r\u202e"); i >= 0 {
			t.Errorf("%s.txt holds a control character at %d: %q", f.name, i, plain[max(0, i-20):min(len(plain), i+20)])
		}
		color := renderVerify(t, "color.txt", f.v())
		if rest := sgr.ReplaceAll(color, nil); bytes.ContainsAny(rest, "\x1b\x07\r\u202e") {
			t.Errorf("%s.color.txt holds a control character besides its own colours", f.name)
		}
		if got := sgr.ReplaceAll(color, nil); !bytes.Equal(got, plain) {
			t.Errorf("%s: the coloured report is not the plain one with colours:\n%s", f.name, firstDifference(got, plain))
		}
	}
	out := string(renderVerify(t, "txt", notReproducibleVerification()))
	for _, want := range []string{
		`"build/\x1b[31mevil\x1b[0m<img src=x onerror=alert(1)>\u202e|**bold**` + "```" + `.txt"`,
		`"notes\x1b]0;pwned\a.txt"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	log := string(renderVerify(t, "txt", buildFailedVerification()))
	if !strings.Contains(log, `  | \x1b[1m\x1b[31merror\x1b[0m: could not compile`) {
		t.Errorf("the build log's escape sequences are not shown escaped:\n%s", log)
	}
}

// TestVerifyTextSections: every part the report promises is there, in order.
func TestVerifyTextSections(t *testing.T) {
	out := string(renderVerify(t, "txt", notReproducibleVerification()))
	order := []string{
		"NOT REPRODUCIBLE", "Inputs", "  source    https://github.com/status-im/nimbus-eth2.git @ v24.1.0, commit 1a2b3c4d",
		"  image     127.0.0.1:5000/reproof/nimbus-builder", "  runtime   docker 20.10.24+dfsg1",
		"  published https://github.com/status-im/nimbus-eth2/releases/tag/v24.1.0", "Warnings", "Artifacts",
		"  NAME ", "nimbus-eth2_Linux_amd64_24.1.0_1a2b3c4d.tar.gz: different",
		"    2 entries differ in content:", "      build/nimbus_beacon_node: 43,515,904 bytes, content differs",
		"          +00001a40: 726f", "    3 entries also differ in mtime", "    4 entries in a different order",
		"nimbus-eth2_Linux_arm64v8_24.1.0_1a2b3c4d.tar.gz: checksum-mismatch", "    MISMATCH  sha512 of nimbus_beacon_node",
		"              expected 5d18", "              computed a399",
		"nimbus-eth2_Windows_amd64_24.1.0_1a2b3c4d.tar.gz: missing",
	}
	at := 0
	for _, s := range order {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("after byte %d, the report lacks %q:\n%s", at, s, out)
		}
		at += i + len(s)
	}

	out = string(renderVerify(t, "txt", normalizedVerification()))
	for _, want := range []string{
		"  exit status 3, or 0 with --accept-normalized; 2 artifacts: 1 equivalent, 1 skipped",
		"    tar-mtime: changed 500 rebuilt, 0 published", "      - 12,802 entries in a different order",
		"  differences the normalization hid (", "    500 entries differ only in mtime (2024-01-01T00:00:00Z → 2024-01-01T00:17:33Z), e.g. ",
		" and 490 more", "NOT PINNED by digest",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the normalized report lacks %q", want)
		}
	}
}

// TestVerifyNil: every verify renderer refuses a nil Verification.
func TestVerifyNil(t *testing.T) {
	var b bytes.Buffer
	for name, err := range map[string]error{
		"text":        VerifyText(&b, nil, TextOptions{}),
		"markdown":    VerifyMarkdown(&b, nil),
		"html":        VerifyHTML(&b, nil),
		"json":        VerifyJSON(&b, nil),
		"attestation": VerifyAttestation(&b, nil, AttestationOptions{}),
	} {
		if !errors.Is(err, errNilVerification) {
			t.Errorf("%s(nil) = %v, want errNilVerification", name, err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q for nil", b.String())
	}
}

// TestVerifyWriteErrors: a failing writer's error (failingWriter, from
// escape_test.go) comes back from every renderer.
func TestVerifyWriteErrors(t *testing.T) {
	v := notReproducibleVerification()
	for name, err := range map[string]error{
		"text":        VerifyText(failingWriter{}, v, TextOptions{}),
		"markdown":    VerifyMarkdown(failingWriter{}, v),
		"html":        VerifyHTML(failingWriter{}, v),
		"json":        VerifyJSON(failingWriter{}, v),
		"attestation": VerifyAttestation(failingWriter{}, v, AttestationOptions{Policy: ResourceDescriptor{URI: "https://example.org/policy"}}),
	} {
		if !errors.Is(err, errWrite) {
			t.Errorf("%s to a failing writer = %v, want %v", name, err, errWrite)
		}
	}
}
