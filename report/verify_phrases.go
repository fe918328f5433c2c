package report

import (
	"errors"
	"fmt"
	"strings"

	"github.com/reproof/reproof/compare"
)

// The wording every verify report shares: verdict labels, status names,
// counts, inputs in one line. Names from the inputs are escaped by the
// caller for its format; these helpers only build prose around them.

// errNilVerification is returned by every verify renderer given a nil
// Verification.
var errNilVerification = errors.New("report: nil verification")

// verdictLabel is the verdict as a person reads it first: "REPRODUCIBLE",
// "NOT REPRODUCIBLE". A verdict this package does not know is shown as it
// is, upper-cased, never as one it knows.
func verdictLabel(v Verdict) string {
	switch v {
	case VerdictReproducible:
		return "REPRODUCIBLE"
	case VerdictNormalized:
		return "REPRODUCIBLE AFTER NORMALIZATION"
	case VerdictNotReproducible:
		return "NOT REPRODUCIBLE"
	case VerdictBuildFailed:
		return "BUILD FAILED"
	case VerdictError:
		return "ERROR"
	}
	if v == "" {
		return "NO VERDICT"
	}
	return strings.ToUpper(visible(string(v), false))
}

// verdictClass names a verdict for colours: "good", "normalized", "bad",
// "build-failed" or "error".
func verdictClass(v Verdict) string {
	switch v {
	case VerdictReproducible:
		return "good"
	case VerdictNormalized:
		return "normalized"
	case VerdictNotReproducible:
		return "bad"
	case VerdictBuildFailed:
		return "build-failed"
	}
	return "error"
}

// exitLine says what reproof verify exits with: "exit status 3, or 0 with
// --accept-normalized".
func exitLine(v *Verification) string {
	s := fmt.Sprintf("exit status %d", v.ExitCode())
	if v.Verdict == VerdictNormalized && !v.Policy.AcceptNormalized {
		s += ", or 0 with --accept-normalized"
	}
	return s
}

// artifactClass names an artifact status for colours: "good", "normalized",
// "bad", "info", "skipped" or "error".
func artifactClass(st Status) string {
	switch st {
	case StatusIdentical:
		return "good"
	case StatusEquivalent:
		return "normalized"
	case StatusDifferent, StatusMissing, StatusChecksumMismatch:
		return "bad"
	case StatusExtra:
		return "info"
	case StatusSkipped:
		return "skipped"
	}
	return "error"
}

// statusOrder is the order statuses are counted in: the ones that decide
// the verdict first.
var statusOrder = []Status{
	StatusDifferent, StatusMissing, StatusChecksumMismatch, StatusError,
	StatusEquivalent, StatusIdentical, StatusSkipped, StatusExtra,
}

// statusCounts says how many artifacts have each status: "5 artifacts:
// 1 different, 1 missing, 3 identical". Statuses this package does not
// know are counted last, in order of first appearance.
func statusCounts(arts []Artifact) string {
	if len(arts) == 0 {
		return "no artifacts compared"
	}
	n := map[Status]int{}
	var unknown []Status
	for _, a := range arts {
		if n[a.Status] == 0 && !knownStatus(a.Status) {
			unknown = append(unknown, a.Status)
		}
		n[a.Status]++
	}
	var parts []string
	for _, st := range append(append([]Status(nil), statusOrder...), unknown...) {
		if n[st] > 0 {
			parts = append(parts, formatInt(int64(n[st]))+" "+statusName(st))
		}
	}
	return plural(len(arts), "artifact", "artifacts") + ": " + strings.Join(parts, ", ")
}

func knownStatus(st Status) bool {
	for _, s := range statusOrder {
		if s == st {
			return true
		}
	}
	return false
}

// statusName is a status as shown: its value, escaped; "(none)" if empty.
func statusName(st Status) string {
	if st == "" {
		return "(none)"
	}
	return visible(string(st), false)
}

