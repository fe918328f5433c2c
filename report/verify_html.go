package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed verify.tmpl
var verifySource string

// verifyTemplate escapes by context (html/template): every name, URL,
// detail, diff and log line is text, never markup.
var verifyTemplate = template.Must(template.New("verify").Parse(verifySource))

// VerifyHTML writes the verification as one self-contained HTML page for
// auditors: inline CSS, no script and no external resource (a
// Content-Security-Policy forbids both). A banner coloured by the verdict
// comes first, with the reason and the exit status; then the warnings, the
// error and build log, the artifact table, every input and the
// environment (source, commit, tree, SOURCE_DATE_EPOCH, image and digest,
// platform, runtime and version, user, network, command, reproof's
// version), the published release (source, manifests, files with their
// digests), the policy (passes, member and skip rules with their reasons),
// and each artifact's details in a collapsible block: both sides with full
// digests, checksums, normalize passes and what each hid, and the grouped
// differences with each diff coloured by line.
func VerifyHTML(w io.Writer, v *Verification) error {
	if v == nil {
		return errNilVerification
	}
	bw := bufio.NewWriter(w)
	if err := verifyTemplate.Execute(bw, verifyPageOf(v)); err != nil {
		return fmt.Errorf("report: rendering html: %w", err)
	}
	return bw.Flush()
}

type verifyPage struct {
	Title, Verdict, VerdictClass, Reason, Exit, Counts string
	Timestamp, Reproof                                 string
	Warnings                                           []string
	Error, ErrorTitle                                  string
	Log                                                []string
	LogSummary                                         string
	Explain                                            []string
	LogFile                                            string
	Inputs                                             []verifyRow
	Published                                          []verifyRow
	Manifests                                          []verifyManifest
	Files                                              []verifyFile
	Passes                                             []string
	AcceptNormalized                                   string
	Members, Skips                                     []verifyRule
	Artifacts                                          []verifyArtifact
}

type verifyRow struct {
	Key, Value string
	Mono, Warn bool
}

type verifyManifest struct {
	Name, Layout, Checksums, Signature, SignatureClass string
}

type verifyFile struct {
	Name, URL, Size, SHA256 string
}

type verifyRule struct {
	Artifact, Members, Reason string
}

type verifyArtifact struct {
	ID, Name, Status, Class, Detail, ComparedBy string
	ComparedByLong                              string
	RebuiltShort, PublishedShort                string
	Open                                        bool
	Sides                                       []verifySide
	Checksums                                   []verifyChecksum
	Incomplete                                  []string
	Normalizations                              []verifyNormalization
	DiffTitle, Legend                           string
	// Image describes an image artifact (verifyImageLines).
	Image  []string
	Groups []htmlGroup
}

type verifySide struct {
	Label, Name, URL, Size, SHA256, SHA512 string
}

type verifyChecksum struct {
	Match                                               bool
	Algorithm, Name, Manifest, Expected, Computed, Line string
}

type verifyNormalization struct {
	Pass, Rebuilt, Published string
	Hid                      []string
}

