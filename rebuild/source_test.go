package rebuild

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Fixed times for test commits: the author time is a day before the
// committer time, so a test can tell which one became SOURCE_DATE_EPOCH.
const (
	testAuthorTime    = 1700000000
	testCommitterTime = 1700086400
)

// originRepo is a git repository made by a test, standing for an upstream.
type originRepo struct {
	t    *testing.T
	dir  string
	home string
	n    int // commits so far; each gets a later committer time
}

func newOriginRepo(t *testing.T) *originRepo {
	t.Helper()
	r := &originRepo{t: t, dir: filepath.Join(t.TempDir(), "origin"), home: t.TempDir()}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

// git runs git in the origin with a fixed identity and fixed dates.
func (r *originRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test Author",
		"GIT_AUTHOR_EMAIL=author@example.org",
		"GIT_COMMITTER_NAME=Test Committer",
		"GIT_COMMITTER_EMAIL=committer@example.org",
		fmt.Sprintf("GIT_AUTHOR_DATE=@%d +0000", testAuthorTime+r.n),
		fmt.Sprintf("GIT_COMMITTER_DATE=@%d +0000", testCommitterTime+r.n),
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes name with content and commits it, returning the commit id
// and its committer time.
func (r *originRepo) commit(name, content string) (id string, committed int64) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", "--", name)
	r.git("commit", "--quiet", "-m", "change "+name)
	committed = int64(testCommitterTime + r.n)
	r.n++
	return r.git("rev-parse", "HEAD"), committed
}

func (r *originRepo) revParse(rev string) string {
	r.t.Helper()
	return r.git("rev-parse", "--verify", rev)
}

// checkOneLine fails the test if err's message spans lines.
func checkOneLine(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Errorf("error is not one line: %q", err)
	}
}

func TestCheckoutSourceTags(t *testing.T) {
	origin := newOriginRepo(t)
	first, firstTime := origin.commit("a.txt", "first\n")
	origin.git("tag", "v1.0")
	second, secondTime := origin.commit("a.txt", "second\n")
	origin.git("tag", "-a", "-m", "release 2.0", "v2.0")
	origin.commit("a.txt", "after the tags\n")

	tests := []struct {
		tag       string
		commit    string
		epoch     int64
		content   string
		annotated bool
	}{
		{"v1.0", first, firstTime, "first\n", false},
		{"v2.0", second, secondTime, "second\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			work := filepath.Join(t.TempDir(), "work")
			src, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: tt.tag, WorkDir: work})
			if err != nil {
				t.Fatalf("CheckoutSource(%q) = %v", tt.tag, err)
			}
			if src.Commit != tt.commit {
				t.Errorf("Commit = %s, want %s", src.Commit, tt.commit)
			}
			if want := origin.revParse(tt.commit + "^{tree}"); src.Tree != want {
				t.Errorf("Tree = %s, want %s", src.Tree, want)
			}
			wantTagObject := ""
			if tt.annotated {
				wantTagObject = origin.revParse("refs/tags/" + tt.tag)
				if wantTagObject == tt.commit {
					t.Fatal("test setup: annotated tag resolves to its commit")
				}
			}
			if src.TagObject != wantTagObject {
				t.Errorf("TagObject = %q, want %q", src.TagObject, wantTagObject)
			}
			if src.SourceDateEpoch != tt.epoch || !src.EpochFromCommit {
				t.Errorf("SourceDateEpoch, EpochFromCommit = %d, %v, want %d (committer time), true", src.SourceDateEpoch, src.EpochFromCommit, tt.epoch)
			}
			if src.Repo != origin.dir || src.Tag != tt.tag {
				t.Errorf("Repo, Tag = %q, %q, want %q, %q", src.Repo, src.Tag, origin.dir, tt.tag)
			}
			if want := filepath.Join(work, "src"); src.Dir != want {
				t.Errorf("Dir = %q, want %q", src.Dir, want)
			}
			if len(src.Submodules) != 0 {
				t.Errorf("Submodules = %v, want none", src.Submodules)
			}
			got, err := os.ReadFile(filepath.Join(src.Dir, "a.txt"))
			if err != nil || string(got) != tt.content {
				t.Errorf("a.txt = %q, %v, want %q", got, err, tt.content)
			}
			// HEAD is detached at the commit.
			head := exec.Command("git", "-C", src.Dir, "symbolic-ref", "-q", "HEAD")
			if err := head.Run(); err == nil {
				t.Error("HEAD is a branch, want detached")
			}
			// Nothing but the checkout is left in WorkDir: git's HOME is gone.
			entries, err := os.ReadDir(work)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != "src" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("WorkDir holds %q, want only src", names)
			}
		})
	}
}

