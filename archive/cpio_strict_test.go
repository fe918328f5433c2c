package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// cpioMember is one newc header and its content, built by hand.
type cpioMember struct {
	name     string
	content  string
	mode     int64 // with the file type bits; 0100644 when zero
	ino      int64
	nlink    int64
	dev      [2]int64
	rdev     [2]int64
	magic    string // "070701" when empty
	check    int64  // -1: the right sum for 070702, 0 for 070701
	noTrail  bool   // (on the first member) leave the trailer out
	trailerM string // magic of the trailer ("" = the first member's)
}

// cpioBytes lays out a newc archive as GNU cpio does, trailer and
// 512-byte padding included.
func cpioBytes(members ...cpioMember) []byte {
	var b bytes.Buffer
	write := func(m cpioMember) {
		if m.mode == 0 {
			m.mode = 0o100644
		}
		if m.nlink == 0 {
			m.nlink = 1
		}
		if m.magic == "" {
			m.magic = "070701"
		}
		check := m.check
		if check == -1 {
			check = 0
			for _, c := range []byte(m.content) {
				check += int64(c)
			}
		}
		fields := []int64{m.ino, m.mode, 0, 0, m.nlink, 0, int64(len(m.content)), m.dev[0], m.dev[1], m.rdev[0], m.rdev[1], int64(len(m.name) + 1), check}
		b.WriteString(m.magic)
		for _, f := range fields {
			fmt.Fprintf(&b, "%08X", f)
		}
		b.WriteString(m.name + "\x00")
		b.Write(make([]byte, pad4(int64(b.Len()))))
		b.WriteString(m.content)
		b.Write(make([]byte, pad4(int64(len(m.content)))))
	}
	for _, m := range members {
		write(m)
	}
	if len(members) == 0 || !members[0].noTrail {
		magic := members[0].magic
		if members[0].trailerM != "" {
			magic = members[0].trailerM
		}
		write(cpioMember{name: "TRAILER!!!", mode: 0o0, magic: magic, check: 0})
	}
	b.Write(make([]byte, (512-b.Len()%512)%512))
	return b.Bytes()
}

// cpioView is one entry as read: what the tests compare.
type cpioView struct {
	Type     EntryType
	Linkname string
	Content  string
	Dev      string
	Amb      []string
}

func (v cpioView) String() string {
	s := v.Type.String()
	if v.Linkname != "" {
		s += "->" + v.Linkname
	}
	if v.Type == TypeRegular {
		s += fmt.Sprintf("=%q", v.Content)
	}
	if v.Dev != "" {
		s += "(" + v.Dev + ")"
	}
	if len(v.Amb) > 0 {
		s += fmt.Sprintf("%q", v.Amb)
	}
	return s
}

// readCpio reads an archive through Open: the entries in returned order,
// and the container-level constructs.
func readCpio(data []byte) (order []string, entries map[string]cpioView, container []string, err error) {
	s, err := Open(bytes.NewReader(data), "t.cpio", Options{Digest: true})
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if cerr := s.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing: %w", cerr)
		}
	}()
	entries = map[string]cpioView{}
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return order, entries, nil, err
		}
		content, err := io.ReadAll(s)
		if err != nil {
			return order, entries, nil, err
		}
		v := cpioView{Type: e.Type, Linkname: e.Linkname, Content: string(content)}
		if e.Type == TypeCharDevice || e.Type == TypeBlockDevice {
			v.Dev = fmt.Sprintf("%d,%d", e.Devmajor, e.Devminor)
		}
		for _, a := range e.Ambiguities {
			v.Amb = append(v.Amb, a.Construct)
		}
		order = append(order, e.Name)
		entries[e.Name] = v
	}
	for _, a := range s.Ambiguities() {
		container = append(container, a.Construct)
	}
	return order, entries, container, nil
}

const script = "#!/bin/sh\necho pwned\n"

