package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/reproof/reproof/release"
	"github.com/reproof/reproof/report"
)

// published is the fetched release: every file checked against the
// release's own checksums, with its bytes on disk.
type published struct {
	check *release.PublishedCheck
	// files are the published artifacts (checksum manifests, signatures
	// and the like left out), by name, with their local paths.
	files map[string]publishedFile
	names []string // sorted

	// byName is set for a source with no listing (a plain HTTP base URL):
	// the artifacts are asked for by the rebuilt names (fetchNamed).
	byName  namedSource
	fetcher *release.Fetcher
	absent  map[string]string // rebuilt name -> URL that answered 404
	probed  []string          // the names asked for, for a source without a listing
	// foundManifests counts the probed manifests and sidecars the source had.
	foundManifests int
	// nothingThere says why a source without a listing is not a release
	// at all: it had none of the names asked for. "" otherwise.
	nothingThere string
}

// namedSource is a source that can name an asset it does not list.
type namedSource interface {
	Asset(name string) release.Asset
}

type publishedFile struct {
	check release.AssetCheck
	path  string
}

func fetchPublished(ctx context.Context, opts Options) (*published, error) {
	s := opts.Spec
	src, err := release.NewSource(s.Published.Source, opts.Release)
	if err != nil {
		return nil, err
	}
	cache := opts.CacheDir
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding the download cache: %w", err)
		}
		cache = filepath.Join(dir, "reproof", "downloads")
	}
	f := release.NewFetcher(src, cache, opts.Release)
	pc, err := release.CheckPublished(ctx, src, f, release.CheckOptions{Manifests: s.Published.Checksums, Keyring: s.Published.Keyring})
	if err != nil {
		f.Close() //nolint:errcheck // the error that stopped the check is the one to report
		return nil, err
	}
	// CheckPublished fetched and hashed every file; its manifests (and
	// anything named like one) and side files (signatures, certificates,
	// SBOMs, attestations: release.SideFilePatterns) are evidence, not
	// artifacts.
	isManifest := map[string]bool{}
	for _, m := range pc.Manifests {
		isManifest[m.Name] = true
	}
	p := &published{check: pc, files: map[string]publishedFile{}, fetcher: f}
	if ns, ok := src.(namedSource); ok && len(pc.Assets) == 0 {
		p.byName = ns
		// The common manifests now, before any build: a malformed or
		// unreachable one is reported in seconds. The rebuilt names'
		// sidecars are asked for once the names are known.
		if err := p.probeManifests(ctx, probedManifests); err != nil {
			f.Close() //nolint:errcheck // the probe's error is the one to report
			return nil, err
		}
	}
	for _, a := range pc.Assets {
		if isManifest[a.Name] || release.IsManifestName(a.Name) || a.Side != "" {
			continue
		}
		p.files[a.Name] = publishedFile{check: a, path: a.Path}
		p.names = append(p.names, a.Name)
	}
	sort.Strings(p.names)
	return p, nil
}

// finish adds what the fetcher warned about (an HTML page served for a
// file, say) to the verification's warnings and removes the downloads it
// did not cache; a failure to remove them is a warning too.
func (p *published) finish(v *report.Verification) {
	v.Warnings = append(v.Warnings, p.fetcher.Warnings()...)
	if err := p.fetcher.Close(); err != nil {
		v.Warnings = append(v.Warnings, "removing the downloads that were not cached: "+err.Error())
	}
}

// fetchNamed fetches, from a source without a listing, the published file
// of each rebuilt artifact name; one the server does not have is simply not
// published (the artifact is then missing). Nothing published vouches for
// these files: their digests are computed here.
func (p *published) fetchNamed(ctx context.Context, names []string) error {
	p.probed = names
	var sidecars []string
	for _, n := range names {
		for _, ext := range probedSidecars {
			sidecars = append(sidecars, n+ext)
		}
	}
	if err := p.probeManifests(ctx, sidecars); err != nil {
		return err
	}
	for _, name := range names {
		a := p.byName.Asset(name)
		d, err := p.fetcher.Fetch(ctx, a)
		if errors.Is(err, release.ErrNotFound) {
			if p.absent == nil {
				p.absent = map[string]string{}
			}
			p.absent[name] = a.URL
			continue
		}
		if err != nil {
			return err
		}
		chk := release.AssetCheck{Name: name, URL: a.URL, Status: release.StatusUnlisted, SHA256: d.SHA256, SHA512: d.SHA512, Size: d.Size}
		p.vouch(&chk)
		p.check.Assets = append(p.check.Assets, chk)
		p.files[name] = publishedFile{check: chk, path: d.Path}
		p.names = append(p.names, name)
	}
	if len(names) > 0 && len(p.absent) == len(names) && p.foundManifests == 0 {
		// Not a release that lacks these files: no release at all. The
		// URL is wrong (or the server hides it), and calling every
		// artifact missing would blame the build. The artifacts are
		// still listed; the verdict is an error (judge).
		p.nothingThere = fmt.Sprintf("%s has none of the files asked for (%s, their checksum sidecars and %s; %s): it is not where the release is",
			p.check.Source, plural(len(names), "rebuilt name"), strings.Join(probedManifests, ", "), p.check.Listed)
	}
	sort.Strings(p.names)
	return nil
}

