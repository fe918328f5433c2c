package check

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/report"
)

// JSONSchema names the version of check's JSON report (docs/check.md).
const JSONSchema = "reproof/check/v1"

// culpritName is how a finding names its culprit in the text reports:
// "build-path", "locale + file-order (only together)", "one of user,
// umask (search stopped)".
func culpritName(c Culprit) string {
	names := strings.Join(c.Variations, " + ")
	switch {
	case c.Unsure && len(c.Variations) > 1:
		return "among " + strings.Join(c.Variations, ", ")
	case c.Together():
		return "only together: " + names
	}
	return names
}

// Text writes the report for a terminal or a CI log. The first line is
// the verdict and its reason; then one line per culprit of each differing
// artifact, "VARIATION → ARTIFACT differs in …", with its hints; then the
// variations, applied and skipped, and the builds made.
func Text(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s: %s\n", r.Verdict, report.Visible(r.Reason))
	for _, l := range r.BuildLog {
		fmt.Fprintf(bw, "  log: %s\n", report.Visible(l))
	}
	if f := r.BuildFailure; f != nil {
		for _, fd := range f.Findings {
			fmt.Fprintf(bw, "%s → %s\n", culpritName(fd.Culprit), report.Visible(fd.Summary))
			for _, l := range fd.Log {
				fmt.Fprintf(bw, "  log: %s\n", report.Visible(l))
			}
		}
	}
	for _, a := range r.Artifacts {
		name := report.Visible(a.Name)
		switch {
		case r.BuildFailure != nil:
			continue // not compared: the varied build failed
		case a.Status == StatusIdentical:
			continue
		case a.Nondeterministic:
			fmt.Fprintf(bw, "(no variation) → %s differs in %s: it differs between builds made alike, whatever reproof varies\n",
				name, report.Visible(summarize(a.Differences, a.Status, nil)))
			continue
		case len(a.Findings) == 0:
			fmt.Fprintf(bw, "(culprit not searched) → %s differs in %s\n", name, report.Visible(summarize(a.Differences, a.Status, nil)))
			continue
		}
		for _, fd := range a.Findings {
			tail := ""
			if fd.Unsure {
				tail = " (the search stopped at --max-builds)"
			}
			fmt.Fprintf(bw, "%s → %s differs in %s%s\n", culpritName(fd.Culprit), name, report.Visible(fd.Summary), tail)
			for _, h := range fd.Hints {
				fmt.Fprintf(bw, "  hint: %s\n", h)
			}
		}
		for _, inc := range a.Incomplete {
			fmt.Fprintf(bw, "  incomplete: %s\n", report.Visible(inc))
		}
	}
	var identical []string
	for _, a := range r.Artifacts {
		if a.Status == StatusIdentical {
			identical = append(identical, report.Visible(a.Name))
		}
	}
	if len(identical) > 0 {
		fmt.Fprintf(bw, "identical: %s\n", strings.Join(identical, ", "))
	}
	for _, v := range r.Variations {
		if v.Applied {
			fmt.Fprintf(bw, "applied: %s: %s\n", v.Name, v.How)
		}
	}
	for _, v := range r.Variations {
		if !v.Applied {
			fmt.Fprintf(bw, "skipped: %s: %s\n", v.Name, v.Reason)
		}
	}
	fmt.Fprintf(bw, "builds: %d, with %s", r.Builds, r.Runtime)
	if r.ImageDigest != "" {
		fmt.Fprintf(bw, " in %s", r.ImageDigest)
	}
	fmt.Fprintln(bw)
	for _, warn := range r.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", report.Visible(warn))
	}
	return bw.Flush()
}