// shortHash is the first 12 hex digits of a digest, "-" when there is none.
func shortHash(h string) string {
	h = visible(h, false)
	switch {
	case h == "":
		return "-"
	case len(h) > 12:
		return h[:12]
	}
	return h
}

// sha256Of is the SHA-256 of one side of an artifact, "" when it has none.
func sha256Of(d *FileDigest) string {
	if d == nil {
		return ""
	}
	return d.SHA256
}

// comparedBy describes how an artifact was compared, in words.
func comparedBy(s string) string {
	switch s {
	case "":
		return "-"
	case "bytes":
		return "bytes"
	case "normalized":
		return "normalized content"
	case "members":
		return "members"
	case "image":
		return "image"
	}
	return visible(s, false)
}

// comparedByLong explains how an artifact was compared; "" when it was not.
func comparedByLong(s string) string {
	switch s {
	case "":
		return ""
	case "bytes":
		return "bytes: the two files, byte for byte"
	case "normalized":
		return "normalized content: both files rewritten with the allowed normalize passes, then compared byte for byte"
	case "image":
		return comparedByImage
	case "members":
		return "members: every member paired; those a member rule names compared by content, the others by content and security metadata; harmless differences (mtime, order, owner, pax, compression) not counted"
	}
	return visible(s, false)
}

// sentence ends s with a full stop unless it ends with punctuation.
func sentence(s string) string {
	if s == "" || strings.ContainsAny(s[len(s)-1:], ".!?") {
		return s
	}
	return s + "."
}

// errorNotInReason says whether v's error must be shown on its own: it is
// set, and the reason does not already say it.
func errorNotInReason(v *Verification) bool {
	return v.Error != "" && !strings.Contains(v.Reason, v.Error)
}

// sourceLine is "REPO @ TAG" with the commit when known.
func sourceLine(s SourceInfo) string {
	line := orNone(visible(s.Repo, false)) + " @ " + orNone(visible(s.Tag, false))
	if s.Commit != "" {
		line += ", commit " + visible(s.Commit, false)
	}
	return line
}

// epochLine is "1704067200 (2024-01-01T00:00:00Z)".
func epochLine(epoch int64) string {
	s := fmt.Sprintf("%d", epoch)
	if t, ok := utcTime(epoch); ok {
		s += " (" + t + ")"
	}
	return s
}