func TestCheckoutSourceExpectedCommit(t *testing.T) {
	origin := newOriginRepo(t)
	other, _ := origin.commit("a.txt", "other\n")
	tagged, _ := origin.commit("a.txt", "tagged\n")
	origin.git("tag", "-a", "-m", "release", "v1")

	for _, commit := range []string{tagged, tagged[:7], tagged[:12], strings.ToUpper(tagged[:10])} {
		t.Run("match/"+commit, func(t *testing.T) {
			src, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", Commit: commit, WorkDir: t.TempDir()})
			if err != nil {
				t.Fatalf("CheckoutSource(Commit: %q) = %v", commit, err)
			}
			if src.Commit != tagged {
				t.Errorf("Commit = %s, want %s", src.Commit, tagged)
			}
		})
	}
	for _, commit := range []string{other, other[:8], "0000000"} {
		t.Run("mismatch/"+commit, func(t *testing.T) {
			work := t.TempDir()
			_, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", Commit: commit, WorkDir: work})
			if !errors.Is(err, ErrCommitMismatch) {
				t.Fatalf("CheckoutSource(Commit: %q) = %v, want ErrCommitMismatch", commit, err)
			}
			for _, want := range []string{`"v1"`, tagged, commit} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			checkOneLine(t, err)
			if entries, _ := os.ReadDir(work); len(entries) != 0 {
				t.Errorf("WorkDir after a refusal holds %d entries, want none", len(entries))
			}
		})
	}
}

