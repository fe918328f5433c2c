package spec

import (
	"strings"
	"testing"
	"time"
)

func TestGlobPerf(t *testing.T) {
	cases := []struct{ g, name string }{
		{strings.Repeat("*a", 16) + "b", strings.Repeat("a", 4096)},
		{strings.Repeat("**/a/", 10) + "b", strings.Repeat("a/", 2000) + "c"},
		{strings.Repeat("**/", 16) + "b", strings.Repeat("a/", 2000) + "c"},
		{strings.Repeat("{a,b,c,d}", 100), strings.Repeat("a", 100) + "x"},
		{strings.Repeat("{a,{b,{c,{d,e}}}}*", 30), strings.Repeat("a", 1000)},
		{strings.Repeat("{*a,*b}", 8) + "c", strings.Repeat("ab", 100)},
		{strings.Repeat("{*a,*b}", 12) + "c", strings.Repeat("ab", 100)},
		{strings.Repeat("{a,aa}", 20) + "c", strings.Repeat("a", 40)},
		{strings.Repeat("{a,aa}", 30) + "c", strings.Repeat("a", 60)},
	}
	for _, c := range cases {
		start := time.Now()
		err := checkGlob(c.g)
		m := match(c.g, c.name)
		t.Logf("%d %v %v %v", len(c.g), err, m, time.Since(start))
	}
}
