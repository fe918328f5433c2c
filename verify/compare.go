package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/rebuild"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
	"github.com/reproof/reproof/spec"
)

// comparer decides the status of every artifact.
type comparer struct {
	ctx      context.Context
	spec     *spec.Spec
	passes   archive.PassSet
	epoch    int64
	tmp      string
	caps     compare.Options // the caps of a comparison, and of reading one archive
	progress io.Writer
}

// artifacts pairs rebuilt and published artifacts and compares each pair.
//
//   - rebuilt and published (same name, or the one published file with that
//     base name): compared, unless a skip rule names it;
//   - published, not rebuilt: missing, unless skipped;
//   - rebuilt, not published: missing when a published checksum lists it
//     (the release promised it), extra otherwise (informational);
//   - a published file that disagrees with the release's own checksum is a
//     checksum-mismatch, whatever the comparison found.
func (c *comparer) artifacts(rebuilt []rebuild.Artifact, rebuiltDir string, pub *published) ([]report.Artifact, []string, error) {
	var out []report.Artifact
	var warnings []string
	listed := map[string]release.Checksum{}
	for _, ck := range pub.check.Unmatched {
		listed[ck.Name] = ck
	}
	memberSums, warns, err := c.memberChecksums(pub)
	if err != nil {
		return nil, nil, err
	}
	warnings = append(warnings, warns...)
	for _, m := range pub.check.Manifests {
		if m.Signature.Signed && !m.Signature.Checked {
			warnings = append(warnings, fmt.Sprintf("%s is signed, but its signature was not checked (give --keyring): %s", m.Name, m.Signature.Detail))
		}
	}

	usedPub := map[string]bool{}
	for _, r := range rebuilt {
		rd := &report.FileDigest{Name: r.Name, Size: r.Size, SHA256: r.SHA256, SHA512: r.SHA512}
		pubName, ok := pub.match(r.Name)
		if !ok {
			a := report.Artifact{Name: r.Name, Rebuilt: rd}
			// The tagged source builds it and the release does not have
			// it: the release is not what its source produces.
			// A release may publish a subset of what its tag builds: an
			// artifact nothing published mentions is extra (listed, never
			// failing). One the release promised — a published checksum
			// names it or its members — is missing.
			switch skip, skipped := c.spec.SkipFor(r.Name); {
			case skipped:
				a.Status, a.Detail = report.StatusSkipped, "declared not reproducible: "+skip.Reason
			case listed[r.Name].Name != "":
				a.Status, a.Detail = report.StatusMissing, fmt.Sprintf("rebuilt and listed in %s, but not published", listed[r.Name].Source)
			default:
				if refs := c.referencedMembers(filepath.Join(rebuiltDir, r.Name), r.Name, pub); len(refs) > 0 {
					a.Status = report.StatusMissing
					a.Detail = "rebuilt, not published, yet the release lists checksums of its members (" + strings.Join(refs, ", ") + ")"
					break
				}
				a.Status, a.Detail = report.StatusExtra, "rebuilt, not published (informational: the release publishes a subset of what the tag builds)"
				if url := pub.absent[r.Name]; url != "" {
					a.Detail = "rebuilt, not published: " + url + " answered 404 (informational)"
				}
			}
			out = append(out, a)
			continue
		}
		usedPub[pubName] = true
		pf := pub.files[pubName]
		a := report.Artifact{Name: pubName, Rebuilt: rd, Published: publishedDigest(pf)}
		a.Checksums = append(checksumsOf(pf.check), memberSums[pubName]...)
		warnings = append(warnings, unvouched(&a, pf.check.Signature)...)
		if skip, skipped := c.spec.SkipFor(pubName); skipped {
			a.Status, a.Detail = report.StatusSkipped, "declared not reproducible: "+skip.Reason
			out = append(out, a)
			continue
		}
		fmt.Fprintf(c.progress, "compare: %s\n", pubName)
		if err := c.compareOne(&a, filepath.Join(rebuiltDir, r.Name), pf.path); err != nil {
			if c.ctx.Err() != nil {
				return nil, nil, c.ctx.Err()
			}
			a.Status, a.Detail = report.StatusError, oneLine(err.Error())
		}
		markChecksumMismatch(&a)
		markBadSignature(&a, pf.check.Signature)
		out = append(out, a)
	}
	for _, name := range pub.names {
		if usedPub[name] {
			continue
		}
		pf := pub.files[name]
		a := report.Artifact{Name: name, Published: publishedDigest(pf)}
		a.Checksums = append(checksumsOf(pf.check), memberSums[name]...)
		warnings = append(warnings, unvouched(&a, pf.check.Signature)...)
		if skip, skipped := c.spec.SkipFor(name); skipped {
			a.Status, a.Detail = report.StatusSkipped, "declared not reproducible: "+skip.Reason
		} else {
			a.Status, a.Detail = report.StatusMissing, "published, not rebuilt"
		}
		markChecksumMismatch(&a)
		markBadSignature(&a, pf.check.Signature)
		out = append(out, a)
	}
	return out, warnings, nil
}

