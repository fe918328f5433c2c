package archive_test

// These tests hold Normalize to the properties of issue 2 with archives made
// by the real tools (GNU tar, gzip, xz, zstd, Info-ZIP zip, GNU ar and git
// archive) and check every result with the same tools: the same content
// packed differently normalizes to the same bytes, normalizing twice changes
// nothing, and the content, exec and setuid bits, symlinks, hardlinks and
// empty directories survive an extraction by the real tool.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/internal/testenv"
)

// epoch is SOURCE_DATE_EPOCH for every normalization here: later than the
// fixture trees' default mtime, earlier than their "later" one.
var epoch = time.Unix(1_700_000_000, 0).UTC()

// shell runs script with sh -e in dir, with env added to the environment
// (LC_ALL=C.UTF-8 and TZ=UTC unless env overrides them), and returns its
// stdout. A failure of the script fails the test.
func shell(t testing.TB, dir string, env []string, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-ec", script, "sh"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sh -ec %q in %s: %v\n%s", script, dir, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// The fixture tree's names that need a special form in tar: a path of more
// than 100 bytes (GNU longname, or the ustar prefix field) and a non-ASCII
// name.
var (
	longPath    = "pkg/long/" + strings.Repeat("d", 70) + "/" + strings.Repeat("f", 70) + ".txt"
	unicodeName = "pkg/ünïcødé-名前.txt"
)

// tree describes how the fixture tree "pkg" is made. The content is always
// the same; only what a packer may leak into an archive varies.
type tree struct {
	umask   string // umask the tree is created under; default 022
	mtime   int64  // mtime of every path; default 1_600_000_000
	stagger bool   // give each path a different mtime, from mtime on
	owner   string // chown -hR the tree to this uid:gid
}

const treeScript = `
umask "$1"
mkdir -p pkg/bin pkg/a/b/c pkg/empty "$(dirname "$2")"
printf 'readme\n' >pkg/README
seq 1 3000 | sed 's/^/data line /' >pkg/data.txt
printf 'deep\n' >pkg/a/b/c/deep.txt
printf '#!/bin/sh\necho run\n' >pkg/bin/run.sh
chmod +x pkg/bin/run.sh
printf 'setuid helper\n' >pkg/bin/suid-helper
chmod +x pkg/bin/suid-helper
printf 'tool, hardlinked\n' >pkg/bin/tool
chmod +x pkg/bin/tool
ln pkg/bin/tool pkg/hard-tool
ln -s README pkg/link
printf 'a long path\n' >"$2"
printf 'a non-ASCII name\n' >"$3"
if [ -n "$4" ]; then chown -hR "$4" pkg; fi
# A setuid helper is root's whoever packs the rest: its owner is never
# normalized away.
chown 0:0 pkg/bin/suid-helper
chmod u+s pkg/bin/suid-helper # after chown, which clears it
n=$5
find pkg | sort | while read -r p; do
	touch -h -d "@$n" "$p"
	if [ "$6" = stagger ]; then n=$((n + 7919)); fi
done
`

// build makes the tree in a new directory and returns the directory, which
// holds "pkg" and nothing else.
func (tr tree) build(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "sh", "find", "sed", "sort", "touch")
	if tr.umask == "" {
		tr.umask = "022"
	}
	if tr.mtime == 0 {
		tr.mtime = 1_600_000_000
	}
	stagger := ""
	if tr.stagger {
		stagger = "stagger"
	}
	dir := t.TempDir()
	shell(t, dir, nil, treeScript, tr.umask, longPath, unicodeName, tr.owner, strconv.FormatInt(tr.mtime, 10), stagger)
	return dir
}

// node is what extraction must reproduce of one path.
type node struct {
	mode   fs.FileMode // type and permission bits, setuid included (not for symlinks)
	digest string      // SHA-256 of a regular file's content
	target string      // a symlink's target
}

