package compare

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// elfDiff compares two ELF objects section by section: which sections
// differ (or exist on one side only), the GNU build IDs, then a hexdump of
// the first differing section.
func (c *comparer) elfDiff(a, b string) (*ContentDiff, error) {
	ea, err := elf.Open(a)
	if err != nil {
		return nil, err
	}
	defer ea.Close()
	eb, err := elf.Open(b)
	if err != nil {
		return nil, err
	}
	defer eb.Close()
	sa, err := sectionDigests(ea, a)
	if err != nil {
		return nil, err
	}
	sb, err := sectionDigests(eb, b)
	if err != nil {
		return nil, err
	}
	d := &ContentDiff{Format: "elf"}
	if ia, ib := buildID(ea), buildID(eb); ia != "" || ib != "" {
		d.BuildID = []string{ia, ib}
	}
	var first *elf.Section
	for _, s := range ea.Sections {
		if s.Name == "" {
			continue
		}
		other := eb.Section(s.Name)
		switch {
		case other == nil:
			d.Sections = append(d.Sections, s.Name+" (only in A)")
		case sa[s.Name] != sb[s.Name]:
			d.Sections = append(d.Sections, fmt.Sprintf("%s (%d → %d bytes)", s.Name, s.Size, other.Size))
			if first == nil && s.Type != elf.SHT_NOBITS && s.Name != buildIDSection {
				first = s
			}
		}
	}
	if first == nil && sa[buildIDSection] != sb[buildIDSection] && eb.Section(buildIDSection) != nil {
		// The build ID, shown above, is the only section that differs.
		first = ea.Section(buildIDSection)
	}
	var onlyB []string
	for _, s := range eb.Sections {
		if s.Name != "" && ea.Section(s.Name) == nil {
			onlyB = append(onlyB, s.Name+" (only in B)")
		}
	}
	sort.Strings(onlyB)
	d.Sections = append(d.Sections, onlyB...)
	if len(d.Sections) == 0 {
		d.Sections = []string{"(all sections equal: the headers or layout differ)"}
		bin, err := c.binaryDiff(a, b, 0, -1)
		if err != nil {
			return nil, err
		}
		d.Unified, d.Omitted = bin.Unified, bin.Omitted
		return d, nil
	}
	if first != nil {
		other := eb.Section(first.Name)
		bin, err := c.binaryDiff(a, b, int64(first.Offset), int64(max(first.Size, other.Size)))
		if err == nil && first.Offset == other.Offset {
			d.Unified = fmt.Sprintf("section %s:\n%s", first.Name, bin.Unified)
			d.Omitted = bin.Omitted
		} else {
			d.Unified, err = sectionHexDiff(c, first, other)
			if err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// sectionHexDiff compares two sections' data at different file offsets.
func sectionHexDiff(c *comparer, sa, sb *elf.Section) (string, error) {
	fa, err := spillSection(c, sa)
	if err != nil {
		return "", err
	}
	fb, err := spillSection(c, sb)
	if err != nil {
		return "", err
	}
	bin, err := c.binaryDiff(fa, fb, 0, -1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("section %s (offsets relative to the section):\n%s", sa.Name, bin.Unified), nil
}

func spillSection(c *comparer, s *elf.Section) (string, error) {
	f, err := c.tempFile()
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, io.LimitReader(s.Open(), 64<<20)); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// sectionDigests hashes every section of f, read from the file at path.
// Sections may overlap or be compressed, so the bytes hashed in all are
// capped at four times the file's size plus 64 MiB (a hostile object of
// thousands of sections each spanning the whole file would take hours):
// past that the object is compared as bytes.
func sectionDigests(f *elf.File, path string) (map[string]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	budget := &io.LimitedReader{N: 4*st.Size() + 64<<20}
	out := map[string]string{}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS {
			out[s.Name] = fmt.Sprintf("nobits:%d", s.Size)
			continue
		}
		h := sha256.New()
		budget.R = s.Open()
		if _, err := io.Copy(h, budget); err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		if budget.N <= 0 {
			return nil, errors.New("sections hold more bytes than the file could (overlapping or compressed sections)")
		}
		out[s.Name] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// buildIDSection holds the GNU build ID, a hash of the rest of the
// object: it differs whenever anything does, so the hexdump shows another
// differing section when there is one.
const buildIDSection = ".note.gnu.build-id"

// buildID returns the GNU build ID in hex, or "".
func buildID(f *elf.File) string {
	s := f.Section(buildIDSection)
	if s == nil {
		return ""
	}
	data, err := io.ReadAll(io.LimitReader(s.Open(), 4096))
	if err != nil || len(data) < 16 {
		return ""
	}
	bo := f.ByteOrder
	namesz, descsz := bo.Uint32(data[0:4]), bo.Uint32(data[4:8])
	off := 12 + int((namesz+3)&^3)
	if off+int(descsz) > len(data) || !bytes.HasPrefix(data[12:], []byte("GNU\x00")) {
		return ""
	}
	return hex.EncodeToString(data[off : off+int(descsz)])
}