// cpioCases: what GNU cpio 2.13 (cpio -idm --no-absolute-filenames) and
// bsdtar 3.6.2 (-xpf) extract from each archive, and what the reader now
// returns. TestCpioStrictOracle extracts the cases marked agree with both
// tools and checks they give exactly the reader's tree.
//
//	archive                                     GNU cpio                 bsdtar                   recorded
//	links a,b (size 0), c (data), nlink 3       a=b=c=script, one inode  same                     c file, a,b hardlinks to c
//	link a (size 0), no data link               a empty                  a empty                  a empty file
//	a (data), b (size 0), nlink 2               a=b=script               same                     a file, b hardlink to a
//	a, c (size 0), b (data), nlink 3            a=b=c=script             same                     b file, a,c hardlinks to b
//	a (AAAA), b (BBBB), one inode               AAAA twice               BBBB twice               cpio hardlink with two contents
//	three links, nlink 2                        all linked               third on its own         cpio hardlink count
//	same inode, nlink 1                         two files                two files                two files
//	same inode, other dev                       two files                two files                two files
//	two char devices, one inode                 one inode                one inode                device, hardlink to it
//	two symlinks, one inode, nlink 2            two symlinks             one inode                cpio hardlinked symlink
//	socket                                      socket                   empty regular file       cpio socket
//	"../evil"                                   "evil"                   refuses                  cpio name with ..
//	"d/../b"                                    "b"                      refuses                  cpio name with ..
//	"/tmp/x"                                    "tmp/x" (with the flag)  "tmp/x"                  cpio absolute name
//	""                                          "."                      skips                    cpio empty name
//	file "f/"                                   fails                    "f"                      cpio name with a trailing slash
//	"a" twice                                   the first                the last                 cpio duplicate name
//	070702 then 070701 header                   skips the 070701 entry   extracts it              cpio mixed header formats
//	directory with 6 bytes of data              skips them               skips them               cpio data on a dir
//	check field 99 in 070701                    ignores it               ignores it               cpio check field
//	070702 with a wrong sum                     warns, extracts          extracts                 error
//	entries after TRAILER!!!                    ignores them             ignores them             error (data after the end)
func cpioCases() []struct {
	name          string
	members       []cpioMember
	agree         bool // both extractors give the reader's tree
	want          map[string]string
	wantContainer []string
	wantErr       string
} {
	return []struct {
		name          string
		members       []cpioMember
		agree         bool
		want          map[string]string
		wantContainer []string
		wantErr       string
	}{
		{name: "GNU cpio hardlink group", agree: true,
			members: []cpioMember{{name: "a", ino: 5, nlink: 3}, {name: "b", ino: 5, nlink: 3}, {name: "c", content: script, ino: 5, nlink: 3}},
			want:    map[string]string{"a": `hardlink->c`, "b": `hardlink->c`, "c": fmt.Sprintf("file=%q", script)}},
		{name: "link without its data", agree: true,
			members: []cpioMember{{name: "a", ino: 5, nlink: 2}, {name: "other", content: "x", ino: 6}},
			want:    map[string]string{"a": `file=""`, "other": `file="x"`}},
		{name: "two links without data", agree: true,
			members: []cpioMember{{name: "a", ino: 5, nlink: 3}, {name: "b", ino: 5, nlink: 3}},
			want:    map[string]string{"a": `file=""`, "b": `hardlink->a`}},
		{name: "data link first", agree: true,
			members: []cpioMember{{name: "a", content: script, ino: 5, nlink: 2}, {name: "b", ino: 5, nlink: 2}},
			want:    map[string]string{"a": fmt.Sprintf("file=%q", script), "b": `hardlink->a`}},
		{name: "data link in the middle", agree: true,
			members: []cpioMember{{name: "a", ino: 5, nlink: 3}, {name: "b", content: script, ino: 5, nlink: 3}, {name: "c", ino: 5, nlink: 3}},
			want:    map[string]string{"a": `hardlink->b`, "b": fmt.Sprintf("file=%q", script), "c": `hardlink->b`}},
		{name: "two links with data",
			members: []cpioMember{{name: "a", content: "AAAA", ino: 5, nlink: 2}, {name: "b", content: "BBBB", ino: 5, nlink: 2}},
			want:    map[string]string{"a": `file="AAAA"`, "b": `file="BBBB"["cpio hardlink with two contents"]`}},
		{name: "more links than nlink",
			members: []cpioMember{{name: "a", ino: 5, nlink: 2}, {name: "b", content: script, ino: 5, nlink: 2}, {name: "c", ino: 5, nlink: 2}},
			want:    map[string]string{"a": `hardlink->b`, "b": fmt.Sprintf("file=%q", script), "c": `hardlink->b["cpio hardlink count"]`}},
		{name: "same inode, nlink 1", agree: true,
			members: []cpioMember{{name: "a", ino: 5}, {name: "b", content: script, ino: 5}},
			want:    map[string]string{"a": `file=""`, "b": fmt.Sprintf("file=%q", script)}},
		{name: "same inode, other device", agree: true,
			members: []cpioMember{{name: "a", ino: 5, nlink: 2, dev: [2]int64{8, 1}}, {name: "b", content: script, ino: 5, nlink: 2, dev: [2]int64{8, 2}}},
			want:    map[string]string{"a": `file=""`, "b": fmt.Sprintf("file=%q", script)}},
		{name: "hardlinked devices", agree: true,
			members: []cpioMember{{name: "n1", mode: 0o20666, rdev: [2]int64{1, 3}, ino: 7, nlink: 2}, {name: "n2", mode: 0o20666, rdev: [2]int64{1, 3}, ino: 7, nlink: 2}},
			want:    map[string]string{"n1": `char-device(1,3)`, "n2": `hardlink->n1`}},
		{name: "hardlinked symlinks",
			members: []cpioMember{{name: "s1", content: "target", mode: 0o120777, ino: 7, nlink: 2}, {name: "s2", content: "target", mode: 0o120777, ino: 7, nlink: 2}},
			want:    map[string]string{"s1": `symlink->target`, "s2": `symlink->target["cpio hardlinked symlink"]`}},
		{name: "hardlink with another mode",
			members: []cpioMember{{name: "a", mode: 0o104755, ino: 5, nlink: 2}, {name: "b", content: script, ino: 5, nlink: 2}},
			want:    map[string]string{"a": `hardlink->b["cpio hardlink metadata"]`, "b": fmt.Sprintf("file=%q", script)}},
		{name: "socket", members: []cpioMember{{name: "sock", mode: 0o140755}},
			want: map[string]string{"sock": `socket["cpio socket"]`}},
		{name: "devices and a FIFO", agree: true,
			members: []cpioMember{{name: "null", mode: 0o20666, rdev: [2]int64{1, 3}}, {name: "sda", mode: 0o60660, rdev: [2]int64{8, 0}}, {name: "fifo", mode: 0o10644}},
			want:    map[string]string{"null": `char-device(1,3)`, "sda": `block-device(8,0)`, "fifo": `fifo`}},
		{name: "dot-dot", members: []cpioMember{{name: "../evil", content: "x"}},
			want: map[string]string{"../evil": `file="x"["cpio name with .."]`}},
		{name: "dot-dot inside", members: []cpioMember{{name: "d", mode: 0o40755}, {name: "d/../b", content: "x"}},
			want: map[string]string{"d": `dir`, "d/../b": `file="x"["cpio name with .."]`}},
		{name: "absolute", members: []cpioMember{{name: "/tmp/x", content: "x"}},
			want: map[string]string{"/tmp/x": `file="x"["cpio absolute name"]`}},
		{name: "empty name", members: []cpioMember{{name: "", content: "x"}},
			want: map[string]string{"": `file="x"["cpio empty name"]`}},
		{name: "file with a trailing slash", members: []cpioMember{{name: "f/", content: "x"}},
			want: map[string]string{"f/": `file="x"["cpio name with a trailing slash"]`}},
		{name: "duplicate", members: []cpioMember{{name: "a", content: "one"}, {name: "./a", content: "two"}},
			want: map[string]string{"a": `file="one"`, "./a": `file="two"`}, wantContainer: []string{"cpio duplicate name"}},
		{name: "mixed magic", members: []cpioMember{{name: "a", content: "x", magic: "070702", check: -1}, {name: "b", content: "hello"}, {name: "c", content: "y", magic: "070702", check: -1}},
			want: map[string]string{"a": `file="x"`, "b": `file="hello"["cpio mixed header formats"]`, "c": `file="y"`}},
		{name: "data on a directory", members: []cpioMember{{name: "d", content: "hidden", mode: 0o40755}},
			want: map[string]string{"d": `dir["cpio data on a dir"]`}},
		{name: "check field in 070701", members: []cpioMember{{name: "a", content: "hello", check: 99}},
			want: map[string]string{"a": `file="hello"["cpio check field"]`}},
		{name: "070702 with the right sum", agree: true, members: []cpioMember{{name: "a", content: "hello", magic: "070702", check: -1}},
			want: map[string]string{"a": `file="hello"`}},
		{name: "070702 with a wrong sum", members: []cpioMember{{name: "a", content: "hello", magic: "070702", check: 1}},
			wantErr: "checksum"},
		{name: "entry after the trailer", members: []cpioMember{{name: "a", content: "x", noTrail: true}, {name: "TRAILER!!!", mode: 0o0}, {name: "hidden", content: "evil"}},
			wantErr: "end of the archive"},
	}
}

