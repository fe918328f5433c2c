package spec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/reproof/reproof/spec"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"1048576": 1 << 20, "512MiB": 512 << 20, "512M": 512 << 20, "8 GiB": 8 << 30, "8g": 8 << 30,
		"1.5GiB": 3 << 29, "64k": 64 << 10, "1MB": 1000000, "2GB": 2000000000, "100B": 100,
	} {
		if got, err := spec.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1G", "1 parsec", "1e9", "1..5G", "99999999999T"} {
		if got, err := spec.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

// The limit fields read from the file (integers or strings) and from flags
// (strings) alike, and refuse what cannot bound a build.
func TestLimitFields(t *testing.T) {
	s, err := spec.Parse("reproof.toml", []byte(`[build]
pids_limit = 64
memory = "64MiB"
cpus = 1.5
tmpfs_size = 4194304
output_limit = "8M"
engine_timeout = "30s"
`), "")
	if err != nil {
		t.Fatal(err)
	}
	b := s.Build
	if b.PidsLimit != 64 || b.Memory != 64<<20 || b.CPUs != 1.5 || b.TmpfsSize != 4<<20 || b.OutputLimit != 8<<20 || b.EngineTimeout != 30*time.Second {
		t.Errorf("parsed %+v", b)
	}
	if err := s.SetFlag("cpus", "2"); err != nil || s.Build.CPUs != 2 {
		t.Errorf("--cpus 2: %v (%v)", err, s.Build.CPUs)
	}
	if err := s.SetFlag("memory", "1GiB"); err != nil || s.Build.Memory != 1<<30 {
		t.Errorf("--memory 1GiB: %v (%v)", err, s.Build.Memory)
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"pids-limit", "2", "out of range"},
		{"pids-limit", "0", "out of range"},
		{"memory", "1MiB", "too small"},
		{"memory", "lots", "not a size"},
		{"cpus", "0", "out of range"},
		{"cpus", "-1", "out of range"},
		{"tmpfs-size", "0", "positive size"},
		{"output-limit", "100k", "too small"},
		{"engine-timeout", "1ms", "shorter than a second"},
	} {
		if err := s.SetFlag(bad.flag, bad.value); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("--%s %s: %v, want an error saying %q", bad.flag, bad.value, err, bad.want)
		}
	}
	if _, err := spec.Parse("reproof.toml", []byte("[build]\nmemory = true\n"), ""); err == nil || !strings.Contains(err.Error(), "want a size") {
		t.Errorf("memory = true: %v", err)
	}
}
