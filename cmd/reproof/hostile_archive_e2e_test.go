package main_test

// Hostile archives given to the binary: `reproof diff` and `reproof
// normalize` on decompression bombs, nested bombs, a thousand levels of
// nesting, a million entries, headers that lie, overlong names, truncated
// streams, garbage and names that climb out. Each run must end in bounded
// time and memory (the peak RSS of the process, its VmHWM) with exit 2
// and either a report that says which cap was reached ("incomplete ...
// (--max-bytes)") or one error line naming the input, and leave nothing
// in its TMPDIR and nothing outside its output.

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reproof/reproof/archive/archivetest"
	"github.com/reproof/reproof/internal/testenv"
)

// measured is a run of the binary with its peak memory and time.
type measured struct {
	result
	maxRSS  int64 // bytes
	elapsed time.Duration
}

// runMeasured runs the binary with args in dir, with TMPDIR tmp, and
// returns what it did, its peak resident memory and its wall time. The
// peak is the VmHWM of /proc/PID/status, polled while the process runs:
// rusage's ru_maxrss would count the test process's own memory, which
// the child shares between fork and exec.
func runMeasured(t *testing.T, dir, tmp string, args ...string) measured {
	t.Helper()
	cmd := exec.Command(reproofBin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + tmp}
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("running reproof %q: %v", args, err)
	}
	var rss atomic.Int64
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if b, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						if n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64); err == nil {
							rss.Store(max(rss.Load(), n<<10))
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	elapsed := time.Since(start)
	close(done)
	<-polled
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running reproof %q: %v", args, err)
	}
	return measured{result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}, rss.Load(), elapsed}
}