func TestCpioStrict(t *testing.T) {
	for _, tc := range cpioCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, entries, container, err := readCpio(cpioBytes(tc.members...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readCpio(%s) = %v, want an error with %q", tc.name, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readCpio(%s): %v", tc.name, err)
			}
			got := map[string]string{}
			for name, v := range entries {
				got[name] = v.String()
			}
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("readCpio(%s)[%q] = %s, want %s", tc.name, name, got[name], want)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("readCpio(%s) = %v, want %v", tc.name, got, tc.want)
			}
			if !slices.Equal(container, tc.wantContainer) {
				t.Errorf("container ambiguities(%s) = %q, want %q", tc.name, container, tc.wantContainer)
			}
		})
	}
}

// TestCpioHardlinkOrder: the early links come right after the link with
// the data, so every entry the reader returns exists when it comes.
func TestCpioHardlinkOrder(t *testing.T) {
	order, _, _, err := readCpio(cpioBytes(
		cpioMember{name: "x", content: "1"},
		cpioMember{name: "a", ino: 5, nlink: 3}, cpioMember{name: "b", ino: 5, nlink: 3},
		cpioMember{name: "y", content: "2"},
		cpioMember{name: "c", content: script, ino: 5, nlink: 3},
		cpioMember{name: "z", content: "3"},
		cpioMember{name: "lonely", ino: 9, nlink: 2},
		cpioMember{name: "w", content: "4"},
	))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x", "y", "c", "a", "b", "z", "w", "lonely"}
	if !slices.Equal(order, want) {
		t.Errorf("order = %q, want %q", order, want)
	}
}

