package compare

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/reproof/reproof/archive"
)

// entryInfo is one entry of a compared tree (an archive or a directory).
type entryInfo struct {
	key   string    // normalized name: the pairing key
	e     entryMeta // metadata, with the digest of regular files
	index int       // position in stored order
}

// contentDigest is the digest of the bytes the entry stands for.
func (x *entryInfo) contentDigest() []byte {
	if x.e.Type == archive.TypeHardlink {
		_, d := x.linkTarget()
		return d
	}
	return x.e.Digest()
}

// tree is one side's entries, in stored order (in its arena) and by key
// (order). A million entries take a few hundred bytes each.
type tree struct {
	arena   arena
	order   []int32        // positions sorted by key, then position
	dups    map[string]int // keys stored more than once: the count
	zipNote string         // zip archive comment
	zeros   int64          // zero padding after the end
	// ambiguities are the container's own ambiguous constructs
	// (archive.Stream.Ambiguities): bytes before or between zip
	// structures, a .deb's member order...
	ambiguities []archive.Ambiguity
	// source holds the container stream, where contents are found by
	// ContentOffset: the file itself when not compressed, else the spill
	// of its decompressed stream; "" when neither is available.
	source string
}

func newTree() *tree {
	return &tree{dups: map[string]int{}}
}

// len returns the number of entries.
func (t *tree) len() int { return t.arena.n }

// at returns the entry stored at position i.
func (t *tree) at(i int) *entryInfo { return t.arena.at(i) }

// add numbers an entry the arena just gave out.
func (t *tree) add(x *entryInfo) { x.index = t.arena.n - 1 }