// hostileFile writes a hostile input with gen into dir/name.
func hostileFile(t *testing.T, dir, name string, gen func(w io.Writer) error) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func data(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// tarBomb is a tar.gz whose one file claims size bytes and holds them,
// zeros: a gzip member with the header, a member with the zeros.
func tarBomb(name string, size int64) func(io.Writer) error {
	return func(w io.Writer) error {
		hdr, err := archivetest.WrapGzip(archivetest.RawHeader(name, tar.TypeReg, size))
		if err != nil {
			return err
		}
		if _, err := w.Write(hdr); err != nil {
			return err
		}
		return archivetest.GzipZeros(w, size)
	}
}

// zstdPipe writes gen's output compressed by the zstd tool.
func zstdPipe(gen func(io.Writer) error) func(io.Writer) error {
	return func(w io.Writer) error {
		cmd := exec.Command("zstd", "-q", "-1", "-T0", "-c")
		cmd.Stdout = w
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		err = gen(in)
		if cerr := in.Close(); err == nil {
			err = cerr
		}
		if werr := cmd.Wait(); err == nil {
			err = werr
		}
		return err
	}
}

// hostileRun is one run of the binary on hostile input.
type hostileRun struct {
	name string
	args func(dir string) []string
	// want is the exit code and a part of the one "reproof: " line on
	// stderr (a cap's flag, what was wrong); mention, if set, must be in
	// that line too (the input's path).
	code    int
	want    string
	mention string
	maxRSS  int64 // default 512 MiB
	maxTime time.Duration
}

func TestHostileArchivesEndToEnd(t *testing.T) {
	t.Parallel()
	testenv.RequireTools(t, "zstd", "xz", "bzip2")
	dir := t.TempDir()
	in := func(name string) string { return filepath.Join(dir, name) }
	m := must[[]byte](t)

	// The inputs, each of a few MiB at most.
	hostileFile(t, dir, "zeros.gz", func(w io.Writer) error { return archivetest.GzipZeros(w, 20<<30) })
	hostileFile(t, dir, "bomb-a.tar.gz", tarBomb("big-a", 20<<30))
	hostileFile(t, dir, "bomb-b.tar.gz", tarBomb("big-b", 20<<30))
	hostileFile(t, dir, "zeros-a.zip", func(w io.Writer) error { return archivetest.ZipZeros(w, "z", 8<<30) })
	hostileFile(t, dir, "zeros-b.zip", func(w io.Writer) error { return archivetest.ZipZeros(w, "z", 8<<30+1<<20) })
	hostileFile(t, dir, "overlap.zip", func(w io.Writer) error { return archivetest.ZipOverlap(w, 1000, 1<<30) })
	for _, side := range []string{"a", "b"} {
		var bomb bytes.Buffer
		if err := tarBomb("big-"+side, 4<<30)(&bomb); err != nil {
			t.Fatal(err)
		}
		inner := m(archivetest.WrapGzip(m(archivetest.WrapTar("bomb.tar.gz", bomb.Bytes()))))
		hostileFile(t, dir, "nested-"+side+".zip", data(m(archivetest.Zip(archivetest.ZipEntry{Name: "x.tar.gz", Content: string(inner)}))))
		var zb bytes.Buffer
		if err := archivetest.ZipZeros(&zb, "z", map[string]int64{"a": 256 << 20, "b": 257 << 20}[side]); err != nil {
			t.Fatal(err)
		}
		var level []archivetest.ZipEntry
		for i := range 16 {
			level = append(level, archivetest.ZipEntry{Name: fmt.Sprintf("bomb%d.zip", i), Content: zb.String()})
		}
		levelZip := string(m(archivetest.Zip(level...)))
		var top []archivetest.ZipEntry
		for i := range 16 {
			top = append(top, archivetest.ZipEntry{Name: fmt.Sprintf("level%d.zip", i), Content: levelZip})
		}
		hostileFile(t, dir, "42-"+side+".zip", data(m(archivetest.Zip(top...))))
		hostileFile(t, dir, "deep-"+side+".tar", data(m(archivetest.Nest(1000, []byte(side+"\n")))))
	}
	start := time.Now()
	hostileFile(t, dir, "million.tar.zst", zstdPipe(func(w io.Writer) error { return archivetest.ManyEmptyFiles(w, 1_000_000) }))
	hostileFile(t, dir, "million-and-one.tar.zst", zstdPipe(func(w io.Writer) error { return archivetest.ManyEmptyFiles(w, 1_000_001) }))
	hostileFile(t, dir, "hardlinks.tar.zst", zstdPipe(func(w io.Writer) error { return archivetest.ManyHardlinks(w, 200_000) }))
	t.Logf("a million entries made in %v", time.Since(start).Round(time.Millisecond))
	hostileFile(t, dir, "claims-8g.tar", data(append(archivetest.RawHeader("big", tar.TypeReg, 8<<30), make([]byte, 1536)...)))
	hostileFile(t, dir, "sparse-1t.tar", data(archivetest.SparseTar(1<<40, [][2]int64{{1<<40 - 5, 5}}, []byte("data\n"))))
	hostileFile(t, dir, "sparse-lie.tar", data(archivetest.SparseTar(100, [][2]int64{{0, 10}, {5, 10}}, make([]byte, 20))))
	hostileFile(t, dir, "pax-100m.tar", func(w io.Writer) error { return archivetest.PaxRecordTar(w, "path", 100<<20) })
	hostileFile(t, dir, "long-name.tar", func(w io.Writer) error { return archivetest.LongNameTar(w, 8000) })
	hostileFile(t, dir, "xz-4g-dict.xz", func(w io.Writer) error { return archivetest.XzBlocks(w, 40, 1) })
	hostileFile(t, dir, "xz-tiny-blocks.xz", func(w io.Writer) error { return archivetest.XzBlocks(w, 30, 100_000) })
	e2eShell(t, dir, nil, `printf 'x\n' | xz >small.xz; printf 'hello\n' | gzip -n >hello.gz`)
	hostileFile(t, dir, "zstd-2g-window.zst", data([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x09, 0x00, 0x00, 'x'}))
	dups := func(n int) []byte {
		var es []archivetest.TarEntry
		for i := range n {
			es = append(es, archivetest.File("dup", fmt.Sprint(i)))
		}
		return m(archivetest.Tar(es...))
	}
	hostileFile(t, dir, "dups-2.tar", data(dups(2)))
	hostileFile(t, dir, "dups-3.tar", data(dups(3)))
	hello := m(archivetest.Tar(archivetest.File("a", "hello\n")))
	hostileFile(t, dir, "junk.tar.gz", data(append(m(archivetest.WrapGzip(hello)), "junk"...)))
	hostileFile(t, dir, "hello.tar.gz", data(m(archivetest.WrapGzip(hello))))
	for _, seed := range []string{"t.tar.gz", "t.tar.xz", "t.tar.zst", "t.tar.bz2", "t.zip", "t.cpio", "pax.tar"} {
		b, err := os.ReadFile(filepath.Join("../../archive/testdata/seed", seed))
		if err != nil {
			t.Fatal(err)
		}
		hostileFile(t, dir, seed, data(b))
		cut := len(b) * 2 / 3
		if seed == "t.zip" {
			cut = len(b) - 10 // in the end of central directory record
		}
		hostileFile(t, dir, "cut-"+seed, data(b[:cut]))
	}
	hostileFile(t, dir, "garbage-a.tar.gz", data(bytes.Repeat([]byte("this is not an archive\n"), 100)))
	hostileFile(t, dir, "garbage-b.tar.gz", data(bytes.Repeat([]byte("this is not an archive!\n"), 100)))

	diff := func(a, b string, flags ...string) func(string) []string {
		return func(string) []string {
			return append(append([]string{"diff", "--format", "none"}, flags...), in(a), in(b))
		}
	}
	normalize := func(name string, flags ...string) func(string) []string {
		return func(out string) []string {
			return append(append([]string{"normalize", "--epoch", epochSecs}, flags...), in(name), "-o", out)
		}
	}
	incomplete := "comparison incomplete: "
	runs := []hostileRun{
		{name: "diff of a gzip of 20 GiB of zeros", args: diff("zeros.gz", "hello.tar.gz"), code: 2,
			want: "more than 16 MiB of zero padding after the end-of-archive marker", mention: in("zeros.gz")},
		{name: "diff of tar.gz bombs of 20 GiB", args: diff("bomb-a.tar.gz", "bomb-b.tar.gz", "--max-bytes", "268435456"), code: 2,
			want: incomplete + "(top level): in A: tar+gzip entry \"big-a\""},
		{name: "diff of zips of 8 GiB of zeros", args: diff("zeros-a.zip", "zeros-b.zip", "--max-bytes", "268435456"), code: 2,
			want: "more than 268435456 bytes of content (--max-bytes)"},
		{name: "diff of a zip whose entries overlap", args: diff("overlap.zip", "zeros-a.zip"), code: 2,
			want: "overlap in the file (a zip bomb?)", mention: in("overlap.zip")},
		{name: "diff of a bomb in a tar.gz in a zip", args: diff("nested-a.zip", "nested-b.zip", "--max-bytes", "268435456"), code: 2,
			want: incomplete + "x.tar.gz!/bomb.tar.gz: in A: tar+gzip entry \"big-a\""},
		{name: "diff of zips of zips of bombs (42.zip)", args: diff("42-a.zip", "42-b.zip", "--max-total-bytes", "2147483648"), code: 2,
			want: "decompressed bytes in all (--max-total-bytes)"},
		{name: "diff of 1000 levels of nesting", args: diff("deep-a.tar", "deep-b.tar"), code: 2,
			want: incomplete + "level-995!/level-990: nesting deeper than 8 archives (--max-depth)"},
		{name: "diff of a million entries and a million and one", args: diff("million.tar.zst", "million-and-one.tar.zst"), code: 2,
			want: incomplete + "(top level): in B: tar+zstd entry \"d/01000000\"", maxRSS: 768 << 20, maxTime: 60 * time.Second},
		{name: "diff of a header claiming 8 GiB in 2 KiB", args: diff("claims-8g.tar", "hello.tar.gz"), code: 2,
			want: "tar entry \"big\" at offset 2048: unexpected end of data (truncated?)", mention: in("claims-8g.tar")},
		{name: "diff of a sparse file of 1 TiB", args: diff("sparse-1t.tar", "hello.tar.gz", "--max-bytes", "268435456"), code: 2,
			want: "bytes of content (--max-bytes)"},
		{name: "diff of a sparse map that lies", args: diff("sparse-lie.tar", "hello.tar.gz"), code: 2, want: "tar", mention: in("sparse-lie.tar")},
		{name: "diff of a pax path of 100 MiB", args: diff("pax-100m.tar", "hello.tar.gz"), code: 2,
			want: "header field too long", mention: in("pax-100m.tar")},
		{name: "diff of a name of 8000 bytes", args: diff("long-name.tar", "hello.tar.gz"), code: 2, want: "name of 8000 bytes, more than 4096 (--max-name)"},
		{name: "diff of an xz claiming a 4 GiB dictionary", args: diff("xz-4g-dict.xz", "small.xz"), code: 2,
			want: "dictionary, more than 128 MiB (--max-window)"},
		{name: "diff of an xz of 100000 blocks claiming 64 MiB dictionaries", args: diff("xz-tiny-blocks.xz", "small.xz"), code: 1},
		{name: "diff of a zstd frame claiming a 2 GiB window", args: diff("zstd-2g-window.zst", "small.xz"), code: 2,
			want: "zstd frame window larger than 128 MiB (--max-window)"},
		{name: "diff of a truncated tar.gz", args: diff("t.tar.gz", "cut-t.tar.gz"), code: 2, want: "truncated", mention: in("cut-t.tar.gz")},
		{name: "diff of a truncated tar.xz", args: diff("t.tar.xz", "cut-t.tar.xz"), code: 2, want: "xz at offset", mention: in("cut-t.tar.xz")},
		{name: "diff of a truncated tar.zst", args: diff("t.tar.zst", "cut-t.tar.zst"), code: 2, want: "zstd", mention: in("cut-t.tar.zst")},
		{name: "diff of a truncated tar.bz2", args: diff("t.tar.bz2", "cut-t.tar.bz2"), code: 2, want: "bzip2", mention: in("cut-t.tar.bz2")},
		{name: "diff of a zip cut in its central directory", args: diff("t.zip", "cut-t.zip"), code: 2,
			want: "no end of central directory record (truncated?)", mention: in("cut-t.zip")},
		{name: "diff of a truncated cpio", args: diff("t.cpio", "cut-t.cpio"), code: 2, want: "truncated", mention: in("cut-t.cpio")},
		{name: "diff of a truncated tar", args: diff("pax.tar", "cut-pax.tar"), code: 2, want: "offset", mention: in("cut-pax.tar")},
		{name: "normalize a truncated tar.xz", args: normalize("cut-t.tar.xz"), code: 2, want: "xz at offset", mention: in("cut-t.tar.xz")},
		{name: "diff of a tar.gz with data after its end", args: diff("hello.tar.gz", "junk.tar.gz"), code: 2,
			want: "data after the last member (trailing garbage)", mention: in("junk.tar.gz")},
		{name: "diff of duplicate names", args: diff("dups-2.tar", "dups-3.tar"), code: 1},
		{name: "diff of garbage named .tar.gz", args: diff("garbage-a.tar.gz", "garbage-b.tar.gz"), code: 1},
		{name: "normalize a gzip of 20 GiB of zeros", args: normalize("zeros.gz"), code: 2, want: "zero padding", mention: in("zeros.gz")},
		{name: "normalize a tar.gz bomb of 20 GiB", args: normalize("bomb-a.tar.gz", "--max-bytes", "268435456"), code: 2,
			want: "(--max-bytes)", mention: in("bomb-a.tar.gz")},
		// archive/zip's raw writer leaves the local header's size at
		// 0xFFFFFFFF with no zip64 field: a streaming reader reads
		// another size than the central directory's, so normalize
		// refuses the zip as ambiguous before a byte is inflated (diff,
		// which reads on, hits --max-bytes above).
		{name: "normalize a zip of 8 GiB of zeros", args: normalize("zeros-a.zip", "--max-bytes", "268435456"), code: 2,
			want: "ambiguous archive: entry \"z\": local sizes differ", mention: in("zeros-a.zip")},
		{name: "normalize a zip whose entries overlap", args: normalize("overlap.zip"), code: 2, want: "overlap", mention: in("overlap.zip")},
		{name: "normalize a million entries and one", args: normalize("million-and-one.tar.zst"), code: 2,
			want: "more than 1000000 entries (--max-entries)", mention: in("million-and-one.tar.zst"), maxTime: 60 * time.Second},
		{name: "normalize 200,000 hardlinks to one file", args: normalize("hardlinks.tar.zst"), code: 0, maxRSS: 192 << 20},
		{name: "normalize a header claiming 8 GiB in 2 KiB", args: normalize("claims-8g.tar"), code: 2, want: "truncated", mention: in("claims-8g.tar")},
		{name: "normalize a sparse file of 1 TiB", args: normalize("sparse-1t.tar", "--max-bytes", "268435456"), code: 2,
			want: "(--max-bytes)", mention: in("sparse-1t.tar")},
		{name: "normalize a pax path of 100 MiB", args: normalize("pax-100m.tar"), code: 2, want: "header field too long", mention: in("pax-100m.tar")},
		{name: "normalize a name of 8000 bytes", args: normalize("long-name.tar"), code: 2, want: "(--max-name)", mention: in("long-name.tar")},
		{name: "normalize an xz claiming a 4 GiB dictionary", args: normalize("xz-4g-dict.xz"), code: 2, want: "(--max-window)", mention: in("xz-4g-dict.xz")},
		{name: "normalize a tar.gz with data after its end", args: normalize("junk.tar.gz"), code: 2, want: "trailing garbage", mention: in("junk.tar.gz")},
		{name: "normalize garbage named .tar.gz", args: normalize("garbage-a.tar.gz"), code: 2, want: "not an archive", mention: in("garbage-a.tar.gz")},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			work, tmp := t.TempDir(), t.TempDir()
			out := filepath.Join(work, "out")
			got := runMeasured(t, work, tmp, r.args(out)...)
			t.Logf("exit %d in %v, max RSS %d MiB: %s", got.code, got.elapsed.Round(time.Millisecond), got.maxRSS>>20, strings.TrimSpace(got.stderr))
			checkHostileRun(t, r, got)
			checkEmptyDir(t, "TMPDIR", tmp)
			if r.code != 0 {
				checkEmptyDir(t, "working directory", work)
			}
		})
	}
}

