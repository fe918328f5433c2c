package owner

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	id := Self()
	if id.PID != os.Getpid() || id.Start == 0 || id.Boot == "" {
		t.Fatalf("Self() = %+v, want this process with a start time and boot", id)
	}
	got, err := Parse(id.String())
	if err != nil || got != id {
		t.Fatalf("Parse(%q) = %+v, %v, want %+v", id.String(), got, err, id)
	}
	for _, bad := range []string{"", "a.b.c", "x.1.0.5", "x.1.-3.5", "x.1.2", "x.1.2.3.4", ".1.2.3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", bad)
		}
	}
}

// deadChild runs a process to its end and returns its ID.
func deadChild(t *testing.T) ID {
	t.Helper()
	cmd := exec.Command("sleep", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start, err := startTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	id := ID{Boot: Self().Boot, PIDNS: Self().PIDNS, PID: cmd.Process.Pid, Start: start}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDead(t *testing.T) {
	me := Self()
	reused := me
	reused.Start++ // same pid, another process
	otherBoot := me
	otherBoot.Boot = "00000000"
	otherNS := deadChild(t)
	otherNS.PIDNS++
	for _, tc := range []struct {
		name string
		id   ID
		want bool
	}{
		{"self", me, false},
		{"parent", ID{Boot: me.Boot, PIDNS: me.PIDNS, PID: os.Getppid(), Start: mustStart(t, os.Getppid())}, false},
		{"exited", deadChild(t), true},
		{"pid reused", reused, true},
		{"earlier boot", otherBoot, true},
		{"other namespace", otherNS, false},
	} {
		if got := tc.id.Dead(); got != tc.want {
			t.Errorf("%s: %+v.Dead() = %v, want %v", tc.name, tc.id, got, tc.want)
		}
	}
}

func mustStart(t *testing.T, pid int) uint64 {
	t.Helper()
	s, err := startTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSweep(t *testing.T) {
	parent := t.TempDir()
	live, err := TempDir(parent, "reproof-work-")
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(parent, "reproof-work-"+deadChild(t).String()+"-123")
	if err := os.MkdirAll(filepath.Join(dead, "ro", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dead, "ro"), 0o500); err != nil {
		t.Fatal(err)
	}
	deadFile := filepath.Join(parent, "reproof-work-"+deadChild(t).String()+"-9")
	unrelated := filepath.Join(parent, "reproof-work-notanowner-1")
	otherPrefix := filepath.Join(parent, "other-"+deadChild(t).String()+"-1")
	for _, f := range []string{deadFile, unrelated, otherPrefix} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Sweep(parent, "reproof-work-")
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	want := map[string]bool{dead: true, deadFile: true}
	if len(removed) != len(want) {
		t.Errorf("Sweep removed %q, want %d entries", removed, len(want))
	}
	for _, p := range removed {
		if !want[p] {
			t.Errorf("Sweep removed %s, which it must keep", p)
		}
	}
	for _, p := range []string{live, unrelated, otherPrefix} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s after Sweep: %v, want it kept", p, err)
		}
	}
	for p := range want {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Sweep: %v, want it removed", p, err)
		}
	}
	if removed, err := Sweep(filepath.Join(parent, "missing"), "x-"); err != nil || removed != nil {
		t.Errorf("Sweep(missing) = %q, %v, want nothing", removed, err)
	}
}

// TestBeside: a temporary name next to a report or output directory
// sweeps what dead runs left under the same prefix, and only that.
func TestBeside(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	dead := filepath.Join(dir, ".report.json.tmp-"+deadChild(t).String()+"-77")
	otherFile := filepath.Join(dir, ".other.json.tmp-"+deadChild(t).String()+"-77")
	live, err := TempFile(dir, ".report.json.tmp-")
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dead, otherFile} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gotDir, prefix := Beside(report, ".tmp-")
	if gotDir != dir+"/" || prefix != ".report.json.tmp-" {
		t.Errorf("Beside(%q) = %q, %q, want %q, %q", report, gotDir, prefix, dir+"/", ".report.json.tmp-")
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a dead run's %s after Beside: %v, want it removed", dead, err)
	}
	for _, p := range []string{otherFile, live.Name()} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s after Beside: %v, want it kept", p, err)
		}
	}
}
