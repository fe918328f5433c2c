package archive

import "sync/atomic"

// A Budget counts decompressed bytes across several streams, so that work
// which opens archive after nested archive (a comparison) stops at one
// total, however the bytes are spread: a zip of zips of bombs is stopped
// by it where the cap of each stream alone would let it run for days.
// It is safe for concurrent use.
type Budget struct {
	max  int64
	flag string
	used atomic.Int64
}

// NewBudget returns a budget of max bytes; flag names the option that
// raises it, for the error.
func NewBudget(max int64, flag string) *Budget {
	return &Budget{max: max, flag: flag}
}

// Used returns the bytes counted so far.
func (b *Budget) Used() int64 { return b.used.Load() }

// spend counts n bytes, and fails once the total passes the budget.
func (b *Budget) spend(n int64) error {
	if b == nil {
		return nil
	}
	if b.used.Add(n) > b.max {
		return limitError(b.flag, "more than %d decompressed bytes in all", b.max)
	}
	return nil
}
