package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// AssetStatus is what checking one published file against the release's
// own checksums found.
type AssetStatus string

// Asset statuses.
const (
	// StatusOK: every published checksum of the file matches its bytes.
	StatusOK AssetStatus = "ok"
	// StatusMismatch: a published checksum disagrees with the published
	// file: the release is inconsistent with itself.
	StatusMismatch AssetStatus = "checksum-mismatch"
	// StatusUnlisted: no published checksum names the file; its digest was
	// computed here and nothing published vouches for it.
	StatusUnlisted AssetStatus = "no-checksum"
)

// AssetCheck is the check of one published file.
type AssetCheck struct {
	Name   string      `json:"name"`
	URL    string      `json:"url,omitempty"`
	Status AssetStatus `json:"status"`
	SHA256 string      `json:"sha256"` // computed from the downloaded bytes
	SHA512 string      `json:"sha512"`
	Size   int64       `json:"size"`
	// Checksums are the published checksums that name the file, each
	// with whether it matched.
	Checksums []CheckedChecksum `json:"checksums,omitempty"`
	// Path is the verified bytes on disk (Downloaded.Path), for callers
	// that go on to read them.
	Path string `json:"-"`
}

// CheckedChecksum is one published checksum compared with the bytes.
type CheckedChecksum struct {
	Checksum
	Computed string `json:"computed"`
	Match    bool   `json:"match"`
}

// ManifestSummary describes a manifest found in a release.
type ManifestSummary struct {
	Name      string    `json:"name"`
	Layout    Layout    `json:"layout"`
	Checksums int       `json:"checksums"`
	Signature Signature `json:"signature"`
}

// PublishedCheck is a published release checked against its own
// checksums.
type PublishedCheck struct {
	Source    string            `json:"source"`
	Tag       string            `json:"tag,omitempty"`
	Manifests []ManifestSummary `json:"manifests"`
	Assets    []AssetCheck      `json:"assets"`
	// Unmatched are published checksums that name no published file
	// (nimbus-eth2's release body lists the binaries inside its tarballs).
	Unmatched []Checksum `json:"unmatched,omitempty"`
}

// BodyManifest names the release description among CheckOptions.Manifests.
const BodyManifest = "body"

// CheckOptions configure CheckPublished.
type CheckOptions struct {
	// Manifests names the manifests to use: assets of the release,
	// BodyManifest for the release description, or local files. Empty: every asset that looks like a manifest, and the
	// release body when it has checksum blocks.
	Manifests []string
	// Keyring, when set, checks clear-signed manifests with gpgv.
	Keyring string
}

// manifestNames are asset names that are checksum manifests.
var manifestNames = map[string]bool{
	"sha256sums": true, "sha512sums": true, "sha256sums.txt": true, "sha512sums.txt": true,
	"checksums.txt": true, "checksums": true, "sha256sums.asc": true, "sha512sums.asc": true,
	"sha256sums.txt.asc": true, "sha512sums.txt.asc": true, "checksums.txt.asc": true,
}

// IsManifestName reports whether a published file's name says it is a
// checksum manifest: SHA256SUMS and friends, or a sidecar (x.sha256).
func IsManifestName(name string) bool {
	base := strings.ToLower(path.Base(name))
	return manifestNames[base] || isSidecarName(base)
}

