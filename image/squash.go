package image

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/compare"
)

// OCI whiteouts: ".wh.NAME" removes NAME (and what is under it) from the
// layers below; ".wh..wh..opq" in a directory removes everything the
// layers below have in it.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// squashed compares the filesystems a container of each image sees.
func (c *comparer) squashed(a, b *Image, prefix string) (*compare.SquashedView, error) {
	type out struct {
		path  string
		notes []string
		err   error
	}
	var ra, rb out
	done := make(chan struct{})
	go func() {
		defer close(done)
		rb.path, rb.notes, rb.err = c.squash(b, "B")
	}()
	ra.path, ra.notes, ra.err = c.squash(a, "A")
	<-done
	if ra.err != nil {
		return nil, ra.err
	}
	if rb.err != nil {
		return nil, rb.err
	}
	res, err := compare.Compare(c.ctx, ra.path, rb.path, c.opts.Compare)
	if err != nil {
		return nil, fmt.Errorf("comparing the squashed filesystems: %w", err)
	}
	n := c.addNested(res, prefix+"squashed", true)
	c.entriesA += res.EntriesA
	c.entriesB += res.EntriesB
	sv := &compare.SquashedView{EntriesA: res.EntriesA, EntriesB: res.EntriesB, Equal: n == 0 && len(res.Incomplete) == 0, Differences: n}
	sv.Notes = append(ra.notes, rb.notes...)
	return sv, nil
}

// kept is where the entry that survives under a name is: its layer and
// its position there.
type kept struct {
	layer, index int
	dir          bool
	gone         bool // whited out
}

// squash applies the layers of img in order into one tar in the work
// directory and returns its path. A first pass, from the top layer down,
// decides which entry each name ends as (or that it is gone); a second,
// from the bottom up, writes those entries.
func (c *comparer) squash(img *Image, side string) (string, []string, error) {
	files := make([]string, len(img.Layers))
	for i := range img.Layers {
		f := c.fetchLayer(img, i, side)
		if f.err != nil {
			return "", nil, f.err
		}
		files[i] = f.path
	}
	final := map[string]kept{}
	opaque := map[string]bool{}
	hidden := func(key string) bool {
		for dir := key; ; {
			j := strings.LastIndexByte(dir, '/')
			if j < 0 {
				return false
			}
			dir = dir[:j]
			if k, ok := final[dir]; ok && (k.gone || !k.dir) || opaque[dir] {
				return true
			}
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		var whiteouts, opaques []string
		err := c.eachEntry(files[i], func(j int, e *archive.Entry, _ io.Reader) error {
			key := entryKey(e.Name)
			base, dir := path.Base(key), path.Dir(key)
			if dir == "." {
				dir = ""
			}
			switch {
			case base == opaqueMarker:
				opaques = append(opaques, dir)
				return nil
			case strings.HasPrefix(base, whiteoutPrefix):
				whiteouts = append(whiteouts, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
				return nil
			}
			if k, ok := final[key]; ok && k.layer != i || hidden(key) {
				return nil // an upper layer has the name, or removed it
			}
			final[key] = kept{layer: i, index: j, dir: e.Type == archive.TypeDir}
			return nil
		})
		if err != nil {
			return "", nil, fmt.Errorf("squashing layer %d of %s: %w", i+1, side, err)
		}
		for _, w := range whiteouts {
			if _, ok := final[w]; !ok && !hidden(w) {
				final[w] = kept{layer: i, gone: true}
			}
		}
		for _, o := range opaques {
			if o == "" {
				o = "." // the root: nothing below survives
			}
			opaque[o] = true
		}
		if opaque["."] {
			break // an opaque root hides every lower layer
		}
	}

	out, err := os.Create(fmt.Sprintf("%s/squashed-%s.tar", c.tmp, side))
	if err != nil {
		return "", nil, err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<20)
	w, err := archive.NewWriter(bw, archive.WriterOptions{Format: archive.Format{Container: archive.Tar}})
	if err != nil {
		return "", nil, err
	}
	var notes []string
	for i := range files {
		err := c.eachEntry(files[i], func(j int, e *archive.Entry, content io.Reader) error {
			key := entryKey(e.Name)
			if k, ok := final[key]; !ok || k.gone || k.layer != i || k.index != j || key == "." {
				return nil // the root is the container's own, whatever a layer says of it
			}
			if e.Type == archive.TypeHardlink {
				t, ok := final[entryKey(e.Linkname)]
				if !ok || t.gone || t.layer > i {
					notes = append(notes, fmt.Sprintf("in %s: %s is a hardlink to %s, which a later layer replaced or removed: shown linked to what is there at the end", side, key, entryKey(e.Linkname)))
				}
			}
			e.Ambiguities = nil
			if !e.Type.HasContent() {
				content = nil
			}
			return w.WriteEntry(e, content)
		})
		if err != nil {
			return "", nil, fmt.Errorf("squashing layer %d of %s: %w", i+1, side, err)
		}
	}
	if err := w.Close(); err != nil {
		return "", nil, err
	}
	if err := bw.Flush(); err != nil {
		return "", nil, err
	}
	return out.Name(), notes, out.Close()
}

// eachEntry calls f with every entry of the tar at p, its position and
// its content.
func (c *comparer) eachEntry(p string, f func(int, *archive.Entry, io.Reader) error) error {
	file, err := os.Open(p)
	if err != nil {
		return err
	}
	defer file.Close()
	s, err := archive.Open(file, p, archive.Options{Limits: c.opts.Compare.Limits()})
	if err != nil {
		return err
	}
	defer s.Close()
	for j := 0; ; j++ {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		e, err := s.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := f(j, e, s); err != nil {
			return err
		}
	}
}

// entryKey is the name an entry is applied under: "./a/", "/a" and "a"
// are the same.
func entryKey(name string) string {
	k := strings.TrimPrefix(path.Clean("/"+name), "/")
	if k == "" {
		return "."
	}
	return k
}
