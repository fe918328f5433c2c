package check

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/reproof/reproof/compare"
	"github.com/reproof/reproof/rebuild"
)

// The names are part of the CLI contract (DESIGN.md): these, in this order.
func TestVariationNames(t *testing.T) {
	want := []string{"build-path", "user", "umask", "timezone", "locale", "hostname", "home", "environment", "cpus", "file-order", "kernel", "aslr", "time"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	for _, v := range Variations {
		if v.Changes == "" || v.apply == nil {
			t.Errorf("variation %s: says nothing of what it changes, or has no apply", v.Name)
		}
	}
}

func TestParseVary(t *testing.T) {
	all := Names()
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"all", all, ""},
		{"", all, ""},
		{"none", nil, ""},
		{"umask,build-path", []string{"build-path", "umask"}, ""},
		{" umask , time ", []string{"umask", "time"}, ""},
		{"-time,-aslr", slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "time" || s == "aslr" }), ""},
		{"all,-time", all[:len(all)-1], ""},
		{"none,+umask", []string{"umask"}, ""},
		{"umask,-umask", nil, ""},
		{"bogus", nil, `unknown variation "bogus"`},
		{"umask,all", nil, "all may only come first"},
		{"umask,,time", nil, "empty name"},
		{"-", nil, `unknown variation ""`},
	}
	for _, tt := range tests {
		got, err := ParseVary(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseVary(%q) error = %v, want %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseVary(%q): %v", tt.in, err)
		case tt.wantErr == "" && !slices.Equal(got, tt.want):
			t.Errorf("ParseVary(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// capable is a host where every variation applies.
func capable() *Host {
	return &Host{Runtime: "runc", Root: true, User: rebuild.User{UID: 1000, GID: 1000}, CPUs: 4, FakeTime: fakeTimeLibs[0]}
}

// TestResolve: what each host, runtime and image lacks skips exactly the
// variations that need it, with a reason; the rest apply, saying how.
func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		host    func(h *Host)
		skipped map[string]string // name: part of the reason
		how     map[string]string // name: part of how
	}{
		{"everything", func(*Host) {}, nil, map[string]string{"user": "2000:2000 instead of 1000:1000", "cpus": "1 CPU (cpuset 0) instead of 4",
			"hostname": "domain name varied.example", "time": "FAKETIME=+15y", "build-path": variedWorkDir}},
		{"not root", func(h *Host) { h.Root = false }, map[string]string{"user": "needs root"}, nil},
		{"one CPU", func(h *Host) { h.CPUs = 1 }, map[string]string{"cpus": "one CPU"}, nil},
		{"no disorderfs", func(h *Host) { h.Disorderfs = errors.New("disorderfs is not installed") }, map[string]string{"file-order": "disorderfs is not installed"}, nil},
		{"no setarch", func(h *Host) { h.Personality = errors.New("setarch (util-linux) is not installed") },
			map[string]string{"kernel": "setarch", "aslr": "setarch"}, nil},
		{"docker", func(h *Host) { h.Runtime = "docker" }, map[string]string{"aslr": "seccomp"}, nil},
		{"podman", func(h *Host) { h.Runtime = "podman" }, nil, map[string]string{"hostname": "podman cannot set a domain name"}},
		{"no libfaketime", func(h *Host) { h.FakeTime = "" }, map[string]string{"time": "no libfaketime"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := capable()
			tt.host(h)
			got := resolve(h, Names())
			if len(got) != len(Variations) {
				t.Fatalf("resolve reported %d variations, want %d: none dropped", len(got), len(Variations))
			}
			for _, st := range got {
				reason, skip := tt.skipped[st.Name]
				switch {
				case skip && (st.Applied || !strings.Contains(st.Reason, reason)):
					t.Errorf("%s: %+v, want skipped for %q", st.Name, st, reason)
				case !skip && (!st.Applied || st.How == "" || st.Reason != ""):
					t.Errorf("%s: %+v, want applied, saying how", st.Name, st)
				case !skip && !strings.Contains(st.How, tt.how[st.Name]):
					t.Errorf("%s: how %q, want it to say %q", st.Name, st.How, tt.how[st.Name])
				}
			}
		})
	}
	if got := resolve(capable(), []string{"time", "umask"}); len(got) != 2 || got[0].Name != "umask" || got[1].Name != "time" {
		t.Errorf("resolve(time, umask) = %+v, want umask then time (table order)", got)
	}
}

// TestWithVariations: each variation alone changes the reference's
// options, and something none of the others changes; all together change
// all of it; SOURCE_DATE_EPOCH is never among what they set.
func TestWithVariations(t *testing.T) {
	h := capable()
	base := rebuild.Options{Image: "img", Command: []string{"make"}}
	if o := withVariations(h, base, nil); !reflect.DeepEqual(o, base) {
		t.Errorf("no variation changed the options: %+v", o)
	}
	singles := map[string]rebuild.Options{}
	for _, n := range Names() {
		o := withVariations(h, base, []string{n})
		if reflect.DeepEqual(o.Variation, &rebuild.Variation{}) && o.User == nil {
			t.Errorf("%s alone changes nothing", n)
		}
		if o.Variation != nil {
			for _, e := range o.Variation.Env {
				if strings.HasPrefix(e, "SOURCE_DATE_EPOCH=") || strings.HasPrefix(e, "HOME=") {
					t.Errorf("%s sets %s", n, e)
				}
			}
		}
		for m, other := range singles {
			if reflect.DeepEqual(o, other) {
				t.Errorf("%s and %s change the same", n, m)
			}
		}
		singles[n] = o
	}
	o := withVariations(h, base, Names())
	v := o.Variation
	if o.User == nil || v.WorkDir == "" || v.Umask == "" || v.Hostname == "" || v.Home == "" || v.CPUSet == "" || !v.FileOrder || !v.Uname26 || !v.NoASLR || len(v.Env) < 6 {
		t.Errorf("all variations: %+v (user %v)", v, o.User)
	}
	if base.Variation != nil || base.User != nil {
		t.Errorf("withVariations changed its base: %+v", base)
	}
}

// TestDocsListEveryVariationAndHint holds docs/check.md to the tables.
func TestDocsListEveryVariationAndHint(t *testing.T) {
	doc, err := os.ReadFile("../docs/check.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names() {
		if !strings.Contains(string(doc), "| `"+n+"` |") {
			t.Errorf("docs/check.md has no row for the variation %s", n)
		}
	}
	for _, h := range Hints {
		if h.Variation != "" && !slices.Contains(Names(), h.Variation) {
			t.Errorf("hint for unknown variation %q", h.Variation)
		}
		// The docs quote commands in backticks; compare the words.
		plain := strings.ReplaceAll(string(doc), "`", "")
		if !strings.Contains(plain, h.Text) {
			t.Errorf("docs/check.md does not give the hint %q", h.Text)
		}
	}
}

func TestHintsFor(t *testing.T) {
	tests := []struct {
		vars  []string
		kinds []string
		want  []string // prefixes, in order
	}{
		{[]string{"build-path"}, []string{"content"}, []string{"the checkout path is embedded"}},
		{[]string{"umask"}, []string{"mode"}, []string{"file modes come from the umask"}},
		{[]string{"user"}, []string{"owner"}, []string{"archive entries take the build user as owner"}},
		{[]string{"user"}, []string{"content"}, []string{"the build user's name or UID"}},
		{[]string{"time"}, []string{"mtime", "compression"}, []string{"file times come from the clock", "archive mtimes", "compressor headers"}},
		{[]string{"file-order"}, []string{"order"}, []string{"entries are stored in directory order", "archive members in directory order"}},
		{[]string{"locale", "file-order"}, []string{"content"}, []string{"sorting or messages depend on the locale", "inputs are taken in directory order"}},
	}
	for _, tt := range tests {
		var diffs []compare.Difference
		for _, k := range tt.kinds {
			diffs = append(diffs, compare.Difference{Kind: compare.Kind(k)})
		}
		got := hintsFor(tt.vars, diffs)
		ok := len(got) == len(tt.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.HasPrefix(got[i], tt.want[i])
		}
		if !ok {
			t.Errorf("hintsFor(%q, %q) = %q, want %q", tt.vars, tt.kinds, got, tt.want)
		}
	}
}
