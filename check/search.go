package check

import (
	"context"
	"slices"
	"strings"
)

// outcome is what the culprit search learns from one build: the names of
// the artifacts that are not identical to the reference's (different
// bytes, missing, or every artifact when the build failed).
type outcome map[string]bool

// batchBuilder builds each of sets (a set is the names of the variations
// applied; a nil set is a control build, made like the reference) and
// returns their outcomes in the same order. It may build them in
// parallel.
type batchBuilder func(ctx context.Context, sets [][]string) ([]outcome, error)

// Culprit is a cause found for an artifact's difference: one variation,
// or several that change it only together.
type Culprit struct {
	// Variations are the names, in table order.
	Variations []string
	// Unsure: the search ran out of builds (--max-builds) before it could
	// narrow the cause down; one or more of Variations is it.
	Unsure bool
	// set is the build whose artifact shows the difference (its key).
	set []string
}

// Together says the variations change the artifact only together.
func (c Culprit) Together() bool { return len(c.Variations) > 1 && !c.Unsure }

// finding is what the search concluded for one differing artifact.
type finding struct {
	culprits []Culprit
	// nondeterministic: it differs between builds made alike (the control
	// build), or under every variation alone: nothing reproof varies
	// explains it.
	nondeterministic bool
}

// searcher finds the culprits of the artifacts that differ under all the
// variations. It reuses every build it made (by set), and makes no more
// than budget builds.
type searcher struct {
	build  batchBuilder
	budget int
	cache  map[string]outcome
	built  int
	short  bool // a build the search wanted was not made: the budget ran out
}

// key names a set whatever the order of its names; the control build
// (a nil set) has a key of its own.
func key(set []string) string {
	if set == nil {
		return "\x00control"
	}
	sorted := slices.Clone(set)
	slices.Sort(sorted)
	return strings.Join(sorted, ",")
}

// run builds the sets not built yet, in one batch, within the budget; it
// returns each set's outcome, nil for one it could not afford.
func (s *searcher) run(ctx context.Context, sets ...[]string) ([]outcome, error) {
	var todo [][]string
	seen := map[string]bool{}
	for _, set := range sets {
		k := key(set)
		if _, ok := s.cache[k]; ok || seen[k] {
			continue
		}
		if len(todo) >= s.budget-s.built {
			s.short = true
			continue
		}
		seen[k] = true
		todo = append(todo, set)
	}
	if len(todo) > 0 {
		outs, err := s.build(ctx, todo)
		if err != nil {
			return nil, err
		}
		s.built += len(todo)
		for i, set := range todo {
			s.cache[key(set)] = outs[i]
		}
	}
	res := make([]outcome, len(sets))
	for i, set := range sets {
		res[i] = s.cache[key(set)]
	}
	return res, nil
}

// search finds, for each artifact of differing (those that differ when
// every variation of vars is applied, whose outcome is all), which
// variations cause it. budget is the builds it may make.
//
// With the budget for it, each variation is built alone against the
// reference (plus one control build, which tells nondeterminism from the
// environment), all in one batch; an
// artifact no single variation explains is then searched for the
// combination that changes it, by bisection (minimize). With less budget,
// the variations are split in halves recursively (group testing), which
// finds k culprits among n in about 2k·log2(n) builds.
//
// The control build is a twin: its outcome says what differs between it
// and a build made alike. With twin "", it is made like the reference.
// With twin a variation (aslr), it repeats that variation's single
// build: ASLR randomizes every build where it is on, the reference's
// included, so an artifact that differs under every variation alone but
// not between the two builds with ASLR off is ASLR's doing.
func search(ctx context.Context, vars []string, all outcome, differing []string, build batchBuilder, budget int, twin string) (map[string]*finding, *searcher, error) {
	s := &searcher{build: build, budget: budget, cache: map[string]outcome{key(vars): all, key([]string{}): {}}}
	found := map[string]*finding{}
	for _, a := range differing {
		found[a] = &finding{}
	}
	if len(differing) == 0 || len(vars) == 0 {
		return found, s, nil
	}
	if len(vars) == 1 {
		outs, err := s.run(ctx, nil)
		if err != nil {
			return nil, s, err
		}
		for _, a := range differing {
			if outs[0] != nil && outs[0][a] {
				found[a].nondeterministic = true
				continue
			}
			found[a].culprits = []Culprit{{Variations: vars, set: vars}}
		}
		return found, s, nil
	}

	if budget >= len(vars) {
		sets := make([][]string, 0, len(vars)+1)
		for _, v := range vars {
			sets = append(sets, []string{v})
		}
		if budget > len(vars) {
			sets = append(sets, nil)
		}
		outs, err := s.run(ctx, sets...)
		if err != nil {
			return nil, s, err
		}
		control := outs[len(vars):]
		for _, a := range differing {
			f := found[a]
			if len(control) > 0 && control[0][a] {
				f.nondeterministic = true
				continue
			}
			for i, v := range vars {
				if outs[i][a] {
					f.culprits = append(f.culprits, Culprit{Variations: []string{v}, set: []string{v}})
				}
			}
			switch {
			case len(control) == 0 && len(vars) >= 3 && len(f.culprits) == len(vars):
				f.nondeterministic, f.culprits = true, nil
			case len(control) > 0 && twin != "" && slices.Contains(vars, twin) && len(f.culprits) == len(vars):
				f.culprits = []Culprit{{Variations: []string{twin}, set: []string{twin}}}
			}
		}
	} else if err := s.explore(ctx, vars, differing, found); err != nil {
		return nil, s, err
	}

	// What no single variation explains is an interaction: find the
	// smallest combination that changes it.
	for _, a := range differing {
		f := found[a]
		if f.nondeterministic || len(f.culprits) > 0 {
			continue
		}
		c, err := s.interaction(ctx, vars, a)
		if err != nil {
			return nil, s, err
		}
		f.culprits = []Culprit{c}
	}
	return found, s, nil
}