// checkHostileRun holds a run to what hostileRun says, and to the one
// way reproof fails: exit 2, one "reproof: " line (a hint may follow).
func checkHostileRun(t *testing.T, r hostileRun, got measured) {
	t.Helper()
	if got.code != r.code {
		t.Errorf("exit %d, want %d; stderr:\n%s", got.code, r.code, got.stderr)
	}
	maxRSS, maxTime := r.maxRSS, r.maxTime
	if maxRSS == 0 {
		maxRSS = 512 << 20
	}
	if maxTime == 0 {
		maxTime = 30 * time.Second
	}
	if got.maxRSS > maxRSS {
		t.Errorf("max RSS %d MiB, want at most %d", got.maxRSS>>20, maxRSS>>20)
	}
	if got.elapsed > maxTime {
		t.Errorf("took %v, want at most %v", got.elapsed, maxTime)
	}
	if r.code != 2 {
		return
	}
	lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
	if len(lines) > 2 || !strings.HasPrefix(lines[0], "reproof: ") || (len(lines) == 2 && !strings.HasPrefix(lines[1], "hint: ")) {
		t.Errorf("stderr is not one error line (and a hint):\n%s", got.stderr)
	}
	if !strings.Contains(lines[0], r.want) || !strings.Contains(lines[0], r.mention) {
		t.Errorf("error %q, want it to say %q and name %q", lines[0], r.want, r.mention)
	}
	if panicked := strings.Contains(got.stderr, "goroutine ") || strings.Contains(got.stderr, "panic"); panicked {
		t.Errorf("the binary panicked:\n%s", got.stderr)
	}
}

