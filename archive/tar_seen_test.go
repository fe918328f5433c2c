package archive

import (
	"math/rand/v2"
	"testing"
)

// TestSeenSet holds the tar reader's compact name record to what a map
// would say, through growth and overwrites, with every type and flag.
func TestSeenSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s seenSet
	want := map[uint64]seenEntry{}
	for i := range 200_000 {
		h := rng.Uint64() &^ seenFlags
		if i%7 == 0 && len(want) > 0 { // overwrite one recorded before
			for k := range want {
				h = k
				break
			}
		}
		e := seenEntry{typ: EntryType(rng.IntN(int(TypeSocket) + 1)), linked: rng.IntN(2) == 0}
		s.put(h|uint64(rng.IntN(64)), e) // the low bits are not part of the key
		want[h] = e
	}
	if s.n != len(want) {
		t.Fatalf("seenSet holds %d names, want %d", s.n, len(want))
	}
	for h, e := range want {
		if got, ok := s.get(h | 0x2a); !ok || got != e {
			t.Fatalf("seenSet.get(%#x) = %v, %v; want %v, true", h, got, ok, e)
		}
	}
	for range 1000 {
		h := rng.Uint64() &^ seenFlags
		if _, ok := want[h]; ok {
			continue
		}
		if got, ok := s.get(h); ok {
			t.Fatalf("seenSet.get(%#x) = %v, true for a name never put", h, got)
		}
	}
}