// snapshot describes the tree under root: every path relative to root, and
// the groups of paths that are hardlinks of one file.
func snapshot(t *testing.T, root string) (map[string]node, [][]string) {
	t.Helper()
	nodes := map[string]node{}
	byInode := map[uint64][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		n := node{mode: info.Mode()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			n.mode = fs.ModeSymlink
			if n.target, err = os.Readlink(path); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n.digest = sha256Hex(b)
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				byInode[st.Ino] = append(byInode[st.Ino], rel)
			}
		}
		nodes[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	var groups [][]string
	for _, g := range byInode {
		slices.Sort(g)
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return nodes, groups
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// compareOptions relax compareTrees where a format or tool cannot do better.
type compareOptions struct {
	hardlinks bool // the format keeps hardlinks (zip stores copies)
	// skipNonASCII leaves out paths with non-ASCII names, on both sides.
	skipNonASCII bool
}

// compareTrees fails the test unless got reproduces want: the same paths,
// types, modes, contents and symlink targets, and (with opts.hardlinks)
// the hardlinks of want are hardlinks in got.
func compareTrees(t *testing.T, what, want, got string, opts compareOptions) {
	t.Helper()
	wantNodes, wantGroups := snapshot(t, want)
	gotNodes, _ := snapshot(t, got)
	if opts.skipNonASCII {
		for _, nodes := range []map[string]node{wantNodes, gotNodes} {
			for p := range nodes {
				if strings.ContainsFunc(p, func(r rune) bool { return r > 0x7f }) {
					delete(nodes, p)
				}
			}
		}
	}
	for _, p := range sortedKeys(wantNodes) {
		w := wantNodes[p]
		g, ok := gotNodes[p]
		switch {
		case !ok:
			t.Errorf("%s: %q is missing after extraction", what, p)
		case g.mode != w.mode:
			t.Errorf("%s: %q has mode %v after extraction, want %v", what, p, g.mode, w.mode)
		case g.digest != w.digest:
			t.Errorf("%s: %q has content sha256 %s after extraction, want %s", what, p, g.digest, w.digest)
		case g.target != w.target:
			t.Errorf("%s: symlink %q points to %q after extraction, want %q", what, p, g.target, w.target)
		}
	}
	for _, p := range sortedKeys(gotNodes) {
		if _, ok := wantNodes[p]; !ok {
			t.Errorf("%s: extraction made %q, which is not in the source tree", what, p)
		}
	}
	if !opts.hardlinks {
		return
	}
	if len(wantGroups) == 0 {
		t.Fatalf("%s: the source tree has no hardlinks; the fixture is broken", what)
	}
	for _, g := range wantGroups {
		first, err := os.Stat(filepath.Join(got, g[0]))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		for _, p := range g[1:] {
			st, err := os.Stat(filepath.Join(got, p))
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			if !os.SameFile(first, st) {
				t.Errorf("%s: %q and %q are separate files after extraction, want one hardlinked file", what, g[0], p)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// normalized is one Normalize run: the output written to a file, and the
// report.
type normalized struct {
	path   string
	bytes  []byte
	report *archive.NormalizeReport
}

// normalizeFile runs Normalize with every pass and the test epoch on the
// file at in, and writes the output to a new file named like in. It checks
// that the input was not modified and that no spill file was left behind.
func normalizeFile(t *testing.T, in string) normalized {
	t.Helper()
	before, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	spill := t.TempDir()
	var out bytes.Buffer
	rep, err := archive.Normalize(context.Background(), f, in, &out, archive.NormalizeOptions{
		Passes:   archive.AllPasses(),
		Epoch:    epoch,
		HasEpoch: true,
		TempDir:  spill,
	})
	if err != nil {
		t.Fatalf("Normalize(%q): %v", in, err)
	}
	if after, err := os.ReadFile(in); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("Normalize(%q) modified its input (err %v)", in, err)
	}
	if left, err := os.ReadDir(spill); err != nil {
		t.Error(err)
	} else if len(left) > 0 {
		t.Errorf("Normalize(%q) left %d files in its TempDir, e.g. %q", in, len(left), left[0].Name())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "normalized-"+filepath.Base(in))
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return normalized{path: path, bytes: out.Bytes(), report: rep}
}

// passReport returns the report of the named pass, or nil.
func passReport(rep *archive.NormalizeReport, name string) *archive.PassReport {
	for i := range rep.Passes {
		if rep.Passes[i].Pass == name {
			return &rep.Passes[i]
		}
	}
	return nil
}

func passNames(rep *archive.NormalizeReport) []string {
	var names []string
	for _, p := range rep.Passes {
		names = append(names, p.Pass)
	}
	return names
}

// entryPasses are the passes that work entry by entry: their examples must
// name the entry they changed.
var entryPasses = map[string]bool{
	"tar-mtime": true, "tar-owner": true, "tar-mode": true, "tar-xattr": true, "tar-devices": true,
	"zip-time": true, "zip-extra": true, "ar-header": true,
}

// checkChanged fails the test unless each named pass reports changes, with
// examples, and the examples of entry passes name an entry.
func checkChanged(t *testing.T, what string, rep *archive.NormalizeReport, passes []string) {
	t.Helper()
	for _, name := range passes {
		p := passReport(rep, name)
		switch {
		case p == nil:
			t.Errorf("%s: report has no %s pass; passes: %v", what, name, passNames(rep))
		case p.Changed == 0:
			t.Errorf("%s: %s reports Changed = 0, want > 0", what, name)
		case len(p.Examples) == 0:
			t.Errorf("%s: %s reports Changed = %d with no examples", what, name, p.Changed)
		case entryPasses[name] && !strings.HasPrefix(p.Examples[0], `"pkg/`):
			t.Errorf("%s: %s example %q does not name an entry", what, name, p.Examples[0])
		}
	}
}

// checkUnchanged fails the test unless every pass of the report changed
// nothing.
func checkUnchanged(t *testing.T, what string, rep *archive.NormalizeReport) {
	t.Helper()
	for _, p := range rep.Passes {
		if p.Changed != 0 {
			t.Errorf("%s: %s reports Changed = %d on an already normalized archive, want 0; e.g. %q", what, p.Pass, p.Changed, p.Examples)
		}
	}
}

// packing is one way of packing a tree into an archive, with real commands.
type packing struct {
	name string
	tree tree
	// script makes "$OUT" from ./pkg, run in the tree's directory.
	script string
	// changes are the passes that must report changes for this packing.
	changes []string
}

// formatCase is a family of packings that must all normalize to the same
// bytes, and the real tools that check the output.
type formatCase struct {
	name    string
	format  string   // rep.Input and rep.Output, as printed
	passes  []string // the passes the report lists for this format
	tools   []string
	test    string // script checking "$OUT" with the format's tool
	extract string // script extracting "$OUT" into "$DEST"
	// decompress is a script writing the tar inside "$OUT" to stdout.
	decompress string
	list       string // script listing "$OUT", one line per entry
	packings   []packing
	// hardlinks: the format keeps hardlinks (zip stores copies).
	hardlinks bool
}

var tarPasses = []string{"tar-order", "tar-mtime", "tar-owner", "tar-mode", "tar-pax", "tar-xattr", "tar-devices"}

const reversedList = `find pkg | LC_ALL=C sort -r >list`

var formatCases = []formatCase{
	{
		name:       "tar.gz",
		format:     "tar+gzip",
		passes:     append(slices.Clone(tarPasses), "gzip-header"),
		tools:      []string{"tar", "gzip"},
		test:       `gzip -t "$OUT"`,
		extract:    `gzip -dc "$OUT" | tar -xf - -C "$DEST"`,
		decompress: `gzip -dc "$OUT"`,
		list:       `tar -tvzf "$OUT"`,
		packings: []packing{
			{"tar czf", tree{}, `tar czf "$OUT" pkg`,
				[]string{"tar-mtime", "tar-owner", "gzip-header"}},
			{"sorted pax, gzip -9 -n", tree{}, `tar --sort=name --format=pax -cf - pkg | gzip -9 -n >"$OUT"`,
				[]string{"tar-mtime", "tar-owner", "tar-pax", "gzip-header"}},
			{"reversed list, ustar, gzip -1 with name and mtime", tree{},
				reversedList + ` && tar --format=ustar --no-recursion -T list -cf pkg.tar && gzip -1 pkg.tar && mv pkg.tar.gz "$OUT"`,
				[]string{"tar-order", "tar-mtime", "gzip-header"}},
			{"gnu, tree owned by 1234:5678", tree{owner: "1234:5678"}, `tar --format=gnu -cf - pkg | gzip -9 >"$OUT"`,
				[]string{"tar-owner"}},
			{"tree owned by 1234:5678, gzip -n", tree{owner: "1234:5678"}, `tar -cf - pkg | gzip -n >"$OUT"`,
				[]string{"tar-owner"}},
			{"later mtimes", tree{mtime: 1_650_000_000}, `tar czf "$OUT" pkg`,
				[]string{"tar-mtime"}},
			{"staggered mtimes, pax", tree{stagger: true}, `tar --format=pax -czf "$OUT" pkg`,
				[]string{"tar-mtime", "tar-pax"}},
		},
		hardlinks: true,
	},
	{
		name:       "tar.xz",
		format:     "tar+xz",
		passes:     tarPasses,
		tools:      []string{"tar", "xz"},
		test:       `xz -t "$OUT"`,
		extract:    `xz -dc "$OUT" | tar -xf - -C "$DEST"`,
		decompress: `xz -dc "$OUT"`,
		list:       `tar -tvJf "$OUT"`,
		packings: []packing{
			{"tar cJf", tree{}, `tar cJf "$OUT" pkg`, []string{"tar-mtime"}},
			{"sorted pax, xz -0", tree{}, `tar --sort=name --format=pax -cf - pkg | xz -0 >"$OUT"`,
				[]string{"tar-pax"}},
			{"reversed list, xz -9e --check=crc32", tree{},
				reversedList + ` && tar --no-recursion -T list -cf - | xz -9e --check=crc32 >"$OUT"`,
				[]string{"tar-order"}},
			{"later mtimes, owners, xz -T2 --check=sha256", tree{mtime: 1_650_000_000, owner: "1234:5678"},
				`tar -cf - pkg | xz -T2 --check=sha256 >"$OUT"`,
				[]string{"tar-mtime", "tar-owner"}},
		},
		hardlinks: true,
	},
	{
		name:       "tar.zst",
		format:     "tar+zstd",
		passes:     tarPasses,
		tools:      []string{"tar", "zstd"},
		test:       `zstd -q -t "$OUT"`,
		extract:    `zstd -q -dc "$OUT" | tar -xf - -C "$DEST"`,
		decompress: `zstd -q -dc "$OUT"`,
		list:       `tar --zstd -tvf "$OUT"`,
		packings: []packing{
			{"tar --zstd", tree{}, `tar --zstd -cf "$OUT" pkg`, []string{"tar-mtime"}},
			{"zstd -1", tree{}, `tar -cf - pkg | zstd -q -1 >"$OUT"`, []string{"tar-mtime"}},
			{"sorted pax, zstd -19 --long", tree{}, `tar --sort=name --format=pax -cf - pkg | zstd -q -19 --long >"$OUT"`,
				[]string{"tar-pax"}},
			{"reversed list, zstd from a file (content size in the frame)", tree{},
				reversedList + ` && tar --no-recursion -T list -cf pkg.tar && zstd -q -3 pkg.tar -o "$OUT"`,
				[]string{"tar-order"}},
			{"later mtimes, owners, zstd --long=27 -T2 --no-check", tree{mtime: 1_650_000_000, owner: "1234:5678"},
				`tar -cf - pkg | zstd -q --long=27 -T2 --no-check >"$OUT"`,
				[]string{"tar-mtime", "tar-owner"}},
		},
		hardlinks: true,
	},
	{
		name:    "zip",
		format:  "zip",
		passes:  []string{"zip-order", "zip-time", "zip-extra"},
		tools:   []string{"zip", "unzip"},
		test:    `unzip -tq "$OUT"`,
		extract: `unzip -q -K "$OUT" -d "$DEST"`,
		list:    `unzip -Z1 "$OUT"`,
		packings: []packing{
			{"zip -r -y", tree{}, noUnicode + ` && zip -q -r -y "$OUT" pkg`, []string{"zip-time", "zip-extra"}},
			{"zip -r -y -X", tree{}, noUnicode + ` && zip -q -r -y -X "$OUT" pkg`, []string{"zip-time"}},
			{"reversed list, -X", tree{}, noUnicode + ` && ` + reversedList + ` && zip -q -y -X "$OUT" -@ <list`,
				[]string{"zip-order", "zip-time"}},
			{"later mtimes, -9", tree{mtime: 1_650_000_000}, noUnicode + ` && zip -q -r -y -9 "$OUT" pkg`,
				[]string{"zip-time", "zip-extra"}},
			{"staggered mtimes, -1, TZ=Pacific/Kiritimati", tree{stagger: true},
				noUnicode + ` && TZ=Pacific/Kiritimati zip -q -r -y -1 "$OUT" pkg`, []string{"zip-time"}},
			{"tree owned by 1234:5678", tree{owner: "1234:5678"}, noUnicode + ` && zip -q -r -y "$OUT" pkg`,
				[]string{"zip-extra"}},
		},
	},
}

// noUnicode removes the non-ASCII name from the tree before a zip is
// made: Info-ZIP zip stores it without the UTF-8 flag (whatever -UN says),
// Python's zipfile then extracts a CP437 reading of it, and the reader
// rightly calls such a zip ambiguous (TestZipStrict).
const noUnicode = `rm pkg/*.txt`

// TestNormalizeFormats packs one tree many ways with the real tools and
// checks, for each format: every packing normalizes to the same bytes,
// with a report that names what it changed; normalizing the output again
// changes nothing; the real tools accept the output, and extracting it
// gives back the tree.
func TestNormalizeFormats(t *testing.T) {
	t.Parallel()
	decompressed := map[string][]byte{} // format -> normalized tar, for the cross-check
	for _, fc := range formatCases {
		t.Run(fc.name, func(t *testing.T) {
			testenv.RequireTools(t, fc.tools...)
			testenv.RequireTools(t, "tar")
			var ref normalized
			var refTree string
			inputs := map[string]string{} // input digest -> packing
			for i, p := range fc.packings {
				dir := p.tree.build(t)
				in := filepath.Join(t.TempDir(), "in."+fc.name)
				shell(t, dir, []string{"OUT=" + in}, p.script)
				b, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				if other, ok := inputs[sha256Hex(b)]; ok {
					t.Fatalf("packings %q and %q made identical archives; the variant proves nothing", other, p.name)
				}
				inputs[sha256Hex(b)] = p.name

				n := normalizeFile(t, in)
				what := fc.name + " " + p.name
				if got := n.report.Input.String(); got != fc.format {
					t.Errorf("%s: report.Input = %s, want %s", what, got, fc.format)
				}
				if got := n.report.Output.String(); got != fc.format {
					t.Errorf("%s: report.Output = %s, want %s", what, got, fc.format)
				}
				if got := passNames(n.report); !slices.Equal(got, fc.passes) {
					t.Errorf("%s: report lists passes %v, want %v", what, got, fc.passes)
				}
				checkChanged(t, what, n.report, p.changes)
				if !keptSetuid(n.report) {
					t.Errorf("%s: report.Kept = %q, want it to name pkg/bin/suid-helper", what, n.report.Kept)
				}
				if i == 0 {
					ref, refTree = n, dir
					continue
				}
				if !bytes.Equal(n.bytes, ref.bytes) {
					t.Errorf("Normalize(%s) differs from Normalize(%s)\n%s:\n%s\n%s:\n%s", p.name, fc.packings[0].name,
						p.name, shell(t, dir, []string{"OUT=" + n.path}, fc.list),
						fc.packings[0].name, shell(t, dir, []string{"OUT=" + ref.path}, fc.list))
				}
			}

			// Idempotent, and honest about it: nothing left to change.
			again := normalizeFile(t, ref.path)
			if !bytes.Equal(again.bytes, ref.bytes) {
				t.Errorf("Normalize(Normalize(%s)) differs from Normalize(%s)", fc.packings[0].name, fc.packings[0].name)
			}
			checkUnchanged(t, "Normalize(Normalize("+fc.name+"))", again.report)

			// The real tools accept the output and extract the tree.
			shell(t, refTree, []string{"OUT=" + ref.path}, fc.test)
			listing := shell(t, refTree, []string{"OUT=" + ref.path}, fc.list)
			nodes, _ := snapshot(t, filepath.Join(refTree, "pkg"))
			if got := strings.Count(string(listing), "\n"); got != len(nodes) {
				t.Errorf("listing of the normalized %s has %d lines, want %d (one per path):\n%s", fc.name, got, len(nodes), listing)
			}
			if got := ref.report.Entries; got != int64(len(nodes)) {
				t.Errorf("report.Entries = %d, want %d", got, len(nodes))
			}
			dest := t.TempDir()
			shell(t, refTree, []string{"OUT=" + ref.path, "DEST=" + dest}, fc.extract)
			compareTrees(t, "normalized "+fc.name, filepath.Join(refTree, "pkg"), filepath.Join(dest, "pkg"),
				compareOptions{hardlinks: fc.hardlinks})

			if fc.decompress != "" {
				decompressed[fc.format] = shell(t, refTree, []string{"OUT=" + ref.path}, fc.decompress)
			}
		})
	}
	// The tar inside does not depend on the compression around it.
	t.Run("same tar in every compression", func(t *testing.T) {
		gz := decompressed["tar+gzip"]
		if gz == nil {
			t.Fatal("no normalized tar+gzip to compare with")
		}
		for _, f := range []string{"tar+xz", "tar+zstd"} {
			if got := decompressed[f]; got == nil || !bytes.Equal(got, gz) {
				t.Errorf("the tar inside the normalized %s differs from the one inside the normalized tar+gzip", f)
			}
		}
	})
}

func keptSetuid(rep *archive.NormalizeReport) bool {
	for _, k := range rep.Kept {
		if strings.Contains(k, `"pkg/bin/suid-helper"`) {
			return true
		}
	}
	return false
}

// TestNormalizeGitArchive normalizes `git archive` output of two commits
// with the same tree but different dates and messages: in tar, tar.gz and
// zip they normalize to the same bytes, and tar-pax reports the dropped
// pax global header that held the commit id.
func TestNormalizeGitArchive(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "git", "tar", "gzip", "unzip")
	repo := t.TempDir()
	gitEnv := []string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + repo,
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=A U Thor", "GIT_COMMITTER_EMAIL=author@example.com",
	}
	shell(t, repo, gitEnv, `
umask 022
mkdir -p src/bin src/a/b/c "$(dirname "src/${1#pkg/}")"
printf 'readme\n' >src/README
seq 1 3000 | sed 's/^/data line /' >src/data.txt
printf 'deep\n' >src/a/b/c/deep.txt
printf '#!/bin/sh\necho run\n' >src/bin/run.sh
chmod +x src/bin/run.sh
ln -s README src/link
printf 'a long path\n' >"src/${1#pkg/}"
printf 'a non-ASCII name\n' >"src/${2#pkg/}"
cd src
git init -q .
git add -A
GIT_AUTHOR_DATE=@1500000000 GIT_COMMITTER_DATE=@1500000000 git commit -q -m 'first'
GIT_AUTHOR_DATE=@1600000000 GIT_COMMITTER_DATE=@1600000000 git commit -q --allow-empty -m 'second, same tree'
git rev-parse HEAD~1 >../c1
git archive --format=tar --prefix=pkg/ -o ../c1.tar HEAD~1
git archive --format=tar --prefix=pkg/ -o ../c2.tar HEAD
git archive --prefix=pkg/ -o ../c1.tar.gz HEAD~1
git archive --prefix=pkg/ -o ../c2.tar.gz HEAD
git archive --format=tar --prefix=pkg/ HEAD | gzip -9 >../c2-gzip9.tar.gz
git archive --format=zip --prefix=pkg/ -o ../c1.zip HEAD~1
git archive --format=zip --prefix=pkg/ -o ../c2.zip HEAD
`, longPath, unicodeName)
	c1, err := os.ReadFile(filepath.Join(repo, "c1"))
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.TrimSpace(string(c1))
	// The tree as checked out, under the archives' prefix, for survival.
	want := filepath.Join(repo, "want")
	shell(t, repo, nil, `mkdir want && cp -a src want/pkg && rm -rf want/pkg/.git`)
	// git archive writes tar modes under tar.umask 0002, and extraction
	// as root applies them: the normalized tar keeps them (group write
	// is not on the list of harmless differences).
	wantTar := filepath.Join(repo, "want-tar")
	shell(t, repo, nil, `mkdir want-tar && cp -a want/pkg want-tar/pkg && chmod -R g+w want-tar/pkg`)

	for _, tc := range []struct {
		format  string
		inputs  []string
		extract string
		passes  []string
	}{
		{"tar", []string{"c1.tar", "c2.tar"}, `tar -xf "$OUT" -C "$DEST"`, tarPasses},
		{"tar+gzip", []string{"c1.tar.gz", "c2.tar.gz", "c2-gzip9.tar.gz"}, `gzip -t "$OUT" && tar -xzf "$OUT" -C "$DEST"`,
			append(slices.Clone(tarPasses), "gzip-header")},
		{"zip", []string{"c1.zip", "c2.zip"}, `unzip -tq "$OUT" && unzip -q "$OUT" -d "$DEST"`,
			[]string{"zip-order", "zip-time", "zip-extra"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var ref normalized
			for i, in := range tc.inputs {
				n := normalizeFile(t, filepath.Join(repo, in))
				if got := passNames(n.report); !slices.Equal(got, tc.passes) {
					t.Errorf("%s: report lists passes %v, want %v", in, got, tc.passes)
				}
				if tc.format != "zip" {
					checkChanged(t, in, n.report, []string{"tar-mtime", "tar-pax"})
					if ex := passReport(n.report, "tar-pax").Examples; len(ex) == 0 ||
						!strings.Contains(ex[0], "pax global header") || !strings.Contains(ex[0], "comment") {
						t.Errorf("%s: tar-pax examples %q, want the first to name the pax global header comment", in, ex)
					} else if in == "c1.tar" && !strings.Contains(ex[0], commit) {
						t.Errorf("%s: tar-pax example %q does not show the commit id %s", in, ex[0], commit)
					}
				}
				if i == 0 {
					ref = n
					continue
				}
				if !bytes.Equal(n.bytes, ref.bytes) {
					t.Errorf("Normalize(%s) differs from Normalize(%s)", in, tc.inputs[0])
				}
			}
			again := normalizeFile(t, ref.path)
			if !bytes.Equal(again.bytes, ref.bytes) {
				t.Errorf("Normalize(Normalize(%s)) differs from Normalize(%s)", tc.inputs[0], tc.inputs[0])
			}
			checkUnchanged(t, "Normalize(Normalize("+tc.inputs[0]+"))", again.report)
			dest := t.TempDir()
			shell(t, repo, []string{"OUT=" + ref.path, "DEST=" + dest}, tc.extract)
			// git archive marks its non-executable files as made on FAT.
			// Debian's unzip 6.0 then translates their names from CP437
			// whatever their UTF-8 flag, unless the entry has an extra
			// field: zip-time drops the only one git writes, so unzip
			// mangles the non-ASCII name. Check that name with Go's
			// reader instead.
			opts := compareOptions{skipNonASCII: tc.format == "zip"}
			wantTree := filepath.Join(want, "pkg")
			if tc.format != "zip" {
				wantTree = filepath.Join(wantTar, "pkg")
			}
			compareTrees(t, "normalized git archive "+tc.format, wantTree, filepath.Join(dest, "pkg"), opts)
			if opts.skipNonASCII {
				checkZipEntry(t, ref.path, unicodeName, filepath.Join(want, unicodeName))
			}
		})
	}
}

// checkZipEntry fails the test unless the zip at path holds an entry
// named name, flagged UTF-8 when the name needs it, with the content of
// the file at want.
func checkZipEntry(t *testing.T, path, name, want string) {
	t.Helper()
	wantBytes, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("zip.OpenReader(%q): %v", path, err)
	}
	defer zr.Close() //nolint:errcheck // opened read-only
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		if f.NonUTF8 {
			t.Errorf("zip entry %q is not flagged UTF-8", name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("opening zip entry %q: %v", name, err)
		}
		got, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil || !bytes.Equal(got, wantBytes) {
			t.Errorf("zip entry %q has content %q (err %v), want %q", name, got, err, wantBytes)
		}
		return
	}
	t.Errorf("zip %q has no entry %q", path, name)
}

// TestNormalizeAr normalizes .deb-like ar archives made by GNU ar in its
// non-deterministic mode from the same members with different mtimes,
// owners and modes, and in its deterministic mode: all give the same
// bytes, which ar lists and extracts to the same members.
func TestNormalizeAr(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "ar", "tar", "gzip", "xz")
	// Not named debian-binary: GNU ar puts its long-name table first,
	// and dpkg-deb refuses a package whose first member is not
	// debian-binary (the reader says so; this test is about ar).
	members := []string{"format-version", "control.tar.gz", "data.tar.xz", "a-long-member-name.txt", "postinst"}
	src := t.TempDir()
	shell(t, src, nil, `
umask 022
printf '2.0\n' >format-version
mkdir c d
printf 'Package: fixture\n' >c/control
tar --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C c . | gzip -n >control.tar.gz
seq 1 2000 >d/data
tar --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C d . | xz >data.tar.xz
printf 'odd-sized member, long name\n' >a-long-member-name.txt
printf '#!/bin/sh\nexit 0\n' >postinst
chmod 755 postinst
rm -r c d
`)
	variants := []struct {
		name, script string
		changes      bool
	}{
		{"ar rcU", `touch -d @1600000000 "$@" && ar rcU "$OUT" "$@"`, true},
		{"ar rcU, later mtimes, owner 1234:5678", `touch -d @1650000000 "$@" && chown 1234:5678 "$@" && ar rcU "$OUT" "$@"`, true},
		{"ar rcU, staggered mtimes", `n=1500000000; for m; do touch -d @$n "$m"; n=$((n + 7919)); done; ar rcU "$OUT" "$@"`, true},
	}
	var ref normalized
	inputs := map[string]string{}
	for i, v := range variants {
		dir := t.TempDir()
		shell(t, src, []string{"DEST=" + dir}, `cp -p "$@" "$DEST"`, members...)
		in := filepath.Join(t.TempDir(), "pkg.deb")
		shell(t, dir, []string{"OUT=" + in}, v.script, members...)
		b, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := inputs[sha256Hex(b)]; ok {
			t.Fatalf("variants %q and %q made identical archives; the variant proves nothing", other, v.name)
		}
		inputs[sha256Hex(b)] = v.name
		n := normalizeFile(t, in)
		// Not "deb": GNU ar puts its long-name table ahead of debian-binary.
		if got, want := n.report.Input.String(), "ar"; got != want {
			t.Errorf("%s: report.Input = %s, want %s", v.name, got, want)
		}
		if got := passNames(n.report); !slices.Equal(got, []string{"ar-header"}) {
			t.Errorf("%s: report lists passes %v, want [ar-header]", v.name, got)
		}
		if p := passReport(n.report, "ar-header"); p != nil && p.Changed > 0 && !strings.HasPrefix(p.Examples[0], `"`) {
			t.Errorf("%s: ar-header example %q does not name a member", v.name, p.Examples[0])
		}
		if v.changes {
			if p := passReport(n.report, "ar-header"); p == nil || p.Changed == 0 {
				t.Errorf("%s: ar-header reports no change, want changes", v.name)
			}
		}
		if i == 0 {
			ref = n
			continue
		}
		if !bytes.Equal(n.bytes, ref.bytes) {
			t.Errorf("Normalize(%s) differs from Normalize(%s)", v.name, variants[0].name)
		}
	}
	again := normalizeFile(t, ref.path)
	if !bytes.Equal(again.bytes, ref.bytes) {
		t.Errorf("Normalize(Normalize(ar)) differs from Normalize(ar)")
	}
	checkUnchanged(t, "Normalize(Normalize(ar))", again.report)

	listed := strings.Fields(string(shell(t, src, []string{"OUT=" + ref.path}, `ar t "$OUT"`)))
	if !slices.Equal(listed, members) {
		t.Errorf("ar t lists %q, want %q", listed, members)
	}
	verbose := shell(t, src, []string{"OUT=" + ref.path}, `ar tvO "$OUT"`)
	for _, line := range strings.Split(strings.TrimSpace(string(verbose)), "\n") {
		mode := "rw-r--r--"
		if strings.Contains(line, "postinst") {
			mode = "rwxr-xr-x"
		}
		if !strings.HasPrefix(line, mode+" 0/0 ") || !strings.Contains(line, "Nov 14 22:13 2023") {
			t.Errorf("ar tv line %q, want mode %s, owner 0/0 and the epoch as mtime", line, mode)
		}
	}
	dest := t.TempDir()
	shell(t, dest, []string{"OUT=" + ref.path}, `ar x "$OUT"`)
	for _, m := range members {
		want, err := os.ReadFile(filepath.Join(src, m))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dest, m))
		if err != nil {
			t.Errorf("ar x: %v", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ar x: member %q has sha256 %s, want %s", m, sha256Hex(got), sha256Hex(want))
		}
	}
}

// TestNormalizeReportsNothingToChange normalizes an archive that a
// deterministic packer already made the way Normalize would (sorted, epoch
// mtimes, owner 0, no pax extras, canonical gzip header): the report must
// not claim changes that did not happen.
func TestNormalizeReportsNothingToChange(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "tar", "gzip")
	dir := tree{}.build(t)
	in := filepath.Join(t.TempDir(), "in.tar")
	shell(t, dir, []string{"OUT=" + in},
		`tar --sort=name --format=gnu --mtime=@1700000000 --owner=0 --group=0 --numeric-owner -cf "$OUT" pkg`)
	n := normalizeFile(t, in)
	if got := passNames(n.report); !slices.Equal(got, tarPasses) {
		t.Fatalf("report lists passes %v, want %v", got, tarPasses)
	}
	checkUnchanged(t, "Normalize(already deterministic tar)", n.report)
}

