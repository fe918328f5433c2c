package rebuild

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/owner"
)

// TestWorkPrefixesListEveryWorkName holds WorkPrefixes to the code: every
// work directory or temporary file that a package makes with owner.TempDir
// or owner.TempFile under a "reproof-" name is one the sweep looks for, and
// every prefix listed is made somewhere. A new kind of work directory
// missing from the list would survive a crash for ever.
func TestWorkPrefixesListEveryWorkName(t *testing.T) {
	call := regexp.MustCompile(`owner\.Temp(?:Dir|File)\([^,]*,\s*"(reproof-[^"]*)"\)`)
	made := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			made[m[1]] = true
			if !slices.Contains(WorkPrefixes, m[1]) {
				t.Errorf("%s makes %q* with the owner's ID, which WorkPrefixes does not list: no sweep would remove it", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range WorkPrefixes {
		if !made[p] {
			t.Errorf("WorkPrefixes lists %q, which no owner.TempDir or owner.TempFile call makes", p)
		}
	}
}

// exitedOwner is the owner ID of a process that has exited.
func exitedOwner(t *testing.T) owner.ID {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	self := owner.Self()
	id, err := owner.Parse(fmt.Sprintf("%s.%d.%d.%s", self.Boot, self.PIDNS, cmd.Process.Pid, fields[19]))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFindLeftovers: in a temporary directory holding work directories and
// files of a dead owner, of this (live) process and of nobody, and a
// cache's tmp directory, FindLeftovers returns the dead owner's, in path
// order, each directory preceded by its runc containers, and Remove
// removes them (a read-only tree too); the rest stays.
func TestFindLeftovers(t *testing.T) {
	tmp, cache := t.TempDir(), t.TempDir()
	dead := exitedOwner(t)
	name := func(prefix string, id owner.ID, suffix string) string {
		return filepath.Join(tmp, prefix+id.String()+"-"+suffix)
	}
	deadRebuild := name("reproof-rebuild-", dead, "1")
	deadVerify := name("reproof-verify-", dead, "2")
	deadZip := name("reproof-zip-", dead, "3")
	liveRebuild := name("reproof-rebuild-", owner.Self(), "4")
	unowned := filepath.Join(tmp, "reproof-rebuild-123")
	other := name("something-", dead, "5")
	container := containerPrefix + dead.String() + "-00"
	// A runc container whose state runc never wrote: nothing to kill.
	for _, d := range []string{deadVerify + "/ro/sub", liveRebuild, unowned, other, filepath.Join(runcStateRoot(deadRebuild), container)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(deadVerify+"/ro", 0o500); err != nil {
		t.Fatal(err)
	}
	deadDownload := filepath.Join(cache, "download-"+dead.String()+"-77")
	liveDownload := filepath.Join(cache, "download-"+owner.Self().String()+"-78")
	blob := filepath.Join(cache, "0123abcd")
	for _, f := range []string{deadZip, deadDownload, liveDownload, blob} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	found, err := FindLeftovers(context.Background(), SweepOptions{TempDirs: []string{tmp}, CacheTempDirs: []string{cache}, Runc: "/nonexistent/runc"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range found {
		got = append(got, l.Kind+" "+l.Name)
		if l.Owner != dead {
			t.Errorf("%s: owner %v, want %v", l, l.Owner, dead)
		}
	}
	want := []string{
		"runc container " + container + " (state " + runcStateRoot(deadRebuild) + ")",
		"directory " + deadRebuild,
		"directory " + deadVerify,
		"file " + deadZip,
		"file " + deadDownload,
	}
	if !slices.Equal(got, want) {
		t.Errorf("FindLeftovers found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range found {
		if err := l.Remove(context.Background()); err != nil {
			t.Errorf("Remove: %v", err)
		}
	}
	for _, p := range []string{deadRebuild, deadVerify, deadZip, deadDownload} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Remove: %v, want it gone", p, err)
		}
	}
	for _, p := range []string{liveRebuild, unowned, other, liveDownload, blob} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s after Remove: %v, want it kept", p, err)
		}
	}
}

// TestCgroupLeftovers: the cgroups named after runc containers of dead
// owners (cgroup v1, one per controller, and v2) are leftovers, one per
// container, unless the container itself was found (its runc delete
// removes them); a live owner's and other names are not.
func TestCgroupLeftovers(t *testing.T) {
	root := t.TempDir()
	dead := exitedOwner(t)
	orphan := containerPrefix + dead.String() + "-01"
	orphanV2 := containerPrefix + dead.String() + "-02"
	withState := containerPrefix + dead.String() + "-03"
	live := containerPrefix + owner.Self().String() + "-04"
	for _, d := range []string{"pids/" + orphan, "memory/" + orphan, orphanV2, "pids/" + withState, "pids/" + live, "pids/docker", "pids/reproof-unowned"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	found := []Leftover{{Kind: "runc container", Name: withState + " (state /x/runtime/state)", Owner: dead}}
	var got []string
	for _, l := range cgroupLeftovers(root, found) {
		got = append(got, l.Kind+" "+l.Name)
	}
	want := []string{"runc cgroup " + orphan, "runc cgroup " + orphanV2}
	if !slices.Equal(got, want) {
		t.Errorf("cgroupLeftovers = %q, want %q", got, want)
	}
}
