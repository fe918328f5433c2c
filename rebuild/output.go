package rebuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reproof/reproof/attest"
	"github.com/reproof/reproof/internal/owner"
)

// Files written beside the artifacts in the output directory.
const (
	ProvenanceFile = "provenance.intoto.json"
	// ProvenanceEnvelopeFile is the provenance signed (Options.Signer): a
	// bundle of one DSSE envelope, the same Statement as ProvenanceFile.
	ProvenanceEnvelopeFile = "provenance.intoto.jsonl"
	LogFile                = "build.log"
	SHA256File             = "SHA256SUMS"
	SHA512File             = "SHA512SUMS"
)

// writeOutput fills a temporary directory beside out and renames it into
// place, so out is complete or absent: the artifacts, their checksums in
// coreutils format, the capped build log and the provenance.
func writeOutput(res *Result, opts Options, srcDir, out string, log []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	tmp, err := owner.TempDir(owner.Beside(out, ".tmp-"))
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	arts, err := collectArtifacts(srcDir, opts.Artifacts, tmp)
	if err != nil {
		return err
	}
	for _, a := range arts {
		if a.Name == ProvenanceFile || a.Name == ProvenanceEnvelopeFile || a.Name == LogFile || a.Name == SHA256File || a.Name == SHA512File {
			return fmt.Errorf("artifact %s: its name collides with a file reproof writes in the output directory", a.Path)
		}
	}
	res.Artifacts = arts

	var s256, s512 bytes.Buffer
	for _, a := range arts {
		fmt.Fprintf(&s256, "%s  %s\n", a.SHA256, a.Name)
		fmt.Fprintf(&s512, "%s  %s\n", a.SHA512, a.Name)
	}
	logSum := sha256.Sum256(log)
	res.LogSHA256 = hex.EncodeToString(logSum[:])
	prov, err := json.MarshalIndent(Provenance(res, opts.Version), "", "  ")
	if err != nil {
		return err
	}
	prov = append(prov, '\n')
	provSum := sha256.Sum256(prov)
	res.ProvenanceSHA256 = hex.EncodeToString(provSum[:])
	files := map[string][]byte{
		SHA256File:     s256.Bytes(),
		SHA512File:     s512.Bytes(),
		LogFile:        log,
		ProvenanceFile: prov,
	}
	if opts.Signer != nil {
		var env bytes.Buffer
		if err := attest.WriteBundle(context.Background(), &env, [][]byte{prov}, opts.Signer); err != nil {
			return fmt.Errorf("signing the provenance: %w", err)
		}
		files[ProvenanceEnvelopeFile] = env.Bytes()
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return err
		}
	}
	// rename(2) replaces an empty directory; checkOutDir allowed only that.
	if err := removeFailedLog(out); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	return nil
}