// TestNormalizeGzipPadding normalizes a tar.gz followed by zero padding,
// which gzip and tar accept: Normalize checks the gzip trailer, but must
// not reject what the real tools accept.
func TestNormalizeGzipPadding(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "tar", "gzip")
	dir := tree{}.build(t)
	plain := filepath.Join(t.TempDir(), "plain.tar.gz")
	padded := filepath.Join(t.TempDir(), "padded.tar.gz")
	shell(t, dir, []string{"OUT=" + plain, "PADDED=" + padded},
		`tar czf "$OUT" pkg && { cat "$OUT"; head -c 4096 /dev/zero; } >"$PADDED" && gzip -t "$PADDED" && tar -tzf "$PADDED" >/dev/null`)
	if got, want := normalizeFile(t, padded).bytes, normalizeFile(t, plain).bytes; !bytes.Equal(got, want) {
		t.Errorf("Normalize(tar.gz + 4096 zero bytes) differs from Normalize(tar.gz)")
	}
}

// TestNormalizeKeepsWhatExtractorsApply packs trees that extract
// differently (GNU tar as root applies every mode bit, the owner of a
// setuid file, capabilities) and checks normalization with every pass
// keeps them apart: a pass never hides what a user gets.
func TestNormalizeKeepsWhatExtractorsApply(t *testing.T) {
	testenv.RequireTools(t, "tar", "setcap")
	ref := normalizeFile(t, packTree(t, tree{}, `tar czf "$OUT" pkg`))
	for _, v := range []struct {
		name   string
		tr     tree
		script string
	}{
		{"umask 002 (group-writable files)", tree{umask: "002"}, `tar czf "$OUT" pkg`},
		{"world-writable directory", tree{}, `chmod o+w pkg/empty && tar czf "$OUT" pkg`},
		{"sticky directory", tree{}, `chmod +t pkg/empty && tar czf "$OUT" pkg`},
		{"setuid helper owned by 1234", tree{}, `chown 1234 pkg/bin/suid-helper && chmod u+s pkg/bin/suid-helper && tar czf "$OUT" pkg`},
		{"setgid tool", tree{}, `chmod g+s pkg/bin/run.sh && tar czf "$OUT" pkg`},
		{"file capability", tree{}, `setcap cap_net_raw+ep pkg/bin/run.sh && tar --xattrs --xattrs-include='*' -czf "$OUT" pkg`},
	} {
		n := normalizeFile(t, packTree(t, v.tr, v.script))
		if bytes.Equal(n.bytes, ref.bytes) {
			t.Errorf("Normalize(%s) = Normalize(tar czf): a pass hid what extraction applies", v.name)
		}
	}
}

// packTree builds the fixture tree and packs it with script ($OUT is the
// archive to write).
func packTree(t *testing.T, tr tree, script string) string {
	t.Helper()
	dir := tr.build(t)
	out := filepath.Join(t.TempDir(), "in.tar.gz")
	shell(t, dir, []string{"OUT=" + out}, script)
	return out
}

// TestNormalizeZipOrderKeepsAmbiguities sorts a zip whose ambiguous entry
// is stored first: the refusal names that entry, not the one that takes
// its place in the sorted order.
func TestNormalizeZipOrderKeepsAmbiguities(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{`z\evil`, "a"} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := archive.Normalize(context.Background(), bytes.NewReader(buf.Bytes()), "in.zip", io.Discard,
		archive.NormalizeOptions{Passes: archive.AllPasses(), HasEpoch: true, TempDir: t.TempDir()})
	if !errors.Is(err, archive.ErrAmbiguous) || !strings.Contains(err.Error(), `z\\evil`) {
		t.Errorf("Normalize(zip with %q stored first) = %v, want ErrAmbiguous naming it", `z\evil`, err)
	}
}
