// Package compare pairs the entries of two inputs (files, directories or
// archives, nested to any depth) and classifies every difference between
// them into a typed Difference. It is strict about honesty: two inputs are
// identical only when their bytes are, every difference found is kept, and
// a comparison that reached one of its limits says so (Result.Incomplete)
// instead of passing for complete. Inputs may be hostile: nothing is ever
// extracted by name (contents go to numbered files in the work directory,
// found by offset, and are removed), and every comparison is bounded in
// depth, entries, bytes per archive and in all, open streams and diff
// work.
//
// The Result is a value; package report renders it. Nothing here prints.
package compare
