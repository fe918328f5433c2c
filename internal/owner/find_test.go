package owner

import (
	"os"
	"path/filepath"
	"testing"
)

func TestScan(t *testing.T) {
	id := Self()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"download-" + id.String() + "-123", true},
		{".tmp-" + id.String() + "-9", true},
		{".tmp-0123abcd-" + id.String() + "-9", true},
		{id.String(), true},
		{"download-123", false},
		{"0123abcdef", false},
		{"a.b.c.d-1", false},
	} {
		got, ok := Scan(tc.name)
		if ok != tc.ok || ok && got != id {
			t.Errorf("Scan(%q) = %+v, %v, want ok %v", tc.name, got, ok, tc.ok)
		}
	}
}

func TestFindDead(t *testing.T) {
	parent := t.TempDir()
	dead1 := filepath.Join(parent, "reproof-x-"+deadChild(t).String()+"-1")
	dead2 := filepath.Join(parent, "reproof-x-"+deadChild(t).String()+"-2")
	live, err := TempDir(parent, "reproof-x-")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dead2, dead1} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := FindDead(parent, "reproof-x-")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dead1, dead2}
	if dead2 < dead1 {
		want = []string{dead2, dead1}
	}
	if len(got) != 2 || got[0].Path != want[0] || got[1].Path != want[1] {
		t.Errorf("FindDead = %+v, want %q in name order", got, want)
	}
	for _, p := range append(want, live) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("FindDead removed %s: %v", p, err)
		}
	}
	if got, err := FindDead(filepath.Join(parent, "missing"), "x-"); err != nil || got != nil {
		t.Errorf("FindDead(missing) = %v, %v, want nothing", got, err)
	}
}
