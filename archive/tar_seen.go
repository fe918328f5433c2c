package archive

// seenSet is the tar reader's record of the entries stored so far: for
// each cleaned name's 64-bit hash, the entry's type and whether it is
// hardlinked. A million entries take 16 MiB here (8 bytes a slot, at
// most half full), where a Go map of the same took over 70 MiB.
//
// A slot holds the hash with its low 6 bits replaced: bit 5 marks the
// slot used, bit 4 the hardlink flag, bits 0–3 the type. Two names whose
// hashes agree in the other 58 bits are taken for one; the hash is
// seeded per reader, so no input can aim at that.
type seenSet struct {
	slots []uint64
	n     int
}

const (
	seenUsed   = 1 << 5
	seenLinked = 1 << 4
	seenType   = 0xf
	seenFlags  = 0x3f
)

// get returns what was recorded under the hash h.
func (s *seenSet) get(h uint64) (seenEntry, bool) {
	if len(s.slots) == 0 {
		return seenEntry{}, false
	}
	mask := uint64(len(s.slots) - 1)
	for i := slotOf(h, mask); ; i = (i + 1) & mask {
		v := s.slots[i]
		switch {
		case v == 0:
			return seenEntry{}, false
		case v&^seenFlags == h&^seenFlags:
			return seenEntry{typ: EntryType(v & seenType), linked: v&seenLinked != 0}, true
		}
	}
}

// put records e under the hash h, replacing what was there.
func (s *seenSet) put(h uint64, e seenEntry) {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	v := h&^seenFlags | seenUsed | uint64(e.typ)&seenType
	if e.linked {
		v |= seenLinked
	}
	mask := uint64(len(s.slots) - 1)
	for i := slotOf(h, mask); ; i = (i + 1) & mask {
		switch old := s.slots[i]; {
		case old == 0:
			s.slots[i] = v
			s.n++
			return
		case old&^seenFlags == h&^seenFlags:
			s.slots[i] = v
			return
		}
	}
}

func (s *seenSet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(64, 2*len(old)))
	mask := uint64(len(s.slots) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := slotOf(v, mask)
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = v
	}
}

// slotOf is where probing for h starts: its bits above the flags, which
// a slot keeps.
func slotOf(h, mask uint64) uint64 { return (h >> 6) & mask }