// CheckPublished downloads every file of a published release through f
// and checks it against the checksums the release publishes: manifests
// among its files, sidecars, and checksum blocks in its release body. A
// manifest that does not parse is an error; a checksum that disagrees
// with its file is a StatusMismatch, not an error.
func CheckPublished(ctx context.Context, src Source, f *Fetcher, opts CheckOptions) (*PublishedCheck, error) {
	listing, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	pc := &PublishedCheck{Source: listing.Source, Tag: listing.Tag, Manifests: []ManifestSummary{}, Assets: []AssetCheck{}}
	byName := map[string]Asset{}
	for _, a := range listing.Assets {
		byName[a.Name] = a
	}
	var manifests []*Manifest
	isManifest := map[string]bool{}
	addManifest := func(m *Manifest, name string) {
		manifests = append(manifests, m)
		pc.Manifests = append(pc.Manifests, ManifestSummary{Name: name, Layout: m.Layout, Checksums: len(m.Checksums), Signature: m.Signature})
	}
	load := func(name string, a Asset, fromRelease bool) error {
		p := name
		if fromRelease {
			d, err := f.Fetch(ctx, a)
			if err != nil {
				return err
			}
			p = d.Path
			isManifest[a.Name] = true
		}
		data, err := readManifestFile(p)
		if err != nil {
			return fmt.Errorf("reading manifest %q: %w", name, err)
		}
		m, err := ParseManifest(name, data)
		if err != nil {
			return err
		}
		if m.Signature.Signed && opts.Keyring != "" {
			if m.Signature, err = VerifySignature(ctx, p, opts.Keyring); err != nil {
				return err
			}
		}
		addManifest(m, name)
		return nil
	}
	if len(opts.Manifests) > 0 {
		for _, name := range opts.Manifests {
			if name == BodyManifest {
				// The release description, named by the spec's "body".
				if strings.TrimSpace(listing.Body) == "" {
					return nil, fmt.Errorf("checksums %q: %s has no release description", name, listing.Source)
				}
				m, err := ParseManifest(listing.BodyName, []byte(listing.Body))
				if err != nil {
					return nil, err
				}
				addManifest(m, listing.BodyName)
				continue
			}
			a, ok := byName[name]
			if err := load(name, a, ok); err != nil {
				return nil, err
			}
		}
	} else {
		if strings.TrimSpace(listing.Body) != "" && looksMarkdown([]byte(listing.Body)) {
			m, err := ParseManifest(listing.BodyName, []byte(listing.Body))
			var pe *ParseError
			switch {
			case err == nil:
				addManifest(m, listing.BodyName)
			case errors.As(err, &pe) && pe.Line == 0:
				// A body with no checksum block: nothing to use.
			default:
				return nil, err
			}
		}
		for _, a := range listing.Assets {
			if IsManifestName(a.Name) {
				if err := load(a.Name, a, true); err != nil {
					return nil, err
				}
			}
		}
	}
	matched := map[string]bool{} // checksum keys that name an asset
	for _, a := range listing.Assets {
		if isManifest[a.Name] {
			continue
		}
		d, err := f.Fetch(ctx, a)
		if err != nil {
			return nil, err
		}
		ac := AssetCheck{Name: a.Name, URL: a.URL, SHA256: d.SHA256, SHA512: d.SHA512, Size: d.Size, Status: StatusUnlisted, Path: d.Path}
		for _, m := range manifests {
			for _, c := range m.Checksums {
				if !namesAsset(c.Name, a.Name) {
					continue
				}
				matched[m.Source+"\x00"+c.Key()+"\x00"+string(c.Algorithm)] = true
				got, err := digestOf(ctx, d, c.Algorithm)
				if err != nil {
					return nil, fmt.Errorf("hashing %q: %w", a.Name, err)
				}
				ac.Checksums = append(ac.Checksums, CheckedChecksum{Checksum: c, Computed: got, Match: got == c.Digest})
			}
		}
		if len(ac.Checksums) > 0 {
			ac.Status = StatusOK
			for _, c := range ac.Checksums {
				if !c.Match {
					ac.Status = StatusMismatch
				}
			}
		}
		pc.Assets = append(pc.Assets, ac)
	}
	for _, m := range manifests {
		for _, c := range m.Checksums {
			if !matched[m.Source+"\x00"+c.Key()+"\x00"+string(c.Algorithm)] {
				pc.Unmatched = append(pc.Unmatched, c)
			}
		}
	}
	sort.Slice(pc.Assets, func(i, j int) bool { return pc.Assets[i].Name < pc.Assets[j].Name })
	return pc, nil
}

// namesAsset reports whether a checksum's name refers to an asset: the
// same name, or the same base name ("dist/app.tar.gz" lists "app.tar.gz").
func namesAsset(checksumName, asset string) bool {
	return checksumName == asset || path.Base(strings.TrimPrefix(checksumName, "./")) == path.Base(asset)
}

// digestOf returns the digest of a downloaded file with alg.
func digestOf(ctx context.Context, d Downloaded, alg Algorithm) (string, error) {
	switch alg {
	case SHA256:
		return d.SHA256, nil
	case SHA512:
		return d.SHA512, nil
	}
	d2 := HashFiles(ctx, []string{d.Path}, alg, 1)[0]
	return d2.Digest, d2.Err
}

func readManifestFile(p string) ([]byte, error) {
	fd, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	data, err := io.ReadAll(io.LimitReader(fd, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}
