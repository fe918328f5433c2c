package rebuild

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestExplain picks the lines that say why a build failed, and hints at
// the network only when the build ran without one and reached for it.
func TestExplain(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		network bool
		want    []string
		hint    bool
	}{
		{"make", "cc -c a.c\na.c:3: error: expected ';'\nmake: *** [Makefile:2: a.o] Error 1\n", false,
			[]string{"a.c:3: error: expected ';'", "make: *** [Makefile:2: a.o] Error 1"}, false},
		{"go, offline", "go: downloading golang.org/x/sys v0.1.0\ngo: golang.org/x/sys@v0.1.0: Get \"https://proxy.golang.org/...\": dial tcp: lookup proxy.golang.org: no such host\n", false,
			[]string{`go: golang.org/x/sys@v0.1.0: Get "https://proxy.golang.org/...": dial tcp: lookup proxy.golang.org: no such host`}, true},
		{"npm, offline", "npm ERR! code EAI_AGAIN\nnpm ERR! request to https://registry.npmjs.org/x failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org\n", false,
			[]string{"npm ERR! code EAI_AGAIN", "npm ERR! request to https://registry.npmjs.org/x failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org"}, true},
		{"busybox wget, offline", "wget: bad address 'deb.debian.org'\n", false, []string{"wget: bad address 'deb.debian.org'"}, true},
		{"the same, with --network: no hint", "curl: (6) Could not resolve host: example.org\n", true, []string{"curl: (6) Could not resolve host: example.org"}, false},
		{"nothing to explain", "compiling\nlinking\n", false, nil, false},
		{"a line said twice, once", "error: x\nerror: x\n", false, []string{"error: x"}, false},
	}
	for _, tt := range tests {
		lines, hint := Explain([]byte(tt.log), tt.network)
		if !slices.Equal(lines, tt.want) || (hint != "") != tt.hint {
			t.Errorf("%s: Explain = %q, hint %q; want %q, hint %v", tt.name, lines, hint, tt.want, tt.hint)
		}
	}
	var many strings.Builder
	for i := range 100 {
		fmt.Fprintf(&many, "error %d\n", i)
	}
	if lines, _ := Explain([]byte(many.String()), false); len(lines) != maxExplain || lines[0] != "error 0" {
		t.Errorf("Explain of 100 errors = %d lines starting %q, want the first %d", len(lines), lines[0], maxExplain)
	}
}