// TestCpioPendingCap: past maxCpioPending links waiting for their data,
// the links are returned as stored and the archive is ambiguous.
func TestCpioPendingCap(t *testing.T) {
	var members []cpioMember
	for i := range maxCpioPending + 1 {
		members = append(members, cpioMember{name: fmt.Sprintf("l%05d", i), ino: int64(i + 1), nlink: 2})
	}
	_, entries, container, err := readCpio(cpioBytes(members...))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != maxCpioPending+1 {
		t.Errorf("read %d entries, want %d", len(entries), maxCpioPending+1)
	}
	if !slices.Equal(container, []string{"cpio hardlink group not modeled"}) {
		t.Errorf("container ambiguities = %q, want the group not modeled", container)
	}
}

// TestCpioStrictOracle extracts the cases where the reader records no
// ambiguity with GNU cpio and bsdtar and checks each gives exactly the
// reader's tree: the same paths, types, contents, device numbers, and
// hardlinks sharing the inode of their target.
func TestCpioStrictOracle(t *testing.T) {
	testenv.RequireRoot(t, "extracting devices")
	testenv.RequireTools(t, "cpio", "bsdtar")
	tools := [][]string{{"cpio", "-idm", "--no-absolute-filenames", "--quiet"}, {"bsdtar", "-xpf", "-"}}
	for _, tc := range cpioCases() {
		if !tc.agree {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			data := cpioBytes(tc.members...)
			_, entries, _, err := readCpio(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, argv := range tools {
				dir := t.TempDir()
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Dir, cmd.Stdin = dir, bytes.NewReader(data)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", argv[0], err, out)
				}
				got := extractedTree(t, dir)
				want := map[string]string{}
				for name, v := range entries {
					want[name] = modelView(entries, name, v)
				}
				if !equalMaps(got, want) {
					t.Errorf("%s(%s) extracts %v, the reader says %v", argv[0], tc.name, got, want)
				}
			}
		})
	}
}

