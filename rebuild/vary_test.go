package rebuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// varyProbe writes what the build sees of everything a Variation changes.
const varyProbe = `#!/bin/sh
mkdir -p dist
{
	echo "pwd=$(pwd)"
	echo "umask=$(umask)"
	echo "uid=$(id -u)"
	echo "tz=$TZ lc_all=$LC_ALL extra=${REPROOF_VARY_TEST-unset}"
	echo "home=$HOME passwd-home=$(grep "^[^:]*:[^:]*:$(id -u):" /etc/passwd | cut -d: -f6)"
	echo "hostname=$(hostname) domainname=$(cat /proc/sys/kernel/domainname)"
	echo "nproc=$(nproc)"
	echo "order=$(find order -mindepth 1 | tr '\n' ' ')"
	echo "uname-r=$(uname -r)"
	echo "personality=$(cat /proc/self/personality)"
} > dist/seen.txt
`

// varyRepo is a git repository holding varyProbe as build.sh and a
// directory "order" with files a, b and c, tagged v1.0.
func varyRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "build.sh"), []byte(varyProbe), 0o755)
	os.Mkdir(filepath.Join(dir, "order"), 0o755)
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(dir, "order", n), []byte(n), 0o644)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "probe"}, {"tag", "v1.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_COMMITTER_DATE=1700000000 +0000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// seen runs the probe under v and returns what it saw, KEY=VALUE.
func seen(t *testing.T, e *rebuildEnv, runtime string, v *Variation, user *User) map[string]string {
	t.Helper()
	opts := e.options(t, runtime)
	opts.Repo, opts.Commit = varyRepo(t), ""
	opts.Command, opts.Artifacts = []string{"./build.sh"}, []string{"dist/seen.txt"}
	opts.Variation, opts.User = v, user
	res, err := Rebuild(context.Background(), opts)
	if err != nil {
		log := ""
		if be, ok := err.(*BuildError); ok {
			log = be.LogTail
		}
		t.Fatalf("%s: Rebuild: %v\n%s", runtime, err, log)
	}
	e.checkClean(t)
	data, err := os.ReadFile(filepath.Join(res.OutDir, "seen.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		for _, f := range strings.Fields(l) {
			if k, v, ok := strings.Cut(f, "="); ok {
				got[k] = v
			}
		}
		if k, v, ok := strings.Cut(l, "="); ok && k == "order" {
			got[k] = strings.TrimSpace(v)
		}
	}
	return got
}

// TestVariationApplied builds the probe with no variation and with every
// field of a Variation, with each runtime, and checks what the build saw.
func TestVariationApplied(t *testing.T) {
	e := newRebuildEnv(t)
	if err := DisorderfsAvailable(); err != nil {
		testenv.Unmet(t, err)
	}
	if _, err := PersonalityTool(); err != nil {
		testenv.Unmet(t, err)
	}
	for _, rt := range buildRuntimes {
		t.Run(rt, func(t *testing.T) {
			e.require(t, rt)
			base := seen(t, e, rt, nil, nil)
			want := map[string]string{"pwd": "/src", "umask": "0022", "tz": "UTC", "lc_all": "C.UTF-8", "extra": "unset",
				"hostname": "reproof", "personality": "00000000"}
			for k, v := range want {
				if base[k] != v {
					t.Errorf("default: %s=%q, want %q", k, base[k], v)
				}
			}
			v := &Variation{WorkDir: "/build/elsewhere/src", Umask: "002", Env: []string{"TZ=GMT-14", "LC_ALL=et_EE.UTF-8", "REPROOF_VARY_TEST=1"},
				Hostname: "varied", Domainname: "example.org", Home: "/home/varied", CPUSet: "0", FileOrder: true, Uname26: true, NoASLR: rt != "docker"}
			if rt == "podman" {
				v.Domainname = ""
			}
			got := seen(t, e, rt, v, &User{UID: 2000, GID: 2000})
			want = map[string]string{"pwd": "/build/elsewhere/src", "umask": "0002", "uid": "2000", "tz": "GMT-14", "lc_all": "et_EE.UTF-8", "extra": "1",
				"home": "/home/varied", "passwd-home": "/home/varied", "hostname": "varied", "nproc": "1"}
			if rt != "podman" {
				want["domainname"] = "example.org"
			}
			// UNAME26 is 0x0020000, ADDR_NO_RANDOMIZE 0x0040000.
			want["personality"] = "00020000"
			if v.NoASLR {
				want["personality"] = "00060000"
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("varied: %s=%q, want %q", k, got[k], w)
				}
			}
			if !strings.HasPrefix(got["uname-r"], "2.6.") || got["uname-r"] == base["uname-r"] {
				t.Errorf("varied: uname -r = %q (default %q), want 2.6.x", got["uname-r"], base["uname-r"])
			}
			if got["order"] == base["order"] {
				t.Errorf("varied: directory order %q, the same as by default", got["order"])
			}
		})
	}
}