// markBadSignature turns the artifact into a checksum-mismatch when its own
// detached signature (NAME.asc, NAME.sig) was checked against the keyring
// and refused: the release does not vouch for these bytes.
func markBadSignature(a *report.Artifact, sig *release.Signature) {
	if sig == nil || !sig.Checked || sig.Valid {
		return
	}
	what := "its detached signature was refused: " + sig.Detail
	if a.Status != "" && a.Status != report.StatusChecksumMismatch {
		what += fmt.Sprintf(" (rebuilt vs published: %s)", a.Status)
	}
	a.Status, a.Detail = report.StatusChecksumMismatch, what
}

// unvouched marks a published artifact no published checksum (of it or
// of its members) covers, and returns the warning that says so: its digest
// was computed here, and nothing the release publishes vouches for it.
func unvouched(a *report.Artifact, sig *release.Signature) []string {
	if len(a.Checksums) > 0 || (sig != nil && sig.Valid) {
		return nil
	}
	a.Unvouched = true
	return []string{fmt.Sprintf("no published checksum or signature covers %s: its digest was computed here, nothing the release publishes vouches for it", a.Name)}
}

// referencedMembers names the members of a rebuilt archive that published
// checksums name (nimbus-eth2's release body lists the binaries inside its
// tarballs): evidence that the release meant to publish the archive.
func (c *comparer) referencedMembers(file, name string, pub *published) []string {
	wanted := map[string][]release.Checksum{}
	for _, ck := range pub.check.Unmatched {
		if sectionMatches(ck.Section, name) {
			wanted[path.Base(ck.Name)] = append(wanted[path.Base(ck.Name)], ck)
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	found, err := c.scanMembers(file, "rebuilt "+name, wanted)
	if err != nil {
		return nil
	}
	var out []string
	for _, fm := range found {
		for _, cks := range wanted {
			if memberNamed(fm.path, cks[0].Name) {
				out = append(out, fm.path)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func publishedDigest(pf publishedFile) *report.FileDigest {
	return &report.FileDigest{Name: pf.check.Name, URL: pf.check.URL, Size: pf.check.Size, SHA256: pf.check.SHA256, SHA512: pf.check.SHA512}
}

func checksumsOf(a release.AssetCheck) []report.Checksum {
	var out []report.Checksum
	for _, c := range a.Checksums {
		out = append(out, report.Checksum{Manifest: c.Source, Name: c.Name, Algorithm: string(c.Algorithm), Expected: c.Digest, Computed: c.Computed, Match: c.Match})
	}
	return out
}

// markChecksumMismatch turns the artifact into a checksum-mismatch when a
// published checksum disagrees with the published bytes: the release is
// inconsistent with itself, whatever the rebuild says. What the comparison
// found stays in the detail.
func markChecksumMismatch(a *report.Artifact) {
	for _, ck := range a.Checksums {
		if ck.Match {
			continue
		}
		what := fmt.Sprintf("%s says %s %s for %s, the published bytes hash to %s", ck.Manifest, ck.Algorithm, short(ck.Expected), ck.Name, short(ck.Computed))
		if a.Status != "" && a.Status != report.StatusChecksumMismatch {
			what += fmt.Sprintf(" (rebuilt vs published: %s)", a.Status)
		}
		a.Status, a.Detail = report.StatusChecksumMismatch, what
		return
	}
}

func short(hexDigest string) string {
	if len(hexDigest) > 16 {
		return hexDigest[:16] + "…"
	}
	return hexDigest
}

// compareOne decides identical, equivalent or different for one pair.
func (c *comparer) compareOne(a *report.Artifact, rebuilt, published string) error {
	if a.Rebuilt.SHA256 == a.Published.SHA256 {
		a.Status, a.ComparedBy, a.Detail = report.StatusIdentical, "bytes", "the same bytes"
		return nil
	}
	// A is the published file, B the rebuilt one: "missing" means
	// published but not rebuilt, and diffs read published → rebuilt.
	opts := c.caps
	opts.TempDir, opts.MaxDepth = c.tmp, c.spec.Compare.MaxDepth
	res, err := compare.Compare(c.ctx, published, rebuilt, opts)
	if err != nil {
		return err
	}
	a.Differences = res.Differences
	a.Incomplete = res.Incomplete
	if len(res.Incomplete) > 0 {
		return fmt.Errorf("the comparison stopped short: %s", strings.Join(res.Incomplete, "; "))
	}

	if rule, ok := c.spec.MemberRuleFor(a.Name); ok {
		return c.compareMembers(a, rule, rebuilt, published, res)
	}
	if res.Status() == compare.StatusDiffers {
		a.Status, a.ComparedBy = report.StatusDifferent, "bytes"
		a.Detail = describe(res.Differences)
		return nil
	}
	return c.compareNormalized(a, rebuilt, published)
}

// compareNormalized normalizes both sides with the allowed passes and
// compares the results byte for byte. Equal: equivalent, with each pass
// that changed something and the differences it hid. Not equal (or not an
// archive normalize can rewrite): different.
func (c *comparer) compareNormalized(a *report.Artifact, rebuilt, published string) error {
	a.ComparedBy = "normalized"
	ra, rerr := c.normalize(rebuilt, "rebuilt "+a.Name)
	pa, perr := c.normalize(published, "published "+a.Name)
	if errors.Is(rerr, archive.ErrNotArchive) || errors.Is(perr, archive.ErrNotArchive) {
		a.Status, a.ComparedBy = report.StatusDifferent, "bytes"
		a.Detail = "not an archive normalize can rewrite, and the bytes differ: " + describe(a.Differences)
		return nil
	}
	if rerr != nil {
		return rerr
	}
	if perr != nil {
		return perr
	}
	if ra.sum != pa.sum {
		a.Status = report.StatusDifferent
		a.Detail = "different even after normalization with the allowed passes (" + strings.Join(c.passes.Names(), ", ") + "): " + describe(a.Differences)
		if forbidden := forbiddenPasses(c.passes, a.Differences); len(forbidden) > 0 {
			a.Detail += "; passes the policy does not allow would be needed: " + strings.Join(forbidden, ", ")
		}
		return nil
	}
	a.Status = report.StatusEquivalent
	a.Normalizations = normalizations(ra.rep, pa.rep, a.Differences)
	var names []string
	for _, n := range a.Normalizations {
		names = append(names, n.Pass)
	}
	a.Detail = "equal after normalization: " + strings.Join(names, ", ")
	return nil
}

type normalized struct {
	sum string
	rep *archive.NormalizeReport
}

// normalize runs the allowed passes over file and hashes the output,
// which is never kept.
func (c *comparer) normalize(file, what string) (*normalized, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	opts := archive.NormalizeOptions{
		Passes: c.passes, Epoch: unixUTC(c.epoch), HasEpoch: true, TempDir: c.tmp, Limits: c.caps.Limits(),
	}
	// reproof cannot write bzip2: a bzip2 stream is hashed decompressed
	// (its compressor's differences were compared byte for byte by the
	// engine and are named as "recompression").
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	if archive.DetectCompression(head[:n]) == archive.Bzip2 {
		none := archive.NoCompression
		opts.Compression = &none
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	rep, err := archive.Normalize(c.ctx, f, what, h, opts)
	if err != nil {
		return nil, err
	}
	return &normalized{sum: hex.EncodeToString(h.Sum(nil)), rep: rep}, nil
}

// normalizations lists the passes that hid something: a pass is named
// only when the comparison engine found, before normalization, a
// difference of a kind the pass hides (archive.Pass.Hides) and the pass
// changed something on one side or the other; what it hid is those
// differences, counted with a sample.
func normalizations(r, p *archive.NormalizeReport, diffs []compare.Difference) []report.Normalization {
	changed := map[string][2]int64{}
	for i, rep := range []*archive.NormalizeReport{r, p} {
		for _, pr := range rep.Passes {
			c := changed[pr.Pass]
			c[i] = pr.Changed
			changed[pr.Pass] = c
		}
	}
	var out []report.Normalization
	for _, pass := range archive.Passes {
		c := changed[pass.Name]
		if c[0] == 0 && c[1] == 0 {
			continue
		}
		hidden := hiddenBy(pass, diffs)
		if len(hidden) == 0 {
			continue // it changed both sides alike: it hid nothing
		}
		n := report.Normalization{Pass: pass.Name, ChangedRebuilt: c[0], ChangedPublished: c[1]}
		n.Hid = append(n.Hid, fmt.Sprintf("%d %s difference(s)", len(hidden), strings.Join(pass.Hides, "/")))
		for _, d := range hidden[:min(3, len(hidden))] {
			n.Hid = append(n.Hid, fmt.Sprintf("%s: %s", displayPath(d.Path), d.Detail))
		}
		out = append(out, n)
	}
	// Compression settings are not a pass: both sides were rewritten with
	// reproof's fixed compressor, so differing compressor output is hidden
	// too; say so when the engine saw such a difference.
	for _, d := range diffs {
		if d.Kind == compare.KindCompression {
			out = append(out, report.Normalization{Pass: "recompression", Hid: []string{fmt.Sprintf("%s: %s", displayPath(d.Path), d.Detail)}})
			break
		}
	}
	return out
}

// hiddenBy returns the differences of the kinds the pass hides.
func hiddenBy(pass archive.Pass, diffs []compare.Difference) []compare.Difference {
	var out []compare.Difference
	for _, d := range diffs {
		if slices.Contains(pass.Hides, string(d.Kind)) {
			out = append(out, d)
		}
	}
	return out
}

// forbiddenPasses names passes outside the policy that hide a kind of
// difference found: what the user would have to allow.
func forbiddenPasses(allowed archive.PassSet, diffs []compare.Difference) []string {
	var out []string
	for _, p := range archive.Passes {
		if !allowed.Has(p.Name) && len(hiddenBy(p, diffs)) > 0 {
			out = append(out, p.Name)
		}
	}
	return out
}

func displayPath(p string) string {
	if p == "" {
		return "(the file itself)"
	}
	return p
}

// describe sums differences up in one line: counts by kind, content first.
func describe(diffs []compare.Difference) string {
	if len(diffs) == 0 {
		return "the bytes differ"
	}
	counts := map[compare.Kind]int{}
	first := map[compare.Kind]string{}
	for _, d := range diffs {
		counts[d.Kind]++
		if _, ok := first[d.Kind]; !ok {
			first[d.Kind] = displayPath(d.Path)
		}
	}
	var parts []string
	for _, k := range compare.Kinds {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", n, k, first[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// compareMembers decides an artifact under a member rule. Every member of
// both sides was paired by the comparison engine (res): the members the
// rule names must exist and match by content; every other member may
// differ only harmlessly (compare.HarmlessKinds) unless the rule's ignore
// globs leave it out. An ambiguous construct is never ignored: it can make
// one member extract as another.
func (c *comparer) compareMembers(a *report.Artifact, rule spec.MemberRule, rebuilt, published string, res *compare.Result) error {
	a.ComparedBy, a.Consumer = "members", rule.Consumer
	rn, err := c.namedMembers(rebuilt, "rebuilt "+a.Name, rule)
	if err != nil {
		return err
	}
	pn, err := c.namedMembers(published, "published "+a.Name, rule)
	if err != nil {
		return err
	}
	var named, other, ambiguous, erased []string
	ignored := 0
	seen := map[string]bool{}
	for _, d := range res.Differences {
		if !d.IsContent() {
			continue
		}
		if rule.Consumer == "npm" && npmErases(d) {
			erased = append(erased, displayPath(d.Path)+": "+d.Detail)
			continue
		}
		top, _, _ := strings.Cut(d.Path, "!/")
		name := cleanMember(top)
		switch {
		case d.Kind == compare.KindAmbiguous:
			ambiguous = appendOnce(ambiguous, seen, "ambiguous "+displayPath(d.Path))
		case name != "" && rule.Ignores(name):
			ignored++
		case name != "" && rule.MatchesMember(name):
			named = appendOnce(named, seen, name)
		default:
			other = appendOnce(other, seen, displayPath(d.Path))
		}
	}
	reason := ""
	if rule.Reason != "" {
		reason = " (" + rule.Reason + ")"
	}
	if rn == 0 && pn == 0 {
		a.Status, a.Detail = report.StatusDifferent, "the member rule "+rule.Artifact+" matches no member on either side: nothing to compare"
		return nil
	}
	if len(named)+len(other)+len(ambiguous) == 0 {
		a.Status = report.StatusIdentical
		a.Detail = fmt.Sprintf("by members: %s named by the rule %s%s identical in content, every other member the same in content and security metadata",
			plural(pn, "member"), rule.Artifact, reason)
		if ignored > 0 {
			a.Detail += fmt.Sprintf(", %s left out by its ignore globs", plural(ignored, "difference"))
		}
		if len(erased) > 0 {
			a.Detail += fmt.Sprintf("; judged by npm's extraction rules: %s npm install erases (%s)",
				plural(len(erased), "difference"), strings.Join(erased[:min(3, len(erased))], "; "))
		}
		a.Detail += "; the archives themselves differ only harmlessly: " + describe(a.Differences)
		return nil
	}
	a.Status = report.StatusDifferent
	var parts []string
	if len(ambiguous) > 0 {
		parts = append(parts, fmt.Sprintf("%d ambiguous (%s)", len(ambiguous), strings.Join(ambiguous, ", ")))
	}
	if len(named) > 0 {
		parts = append(parts, fmt.Sprintf("%d named members differ (%s)", len(named), strings.Join(named, ", ")))
	}
	if len(other) > 0 {
		parts = append(parts, fmt.Sprintf("%d other members differ (%s)", len(other), strings.Join(other, ", ")))
	}
	a.Detail = "by members under the rule " + rule.Artifact + ": " + strings.Join(parts, "; ")
	return nil
}

// npmErases reports whether npm install makes a difference disappear:
// pacote extracts a file with mode (mode|0666)&^umask and a directory
// with (mode|0777)&^umask (umask 022), owned by the installing user. So
// an owner difference goes, and a mode difference goes when only read and
// write bits differ; exec, setuid, setgid and sticky bits survive (for
// directories too, which errs on the strict side). Every other kind
// stays.
func npmErases(d compare.Difference) bool {
	switch d.Kind {
	case compare.KindOwner:
		return true
	case compare.KindMode:
		a, errA := strconv.ParseInt(d.Old, 8, 64)
		b, errB := strconv.ParseInt(d.New, 8, 64)
		const kept = 0o7111 // what (mode|0666)&^022 leaves of the entry's own bits
		return errA == nil && errB == nil && a&kept == b&kept
	}
	return false
}

// appendOnce appends s unless seen has it.
func appendOnce(list []string, seen map[string]bool, s string) []string {
	if seen[s] {
		return list
	}
	seen[s] = true
	return append(list, s)
}

// namedMembers counts the members of an archive that the rule names
// (directories and pax global headers aside).
func (c *comparer) namedMembers(file, what string, rule spec.MemberRule) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s, err := archive.Open(f, what, archive.Options{Limits: c.caps.Limits(), TempDir: c.tmp})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	n := 0
	for {
		e, err := s.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if e.Type != archive.TypePAXGlobal && e.Type != archive.TypeDir && rule.MatchesMember(cleanMember(e.Name)) {
			n++
		}
	}
}

func cleanMember(p string) string {
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	return strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
}
