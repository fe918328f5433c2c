package release

import (
	"bytes"
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
	// Side says what a side file is (SideFileKind): never an artifact to
	// rebuild. "" for an artifact.
	Side SideKind `json:"side,omitempty"`
	// Signature is what the detached signatures of the file (NAME.asc,
	// NAME.sig, ...) say; nil when it has none. A bad one makes the
	// file a StatusMismatch.
	Signature *Signature `json:"signature,omitempty"`
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
	// Distrust, when set, is why the checksum is not believed whatever
	// the digests say: its manifest's signature is bad (a manifest edited
	// after signing, or signed by a key not in the keyring). Match is
	// then false.
	Distrust string `json:"distrust,omitempty"`
}

// ManifestSummary describes a manifest found in a release.
type ManifestSummary struct {
	Name      string `json:"name"`
	Layout    Layout `json:"layout"`
	Checksums int    `json:"checksums"`
	// Signature is what the manifest's signatures say: its clear
	// signature and its detached ones (SignedBy) together; a bad one wins.
	// Without a keyring it is Signed and not Checked.
	Signature Signature `json:"signature"`
	// SignedBy names the detached signatures of the manifest
	// (SHA256SUMS.asc, SHA256SUMS.sig).
	SignedBy []string `json:"signed_by,omitempty"`
}

// SignatureCheck is one detached signature found in a release and the
// file it signs: the same name minus the suffix (SHA256SUMS.asc signs
// SHA256SUMS).
type SignatureCheck struct {
	Name  string `json:"name"`  // the signature file
	Signs string `json:"signs"` // the file it is named after
	// Target is "manifest" or "file", or "" when the release does not
	// publish the file the signature is named after (reported, nothing
	// checked).
	Target    string    `json:"target"`
	Signature Signature `json:"signature"`
}

// PublishedCheck is a published release checked against its own
// checksums.
type PublishedCheck struct {
	Source string `json:"source"`
	Tag    string `json:"tag,omitempty"`
	// Listed says how the release was listed (Listing.How): "nginx
	// autoindex, 14 files", "no listing: … answered 404 Not Found".
	Listed    string            `json:"listed,omitempty"`
	Manifests []ManifestSummary `json:"manifests"`
	Assets    []AssetCheck      `json:"assets"`
	// Unmatched are published checksums that name no published file
	// (nimbus-eth2's release body lists the binaries inside its tarballs).
	Unmatched []Checksum `json:"unmatched,omitempty"`
	// Signatures are the detached signatures of the release, each with
	// the file it signs, sorted by name.
	Signatures []SignatureCheck `json:"signatures,omitempty"`
}

// BodyManifest names the release description among CheckOptions.Manifests.
const BodyManifest = "body"

// CheckOptions configure CheckPublished.
type CheckOptions struct {
	// Manifests names the manifests to use: assets of the release,
	// BodyManifest for the release description, or local files. Empty: every asset that looks like a manifest, and the
	// release body when it has checksum blocks.
	Manifests []string
	// Keyring, when set, checks the signatures of the release with gpgv:
	// clear-signed manifests and detached OpenPGP signatures.
	Keyring string
}

