package archive

import "time"

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// The MS-DOS time range that zip can store.
var (
	dosMin = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	dosMax = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
)

// dosTime returns the MS-DOS date and time of t in UTC, clamped to the
// representable range; seconds are rounded down to even.
func dosTime(t time.Time) (date, tm uint16) {
	t = t.UTC()
	if t.Before(dosMin) {
		t = dosMin
	}
	if t.After(dosMax) {
		t = dosMax
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

// fromDosTime is the inverse of dosTime.
func fromDosTime(date, tm uint16) time.Time {
	return time.Date(int(date>>9)+1980, time.Month(date>>5&0xf), int(date&0x1f),
		int(tm>>11), int(tm>>5&0x3f), int(tm&0x1f)*2, 0, time.UTC)
}