// probedManifests are the manifest names asked of a source without a
// listing: the common ones, and each rebuilt name's sidecars.
var probedManifests = []string{"SHA256SUMS", "SHA512SUMS", "checksums.txt"}

var probedSidecars = []string{".sha256", ".sha512", ".SHA256", ".SHA512", ".sha256sum", ".sha512sum"}

// probeManifests asks a source without a listing for manifests by name
// (the common manifest names, the rebuilt names' sidecars); those it has
// are read as the release's checksums (a malformed one is an error, as in
// a listed release), so that a lying sidecar is caught even where nothing
// lists it.
func (p *published) probeManifests(ctx context.Context, candidates []string) error {
	for _, name := range candidates {
		d, err := p.fetcher.Fetch(ctx, p.byName.Asset(name))
		if errors.Is(err, release.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		data, err := os.ReadFile(d.Path)
		if err != nil {
			return err
		}
		m, err := release.ParseManifest(name, data)
		if err != nil {
			return err
		}
		p.check.Manifests = append(p.check.Manifests, release.ManifestSummary{Name: name, Layout: m.Layout, Checksums: len(m.Checksums), Signature: m.Signature})
		p.check.Unmatched = append(p.check.Unmatched, m.Checksums...)
		p.foundManifests++
	}
	return nil
}

// vouch checks a probed file against the checksums of a named manifest
// (--checksums) that named no listed file: the manifest vouches for it,
// or the release disagrees with itself.
func (p *published) vouch(chk *release.AssetCheck) {
	var rest []release.Checksum
	for _, ck := range p.check.Unmatched {
		computed := map[release.Algorithm]string{release.SHA256: chk.SHA256, release.SHA512: chk.SHA512}[ck.Algorithm]
		if ck.Name != chk.Name || computed == "" {
			rest = append(rest, ck)
			continue
		}
		match := strings.EqualFold(ck.Digest, computed)
		chk.Checksums = append(chk.Checksums, release.CheckedChecksum{Checksum: ck, Computed: computed, Match: match})
		switch {
		case !match:
			chk.Status = release.StatusMismatch
		case chk.Status == release.StatusUnlisted:
			chk.Status = release.StatusOK
		}
	}
	p.check.Unmatched = rest
}

func (p *published) summary() report.Published {
	out := report.Published{Source: p.check.Source, Tag: p.check.Tag, Listing: p.check.Listed, Manifests: []report.Manifest{}, Files: []report.File{}}
	if p.byName != nil {
		// Files the source was not asked for were not checked.
		probed := fmt.Sprintf("asked for the rebuilt names (%s), their sidecars and the common manifest names (%d found): other files were not checked",
			plural(len(p.probed), "name"), p.foundManifests)
		out.Listing = strings.TrimPrefix(out.Listing+"; "+probed, "; ")
	}
	for _, m := range p.check.Manifests {
		signed := ""
		switch sig := m.Signature; {
		case sig.Signed && sig.Checked && sig.Valid:
			signed = "good"
		case sig.Signed && sig.Checked:
			signed = "bad"
		case sig.Signed:
			signed = "unchecked"
		}
		out.Manifests = append(out.Manifests, report.Manifest{Name: m.Name, Layout: string(m.Layout), Checksums: m.Checksums, Signed: signed})
	}
	for _, a := range p.check.Assets {
		out.Files = append(out.Files, report.File{Name: a.Name, URL: a.URL, Size: a.Size, SHA256: a.SHA256})
	}
	return out
}

// match finds the published file for a rebuilt artifact: the same name,
// or else the only published file with that base name (Garage publishes
// _releases/<tag>/<triple>/garage; the rebuild's output is flat).
func (p *published) match(name string) (string, bool) {
	if _, ok := p.files[name]; ok {
		return name, true
	}
	found := ""
	for _, n := range p.names {
		if path.Base(n) == name {
			if found != "" {
				return "", false // ambiguous: say missing rather than guess
			}
			found = n
		}
	}
	return found, found != ""
}