// CheckPublished downloads every file of a published release through f
// and checks it against the checksums the release publishes: manifests
// among its files, sidecars, and checksum blocks in its release body. A
// manifest that does not parse is an error; a checksum that disagrees
// with its file is a StatusMismatch, not an error.
//
// Detached signatures (NAME.asc, NAME.sig, NAME.gpg, NAME.minisig) are
// paired with the file they are named after and, with opts.Keyring, the
// OpenPGP ones are checked with gpgv. A bad signature (a file edited
// after signing, or a signer whose key is not in the keyring) fails the
// release as a checksum that disagrees does: every checksum of a manifest
// whose signature is bad is distrusted (CheckedChecksum.Distrust, Match
// false), so the files it lists are StatusMismatch, and a file whose own
// signature is bad is StatusMismatch. A signature whose file is not
// published is listed in Signatures with no Target. Side files
// (SideFileKind) are checked against the manifests like any file and
// marked AssetCheck.Side; they are never manifests.
func CheckPublished(ctx context.Context, src Source, f *Fetcher, opts CheckOptions) (*PublishedCheck, error) {
	listing, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	pc := &PublishedCheck{Source: listing.Source, Tag: listing.Tag, Listed: listing.How, Manifests: []ManifestSummary{}, Assets: []AssetCheck{}}
	byName := map[string]Asset{}
	for _, a := range listing.Assets {
		byName[a.Name] = a
	}
	fetched := map[string]Downloaded{}
	fetch := func(a Asset) (Downloaded, error) {
		if d, ok := fetched[a.Name]; ok {
			return d, nil
		}
		d, err := f.Fetch(ctx, a)
		if err == nil {
			fetched[a.Name] = d
		}
		return d, err
	}
	// The signatures' bytes: a clear-signed SHA256SUMS.asc is a manifest,
	// a detached one signs SHA256SUMS.
	sigData := map[string][]byte{}
	clearSigned := map[string]bool{}
	for _, a := range listing.Assets {
		target, ok := signatureTarget(a.Name)
		if !ok {
			continue
		}
		d, err := fetch(a)
		if err != nil {
			return nil, err
		}
		data, err := readManifestFile(d.Path)
		if err != nil {
			return nil, fmt.Errorf("reading signature %q: %w", a.Name, err)
		}
		sigData[a.Name] = data
		if bytes.HasPrefix(bytes.TrimLeft(data, "\r\n\t "), []byte(pgpBegin)) && IsManifestName(target) {
			clearSigned[a.Name] = true
		}
	}

	var manifests []*Manifest
	manifestIndex := map[string]int{} // release file name -> index in manifests
	isManifest := map[string]bool{}
	addManifest := func(m *Manifest, name string) {
		manifests = append(manifests, m)
		pc.Manifests = append(pc.Manifests, ManifestSummary{Name: name, Layout: m.Layout, Checksums: len(m.Checksums), Signature: m.Signature})
	}
	load := func(name string, a Asset, fromRelease bool) error {
		p := name
		if fromRelease {
			d, err := fetch(a)
			if err != nil {
				return err
			}
			p = d.Path
			isManifest[a.Name] = true
			manifestIndex[a.Name] = len(manifests)
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
			a, ok := ManifestAsset(src, byName, name)
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
			if IsManifestName(a.Name) || clearSigned[a.Name] {
				if err := load(a.Name, a, true); err != nil {
					return nil, err
				}
			}
		}
	}

	// Detached signatures, paired with the files they are named after.
	fileSig := map[string]*Signature{}
	for _, a := range listing.Assets {
		data, ok := sigData[a.Name]
		if !ok || isManifest[a.Name] {
			continue
		}
		target, _ := signatureTarget(a.Name)
		sc := SignatureCheck{Name: a.Name, Signs: target}
		ta, published := byName[target]
		if !published {
			sc.Signature = Signature{Signed: true, Detail: fmt.Sprintf("signs %q, which the release does not publish: nothing checked", target)}
			pc.Signatures = append(pc.Signatures, sc)
			continue
		}
		td, err := fetch(ta)
		if err != nil {
			return nil, err
		}
		if sc.Signature, err = checkDetached(ctx, a.Name, fetched[a.Name].Path, data, td.Path, opts.Keyring); err != nil {
			return nil, err
		}
		if i, ok := manifestIndex[target]; ok {
			sc.Target = "manifest"
			ms := &pc.Manifests[i]
			ms.Signature = worseSignature(ms.Signature, sc.Signature)
			ms.SignedBy = append(ms.SignedBy, a.Name)
			manifests[i].Signature = ms.Signature
		} else {
			sc.Target = "file"
			prev := Signature{}
			if fileSig[target] != nil {
				prev = *fileSig[target]
			}
			s := worseSignature(prev, sc.Signature)
			fileSig[target] = &s
		}
		pc.Signatures = append(pc.Signatures, sc)
	}
	// A manifest whose signature is bad vouches for nothing.
	distrust := map[string]string{} // manifest source -> why
	for _, m := range manifests {
		if sig := m.Signature; sig.Signed && sig.Checked && !sig.Valid {
			distrust[m.Source] = fmt.Sprintf("%s has a BAD signature (%s)", m.Source, sig.Detail)
		}
	}

	matched := map[string]bool{} // checksum keys that name an asset
	for _, a := range listing.Assets {
		if isManifest[a.Name] {
			continue
		}
		d, err := fetch(a)
		if err != nil {
			return nil, err
		}
		ac := AssetCheck{Name: a.Name, URL: a.URL, SHA256: d.SHA256, SHA512: d.SHA512, Size: d.Size, Status: StatusUnlisted, Path: d.Path,
			Side: SideFileKind(a.Name), Signature: fileSig[a.Name]}
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
				why := distrust[m.Source]
				ac.Checksums = append(ac.Checksums, CheckedChecksum{Checksum: c, Computed: got, Match: got == c.Digest && why == "", Distrust: why})
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
		if sig := ac.Signature; sig != nil && sig.Checked && !sig.Valid {
			ac.Status = StatusMismatch
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
	sort.Slice(pc.Signatures, func(i, j int) bool { return pc.Signatures[i].Name < pc.Signatures[j].Name })
	return pc, nil
}

// NotCheckedNoKeyring is the Detail of a detached OpenPGP signature that
// was not checked because no keyring was given.
const NotCheckedNoKeyring = "not checked: no keyring given"

// checkDetached checks one detached signature (sigPath, whose bytes are
// data) of the file at targetPath. Only OpenPGP signatures are checked,
// and only with a keyring; anything else is Signed and not Checked, with
// the reason in Detail.
func checkDetached(ctx context.Context, name, sigPath string, data []byte, targetPath, keyring string) (Signature, error) {
	switch {
	case strings.HasSuffix(strings.ToLower(name), ".minisig"):
		return Signature{Signed: true, Detail: "a minisign signature: not checked"}, nil
	case !isOpenPGPSignature(data):
		return Signature{Signed: true, Detail: "not an OpenPGP signature (cosign?): not checked"}, nil
	case keyring == "":
		return Signature{Signed: true, Detail: NotCheckedNoKeyring}, nil
	}
	sig, err := VerifyDetached(ctx, sigPath, targetPath, keyring)
	if err != nil {
		return sig, fmt.Errorf("signature %q: %w", name, err)
	}
	if !sig.Valid {
		sig.Detail = name + ": " + sig.Detail
	}
	return sig, nil
}

// worseSignature combines two signatures of one file: a checked bad one
// wins over a good one, a good one over an unchecked one.
func worseSignature(a, b Signature) Signature {
	rank := func(s Signature) int {
		switch {
		case !s.Signed:
			return 0
		case !s.Checked:
			return 1
		case s.Valid:
			return 2
		}
		return 3
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
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