// TestHostileNamesEndToEnd runs diff and normalize on archives whose
// names climb out ("../", absolute, backslashes), whose links point
// outside and whose entries go through them or replace a directory,
// from a working directory next to a sentinel directory: nothing appears
// outside the output, and TMPDIR is left empty.
func TestHostileNamesEndToEnd(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	sentinel, work, tmp := filepath.Join(root, "sentinel"), filepath.Join(root, "work", "deeper"), filepath.Join(root, "tmp")
	for _, d := range []string{sentinel, work, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(sentinel, "keep"), []byte("untouched\n"))
	up := "../../../../../../../../.." + sentinel
	side := func(s string) []byte {
		b, err := archivetest.Tar(
			archivetest.File("../pwned", s),
			archivetest.File("../../sentinel/pwned", s),
			archivetest.File(up+"/pwned-deep", s),
			archivetest.File(sentinel+"/pwned-absolute", s),
			archivetest.File(`..\..\sentinel\pwned-backslash`, s),
			archivetest.Link(tar.TypeSymlink, "out", sentinel),
			archivetest.File("out/pwned-through-symlink", s),
			archivetest.Link(tar.TypeLink, "hard", sentinel+"/keep"),
			archivetest.Dir("d"),
			archivetest.Link(tar.TypeSymlink, "d", up),
			archivetest.File("d/pwned-replaced-dir", s),
		)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := archivetest.WrapGzip(b)
		if err != nil {
			t.Fatal(err)
		}
		return gz
	}
	a := filepath.Join(root, "a.tar.gz")
	b := filepath.Join(root, "b.tar.gz")
	writeFile(t, a, side("a"))
	writeFile(t, b, side("b"))
	listing := func() []string { return dirNamesDeep(t, root) }
	before := listing()
	for _, args := range [][]string{
		{"diff", a, b},
		{"diff", "--format", "json", a, b},
		{"normalize", "--epoch", epochSecs, a, "-o", "out.tar.gz"},
		{"normalize", "--epoch", epochSecs, "--passes", "none", a, "-o", "out2.tar.gz"},
	} {
		got := runMeasured(t, work, tmp, args...)
		// normalize refuses names that climb out: the extractors read
		// them differently (GNU tar and bsdtar skip them, Python's tarfile
		// writes outside), and a rewrite would pick one reading.
		wantCode := map[string]int{"diff": 1, "normalize": 2}[args[0]]
		if got.code != wantCode {
			t.Errorf("reproof %q: exit %d, want %d; stderr:\n%s", args, got.code, wantCode, got.stderr)
		}
		if args[0] == "normalize" && !strings.Contains(got.stderr, "ambiguous archive") {
			t.Errorf("reproof %q: stderr %q, want it to say the archive is ambiguous", args, got.stderr)
		}
		if args[0] == "diff" && !strings.Contains(got.stdout, "../pwned") {
			t.Errorf("reproof %q: the report does not name ../pwned:\n%s", args, got.stdout)
		}
		checkEmptyDir(t, "TMPDIR", tmp)
	}
	after := listing()
	var added []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			added = append(added, p)
		}
	}
	if len(added) > 0 || len(after) != len(before) {
		t.Errorf("reproof wrote something (a refused normalize leaves no output): %q", added)
	}
	if got, err := os.ReadFile(filepath.Join(sentinel, "keep")); err != nil || string(got) != "untouched\n" {
		t.Errorf("the sentinel file now holds %q (%v)", got, err)
	}
}

// dirNamesDeep lists every path under root, relative, in order.
func dirNamesDeep(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// normalize's summary quotes owner names from the archive: escaped.
func TestNormalizeSummaryIsTerminalSafe(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("x")
	if err := tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 1, Uname: "\x1b[2J\x1b]0;owned\x07", Uid: 1000,
		ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.tar"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := reproof(t, invocation{dir: dir}, "normalize", "--epoch", "0", "-o", "out.tar", "in.tar")
	if r.code != 0 || !strings.Contains(r.stderr, `owner 1000/0 (\x1b[2J\x1b]0;owned\a/)`) || strings.ContainsAny(r.stderr, "\x1b\x07") {
		t.Errorf("normalize: exit %d, stderr %q", r.code, r.stderr)
	}
}
