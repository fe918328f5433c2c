package report

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// TestVerifyDeterministic renders every verify fixture in every format
// twice, then in another time zone and locale, and with each artifact's
// differences given in reverse order: the bytes must not change. Rendering
// must not change the Verification either.
func TestVerifyDeterministic(t *testing.T) {
	first := map[string][]byte{}
	for _, f := range verifyFixtures {
		for _, x := range verifyRenderers {
			first[f.name+"."+x.ext] = renderVerify(t, x.ext, f.v())
		}
	}
	check := func(t *testing.T, how string, mutate func(*Verification)) {
		t.Helper()
		for _, f := range verifyFixtures {
			for _, x := range verifyRenderers {
				v := f.v()
				mutate(v)
				if got := renderVerify(t, x.ext, v); !bytes.Equal(got, first[f.name+"."+x.ext]) {
					t.Errorf("%s.%s %s: output changed:\n%s", f.name, x.ext, how, firstDifference(got, first[f.name+"."+x.ext]))
				}
			}
		}
	}
	check(t, "rendered twice", func(*Verification) {})

	local := time.Local
	t.Cleanup(func() { time.Local = local })
	time.Local = time.FixedZone("X-1330", 13*3600+30*60)
	t.Setenv("TZ", "Pacific/Chatham")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	t.Setenv("LANG", "de_DE.UTF-8")
	check(t, "with TZ and locale changed", func(*Verification) {})

	check(t, "with the differences reversed", func(v *Verification) {
		for i := range v.Artifacts {
			ds := v.Artifacts[i].Differences
			for a, b := 0, len(ds)-1; a < b; a, b = a+1, b-1 {
				ds[a], ds[b] = ds[b], ds[a]
			}
		}
	})

	for _, f := range verifyFixtures {
		for _, x := range verifyRenderers {
			v, want := f.v(), f.v()
			renderVerify(t, x.ext, v)
			if !reflect.DeepEqual(v, want) {
				t.Errorf("%s.%s: rendering changed the Verification", f.name, x.ext)
			}
		}
	}
}

// TestUTCTime checks the calendar arithmetic of the reports against the
// time package, across eras, leap days and the limits.
func TestUTCTime(t *testing.T) {
	for _, sec := range []int64{
		0, 1, -1, 86399, 86400, 951782400, 951868800, 1704067200, 1704873600, 1727438400,
		4107542400, 253402300799, -62135596800, -62167219200, 68256000, -2208988800, 1709164800,
	} {
		want := time.Unix(sec, 0).UTC().Format(time.RFC3339)
		got, ok := utcTime(sec)
		if !ok || got != want {
			t.Errorf("utcTime(%d) = %q, %v; want %q", sec, got, ok, want)
		}
	}
	for sec := int64(-3e9); sec < 5e9; sec += 7777777 {
		want := time.Unix(sec, 0).UTC().Format(time.RFC3339)
		if got, _ := utcTime(sec); got != want {
			t.Fatalf("utcTime(%d) = %q, want %q", sec, got, want)
		}
	}
	for _, sec := range []int64{253402300800, -62167219201} {
		if got, ok := utcTime(sec); ok {
			t.Errorf("utcTime(%d) = %q, true; want false (outside the years 0 to 9999)", sec, got)
		}
	}
}