// index sorts the entries by key, counts the keys stored more than once
// and resolves hardlinks, once every entry is in.
func (t *tree) index() {
	t.order = make([]int32, t.len())
	for i := range t.order {
		t.order[i] = int32(i)
	}
	slices.SortFunc(t.order, func(a, b int32) int {
		if c := strings.Compare(t.at(int(a)).key, t.at(int(b)).key); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for i := 0; i < len(t.order); {
		j := t.runEnd(i)
		if j-i > 1 {
			t.dups[t.at(int(t.order[i])).key] = j - i
		}
		i = j
	}
	t.resolveHardlinks()
}

// runEnd returns the end of the run of equal keys in order that starts at
// i.
func (t *tree) runEnd(i int) int {
	k := t.at(int(t.order[i])).key
	j := i + 1
	for j < len(t.order) && t.at(int(t.order[j])).key == k {
		j++
	}
	return j
}

// lookup returns the last entry stored under key (the one extraction
// would keep), or nil.
func (t *tree) lookup(key string) *entryInfo {
	i, _ := slices.BinarySearchFunc(t.order, key, func(p int32, k string) int {
		if c := strings.Compare(t.at(int(p)).key, k); c != 0 {
			return c
		}
		return -1 // every entry of key sorts before the probe: find the end
	})
	if i == 0 || t.at(int(t.order[i-1])).key != key {
		return nil
	}
	return t.at(int(t.order[i-1]))
}

// resolveHardlinks gives each hardlink the size and digest of its target.
func (t *tree) resolveHardlinks() {
	for i := range t.len() {
		x := t.at(i)
		if x.e.Type != archive.TypeHardlink {
			continue
		}
		target := t.lookup(normalizeName(x.e.Linkname()))
		for hops := 0; target != nil && target.e.Type == archive.TypeHardlink && hops < 8; hops++ {
			target = t.lookup(normalizeName(target.e.Linkname()))
		}
		if target != nil && target.e.Type == archive.TypeRegular {
			x.setLinkTarget(target.e.Size, target.e.Digest())
		}
	}
}

// paxGlobalKey starts the pairing keys of pax global headers, which no tar
// entry name can start with (a NUL ends a tar name; a zip name that does
// can only pair with a header as a type difference).
const paxGlobalKey = "\x00pax global header "

// normalizeName is the pairing key of an entry name: "./a", "a", "/a" and
// "a/" are the same entry.
func normalizeName(name string) string {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimLeft(name, "/")
	if name == "" || name == "." {
		return "."
	}
	return path.Clean(name)
}

// maxSpill caps the decompressed stream kept on disk for one archive;
// past it, contents are found by reading the archive again.
const maxSpill = 4 << 30

// readArchiveTree reads every entry of an archive, hashing contents. A
// compressed tar, ar or cpio stream is spilled to the work directory as it
// is read, so that contents found to differ can be copied out later
// without decompressing the archive again.
func (c *comparer) readArchiveTree(p string, format archive.Format) (*tree, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newTree()
	opts := c.readOpts()
	opts.Digest = true
	var spill *os.File
	var spillW *cappedWriter
	switch {
	case format.Container == archive.Zip:
	case format.Compression == archive.NoCompression:
		t.source = p
	default:
		if spill, err = c.tempFile(); err != nil {
			return nil, err
		}
		defer spill.Close()
		spillW = &cappedWriter{w: bufio.NewWriterSize(spill, 1<<20), max: maxSpill}
		opts.Tee = spillW
	}
	s, err := archive.Open(f, p, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	t.zipNote = s.ZipComment
	buf := make([]byte, 256<<10)
	globals := 0
	for {
		if err := c.ctx.Err(); err != nil {
			return nil, err
		}
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := discard(s, buf); err != nil {
			if errors.Is(err, archive.ErrUnsupported) {
				e.Digest = nil // content not readable (zip method): compared by size only
			} else {
				return nil, err
			}
		}
		key := normalizeName(e.Name)
		if e.Type == archive.TypePAXGlobal {
			// A global header's name is noise (GNU tar names it after
			// $TMPDIR): global headers pair by their order.
			globals++
			key = fmt.Sprintf("%s%d", paxGlobalKey, globals)
		}
		t.add(t.arena.newEntry(key, e))
	}
	t.zeros = s.TrailingZeros
	t.ambiguities = s.Ambiguities()
	t.index()
	if spillW != nil {
		if err := spillW.w.(*bufio.Writer).Flush(); err != nil {
			return nil, fmt.Errorf("spilling: %w", err)
		}
		if !spillW.over {
			t.source = spill.Name()
		}
	}
	return t, nil
}

// discard reads the rest of r through buf: large reads let the layers
// below fill buf directly instead of copying through their own buffers.
func discard(r io.Reader, buf []byte) error {
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// cappedWriter passes writes on until max bytes, then drops the rest and
// says so in over.
type cappedWriter struct {
	w    io.Writer
	n    int64
	max  int64
	over bool
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.over || w.n+int64(len(p)) > w.max {
		w.over = true
		return len(p), nil
	}
	w.n += int64(len(p))
	return w.w.Write(p)
}

// payloadsEqual reports whether two files hold the same decompressed
// container stream, comparing them as they are decompressed.
func (c *comparer) payloadsEqual(a, b string) (bool, error) {
	ra, err := c.openPayload(a)
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := c.openPayload(b)
	if err != nil {
		return false, err
	}
	defer rb.Close()
	bufA, bufB := make([]byte, 256<<10), make([]byte, 256<<10)
	var total int64
	for {
		if err := c.ctx.Err(); err != nil {
			return false, err
		}
		na, errA := io.ReadFull(ra, bufA)
		nb, errB := io.ReadFull(rb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		total += int64(na)
		if total > c.opts.MaxBytes {
			return false, fmt.Errorf("%w: more than %d decompressed bytes (--max-bytes)", archive.ErrLimit, c.opts.MaxBytes)
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		switch {
		case endA && endB:
			return true, nil
		case endA != endB:
			return false, nil
		case errA != nil:
			return false, errA
		case errB != nil:
			return false, errB
		}
	}
}

func (c *comparer) openPayload(p string) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	r, _, err := archive.OpenPayload(f, c.readOpts())
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, closers{r, f}}, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// compareArchives compares two archives entry by entry.
func (c *comparer) compareArchives(a, b string, fa, fb archive.Format, prefix string, depth int, top bool) error {
	if err := c.acquire(); err != nil {
		return err
	}
	held := true
	defer func() {
		if held {
			c.release()
		}
	}()
	var ta, tb *tree
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tb, errB = c.readArchiveTree(b, fb)
	}()
	ta, errA = c.readArchiveTree(a, fa)
	wg.Wait()
	for _, side := range []struct {
		name, path string
		err        error
	}{{"A", a, errA}, {"B", b, errB}} {
		switch {
		case side.err == nil:
			continue
		case c.ctx.Err() != nil:
			return c.ctx.Err()
		case top && !errors.Is(side.err, archive.ErrLimit):
			return fmt.Errorf("reading %q: %w", side.path, side.err)
		default:
			c.stop(prefix, "in "+side.name+": "+oneLine(side.err.Error()))
		}
		return nil
	}
	c.count(int64(ta.len()), int64(tb.len()))

	var local []Difference
	if fa.Container != fb.Container {
		local = append(local, Difference{Path: prefix, Kind: KindType, Detail: fmt.Sprintf("%v → %v", fa.Container, fb.Container),
			Old: fa.Container.String(), New: fb.Container.String()})
	}
	if ta.zeros != tb.zeros {
		local = append(local, paddingDifference(prefix, ta.zeros, tb.zeros))
	}
	if ta.zipNote != tb.zipNote {
		local = append(local, Difference{Path: prefix, Kind: KindPax, Detail: fmt.Sprintf("zip comment %q → %q", clip(ta.zipNote), clip(tb.zipNote)),
			Old: ta.zipNote, New: tb.zipNote})
	}
	diffs, pairs := c.pairEntries(ta, tb, prefix, true)
	local = append(local, diffs...)
	if fa.Compression != archive.NoCompression || fb.Compression != archive.NoCompression {
		// Entries that all agree may still sit in different container
		// bytes: only equal payloads make the difference a compression one.
		payloadEqual := false
		if len(local) == 0 && len(pairs) == 0 {
			eq, err := c.payloadsEqual(a, b)
			if err != nil {
				if c.ctx.Err() != nil {
					return c.ctx.Err()
				}
				c.stop(prefix, "comparing payloads: "+oneLine(err.Error()))
				return nil
			}
			payloadEqual = eq
		}
		if d, ok := compressionDifference(a, b, fa, fb, payloadEqual); ok {
			d.Path = prefix
			local = append(local, d)
		}
		if payloadEqual {
			c.add(local...)
			return nil
		}
	}
	// The payloads differ: an archive that extractors read in more than
	// one way can be equivalent to nothing.
	local = append(local, ambiguityDifferences(prefix, "A", ta)...)
	local = append(local, ambiguityDifferences(prefix, "B", tb)...)
	if len(local) == 0 && len(pairs) == 0 {
		// The bytes differ (we were called because they do), yet every
		// entry agrees: the difference is in how the container encodes them.
		local = append(local, containerDifference(prefix, fa))
	}
	c.add(local...)
	if len(pairs) == 0 {
		return nil
	}
	filesA, errA := c.extract(a, ta, pairs, func(p contentPair) *entryInfo { return p.a })
	if errA == nil {
		var filesB map[*entryInfo]string
		filesB, errB = c.extract(b, tb, pairs, func(p contentPair) *entryInfo { return p.b })
		if errB == nil {
			for i := range pairs {
				pairs[i].fileA, pairs[i].fileB = filesA[pairs[i].a], filesB[pairs[i].b]
			}
			held = false
			c.release()
			return c.comparePairs(pairs, depth)
		}
		errA = errB
	}
	if c.ctx.Err() != nil {
		return c.ctx.Err()
	}
	c.stop(prefix, "extracting contents: "+oneLine(errA.Error()))
	return nil
}

// ambiguityDifferences turns the ambiguous constructs of one side into
// differences of their own kind: the container's, each entry's, and the
// entries whose path passes through a symlink stored in the same archive
// (extractors differ there: some follow the link, some refuse, some delay
// creating links until the end).
func ambiguityDifferences(prefix, side string, t *tree) []Difference {
	var out []Difference
	add := func(p string, a archive.Ambiguity) {
		out = append(out, Difference{Path: p, Kind: KindAmbiguous, Detail: "in " + side + ": " + a.String(), Old: a.Construct})
	}
	for _, a := range t.ambiguities {
		add(prefix, a)
	}
	var links map[string]string // symlink keys → targets
	for i := range t.len() {
		x := t.at(i)
		for _, a := range x.e.rareFields().ambiguities {
			key := x.key
			if strings.HasPrefix(key, paxGlobalKey) {
				key = normalizeName(x.name()) // its stored name, as pairing shows it
			}
			add(joinPath(prefix, key), a)
		}
		if x.e.Type == archive.TypeSymlink {
			if links == nil {
				links = map[string]string{}
			}
			links[x.key] = x.e.Linkname()
		}
	}
	if links == nil {
		return out
	}
	for i := range t.len() {
		x := t.at(i)
		if len(x.e.rareFields().ambiguities) > 0 {
			continue // the reader has said what is ambiguous about it
		}
		for dir := x.key; ; {
			j := strings.LastIndexByte(dir, '/')
			if j < 0 {
				break
			}
			dir = dir[:j]
			if target, ok := links[dir]; ok {
				add(joinPath(prefix, x.key), archive.Ambiguity{Construct: "path through a symlink in the archive",
					Detail: fmt.Sprintf("%q is stored as a symlink to %q: GNU tar, bsdtar and Python extract %q differently (follow, refuse or delay)", dir, target, x.key)})
				break
			}
		}
	}
	return out
}

// containerDifference explains bytes that differ while every entry agrees.
func containerDifference(prefix string, f archive.Format) Difference {
	if f.Container == archive.Tar {
		return Difference{Path: prefix, Kind: KindPax,
			Detail: "tar headers encoded differently, entries equal (ustar/pax/GNU encoding, or atime, ctime, inode records)"}
	}
	return Difference{Path: prefix, Kind: KindCompression,
		Detail: fmt.Sprintf("%v containers differ, entries equal (compression method or level, extra fields, layout)", f.Container)}
}

// contentPair is two entries whose contents must be compared.
type contentPair struct {
	path         string
	a, b         *entryInfo
	fileA, fileB string
}

// pairEntries pairs the two trees by key and returns the metadata
// differences and the pairs whose contents differ.
func (c *comparer) pairEntries(ta, tb *tree, prefix string, checkOrder bool) ([]Difference, []contentPair) {
	var diffs []Difference
	var pairs []contentPair
	// The first of each key both sides have, by position: for the order.
	var firstA, firstB []int32
	for ia, ib := 0, 0; ia < len(ta.order) || ib < len(tb.order); {
		// The next key in either tree, and the last entry of its run in
		// each (the one extraction keeps).
		var k string
		switch {
		case ib == len(tb.order):
			k = ta.at(int(ta.order[ia])).key
		case ia == len(ta.order):
			k = tb.at(int(tb.order[ib])).key
		default:
			k = min(ta.at(int(ta.order[ia])).key, tb.at(int(tb.order[ib])).key)
		}
		var xa, xb *entryInfo
		if ia < len(ta.order) && ta.at(int(ta.order[ia])).key == k {
			end := ta.runEnd(ia)
			xa, firstA = ta.at(int(ta.order[end-1])), append(firstA, ta.order[ia])
			ia = end
		}
		if ib < len(tb.order) && tb.at(int(tb.order[ib])).key == k {
			end := tb.runEnd(ib)
			xb, firstB = tb.at(int(tb.order[end-1])), append(firstB, tb.order[ib])
			ib = end
		}
		if xa == nil || xb == nil { // only common keys count for the order
			if xa != nil {
				firstA = firstA[:len(firstA)-1]
			}
			if xb != nil {
				firstB = firstB[:len(firstB)-1]
			}
		}
		p := joinPath(prefix, k)
		if strings.HasPrefix(k, paxGlobalKey) {
			// Shown by its stored name, A's when both have one; its
			// presence is a pax difference, not an entry missing.
			x := xa
			if x == nil {
				x = xb
			}
			p = joinPath(prefix, normalizeName(x.name()))
			if xa == nil || xb == nil {
				var ra, rb map[string]string
				if xa != nil {
					ra = xa.e.PAXRecords()
				} else {
					rb = xb.e.PAXRecords()
				}
				diffs = append(diffs, Difference{Path: p, Kind: KindPax, Detail: "pax global header: " + recordsDiff(ra, rb)})
				continue
			}
		}
		if n := ta.dups[k]; n > 0 {
			diffs = append(diffs, Difference{Path: p, Kind: KindDuplicate, Detail: fmt.Sprintf("stored %d times in A", n)})
		}
		if n := tb.dups[k]; n > 0 {
			diffs = append(diffs, Difference{Path: p, Kind: KindDuplicate, Detail: fmt.Sprintf("stored %d times in B", n)})
		}
		switch {
		case xb == nil:
			diffs = append(diffs, Difference{Path: p, Kind: KindMissing, Detail: "only in A (" + xa.e.Type.String() + ")"})
			continue
		case xa == nil:
			diffs = append(diffs, Difference{Path: p, Kind: KindExtra, Detail: "only in B (" + xb.e.Type.String() + ")"})
			continue
		}
		ds, needContent := compareMeta(p, xa, xb)
		diffs = append(diffs, ds...)
		if needContent {
			pairs = append(pairs, contentPair{path: p, a: xa, b: xb})
		}
	}
	if checkOrder {
		if n := misordered(ta, tb, firstA, firstB); n > 0 {
			diffs = append(diffs, Difference{Path: prefix, Kind: KindOrder, Detail: fmt.Sprintf("%d entries in a different order", n),
				Old: "", New: ""})
		}
	}
	return diffs, pairs
}

// misordered counts the common entries whose rank among the common
// entries differs between the two sides: firstA and firstB hold, for
// each key both sides have, the position of its first occurrence (a
// duplicate does not move its name), in key order.
func misordered(ta, tb *tree, firstA, firstB []int32) int {
	slices.Sort(firstA)
	slices.Sort(firstB)
	n := 0
	for i := range firstA {
		if ta.at(int(firstA[i])).key != tb.at(int(firstB[i])).key {
			n++
		}
	}
	return n
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "!/" + key
}

// paxNoise are pax records that describe the packing host, not the entry:
// never a difference.
var paxNoise = map[string]bool{
	"SCHILY.dev": true, "SCHILY.ino": true, "SCHILY.nlink": true,
	"LIBARCHIVE.creationtime": true, "atime": true, "ctime": true,
}

// compareMeta compares the metadata of two paired entries; needContent is
// set when their contents must be compared.
func compareMeta(p string, xa, xb *entryInfo) (diffs []Difference, needContent bool) {
	ea, eb := &xa.e, &xb.e
	add := func(k Kind, detail, old, new string) {
		diffs = append(diffs, Difference{Path: p, Kind: k, Detail: detail, Old: old, New: new})
	}
	ta, tb := ea.Type, eb.Type
	linked := false // a hardlink on one side, a file with the same bytes on the other
	if (ta == archive.TypeHardlink && tb == archive.TypeRegular) || (ta == archive.TypeRegular && tb == archive.TypeHardlink) {
		da, db := xa.contentDigest(), xb.contentDigest()
		if da == nil || db == nil || !bytes.Equal(da, db) {
			add(KindType, fmt.Sprintf("%v → %v", ta, tb), ta.String(), tb.String())
			return diffs, false
		}
		diffs = append(diffs, Difference{Path: p, Kind: KindLink, SameContent: true,
			Detail: fmt.Sprintf("%s → %s, same content", linkDesc(ea), linkDesc(eb)), Old: linkDesc(ea), New: linkDesc(eb)})
		linked = true
	} else if ta != tb {
		add(KindType, fmt.Sprintf("%v → %v", ta, tb), ta.String(), tb.String())
		return diffs, false
	}
	switch {
	case linked:
		// The contents are equal (a hardlink entry's own size is 0): on
		// to the metadata.
	case ta == archive.TypeRegular:
		if ea.Size != eb.Size {
			add(KindSize, fmt.Sprintf("%d → %d bytes", ea.Size, eb.Size), fmt.Sprint(ea.Size), fmt.Sprint(eb.Size))
		}
		switch {
		case !ea.hasDigest || !eb.hasDigest:
			needContent = ea.Size != eb.Size || ea.Size > 0
		default:
			needContent = ea.digest != eb.digest
		}
	case ta == archive.TypeSymlink:
		if ea.Linkname() != eb.Linkname() {
			add(KindLink, fmt.Sprintf("→ %q became → %q", ea.Linkname(), eb.Linkname()), ea.Linkname(), eb.Linkname())
		}
	case ta == archive.TypeHardlink:
		if normalizeName(ea.Linkname()) != normalizeName(eb.Linkname()) {
			_, la := xa.linkTarget()
			_, lb := xb.linkTarget()
			same := la != nil && bytes.Equal(la, lb)
			diffs = append(diffs, Difference{Path: p, Kind: KindLink, SameContent: same,
				Detail: fmt.Sprintf("hardlink to %q → to %q", ea.Linkname(), eb.Linkname()), Old: ea.Linkname(), New: eb.Linkname()})
		}
	case ta == archive.TypeCharDevice, ta == archive.TypeBlockDevice:
		if ea.Devmajor() != eb.Devmajor() || ea.Devminor() != eb.Devminor() {
			o, n := fmt.Sprintf("%d,%d", ea.Devmajor(), ea.Devminor()), fmt.Sprintf("%d,%d", eb.Devmajor(), eb.Devminor())
			add(KindType, fmt.Sprintf("%v %s → %s", ea.Type, o, n), o, n)
		}
	case ta == archive.TypePAXGlobal:
		if d := recordsDiff(ea.PAXRecords(), eb.PAXRecords()); d != "" {
			add(KindPax, "pax global header: "+d, "", "")
		}
		return diffs, false
	}
	// No extractor applies the mode of a symlink (Linux has none) or of a
	// hardlink entry (the link is its target).
	if ea.Type != archive.TypeSymlink && ea.Type != archive.TypeHardlink && ea.Mode != eb.Mode {
		o, n := fmt.Sprintf("%04o", ea.Mode), fmt.Sprintf("%04o", eb.Mode)
		add(KindMode, o+" → "+n, o, n)
	}
	if ea.owner() != eb.owner() {
		o, n := ownerString(ea), ownerString(eb)
		d := Difference{Path: p, Kind: KindOwner, Detail: o + " → " + n, Old: o, New: n}
		if ea.special() || eb.special() {
			// Whose privileges a setuid/setgid file runs with, or who may
			// delete others' files in a sticky directory.
			d.Privileged = true
			d.Detail += fmt.Sprintf(" (%04o → %04o: the owner of a file with special bits)", ea.Mode, eb.Mode)
		}
		diffs = append(diffs, d)
	}
	if ea.mtimeSec != eb.mtimeSec || ea.mtimeNsec != eb.mtimeNsec {
		o, n := formatTime(ea.ModTime()), formatTime(eb.ModTime())
		add(KindMtime, o+" → "+n, o, n)
	}
	setA, otherA := splitXattrs(ea.Xattrs())
	setB, otherB := splitXattrs(eb.Xattrs())
	if d := recordsDiff(setA, setB); d != "" {
		add(KindXattr, d, "", "")
	}
	if d := recordsDiff(otherA, otherB); d != "" {
		add(KindPax, "extended attributes no Linux extractor can set: "+d, "", "")
	}
	if ea.Flags() != eb.Flags() {
		add(KindXattr, fmt.Sprintf("file flags %q → %q", ea.Flags(), eb.Flags()), ea.Flags(), eb.Flags())
	}
	appliedA, recordsA := splitApplied(ea.PAXRecords())
	appliedB, recordsB := splitApplied(eb.PAXRecords())
	if d := recordsDiff(appliedA, appliedB); d != "" {
		add(KindXattr, d, "", "") // ACLs: extractors apply them
	}
	if d := recordsDiff(recordsA, recordsB); d != "" {
		add(KindPax, d, "", "")
	}
	return diffs, needContent
}

func linkDesc(e *entryMeta) string {
	if e.Type == archive.TypeHardlink {
		return fmt.Sprintf("hardlink to %q", e.Linkname())
	}
	return e.Type.String()
}

func ownerString(e *entryMeta) string {
	o := e.owner()
	s := fmt.Sprintf("%d/%d", o.uid, o.gid)
	if o.uname != "" || o.gname != "" {
		s += " " + o.uname + "/" + o.gname
	}
	return s
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// splitXattrs splits extended attributes into those extractors set on
// Linux (archive.XattrApplied) and the others (macOS's com.apple.*).
func splitXattrs(m map[string]string) (applied, other map[string]string) {
	applied, other = map[string]string{}, map[string]string{}
	for k, v := range m {
		if archive.XattrApplied(k) {
			applied[k] = v
		} else {
			other[k] = v
		}
	}
	return applied, other
}

// splitApplied splits an entry's pax records into those extractors apply
// to the extracted file (POSIX ACLs: GNU tar with --acls, bsdtar by
// default), compared as security metadata, and the others, noise left
// out.
func splitApplied(m map[string]string) (applied, other map[string]string) {
	applied, other = map[string]string{}, map[string]string{}
	for k, v := range m {
		switch {
		case strings.HasPrefix(k, "SCHILY.acl."):
			applied[k] = v
		case !paxNoise[k]:
			other[k] = v
		}
	}
	return applied, other
}

// recordsDiff describes how two string maps differ, in key order; "" when
// they are equal.
func recordsDiff(a, b map[string]string) string {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var parts []string
	for _, k := range sorted {
		va, okA := a[k]
		vb, okB := b[k]
		switch {
		case !okA:
			parts = append(parts, fmt.Sprintf("+%s=%q", k, clip(vb)))
		case !okB:
			parts = append(parts, fmt.Sprintf("-%s=%q", k, clip(va)))
		case va != vb:
			parts = append(parts, fmt.Sprintf("%s: %q → %q", k, clip(va), clip(vb)))
		}
	}
	return strings.Join(parts, ", ")
}

// clip shortens a value for a one-line detail.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func oneLine(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "\r", " ") }

// extract copies the contents of the entries that pick selects from the
// archive at p into temporary files, in one pass that stops once all are
// copied.
func (c *comparer) extract(p string, t *tree, pairs []contentPair, pick func(contentPair) *entryInfo) (map[*entryInfo]string, error) {
	want := map[int]*entryInfo{}
	direct := t.source != ""
	for _, pr := range pairs {
		x := pick(pr)
		if x.e.Type == archive.TypeHardlink {
			continue // compared through its target
		}
		want[x.index] = x
		direct = direct && x.e.ContentOffset >= 0
	}
	if direct {
		return c.extractByOffset(t.source, want)
	}
	files := map[*entryInfo]string{}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := archive.Open(f, p, c.readOpts())
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for i := 0; len(files) < len(want); i++ {
		if _, err := s.Next(); err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("%d entries vanished on a second read", len(want)-len(files))
			}
			return nil, err
		}
		x, ok := want[i]
		if !ok {
			continue
		}
		out, err := c.tempFile()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(out, ctxReader{c.ctx, s})
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		files[x] = out.Name()
	}
	return files, nil
}

// extractByOffset copies contents out of a container stream by offset.
func (c *comparer) extractByOffset(source string, want map[int]*entryInfo) (map[*entryInfo]string, error) {
	src, err := os.Open(source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	idx := make([]int, 0, len(want))
	for i := range want {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	files := map[*entryInfo]string{}
	for _, i := range idx {
		x := want[i]
		out, err := c.tempFile()
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(out, ctxReader{c.ctx, io.NewSectionReader(src, x.e.ContentOffset, x.e.Size)})
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil && n != x.e.Size {
			err = fmt.Errorf("entry %q: %d of %d bytes found on a second read", x.name(), n, x.e.Size)
		}
		if err != nil {
			return nil, err
		}
		files[x] = out.Name()
	}
	return files, nil
}

// comparePairs compares the contents of the pairs with a worker pool.
func (c *comparer) comparePairs(pairs []contentPair, depth int) error {
	work := make(chan contentPair)
	errs := make([]error, c.opts.Workers)
	var wg sync.WaitGroup
	for w := 0; w < c.opts.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for p := range work {
				if errs[w] != nil {
					continue
				}
				if p.fileA == "" || p.fileB == "" {
					c.add(Difference{Path: p.path, Kind: KindContent, Detail: "hardlinked content differs"})
					continue
				}
				errs[w] = c.compareFiles(p.fileA, p.fileB, p.path, depth+1, false)
			}
		}(w)
	}
	for _, p := range pairs {
		work <- p
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}
