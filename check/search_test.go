package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A fake world for the search algorithm alone (the builds are real in
// every other test): each artifact differs from the reference when its
// rule holds for the set of variations applied.
type world map[string]func(set map[string]bool, control bool) bool

func (w world) builder(log *[]string) batchBuilder {
	return func(_ context.Context, sets [][]string) ([]outcome, error) {
		outs := make([]outcome, len(sets))
		for i, set := range sets {
			on := map[string]bool{}
			for _, v := range set {
				on[v] = true
			}
			outs[i] = outcome{}
			for a, rule := range w {
				if rule(on, set == nil) {
					outs[i][a] = true
				}
			}
			if set == nil {
				*log = append(*log, "control")
			} else {
				*log = append(*log, key(set))
			}
		}
		return outs, nil
	}
}

func has(v ...string) func(map[string]bool, bool) bool {
	return func(on map[string]bool, _ bool) bool {
		for _, x := range v {
			if !on[x] {
				return false
			}
		}
		return true
	}
}

func anyOf(v ...string) func(map[string]bool, bool) bool {
	return func(on map[string]bool, _ bool) bool {
		for _, x := range v {
			if on[x] {
				return true
			}
		}
		return false
	}
}

func always(map[string]bool, bool) bool { return true }

// describeFindings renders findings as "artifact: culprits" lines, sorted.
func describeFindings(found map[string]*finding) string {
	var lines []string
	for a, f := range found {
		var cs []string
		for _, c := range f.culprits {
			s := strings.Join(c.Variations, "+")
			if c.Unsure {
				s = "among(" + s + ")"
			}
			cs = append(cs, s)
		}
		if f.nondeterministic {
			cs = append(cs, "nondeterministic")
		}
		lines = append(lines, a+": "+strings.Join(cs, " "))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestSearch(t *testing.T) {
	all13 := Names()
	tests := []struct {
		name   string
		vars   []string
		world  world
		budget int
		want   string
		twin   string
		// maxBuilds caps the builds the search may make (all within budget).
	}{
		{"one culprit, singles", all13, world{"app": has("build-path")}, 14,
			"app: build-path", ""},
		{"two independent causes of one artifact", all13, world{"app": anyOf("hostname", "timezone")}, 14,
			"app: timezone hostname", ""},
		{"several artifacts", all13, world{"app": has("build-path"), "app.tar.gz": anyOf("umask", "time"), "same": func(map[string]bool, bool) bool { return false }}, 14,
			"app.tar.gz: umask time\napp: build-path", ""},
		{"only together", all13, world{"app": has("locale", "file-order")}, 30,
			"app: locale+file-order", ""},
		{"only together, three", all13, world{"app": has("user", "cpus", "time")}, 40,
			"app: user+cpus+time", ""},
		{"only together, out of budget", all13, world{"app": has("locale", "file-order")}, 14,
			"app: among(" + strings.Join(all13, "+") + ")", ""},
		{"nondeterministic: the control build differs", all13, world{"rand": always}, 14,
			"rand: nondeterministic", ""},
		{"nondeterministic without a control build: every single differs", all13, world{"rand": always}, 13,
			"rand: nondeterministic", ""},
		{"group testing when singles do not fit", all13, world{"app": has("kernel")}, 10,
			"app: kernel", ""},
		{"group testing, two culprits", all13, world{"app": anyOf("user", "aslr")}, 12,
			"app: user among(aslr+time)", ""},
		{"group testing, two culprits, apart", all13, world{"app": anyOf("user", "home")}, 12,
			"app: user home", ""},
		{"group testing, interaction, out of budget", all13, world{"app": has("user", "aslr")}, 12,
			"app: among(user+aslr+time)", ""},
		{"group testing, out of budget", all13, world{"app": has("kernel")}, 2,
			"app: among(home+environment+cpus+file-order+kernel+aslr+time)", ""},
		{"one variation", []string{"umask"}, world{"app": has("umask")}, 14,
			"app: umask", ""},
		// ASLR on randomizes the reference and every build but those with
		// aslr (ASLR off); the control repeats the aslr build.
		{"aslr: the twin control agrees", all13, world{"addr": func(_ map[string]bool, control bool) bool { return !control }}, 14,
			"addr: aslr", "aslr"},
		{"aslr twin: random anyway", all13, world{"rand": always}, 14,
			"rand: nondeterministic", "aslr"},
		{"aslr twin: other culprits unchanged", all13, world{"app": has("umask")}, 14,
			"app: umask", "aslr"},
		{"one variation, nondeterministic", []string{"umask"}, world{"app": always}, 14,
			"app: nondeterministic", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			b := tt.world.builder(&log)
			all, err := b(context.Background(), [][]string{tt.vars})
			if err != nil {
				t.Fatal(err)
			}
			log = nil
			var differing []string
			for a := range all[0] {
				differing = append(differing, a)
			}
			slices.Sort(differing)
			found, s, err := search(context.Background(), tt.vars, all[0], differing, b, tt.budget, tt.twin)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeFindings(found); got != tt.want {
				t.Errorf("search(%s) =\n%s\nwant\n%s\nbuilds: %q", tt.name, got, tt.want, log)
			}
			if len(log) > tt.budget || s.built != len(log) {
				t.Errorf("search made %d builds (counted %d), budget %d: %q", len(log), s.built, tt.budget, log)
			}
			seen := map[string]bool{}
			for _, k := range log {
				if seen[k] {
					t.Errorf("set %s built twice", k)
				}
				seen[k] = true
			}
		})
	}
}

// TestSearchGroupTestingIsFrugal: one culprit among 13 in no more builds
// than 2·ceil(log2(13)).
func TestSearchGroupTestingIsFrugal(t *testing.T) {
	for _, culprit := range Names() {
		var log []string
		w := world{"app": has(culprit)}
		b := w.builder(&log)
		all, err := b(context.Background(), [][]string{Names()})
		if err != nil {
			t.Fatal(err)
		}
		log = nil
		found, _, err := search(context.Background(), Names(), all[0], []string{"app"}, b, 12, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := describeFindings(found); got != "app: "+culprit || len(log) > 8 {
			t.Errorf("culprit %s: %s in %d builds (%q)", culprit, got, len(log), log)
		}
	}
	_ = fmt.Sprint
}