func TestCheckoutSourceTagNotFound(t *testing.T) {
	origin := newOriginRepo(t)
	origin.commit("a.txt", "a\n")
	origin.git("tag", "v1")

	_, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v9", WorkDir: t.TempDir()})
	if !errors.Is(err, ErrTagNotFound) {
		t.Fatalf("CheckoutSource(v9) = %v, want ErrTagNotFound", err)
	}
	for _, want := range []string{origin.dir, `"v9"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	checkOneLine(t, err)
}

func TestCheckoutSourceEpochOverride(t *testing.T) {
	origin := newOriginRepo(t)
	origin.commit("a.txt", "a\n")
	origin.git("tag", "v1")

	epoch := int64(1234567890)
	src, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir(), SourceDateEpoch: &epoch})
	if err != nil {
		t.Fatal(err)
	}
	if src.SourceDateEpoch != epoch || src.EpochFromCommit {
		t.Errorf("SourceDateEpoch, EpochFromCommit = %d, %v, want %d, false", src.SourceDateEpoch, src.EpochFromCommit, epoch)
	}
}

func TestCheckoutSourceSubmodules(t *testing.T) {
	nested := newOriginRepo(t)
	nestedCommit, _ := nested.commit("n.txt", "nested\n")
	lib := newOriginRepo(t)
	lib.commit("lib.txt", "recorded\n")
	lib.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "--", nested.dir, "deps/nested")
	libCommit, _ := lib.commit("lib2.txt", "with nested\n")
	super := newOriginRepo(t)
	super.commit("main.txt", "main\n")
	super.git("-c", "protocol.file.allow=always", "submodule", "--quiet", "add", "--", lib.dir, "third party/lib")
	super.commit("more.txt", "with lib\n")
	super.git("tag", "-a", "-m", "release", "v1")

	// Upstream moves on; the checkout must still use the recorded commits.
	lib.commit("lib.txt", "moved on\n")
	nested.commit("n.txt", "moved on\n")

	src, err := CheckoutSource(context.Background(), SourceOptions{Repo: super.dir, Tag: "v1", WorkDir: t.TempDir(), fileSubmodules: true})
	if err != nil {
		t.Fatalf("CheckoutSource = %v", err)
	}
	want := []Submodule{
		{Path: "third party/lib", Commit: libCommit, URL: lib.dir},
		{Path: "third party/lib/deps/nested", Commit: nestedCommit, URL: nested.dir},
	}
	if fmt.Sprint(src.Submodules) != fmt.Sprint(want) {
		t.Errorf("Submodules = %v, want %v", src.Submodules, want)
	}
	for file, content := range map[string]string{
		"third party/lib/lib.txt":           "recorded\n",
		"third party/lib/deps/nested/n.txt": "nested\n",
	} {
		got, err := os.ReadFile(filepath.Join(src.Dir, filepath.FromSlash(file)))
		if err != nil || string(got) != content {
			t.Errorf("%s = %q, %v, want %q", file, got, err, content)
		}
	}

	// Without the test's permission, git refuses submodules on local
	// paths, as it does for users.
	_, err = CheckoutSource(context.Background(), SourceOptions{Repo: super.dir, Tag: "v1", WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "updating submodules") || !strings.Contains(err.Error(), "transport 'file' not allowed") {
		t.Errorf("CheckoutSource without file submodules = %v, want git's refusal of the file transport", err)
	} else {
		checkOneLine(t, err)
	}
}

func TestCheckoutSourceRepoForms(t *testing.T) {
	origin := newOriginRepo(t)
	commit, _ := origin.commit("a.txt", "a\n")
	origin.git("tag", "v1")

	t.Run("file URL", func(t *testing.T) {
		src, err := CheckoutSource(context.Background(), SourceOptions{Repo: "file://" + origin.dir, Tag: "v1", WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if src.Commit != commit || src.Repo != "file://"+origin.dir {
			t.Errorf("Commit, Repo = %s, %q, want %s, %q", src.Commit, src.Repo, commit, "file://"+origin.dir)
		}
	})
	t.Run("absolute path", func(t *testing.T) {
		src, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if src.Commit != commit {
			t.Errorf("Commit = %s, want %s", src.Commit, commit)
		}
	})
	t.Run("relative path", func(t *testing.T) {
		t.Chdir(filepath.Dir(origin.dir))
		src, err := CheckoutSource(context.Background(), SourceOptions{Repo: filepath.Base(origin.dir), Tag: "v1", WorkDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if src.Commit != commit || src.Repo != origin.dir {
			t.Errorf("Commit, Repo = %s, %q, want %s, %q", src.Commit, src.Repo, commit, origin.dir)
		}
	})
	t.Run("missing repository", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nothing-here")
		_, err := CheckoutSource(context.Background(), SourceOptions{Repo: missing, Tag: "v1", WorkDir: t.TempDir()})
		if err == nil {
			t.Fatal("CheckoutSource of a missing repository succeeded")
		}
		if errors.Is(err, ErrTagNotFound) || !strings.Contains(err.Error(), "does not appear to be a git repository") {
			t.Errorf("error %q: want git's complaint, not ErrTagNotFound", err)
		}
		checkOneLine(t, err)
	})
}

func TestCheckoutSourceMovedTag(t *testing.T) {
	origin := newOriginRepo(t)
	first, _ := origin.commit("a.txt", "first\n")
	origin.git("tag", "v1")
	src, err := CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir()})
	if err != nil || src.Commit != first {
		t.Fatalf("first checkout = %v, %v, want commit %s", src, err, first)
	}

	second, _ := origin.commit("a.txt", "second\n")
	origin.git("tag", "--force", "v1")
	src, err = CheckoutSource(context.Background(), SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if src.Commit != second {
		t.Errorf("after the tag moved, Commit = %s, want %s", src.Commit, second)
	}
}

func TestCheckoutSourceBadOptions(t *testing.T) {
	origin := newOriginRepo(t)
	origin.commit("a.txt", "a\n")
	origin.git("tag", "v1")

	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "leftover"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	negative := int64(-1)

	tests := []struct {
		name string
		opts SourceOptions
		want string
	}{
		{"non-empty work dir", SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: nonEmpty}, "not empty"},
		{"work dir is a file", SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: aFile}, "work directory"},
		{"no repo", SourceOptions{Tag: "v1", WorkDir: t.TempDir()}, "no repository"},
		{"no tag", SourceOptions{Repo: origin.dir, WorkDir: t.TempDir()}, "no tag"},
		{"option as tag", SourceOptions{Repo: origin.dir, Tag: "--upload-pack=touch", WorkDir: t.TempDir()}, "may not start"},
		{"option as repo", SourceOptions{Repo: "--upload-pack=touch", Tag: "v1", WorkDir: t.TempDir()}, "may not start"},
		{"bad tag name", SourceOptions{Repo: origin.dir, Tag: "a..b", WorkDir: t.TempDir()}, "not a valid tag name"},
		{"bad commit", SourceOptions{Repo: origin.dir, Tag: "v1", Commit: "xyz", WorkDir: t.TempDir()}, "hex"},
		{"short commit", SourceOptions{Repo: origin.dir, Tag: "v1", Commit: "abc", WorkDir: t.TempDir()}, "hex"},
		{"negative epoch", SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir(), SourceDateEpoch: &negative}, "negative"},
		{"no git", SourceOptions{Repo: origin.dir, Tag: "v1", WorkDir: t.TempDir(), Git: filepath.Join(t.TempDir(), "no-git")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := CheckoutSource(context.Background(), tt.opts)
			if err == nil {
				t.Fatalf("CheckoutSource = %+v, want an error containing %q", src, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checking out ") {
				t.Errorf("CheckoutSource = %q, want an error containing %q", err, tt.want)
			}
			checkOneLine(t, err)
		})
	}
	if entries, _ := os.ReadDir(nonEmpty); len(entries) != 1 {
		t.Errorf("the non-empty work dir now holds %d entries, want it untouched", len(entries))
	}
}

func TestCheckoutSourceCancelled(t *testing.T) {
	// A server on loopback that accepts git's request and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- conn
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case conn := <-accepted:
				conn.Close()
			default:
				return
			}
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case conn := <-accepted:
			accepted <- conn
		case <-time.After(10 * time.Second):
		}
		cancel()
	}()
	work := filepath.Join(t.TempDir(), "work")
	start := time.Now()
	_, err = CheckoutSource(ctx, SourceOptions{Repo: "http://" + ln.Addr().String() + "/repo.git", Tag: "v1", WorkDir: work})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckoutSource after cancel = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CheckoutSource took %v to notice the cancellation", d)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work dir after cancellation: %v, want it removed (CheckoutSource created it)", err)
	}

	// Already cancelled: no git runs at all.
	_, err = CheckoutSource(ctx, SourceOptions{Repo: "http://" + ln.Addr().String() + "/repo.git", Tag: "v1", WorkDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CheckoutSource with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestParseSubmoduleStatus(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "odd (name)"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 20)
	tests := []struct {
		out     string
		want    string // fmt.Sprint of the result, or the error's text
		wantErr bool
	}{
		{"", "[]", false},
		// The URL is filled in later, from each submodule's origin.
		{" " + id + " lib (v1.0)\n " + id + " lib/sub\n", "[{lib " + id + " } {lib/sub " + id + " }]", false},
		{" " + id + " odd (name)\n", "[{odd (name) " + id + " }]", false},
		{" " + id + " with space (heads/main)\n", "[{with space " + id + " }]", false},
		{"+" + id + " lib (v1.0-1-gabc)\n", `submodule "lib" is checked out at ` + id + ", not the commit its superproject records", true},
		{"-" + id + " lib\n", `submodule "lib" was not initialised`, true},
		{"U" + id + " lib\n", `submodule "lib" has merge conflicts`, true},
		{" nothex lib\n", "unexpected line", true},
		{"?" + id + " lib\n", "unexpected line", true},
	}
	for _, tt := range tests {
		subs, err := parseSubmoduleStatus(tt.out, dir)
		switch {
		case tt.wantErr && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("parseSubmoduleStatus(%q) = %v, %v, want error %q", tt.out, subs, err, tt.want)
		case !tt.wantErr && (err != nil || fmt.Sprint(subs) != tt.want):
			t.Errorf("parseSubmoduleStatus(%q) = %v, %v, want %s", tt.out, subs, err, tt.want)
		}
	}
}
