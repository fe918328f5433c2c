package verify

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/reproof/reproof/archive"
	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
)

// memberChecksums checks the published checksums that name no published
// file against the members of the published archives. nimbus-eth2's release
// body lists the binaries inside its tarballs, grouped under platform
// headings; its page once disagreed with the files, and that is a
// checksum-mismatch of the tarball, reported apart from rebuilt vs
// published. A checksum under a heading ("Linux AMD64") is matched only
// with archives whose name carries that heading's words
// ("…_Linux_amd64_…"). Checksums that match nothing are warnings.
func (c *comparer) memberChecksums(pub *published) (map[string][]report.Checksum, []string, error) {
	if len(pub.check.Unmatched) == 0 {
		return nil, nil, nil
	}
	wanted := map[string][]release.Checksum{} // member base name -> checksums
	for _, ck := range pub.check.Unmatched {
		wanted[path.Base(ck.Name)] = append(wanted[path.Base(ck.Name)], ck)
	}
	out := map[string][]report.Checksum{}
	used := map[int]bool{} // index into Unmatched
	for _, name := range pub.names {
		found, err := c.scanMembers(pub.files[name].path, "published "+name, wanted)
		if err != nil {
			if errors.Is(err, archive.ErrNotArchive) {
				continue
			}
			return nil, nil, err
		}
		for _, fm := range found {
			for i, ck := range pub.check.Unmatched {
				if !memberNamed(fm.path, ck.Name) || !sectionMatches(ck.Section, name) {
					continue
				}
				used[i] = true
				computed := fm.sums[ck.Algorithm]
				manifest := ck.Source
				if ck.Section != "" {
					manifest += " (" + ck.Section + ")"
				}
				out[name] = append(out[name], report.Checksum{
					Manifest: manifest, Name: fm.path, Algorithm: string(ck.Algorithm),
					Expected: ck.Digest, Computed: computed, Match: computed == ck.Digest,
				})
			}
		}
	}
	var warnings []string
	for i, ck := range pub.check.Unmatched {
		if used[i] {
			continue
		}
		where := ""
		if ck.Section != "" {
			where = " under " + ck.Section
		}
		warnings = append(warnings, fmt.Sprintf("%s lists %s%s, which is neither a published file nor a member of a published archive", ck.Source, ck.Name, where))
	}
	for _, v := range out {
		sort.SliceStable(v, func(i, j int) bool { return v[i].Name < v[j].Name })
	}
	return out, warnings, nil
}

// memberNamed: a member "build/nimbus_beacon_node" is what a checksum for
// "nimbus_beacon_node" or "build/nimbus_beacon_node" names.
//
// and "nimbus-eth2_Linux_amd64_24.1.0_5fc16b9f/build/nimbus_beacon_node" is
// what a checksum for "build/nimbus_beacon_node" names (the archive's top
// directory is not in the body).
func memberNamed(member, listed string) bool {
	listed = cleanMember(listed)
	return member == listed || path.Base(member) == listed || strings.HasSuffix(member, "/"+listed)
}

// sectionMatches: every word of the heading appears in the archive's name,
// case-insensitively ("Linux AMD64" in "nimbus-eth2_Linux_amd64_24.1.0…").
func sectionMatches(section, archiveName string) bool {
	if section == "" {
		return true
	}
	words := strings.FieldsFunc(strings.ToLower(section), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	name := strings.ToLower(archiveName)
	for _, w := range words {
		if !strings.Contains(name, w) {
			return false
		}
	}
	return len(words) > 0
}

type foundMember struct {
	path string
	sums map[release.Algorithm]string
}

// scanMembers hashes the members of the archive at file whose base names
// are wanted, in every algorithm a checksum for them uses.
func (c *comparer) scanMembers(file, what string, wanted map[string][]release.Checksum) ([]foundMember, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := archive.Open(f, what, archive.Options{Limits: c.caps.Limits(), TempDir: c.tmp})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if !s.Format.IsArchive() {
		return nil, archive.ErrNotArchive
	}
	var out []foundMember
	for {
		e, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if !e.Type.HasContent() {
			continue
		}
		cks := wanted[path.Base(cleanMember(e.Name))]
		if len(cks) == 0 {
			continue
		}
		hashers := map[release.Algorithm]hash.Hash{}
		var ws []io.Writer
		for _, ck := range cks {
			if _, ok := hashers[ck.Algorithm]; !ok {
				h := ck.Algorithm.New()
				hashers[ck.Algorithm] = h
				ws = append(ws, h)
			}
		}
		if _, err := io.Copy(io.MultiWriter(ws...), s); err != nil {
			return nil, err
		}
		fm := foundMember{path: cleanMember(e.Name), sums: map[release.Algorithm]string{}}
		for alg, h := range hashers {
			fm.sums[alg] = hex.EncodeToString(h.Sum(nil))
		}
		out = append(out, fm)
	}
}

func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