// utcTime formats seconds since the Unix epoch as RFC 3339 in UTC, from
// the proleptic Gregorian calendar (H. Hinnant's civil_from_days), so the
// reports need neither the clock nor the time zone database. ok is false
// outside the years 0 to 9999.
func utcTime(sec int64) (string, bool) {
	const maxSec = 253402300799 // 9999-12-31T23:59:59Z
	const minSec = -62167219200 // 0000-01-01T00:00:00Z
	if sec < minSec || sec > maxSec {
		return "", false
	}
	days := floorDiv64(sec, 86400)
	rem := sec - days*86400
	z := days + 719468
	era := floorDiv64(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, rem/3600, rem%3600/60, rem%60), true
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// imageLine is the image reference with its digest and platform.
func imageLine(e Environment) string {
	s := orNone(visible(e.Image, false))
	var parts []string
	if e.ImageDigest != "" && !strings.Contains(e.Image, e.ImageDigest) {
		parts = append(parts, "digest "+visible(e.ImageDigest, false))
	}
	if e.Platform != "" {
		parts = append(parts, visible(e.Platform, false))
	}
	if e.Unpinned {
		parts = append(parts, "NOT PINNED by digest")
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// runtimeLine is "docker 24.0.7, user 1000:1000, network off".
func runtimeLine(e Environment) string {
	rt := orNone(visible(e.Runtime, false))
	if e.RuntimeVersion != "" {
		rt += " " + visible(e.RuntimeVersion, false)
	}
	parts := []string{rt}
	if e.User != "" {
		parts = append(parts, "user "+visible(e.User, false))
	}
	parts = append(parts, networkWord(e.Network))
	return strings.Join(parts, ", ")
}

func networkWord(on bool) string {
	if on {
		return "network ON"
	}
	return "network off"
}

// argvLine shows argv as a shell would read it, each word quoted when
// it needs to be.
func argvLine(argv []string) string {
	if len(argv) == 0 {
		return "(none)"
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = shellWord(a)
	}
	return strings.Join(words, " ")
}

// shellWord quotes a word for display: as is when it is plain, in single
// quotes otherwise, with control characters shown escaped.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(visible(s, false), "'", `'\''`) + "'"
}

// publishedLine is the release source with how many files and manifests.
func publishedLine(p Published) string {
	s := orNone(visible(p.Source, false))
	if p.Tag != "" {
		s += " @ " + visible(p.Tag, false)
	}
	return s + " (" + publishedCounts(p) + ")"
}

// publishedCounts is "4 files, 1 checksum manifest".
func publishedCounts(p Published) string {
	s := plural(len(p.Files), "file", "files") + ", " +
		plural(len(p.Manifests), "checksum manifest", "checksum manifests")
	if p.Listing != "" {
		s += "; listing: " + visible(p.Listing, false)
	}
	return s
}

// sideLine describes one side of an artifact: "name, 1,024 bytes, sha256
// 9f86…" with its URL when it has one.
func sideLine(d *FileDigest) string {
	if d == nil {
		return "(none)"
	}
	s := displayPath(d.Name)
	if d.URL != "" {
		s += " <" + visible(d.URL, false) + ">"
	}
	s += ", " + plural64(d.Size, "byte", "bytes")
	if d.SHA256 != "" {
		s += ", sha256 " + visible(d.SHA256, false)
	}
	return s
}

// checksumLine says what one published checksum said: "sha512 of
// build/app in SHA512SUMS".
func checksumLine(c Checksum) string {
	return visible(c.Algorithm, false) + " of " + displayPath(c.Name) + " in " + displayPath(c.Manifest)
}

// hasDetails says whether an artifact gets a details section: everything
// but an artifact identical by its bytes with nothing else to say.
func hasDetails(a Artifact) bool {
	if a.Status != StatusIdentical || len(a.Incomplete) > 0 || len(a.Differences) > 0 {
		return true
	}
	for _, c := range a.Checksums {
		if !c.Match {
			return true
		}
	}
	return a.ComparedBy != "" && a.ComparedBy != "bytes"
}

// artifactResult is the artifact's differences as a compare.Result, so
// the diff report's grouping (Summarize) applies: A is the published file,
// B the rebuilt one.
func artifactResult(a Artifact) *compare.Result {
	return &compare.Result{Differences: a.Differences, Incomplete: a.Incomplete}
}

// verifyGroupTitle is a group's headline in a verify report, where A is
// the published file and B the rebuilt one: entries missing from B were
// published but not rebuilt.
func verifyGroupTitle(g Group) string {
	n := len(g.Paths)
	switch g.Kind {
	case compare.KindMissing:
		return plural(n, "entry", "entries") + " published but not rebuilt"
	case compare.KindExtra:
		return plural(n, "entry", "entries") + " rebuilt but not published"
	}
	return g.Title()
}

// differencesLegend tells the reader which side is which.
const differencesLegend = "A is the published file (- lines), B the rebuilt one (+ lines)"

// statusOf is an artifact's status as a person reads it: a pass by a
// member rule says so wherever the status appears ("identical by
// members"), never plain "identical".
func statusOf(a Artifact) string {
	if a.Status == StatusIdentical && a.ComparedBy == "members" {
		return statusName(a.Status) + " by members"
	}
	return statusName(a.Status)
}

// comparedByOf is comparedBy for an artifact, naming the consumer whose
// extraction rules judged it.
func comparedByOf(a Artifact) string {
	return comparedBy(a.ComparedBy) + consumerNote(a)
}

// consumerNote says which consumer's extraction rules judged an artifact,
// as a sentence to follow how it was compared; "" when none did.
func consumerNote(a Artifact) string {
	if a.Consumer == "" {
		return ""
	}
	return "; judged by " + visible(a.Consumer, false) + "'s extraction rules"
}