// mdCell makes s safe in a Markdown table cell.
func mdCell(s string) string {
	s = report.Visible(s)
	r := strings.NewReplacer("|", `\|`, "`", "'", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// Markdown writes the report for a CI job summary: the verdict, a table
// of culprits with hints, the artifacts and the variations.
func Markdown(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	title := map[string]string{Reproducible: "✅ reproducible", NotReproducible: "❌ not reproducible",
		BuildFailed: "❌ build failed", Error: "⚠️ error"}[r.Verdict]
	fmt.Fprintf(bw, "## reproof check: %s\n\n%s\n\n", title, mdCell(r.Reason))
	var rows []string
	if f := r.BuildFailure; f != nil {
		for _, fd := range f.Findings {
			rows = append(rows, fmt.Sprintf("| %s | (the build) | %s | |", mdCell(culpritName(fd.Culprit)), mdCell(fd.Summary)))
		}
	}
	for _, a := range r.Artifacts {
		if a.Status == StatusIdentical || r.BuildFailure != nil {
			continue
		}
		if a.Nondeterministic || len(a.Findings) == 0 {
			rows = append(rows, fmt.Sprintf("| (no variation) | `%s` | %s | the build is not deterministic |", mdCell(a.Name), mdCell(summarize(a.Differences, a.Status, nil))))
			continue
		}
		for _, fd := range a.Findings {
			hints := make([]string, len(fd.Hints))
			for i, h := range fd.Hints {
				hints[i] = mdCell(h)
			}
			rows = append(rows, fmt.Sprintf("| %s | `%s` | %s | %s |", mdCell(culpritName(fd.Culprit)), mdCell(a.Name), mdCell(fd.Summary), strings.Join(hints, "<br>")))
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(bw, "| Variation | Artifact | Differs in | Hint |\n|---|---|---|---|\n%s\n\n", strings.Join(rows, "\n"))
	}
	if len(r.Artifacts) > 0 {
		fmt.Fprint(bw, "| Artifact | Status | Culprits |\n|---|---|---|\n")
		for _, a := range r.Artifacts {
			fmt.Fprintf(bw, "| `%s` | %s | %s |\n", mdCell(a.Name), a.Status, strings.Join(a.Culprits(), ", "))
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprint(bw, "<details><summary>Variations</summary>\n\n| Variation | Status | How, or why skipped |\n|---|---|---|\n")
	for _, v := range r.Variations {
		if v.Applied {
			fmt.Fprintf(bw, "| %s | applied | %s |\n", v.Name, mdCell(v.How))
		} else {
			fmt.Fprintf(bw, "| %s | skipped | %s |\n", v.Name, mdCell(v.Reason))
		}
	}
	fmt.Fprintf(bw, "\n</details>\n\n%d builds with %s", r.Builds, r.Runtime)
	if r.ImageDigest != "" {
		fmt.Fprintf(bw, " in `%s`", r.ImageDigest)
	}
	fmt.Fprint(bw, ".\n")
	for _, warn := range r.Warnings {
		fmt.Fprintf(bw, "\n> **Warning:** %s\n", mdCell(warn))
	}
	return bw.Flush()
}

// The reproof/check/v1 document; structs keep the keys in order.
type jsonReport struct {
	Schema       string          `json:"schema"`
	Verdict      string          `json:"verdict"`
	Reason       string          `json:"reason"`
	ExitCode     int             `json:"exit_code"`
	Builds       int             `json:"builds"`
	Source       *jsonSource     `json:"source,omitempty"`
	Environment  jsonEnv         `json:"environment"`
	Variations   []jsonVariation `json:"variations"`
	Artifacts    []jsonArtifact  `json:"artifacts"`
	BuildFailure *jsonArtifact   `json:"build_failure,omitempty"`
	BuildLog     []string        `json:"build_log,omitempty"`
	Warnings     []string        `json:"warnings"`
}

type jsonSource struct {
	Repo            string `json:"repo"`
	Tag             string `json:"tag"`
	Commit          string `json:"commit"`
	SourceDateEpoch int64  `json:"source_date_epoch"`
}

type jsonEnv struct {
	Image       string `json:"image"`
	ImageDigest string `json:"image_digest,omitempty"`
	Runtime     string `json:"runtime"`
}

type jsonVariation struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	How     string `json:"how"`
	Changes string `json:"changes"`
}

type jsonArtifact struct {
	Name             string          `json:"name"`
	Status           string          `json:"status"`
	Culprits         []string        `json:"culprits"`
	Nondeterministic bool            `json:"nondeterministic,omitempty"`
	Differences      json.RawMessage `json:"differences"`
	Hints            []string        `json:"hints"`
	Findings         []jsonFinding   `json:"findings"`
	Incomplete       []string        `json:"incomplete,omitempty"`
}

type jsonFinding struct {
	Variations  []string        `json:"variations"`
	Together    bool            `json:"together"`
	Unsure      bool            `json:"unsure"`
	Summary     string          `json:"summary"`
	Differences json.RawMessage `json:"differences"`
	Hints       []string        `json:"hints"`
	Log         []string        `json:"log,omitempty"`
}

// JSON writes the reproof/check/v1 document (docs/check.md), indented by
// two spaces. Differences are written as in reproof diff's JSON
// (reproof/diff/v1 "differences").
func JSON(w io.Writer, r *Result) error {
	doc := jsonReport{Schema: JSONSchema, Verdict: r.Verdict, Reason: r.Reason, ExitCode: r.ExitCode(), Builds: r.Builds,
		Environment: jsonEnv{Image: r.Image, ImageDigest: r.ImageDigest, Runtime: r.Runtime},
		Variations:  []jsonVariation{}, Artifacts: []jsonArtifact{}, Warnings: append([]string{}, r.Warnings...)}
	doc.BuildLog = r.BuildLog
	if r.Commit != "" {
		doc.Source = &jsonSource{Repo: r.Repo, Tag: r.Tag, Commit: r.Commit, SourceDateEpoch: r.SourceDateEpoch}
	}
	for _, v := range r.Variations {
		jv := jsonVariation{Name: v.Name, Status: "applied", How: v.How}
		if x, ok := lookup(v.Name); ok {
			jv.Changes = x.Changes
		}
		if !v.Applied {
			jv.Status, jv.Reason = "skipped", v.Reason
		}
		doc.Variations = append(doc.Variations, jv)
	}
	for _, a := range r.Artifacts {
		ja, err := jsonArtifactOf(&a)
		if err != nil {
			return err
		}
		doc.Artifacts = append(doc.Artifacts, ja)
	}
	if r.BuildFailure != nil {
		ja, err := jsonArtifactOf(r.BuildFailure)
		if err != nil {
			return err
		}
		doc.BuildFailure = &ja
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("check: encoding json: %w", err)
	}
	_, err := w.Write(report.EscapeNonPrinting(buf.Bytes()))
	return err
}

func jsonArtifactOf(a *Artifact) (jsonArtifact, error) {
	ja := jsonArtifact{Name: a.Name, Status: a.Status, Culprits: a.Culprits(), Nondeterministic: a.Nondeterministic,
		Hints: a.Hints(), Findings: []jsonFinding{}, Incomplete: a.Incomplete}
	if ja.Culprits == nil {
		ja.Culprits = []string{}
	}
	if ja.Hints == nil {
		ja.Hints = []string{}
	}
	var err error
	if ja.Differences, err = diffJSON(a.Differences); err != nil {
		return ja, err
	}
	for _, f := range a.Findings {
		jf := jsonFinding{Variations: f.Variations, Together: f.Together(), Unsure: f.Unsure, Summary: f.Summary, Hints: f.Hints, Log: f.Log}
		if jf.Hints == nil {
			jf.Hints = []string{}
		}
		if jf.Differences, err = diffJSON(f.Differences); err != nil {
			return ja, err
		}
		ja.Findings = append(ja.Findings, jf)
	}
	return ja, nil
}

// diffJSON is the "differences" array of reproof/diff/v1 for ds, as
// report.JSON writes it (grouped, escaped).
func diffJSON(ds []compare.Difference) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := report.JSON(&buf, &compare.Result{Differences: ds}); err != nil {
		return nil, err
	}
	var doc struct {
		Differences json.RawMessage `json:"differences"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		return nil, err
	}
	return doc.Differences, nil
}