func verifyPageOf(v *Verification) verifyPage {
	text := func(s string) string { return visible(s, false) }
	e := v.Environment
	page := verifyPage{
		Title:        "reproof verify: " + verdictLabel(v.Verdict) + " — " + text(v.Source.Repo) + " @ " + text(v.Source.Tag),
		Verdict:      verdictLabel(v.Verdict),
		VerdictClass: verdictClass(v.Verdict),
		Reason:       text(v.Reason),
		Exit:         exitLine(v),
		Counts:       statusCounts(v.Artifacts),
		Timestamp:    orNone(text(v.Timestamp)),
		Reproof:      orNone(text(v.Reproof)),
		Error:        text(v.Error),
		Passes:       visibleAll(v.Policy.Passes),
	}
	for _, w := range v.Warnings {
		page.Warnings = append(page.Warnings, text(w))
	}
	for _, l := range diffLines(v.BuildLogTail) {
		page.Log = append(page.Log, visible(l, true))
	}
	page.LogSummary = "Build log (last " + plural(len(page.Log), "line", "lines") + ")"
	for _, l := range v.BuildExplain {
		page.Explain = append(page.Explain, visible(l, true))
	}
	page.LogFile = text(v.BuildLogFile)
	page.ErrorTitle = "Error"
	if v.Verdict == VerdictBuildFailed {
		page.ErrorTitle = "Build failed"
	}

	row := func(rows *[]verifyRow, key, value string, mono bool) {
		*rows = append(*rows, verifyRow{Key: key, Value: value, Mono: mono && value != "(none)"})
	}
	row(&page.Inputs, "Repository", orNone(text(v.Source.Repo)), true)
	row(&page.Inputs, "Tag", orNone(text(v.Source.Tag)), true)
	row(&page.Inputs, "Commit", orNone(text(v.Source.Commit)), true)
	row(&page.Inputs, "Tree", orNone(text(v.Source.Tree)), true)
	row(&page.Inputs, "SOURCE_DATE_EPOCH", epochLine(v.Source.SourceDateEpoch), false)
	row(&page.Inputs, "Image", orNone(text(e.Image)), true)
	row(&page.Inputs, "Image digest", orNone(text(e.ImageDigest)), true)
	if e.Unpinned {
		page.Inputs = append(page.Inputs, verifyRow{Key: "Image pinning", Value: "not pinned by digest: the tag was resolved when the build ran", Warn: true})
	}
	row(&page.Inputs, "Platform", orNone(text(e.Platform)), true)
	rt := orNone(text(e.Runtime))
	if e.RuntimeVersion != "" {
		rt += " " + text(e.RuntimeVersion)
	}
	row(&page.Inputs, "Runtime", rt, false)
	row(&page.Inputs, "User", orNone(text(e.User)), true)
	page.Inputs = append(page.Inputs, verifyRow{Key: "Network", Value: networkWord(e.Network), Warn: e.Network})
	row(&page.Inputs, "Command", argvLine(e.Command), true)
	row(&page.Inputs, "reproof version", orNone(text(v.Reproof)), true)
	row(&page.Inputs, "Verified at", orNone(text(v.Timestamp)), false)

	row(&page.Published, "Source", orNone(text(v.Published.Source)), true)
	if v.Published.Tag != "" {
		row(&page.Published, "Tag", text(v.Published.Tag), true)
	}
	for _, m := range v.Published.Manifests {
		vm := verifyManifest{Name: displayPath(m.Name), Layout: text(m.Layout), Checksums: formatInt(int64(m.Checksums))}
		switch m.Signed {
		case "":
			vm.Signature = "unsigned or not checked"
		case "good":
			vm.Signature, vm.SignatureClass = "good signature", "good"
		case "bad":
			vm.Signature, vm.SignatureClass = "BAD signature", "bad"
		default:
			vm.Signature = text(m.Signed)
		}
		page.Manifests = append(page.Manifests, vm)
	}
	for _, f := range v.Published.Files {
		page.Files = append(page.Files, verifyFile{Name: displayPath(f.Name), URL: text(f.URL), Size: plural64(f.Size, "byte", "bytes"), SHA256: orNone(text(f.SHA256))})
	}

	page.AcceptNormalized = "no: an artifact equal only after normalization makes the verdict reproducible-after-normalization (exit status 3)"
	if v.Policy.AcceptNormalized {
		page.AcceptNormalized = "yes (--accept-normalized): reproducible-after-normalization exits 0"
	}
	for _, r := range v.Policy.Members {
		page.Members = append(page.Members, verifyRule{Artifact: text(r.Artifact), Members: strings.Join(displayPaths(r.Members), ", "), Reason: text(r.Reason)})
	}
	for _, r := range v.Policy.Skips {
		page.Skips = append(page.Skips, verifyRule{Artifact: text(r.Artifact), Reason: orNone(text(r.Reason))})
	}

	for i, a := range v.Artifacts {
		page.Artifacts = append(page.Artifacts, verifyArtifactOf(i, a))
	}
	return page
}

func visibleAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = visible(s, false)
	}
	return out
}

func hidTexts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = visible(groupLeadingNumber(s), false)
	}
	return out
}

func displayPaths(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = displayPath(s)
	}
	return out
}

func verifyArtifactOf(i int, a Artifact) verifyArtifact {
	text := func(s string) string { return visible(s, false) }
	va := verifyArtifact{
		ID:             fmt.Sprintf("artifact-%d", i+1),
		Name:           displayPath(a.Name),
		Status:         statusOf(a),
		Class:          artifactClass(a.Status),
		Detail:         text(a.Detail),
		ComparedBy:     orDash(text(a.ComparedBy)),
		ComparedByLong: comparedByLong(a.ComparedBy) + consumerNote(a),
		RebuiltShort:   shortHash(sha256Of(a.Rebuilt)),
		PublishedShort: shortHash(sha256Of(a.Published)),
		Open:           a.Status != StatusIdentical && a.Status != StatusSkipped && a.Status != StatusExtra,
	}
	for _, s := range []struct {
		label string
		d     *FileDigest
	}{{"Published", a.Published}, {"Rebuilt", a.Rebuilt}} {
		if s.d == nil {
			va.Sides = append(va.Sides, verifySide{Label: s.label, Name: "(none)"})
			continue
		}
		va.Sides = append(va.Sides, verifySide{
			Label: s.label, Name: displayPath(s.d.Name), URL: text(s.d.URL), Size: plural64(s.d.Size, "byte", "bytes"),
			SHA256: orNone(text(s.d.SHA256)), SHA512: text(s.d.SHA512),
		})
	}
	for _, c := range a.Checksums {
		va.Checksums = append(va.Checksums, verifyChecksum{
			Match: c.Match, Algorithm: text(c.Algorithm), Name: displayPath(c.Name), Manifest: displayPath(c.Manifest),
			Expected: orNone(text(c.Expected)), Computed: orNone(text(c.Computed)),
		})
	}
	va.Incomplete = visibleAll(a.Incomplete)
	va.Image = verifyImageLines(a)
	for _, n := range a.Normalizations {
		va.Normalizations = append(va.Normalizations, verifyNormalization{
			Pass: text(n.Pass), Rebuilt: formatInt(n.ChangedRebuilt), Published: formatInt(n.ChangedPublished), Hid: hidTexts(n.Hid),
		})
	}

	r := artifactResult(a)
	groups := Summarize(r)
	va.Groups = htmlPageOf(r).Groups
	for j := range va.Groups {
		va.Groups[j].ID = fmt.Sprintf("%s-group-%d", va.ID, j+1)
		va.Groups[j].Title = verifyGroupTitle(groups[j])
	}
	va.DiffTitle = "Differences"
	if a.Status == StatusEquivalent {
		va.DiffTitle = "Differences the normalization hid"
	}
	va.Legend = differencesLegend
	return va
}