// explore is group testing: the artifacts arts differ under the set t;
// split it and follow each half that changes them.
func (s *searcher) explore(ctx context.Context, t []string, arts []string, found map[string]*finding) error {
	if len(arts) == 0 {
		return nil
	}
	if len(t) == 1 {
		for _, a := range arts {
			found[a].culprits = append(found[a].culprits, Culprit{Variations: t, set: t})
		}
		return nil
	}
	left, right := t[:len(t)/2], t[len(t)/2:]
	outs, err := s.run(ctx, left, right)
	if err != nil {
		return err
	}
	if outs[0] == nil || outs[1] == nil {
		for _, a := range arts {
			found[a].culprits = append(found[a].culprits, Culprit{Variations: t, Unsure: true, set: t})
		}
		return nil
	}
	var inLeft, inRight []string
	for _, a := range arts {
		if outs[0][a] {
			inLeft = append(inLeft, a)
		}
		if outs[1][a] {
			inRight = append(inRight, a)
		}
	}
	if err := s.explore(ctx, left, inLeft, found); err != nil {
		return err
	}
	return s.explore(ctx, right, inRight, found)
}

// interaction finds a smallest combination of vars that changes artifact
// a (all of vars do): it bisects with minimize, then builds the
// combination found to confirm it.
func (s *searcher) interaction(ctx context.Context, vars []string, a string) (Culprit, error) {
	short := s.short
	s.short = false
	m, err := s.minimize(ctx, vars, nil, a)
	if err != nil {
		return Culprit{}, err
	}
	m = inOrder(vars, m)
	outs, err := s.run(ctx, m)
	if err != nil {
		return Culprit{}, err
	}
	cut := s.short
	s.short = s.short || short
	switch {
	case outs[0] == nil || !outs[0][a]:
		// Not confirmed (the budget ran out, or the causes do not add up
		// the way bisection assumes): say where it lies, no more.
		return Culprit{Variations: vars, Unsure: true, set: vars}, nil
	case cut:
		// Confirmed, but perhaps not the smallest combination.
		return Culprit{Variations: m, Unsure: true, set: m}, nil
	}
	return Culprit{Variations: m, set: m}, nil
}

// minimize returns a smallest subset m of t such that the build of m with
// the fixed set r changes artifact a, knowing that t with r does: split t
// in halves; follow a half that changes a with r alone; otherwise each
// half is needed, and each is minimized with the other (already
// minimized) kept. When the budget runs out it returns t whole.
func (s *searcher) minimize(ctx context.Context, t, r []string, a string) ([]string, error) {
	if len(t) <= 1 {
		return t, nil
	}
	left, right := t[:len(t)/2], t[len(t)/2:]
	withR := func(x []string) []string { return union(x, r) }
	outs, err := s.run(ctx, withR(left), withR(right))
	if err != nil {
		return nil, err
	}
	switch {
	case outs[0] == nil || outs[1] == nil:
		return t, nil
	case outs[0][a]:
		return s.minimize(ctx, left, r, a)
	case outs[1][a]:
		return s.minimize(ctx, right, r, a)
	}
	l, err := s.minimize(ctx, left, union(right, r), a)
	if err != nil {
		return nil, err
	}
	rr, err := s.minimize(ctx, right, union(l, r), a)
	if err != nil {
		return nil, err
	}
	return union(l, rr), nil
}

// union is a ∪ b, sorted; the sets of the search are kept sorted so that
// a set has one key however it was made.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// inOrder is the names of set in the order of vars.
func inOrder(vars, set []string) []string {
	var out []string
	for _, v := range vars {
		if slices.Contains(set, v) {
			out = append(out, v)
		}
	}
	return out
}