// modelView describes an entry as extracted: a hardlink is its target's
// file, sharing the target's inode.
func modelView(entries map[string]cpioView, name string, v cpioView) string {
	if v.Type == TypeHardlink {
		return baseView(entries[v.Linkname]) + " inode of " + v.Linkname
	}
	if len(linksOf(entries, name)) > 0 {
		return baseView(v) + " inode of " + name
	}
	return baseView(v)
}

func baseView(v cpioView) string {
	s := v.Type.String()
	if v.Type == TypeRegular {
		sum := sha256.Sum256([]byte(v.Content))
		s += " " + hex.EncodeToString(sum[:4])
	}
	if v.Dev != "" {
		s += " " + v.Dev
	}
	return s
}

func linksOf(entries map[string]cpioView, name string) []string {
	var out []string
	for n, v := range entries {
		if v.Type == TypeHardlink && v.Linkname == name {
			out = append(out, n)
		}
	}
	return out
}

// extractedTree describes what an extractor wrote under dir, in the
// words of baseView, with the paths that share each file's inode.
func extractedTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	type file struct {
		desc string
		ino  uint64
	}
	files := map[string]file{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		var desc string
		switch m := info.Mode(); {
		case m.IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc = "file " + hex.EncodeToString(sum[:4])
		case m.IsDir():
			desc = "dir"
		case m&os.ModeSymlink != 0:
			desc = "symlink"
		case m&os.ModeNamedPipe != 0:
			desc = "fifo"
		case m&os.ModeCharDevice != 0:
			desc = fmt.Sprintf("char-device %d,%d", st.Rdev>>8&0xfff, st.Rdev&0xff)
		case m&os.ModeDevice != 0:
			desc = fmt.Sprintf("block-device %d,%d", st.Rdev>>8&0xfff, st.Rdev&0xff)
		}
		files[rel] = file{desc, st.Ino}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byIno := map[uint64][]string{}
	for p, f := range files {
		if f.desc != "dir" {
			byIno[f.ino] = append(byIno[f.ino], p)
		}
	}
	out := map[string]string{}
	for p, f := range files {
		out[p] = f.desc
		if same := byIno[f.ino]; len(same) > 1 {
			sort.Strings(same)
			out[p] += " inode of {" + strings.Join(same, ",") + "}"
		}
	}
	return out
}

// equalMaps compares an extracted tree with the model, reading "inode of
// X" in the model as "shares its inode with X" in the extraction.
func equalMaps(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			return false
		}
		gDesc, gGroup, _ := strings.Cut(g, " inode of {")
		wDesc, wTarget, linked := strings.Cut(w, " inode of ")
		if gDesc != wDesc {
			return false
		}
		if linked != (gGroup != "") {
			return false
		}
		if linked && !slices.Contains(strings.Split(strings.TrimSuffix(gGroup, "}"), ","), wTarget) {
			return false
		}
	}
	return true
}
