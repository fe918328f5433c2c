// Package check is reproof's pre-publish gate: it builds a project twice
// or more, the first build as rebuild makes it (the reference) and the
// others under varied environments (Variations: the build path, the user,
// the umask, the time zone, the clock and the rest), compares every
// artifact pair with package compare, and when the varied build differs,
// searches which variations cause each difference, within a number of
// builds.
//
// It is strict about what it claims: a variation that cannot be applied
// here is reported skipped with the reason, never silently dropped;
// SOURCE_DATE_EPOCH is the same in every build; a failed build is a
// failed build, never "not reproducible"; and a result is reproducible
// only when the bytes of every artifact were found equal.
package check
