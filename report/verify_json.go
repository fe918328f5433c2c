package report

import "io"

// VerifyJSON writes the verification as a reproof/report/v1 document
// (docs/report-json.md): the Verification's own fields in their struct
// order, indented by two spaces, with a final newline. Every list the
// model has is written as [] when empty, never null; the schema key is
// always VerifySchema; each artifact's differences are in report order
// (path bytewise, then kind). Characters that do not print are written as
// \u escapes, as in the diff report's JSON.
func VerifyJSON(w io.Writer, v *Verification) error {
	if v == nil {
		return errNilVerification
	}
	return writeJSON(w, jsonVerification(v))
}

// jsonVerification is a copy of v as the document has it: nil lists made
// empty, differences sorted. v itself is left as it is.
func jsonVerification(v *Verification) *Verification {
	c := *v
	c.Schema = VerifySchema
	c.Warnings = emptyIfNil(v.Warnings)
	c.Environment.Command = emptyIfNil(v.Environment.Command)
	c.Published.Manifests = emptyIfNil(v.Published.Manifests)
	c.Published.Files = emptyIfNil(v.Published.Files)
	c.Policy.Passes = emptyIfNil(v.Policy.Passes)
	c.Artifacts = make([]Artifact, len(v.Artifacts))
	for i, a := range v.Artifacts {
		a.Normalizations = append([]Normalization(nil), a.Normalizations...)
		for j := range a.Normalizations {
			a.Normalizations[j].Hid = emptyIfNil(a.Normalizations[j].Hid)
		}
		if len(a.Differences) > 0 {
			a.Differences = sorted(a.Differences)
		}
		c.Artifacts[i] = a
	}
	return &c
}

// emptyIfNil returns s, or an empty non-nil slice when s is nil, so that it
// encodes as [].
func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
