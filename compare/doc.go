// Package compare pairs the entries of two inputs (files, directories or
// archives, nested to any depth) and classifies every difference between
// them into a typed Difference. It is strict about honesty: two inputs are
// identical only when their bytes are, every difference found is kept, and
// a comparison that reached one of its limits says so (Result.Incomplete)
// instead of passing for complete.
//
// The Result is a value; package report renders it. Nothing here prints.
package compare
