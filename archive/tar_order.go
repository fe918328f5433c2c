package archive

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// The tar-order pass sorts entries by path without holding the archive in
// memory: every entry, already normalized, is spilled as a pax tar record
// to a temporary file, and only an index (name, offset, hardlink target)
// stays in memory. The sorted archive is then written from the spill.

type spillEntry struct {
	name     string
	off      int64 // offset of the entry's header in the spill file
	seq      int   // position in the input, to keep the sort stable
	global   bool  // pax global header: stays ahead of the entries
	link     bool  // hardlink
	linkname string
}

// emitPlan says how one output position is written.
type emitPlan struct {
	src    int    // spill index whose header (and content) is used
	name   string // output name
	linkTo string // non-empty: write a hardlink to this name instead
}

func (n *normalizer) sortedTar(w Writer) error {
	spill, err := os.CreateTemp(n.opts.TempDir, "reproof-sort-*.tar")
	if err != nil {
		return fmt.Errorf("creating spill file: %w", err)
	}
	defer func() {
		spill.Close()
		os.Remove(spill.Name())
	}()
	bw := bufio.NewWriterSize(spill, 1<<20)
	cw := &offsetWriter{w: bw}
	var index []spillEntry
	for {
		e, err := n.nextEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		h, err := tarHeader(e)
		if err != nil {
			return err
		}
		h.Format = tar.FormatPAX // the spill must keep every field exactly
		off := cw.n
		tw := tar.NewWriter(cw)
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("spilling %q: %w", e.Name, err)
		}
		if h.Size > 0 {
			if _, err := io.Copy(tw, io.LimitReader(n.s, h.Size)); err != nil {
				return fmt.Errorf("spilling %q: %w", e.Name, err)
			}
		}
		if err := tw.Flush(); err != nil { // pads the content; no trailer
			return fmt.Errorf("spilling %q: %w", e.Name, err)
		}
		se := spillEntry{name: e.Name, off: off, seq: len(index), global: e.Type == TypePAXGlobal}
		if e.Type == TypeHardlink {
			se.link, se.linkname = true, e.Linkname
		}
		index = append(index, se)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing spill file: %w", err)
	}

	order := make([]int, len(index))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &index[order[a]], &index[order[b]]
		if x.global != y.global {
			return x.global
		}
		return x.name < y.name
	})
	moved := 0
	for i, j := range order {
		if i != j {
			moved++
		}
	}
	if moved > 0 {
		n.log.recordN("tar-order", int64(moved), fmt.Sprintf("%d of %d entries moved", moved, len(index)))
	}
	plans := planHardlinks(index, order)
	for _, p := range plans {
		if err := n.ctx.Err(); err != nil {
			return err
		}
		if err := n.emit(w, spill, index[p.src], p); err != nil {
			return err
		}
	}
	return nil
}

// planHardlinks decides, for each output position, what to write. A group
// of hardlinked names shares one content; after sorting, the first name
// of the group in output order carries the content and the others link to
// it, whichever name held it in the input. The group's metadata comes
// from the entry that held the content.
func planHardlinks(index []spillEntry, order []int) []emitPlan {
	plans := make([]emitPlan, len(order))
	for i, src := range order {
		plans[i] = emitPlan{src: src, name: index[src].name}
	}
	// Resolve each hardlink to the entry holding the content: the last
	// non-link entry of that name stored before it.
	targets := map[string]bool{}
	for _, e := range index {
		if e.link {
			targets[e.linkname] = true
		}
	}
	if len(targets) == 0 {
		return plans
	}
	lastByName := map[string]int{}
	root := make([]int, len(index)) // content holder of each hardlink, -1: none
	for i, e := range index {
		root[i] = -1
		if e.link {
			if r, ok := lastByName[e.linkname]; ok {
				if index[r].link {
					root[i] = root[r]
				} else {
					root[i] = r
				}
			}
		}
		if targets[e.name] {
			lastByName[e.name] = i
		}
	}
	isRoot := make([]bool, len(index))
	for _, r := range root {
		if r >= 0 {
			isRoot[r] = true
		}
	}
	// The leader of each group is its first member in output order: it
	// gets the content, the others link to it.
	leader := map[int]string{} // content holder -> leader name
	for i, src := range order {
		r := -1
		switch {
		case index[src].link:
			r = root[src]
		case isRoot[src]:
			r = src
		}
		if r < 0 {
			continue // not in a group, or a dangling link: as stored
		}
		name := index[src].name
		if lead, ok := leader[r]; ok {
			plans[i] = emitPlan{src: r, name: name, linkTo: lead}
		} else {
			leader[r] = name
			plans[i] = emitPlan{src: r, name: name}
		}
	}
	return plans
}

// emit writes one planned entry from the spill.
func (n *normalizer) emit(w Writer, spill *os.File, se spillEntry, p emitPlan) error {
	tr := tar.NewReader(io.NewSectionReader(spill, se.off, math.MaxInt64-se.off))
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading spill file at %d: %w", se.off, err)
	}
	e, err := entryFromTar(h)
	if err != nil {
		return err
	}
	e.Name = p.name
	if p.linkTo != "" {
		e.Type, e.Linkname, e.Size = TypeHardlink, p.linkTo, 0
		return w.WriteEntry(e, nil)
	}
	return w.WriteEntry(e, tr)
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
