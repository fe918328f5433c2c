package archive

import (
	"archive/tar"
	"bufio"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// The tar-order pass sorts entries by path in memory that does not grow
// with the number of entries: an external merge sort.
//
// The first pass spills every entry, already normalized, as a pax tar
// record to a temporary file, and adds a small record of it (name, where
// it is in the spill, its stored position) to a batch. A full batch is
// sorted and appended to a second temporary file as a sorted run. Only
// hardlinks stay in memory: each must be resolved to the entry that holds
// its content, and that entry may sort anywhere.
//
// When there are hardlinks, one merge of the runs finds each link's
// content holder. A last merge writes the entries in order, reading each
// header and content back from the spill.
//
// The order is: pax global headers first, then every other entry; within
// each, by name bytewise, and by stored position among equal names.

// The sort's budgets. Tests lower them to make many runs and merge levels.
var (
	sortRunSize  = 32 << 10 // most records in one sorted run
	sortRunBytes = 8 << 20  // most name bytes in one sorted run
	sortFanIn    = 64       // most runs merged at once
)

const (
	spillBufferSize = 1 << 20  // writing the spill and the runs
	runBufferSize   = 64 << 10 // reading one run during a merge
	emitBufferSize  = 64 << 10 // reading one entry back from the spill
	maxRecordName   = 1 << 30  // a sanity bound when reading a run back
)

// sortRecord is what the sort knows of one spilled entry.
type sortRecord struct {
	name   string
	off    int64 // offset of the entry's header in the spill file
	size   int64 // bytes of the entry in the spill: headers and padded content
	seq    int64 // position in the input, to keep the sort stable
	global bool  // pax global header: stays ahead of the entries
	link   bool  // hardlink
}

// compareRecords orders records as they are written.
func compareRecords(a, b *sortRecord) int {
	if a.global != b.global {
		if a.global {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// hardlink is a hardlink entry, kept in memory until its group is known.
type hardlink struct {
	name   string
	target string
	seq    int64
}

// linkGroup is a set of names sharing one content: the entry holding the
// content in the input and the hardlinks resolved to it. After sorting,
// the group's first name in output order (the leader) carries the content
// and the others link to it, whichever name held it in the input. Every
// name of the group is written with the holder's metadata.
type linkGroup struct {
	holder       sortRecord
	leader       string
	leaderSeq    int64
	leaderGlobal bool
}

func (n *normalizer) sortedTar(w Writer) (err error) {
	var temps tempFiles
	defer func() {
		if rerr := temps.removeAll(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()

	spill, err := temps.create(n.opts.TempDir, "reproof-sort-*.tar")
	if err != nil {
		return err
	}
	runs, links, total, err := n.spillAndSort(spill, &temps)
	if err != nil {
		return err
	}
	groups, err := n.planHardlinks(runs, links)
	if err != nil {
		return err
	}
	moved, err := n.writeSorted(w, spill, runs, groups)
	if err != nil {
		return err
	}
	if moved > 0 {
		n.log.recordN("tar-order", moved, func() string { return fmt.Sprintf("%d of %d entries moved", moved, total) })
	}
	return nil
}

// spillAndSort reads every entry, spills it and sorts the records into
// runs. It returns the runs, the hardlinks in stored order and the number
// of entries spilled.
func (n *normalizer) spillAndSort(spill *os.File, temps *tempFiles) (*sortedRuns, []hardlink, int64, error) {
	bw := bufio.NewWriterSize(spill, spillBufferSize)
	cw := &offsetWriter{w: bw}
	runs := &sortedRuns{ctx: n.ctx, temps: temps, dir: n.opts.TempDir}
	var (
		batch      []sortRecord
		batchBytes int
		links      []hardlink
		seq        int64
	)
	for {
		e, err := n.nextEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, 0, err
		}
		h, err := tarHeader(e)
		if err != nil {
			return nil, nil, 0, err
		}
		h.Format = tar.FormatPAX // the spill must keep every field exactly
		off := cw.n
		tw := tar.NewWriter(cw)
		if err := tw.WriteHeader(h); err != nil {
			return nil, nil, 0, fmt.Errorf("spilling %q: %w", e.Name, err)
		}
		if h.Size > 0 {
			if _, err := io.Copy(tw, io.LimitReader(n.s, h.Size)); err != nil {
				return nil, nil, 0, fmt.Errorf("spilling %q: %w", e.Name, err)
			}
		}
		if err := tw.Flush(); err != nil { // pads the content; no trailer
			return nil, nil, 0, fmt.Errorf("spilling %q: %w", e.Name, err)
		}
		r := sortRecord{name: e.Name, off: off, size: cw.n - off, seq: seq, global: e.Type == TypePAXGlobal}
		if e.Type == TypeHardlink {
			r.link = true
			links = append(links, hardlink{name: e.Name, target: e.Linkname, seq: seq})
		}
		seq++
		batch = append(batch, r)
		batchBytes += len(r.name)
		if len(batch) >= sortRunSize || batchBytes >= sortRunBytes {
			if err := runs.add(batch); err != nil {
				return nil, nil, 0, err
			}
			batch, batchBytes = batch[:0], 0
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, nil, 0, fmt.Errorf("writing spill file: %w", err)
	}
	if err := runs.finish(batch); err != nil {
		return nil, nil, 0, err
	}
	return runs, links, seq, nil
}

// planHardlinks resolves every hardlink to the entry holding its content
// (the last entry of the target name stored before the link; when that is
// itself a hardlink, its holder) and returns the groups this makes, by the
// stored position of each member. Dangling links are in no group: they are
// written as stored.
func (n *normalizer) planHardlinks(runs *sortedRuns, links []hardlink) (map[int64]*linkGroup, error) {
	if len(links) == 0 {
		return nil, nil
	}
	// One merge of the runs finds, for each link, the last entry named
	// like its target stored before it. The merge visits records by
	// (name, position) twice, globals and then the rest, so the queries,
	// in the same order, are answered by walking alongside.
	queries := make([]int, len(links))
	for i := range queries {
		queries[i] = i
	}
	slices.SortFunc(queries, func(a, b int) int {
		if c := strings.Compare(links[a].target, links[b].target); c != 0 {
			return c
		}
		return cmp.Compare(links[a].seq, links[b].seq)
	})
	pred := make([]sortRecord, len(links))
	for i := range pred {
		pred[i].seq = -1
	}
	var (
		last     sortRecord
		haveLast bool
		qi       int
	)
	answer := func(q int) {
		l := &links[q]
		if haveLast && last.name == l.target && last.seq < l.seq && last.seq > pred[q].seq {
			pred[q] = last
		}
	}
	src, err := runs.open()
	if err != nil {
		return nil, err
	}
	for {
		if err := n.ctx.Err(); err != nil {
			return nil, err
		}
		r, ok, err := src.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if haveLast && r.global != last.global { // the globals are done
			for ; qi < len(queries); qi++ {
				answer(queries[qi])
			}
			qi, haveLast = 0, false
		}
		for ; qi < len(queries); qi++ {
			l := &links[queries[qi]]
			if c := strings.Compare(l.target, r.name); c > 0 || c == 0 && l.seq > r.seq {
				break
			}
			answer(queries[qi])
		}
		last, haveLast = r, true
	}
	for ; qi < len(queries); qi++ {
		answer(queries[qi])
	}

	// Links are in stored order, so a link's predecessor that is itself
	// a link has been resolved before it.
	holder := make([]int, len(links)) // index into pred of the content holder; -1: none
	for i := range links {
		holder[i] = -1
		p := &pred[i]
		switch {
		case p.seq < 0:
		case !p.link:
			holder[i] = i
		default:
			j, found := slices.BinarySearchFunc(links, p.seq, func(l hardlink, seq int64) int { return cmp.Compare(l.seq, seq) })
			if found {
				holder[i] = holder[j]
			}
		}
	}
	members := map[int64]*linkGroup{} // by stored position
	for i := range links {
		if holder[i] < 0 {
			continue
		}
		h := pred[holder[i]]
		g := members[h.seq]
		if g == nil {
			g = &linkGroup{holder: h, leader: h.name, leaderSeq: h.seq, leaderGlobal: h.global}
			members[h.seq] = g
		}
		members[links[i].seq] = g
		lead := sortRecord{name: g.leader, seq: g.leaderSeq, global: g.leaderGlobal}
		if r := (sortRecord{name: links[i].name, seq: links[i].seq}); compareRecords(&r, &lead) < 0 {
			g.leader, g.leaderSeq, g.leaderGlobal = r.name, r.seq, false
		}
	}
	return members, nil
}

// writeSorted writes the entries in order and returns how many of them
// are not at their stored position.
func (n *normalizer) writeSorted(w Writer, spill *os.File, runs *sortedRuns, groups map[int64]*linkGroup) (int64, error) {
	src, err := runs.open()
	if err != nil {
		return 0, err
	}
	sr := &spillReader{f: spill, br: bufio.NewReaderSize(nil, emitBufferSize)}
	var pos, moved int64
	for ; ; pos++ {
		if err := n.ctx.Err(); err != nil {
			return 0, err
		}
		r, ok, err := src.next()
		if err != nil {
			return 0, err
		}
		if !ok {
			return moved, nil
		}
		if r.seq != pos {
			moved++
		}
		from, linkTo := &r, ""
		if g := groups[r.seq]; g != nil {
			from = &g.holder
			if r.seq != g.leaderSeq {
				linkTo = g.leader
			}
		}
		if err := n.emit(w, sr, from, r.name, linkTo); err != nil {
			return 0, err
		}
	}
}

// spillReader reads entries back from the spill file.
type spillReader struct {
	f  *os.File
	br *bufio.Reader
}

// emit writes the spilled entry from under name, or a hardlink to linkTo
// with from's metadata when linkTo is set.
func (n *normalizer) emit(w Writer, sr *spillReader, from *sortRecord, name, linkTo string) error {
	sr.br.Reset(io.NewSectionReader(sr.f, from.off, from.size))
	tr := tar.NewReader(sr.br)
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading spill file at %d: %w", from.off, err)
	}
	e, err := entryFromTar(h)
	if err != nil {
		return err
	}
	e.Name = name
	if linkTo != "" {
		e.Type, e.Linkname, e.Size = TypeHardlink, linkTo, 0
		return w.WriteEntry(e, nil)
	}
	return w.WriteEntry(e, tr)
}

// sortedRuns are the sorted batches of records. A run is kept in memory
// when it is the only one; otherwise every run is in a temporary file.
type sortedRuns struct {
	ctx   context.Context // stops the merges of runs into longer ones
	temps *tempFiles
	dir   string
	mem   []sortRecord // the only run, when nothing was written
	f     *os.File     // the runs, one after the other
	bw    *bufio.Writer
	size  int64
	runs  []runSpan
	buf   []byte
}

// runSpan is where one run is in the runs file.
type runSpan struct{ off, len int64 }

// add sorts a batch and appends it as a run. The batch can be reused.
func (s *sortedRuns) add(batch []sortRecord) error {
	if s.f == nil {
		f, err := s.temps.create(s.dir, "reproof-sort-*.runs")
		if err != nil {
			return err
		}
		s.f, s.bw = f, bufio.NewWriterSize(f, spillBufferSize)
	}
	slices.SortFunc(batch, func(a, b sortRecord) int { return compareRecords(&a, &b) })
	start := s.size
	for i := range batch {
		if err := s.write(&batch[i]); err != nil {
			return err
		}
	}
	s.runs = append(s.runs, runSpan{off: start, len: s.size - start})
	return nil
}

func (s *sortedRuns) write(r *sortRecord) error {
	s.buf = appendRecord(s.buf[:0], r)
	if _, err := s.bw.Write(s.buf); err != nil {
		return fmt.Errorf("writing sort runs: %w", err)
	}
	s.size += int64(len(s.buf))
	return nil
}

// finish takes the last batch; it stays in memory when it is the only
// one. When there are more runs than one merge takes, runs are merged
// into longer ones until there are not.
func (s *sortedRuns) finish(batch []sortRecord) error {
	if s.f == nil {
		s.mem = batch
		slices.SortFunc(s.mem, func(a, b sortRecord) int { return compareRecords(&a, &b) })
		return nil
	}
	if len(batch) > 0 {
		if err := s.add(batch); err != nil {
			return err
		}
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("writing sort runs: %w", err)
	}
	for len(s.runs) > max(sortFanIn, 2) {
		if err := s.mergeLevel(); err != nil {
			return err
		}
	}
	return nil
}

// mergeLevel merges the runs, sortFanIn at a time, into a new runs file.
func (s *sortedRuns) mergeLevel() error {
	old, oldRuns := s.f, s.runs
	f, err := s.temps.create(s.dir, "reproof-sort-*.runs")
	if err != nil {
		return err
	}
	s.f, s.bw, s.size, s.runs = f, bufio.NewWriterSize(f, spillBufferSize), 0, nil
	for len(oldRuns) > 0 {
		k := min(len(oldRuns), max(sortFanIn, 2))
		m, err := newRunMerger(old, oldRuns[:k])
		if err != nil {
			return err
		}
		oldRuns = oldRuns[k:]
		start := s.size
		for {
			if err := s.ctx.Err(); err != nil {
				return err
			}
			r, ok, err := m.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := s.write(&r); err != nil {
				return err
			}
		}
		s.runs = append(s.runs, runSpan{off: start, len: s.size - start})
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("writing sort runs: %w", err)
	}
	return s.temps.remove(old)
}

// recordSource yields records in output order; false at the end.
type recordSource interface {
	next() (sortRecord, bool, error)
}

// open starts a pass over every record in output order.
func (s *sortedRuns) open() (recordSource, error) {
	if s.f == nil {
		return &memSource{recs: s.mem}, nil
	}
	return newRunMerger(s.f, s.runs)
}

type memSource struct{ recs []sortRecord }

func (m *memSource) next() (sortRecord, bool, error) {
	if len(m.recs) == 0 {
		return sortRecord{}, false, nil
	}
	r := m.recs[0]
	m.recs = m.recs[1:]
	return r, true, nil
}

// runMerger merges sorted runs: a heap of one reader per run, keyed by
// the reader's current record.
type runMerger []*runReader

type runReader struct {
	br   *bufio.Reader
	cur  sortRecord
	name []byte
}

func newRunMerger(f *os.File, runs []runSpan) (*runMerger, error) {
	m := make(runMerger, 0, len(runs))
	for _, sp := range runs {
		size := int(min(sp.len, runBufferSize)) // short runs need no more
		rr := &runReader{br: bufio.NewReaderSize(io.NewSectionReader(f, sp.off, sp.len), size)}
		ok, err := rr.advance()
		if err != nil {
			return nil, err
		}
		if ok {
			m = append(m, rr)
		}
	}
	heap.Init(&m)
	return &m, nil
}

func (m runMerger) Len() int           { return len(m) }
func (m runMerger) Less(i, j int) bool { return compareRecords(&m[i].cur, &m[j].cur) < 0 }
func (m runMerger) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *runMerger) Push(x any)        { *m = append(*m, x.(*runReader)) }
func (m *runMerger) Pop() any {
	old := *m
	x := old[len(old)-1]
	*m = old[:len(old)-1]
	return x
}

func (m *runMerger) next() (sortRecord, bool, error) {
	if len(*m) == 0 {
		return sortRecord{}, false, nil
	}
	top := (*m)[0]
	r := top.cur
	ok, err := top.advance()
	if err != nil {
		return sortRecord{}, false, err
	}
	if ok {
		heap.Fix(m, 0)
	} else {
		heap.Pop(m)
	}
	return r, true, nil
}

// advance reads the run's next record; false at the end of the run.
func (rr *runReader) advance() (bool, error) {
	flags, err := rr.br.ReadByte()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading sort runs: %w", err)
	}
	r, err := readRecord(rr.br, flags, &rr.name)
	if err != nil {
		return false, fmt.Errorf("reading sort runs: %w", err)
	}
	rr.cur = r
	return true, nil
}

const (
	recordGlobal = 1 << iota
	recordLink
)

// appendRecord encodes a record: a flags byte, the name's length and
// bytes, then offset, size and position, all as uvarints.
func appendRecord(b []byte, r *sortRecord) []byte {
	var flags byte
	if r.global {
		flags |= recordGlobal
	}
	if r.link {
		flags |= recordLink
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(r.name)))
	b = append(b, r.name...)
	b = binary.AppendUvarint(b, uint64(r.off))
	b = binary.AppendUvarint(b, uint64(r.size))
	return binary.AppendUvarint(b, uint64(r.seq))
}

// readRecord decodes the rest of a record after its flags byte; scratch
// is reused for the name's bytes.
func readRecord(br *bufio.Reader, flags byte, scratch *[]byte) (sortRecord, error) {
	r := sortRecord{global: flags&recordGlobal != 0, link: flags&recordLink != 0}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return r, noEOF(err)
	}
	if n > maxRecordName {
		return r, fmt.Errorf("record name of %d bytes", n)
	}
	*scratch = slices.Grow((*scratch)[:0], int(n))[:n]
	if _, err := io.ReadFull(br, *scratch); err != nil {
		return r, noEOF(err)
	}
	r.name = string(*scratch)
	var v [3]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(br); err != nil {
			return r, noEOF(err)
		}
	}
	r.off, r.size, r.seq = int64(v[0]), int64(v[1]), int64(v[2])
	return r, nil
}

// noEOF turns an end of file inside a record into an unexpected one.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// tempFiles are the sort's temporary files, removed when it is done.
type tempFiles []*os.File

func (t *tempFiles) create(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating sort file: %w", err)
	}
	*t = append(*t, f)
	return f, nil
}

// remove closes and removes one file before the others.
func (t *tempFiles) remove(f *os.File) error {
	i := slices.Index(*t, f)
	if i < 0 {
		return nil
	}
	*t = slices.Delete(*t, i, i+1)
	return closeAndRemove(f)
}

func (t *tempFiles) removeAll() error {
	var errs []error
	for _, f := range *t {
		errs = append(errs, closeAndRemove(f))
	}
	*t = nil
	return errors.Join(errs...)
}

func closeAndRemove(f *os.File) error {
	cerr := f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("removing sort file: %w", err)
	}
	if cerr != nil {
		return fmt.Errorf("closing sort file %q: %w", f.Name(), cerr)
	}
	return nil
}

type offsetWriter struct {
	w io.Writer
	n int64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.n += int64(n)
	return n, err
}
