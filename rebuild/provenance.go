package rebuild

import (
	"strings"
	"time"
)

// In-toto and SLSA identifiers.
const (
	StatementType        = "https://in-toto.io/Statement/v1"
	ProvenancePredicate  = "https://slsa.dev/provenance/v1"
	RebuildBuildType     = "https://github.com/reproof/reproof/blob/main/docs/provenance.md#rebuild-v1"
	BuilderID            = "https://github.com/reproof/reproof"
	provenanceTimeFormat = time.RFC3339
)

// Statement is an in-toto v1 Statement.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     any       `json:"predicate"`
}

// Subject is one artifact an in-toto Statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAProvenance is the SLSA provenance v1 predicate.
type SLSAProvenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   InternalParameters   `json:"internalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
}

// ExternalParameters are the inputs the user chose: with them and the
// resolved dependencies, anyone can run the same rebuild.
type ExternalParameters struct {
	Repo            string   `json:"repo"`
	Tag             string   `json:"tag"`
	SourceDateEpoch int64    `json:"source_date_epoch"`
	Image           string   `json:"image"`
	Platform        string   `json:"platform"`
	Command         []string `json:"command"`
	Shell           bool     `json:"shell,omitempty"`
	Env             []string `json:"env"`
	User            string   `json:"user"`
	Network         bool     `json:"network"`
	Artifacts       []string `json:"artifacts"`
	// Limits are the build's limits, defaults resolved; absent from a
	// record made before reproof had them.
	Limits *LimitsRecord `json:"limits,omitempty"`
}

// LimitsRecord is Limits as the provenance records them (docs/limits.md).
type LimitsRecord struct {
	Pids        int64   `json:"pids"`
	MemoryBytes int64   `json:"memory_bytes"`
	CPUs        float64 `json:"cpus"`
	TmpfsBytes  int64   `json:"tmpfs_bytes"`
	OutputBytes int64   `json:"output_bytes"`
}

// InternalParameters are what reproof chose or found.
type InternalParameters struct {
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	Unpinned       bool   `json:"image_unpinned,omitempty"`
	// OutputLimit says how the output limit was held: "filesystem" (a
	// size-limited filesystem of its own) or "watched (WHY)".
	OutputLimit string `json:"output_limit,omitempty"`
}

type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Metadata   BuildMetadata        `json:"metadata"`
	Byproducts []ResourceDescriptor `json:"byproducts"`
}

type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version"`
}

type BuildMetadata struct {
	StartedOn  string `json:"startedOn"`
	FinishedOn string `json:"finishedOn"`
}

// Provenance is the in-toto Statement with the SLSA provenance v1 predicate
// for a finished rebuild: each artifact's sha256 and sha512 as subjects,
// the source and image as resolved dependencies.
func Provenance(res *Result, version string) *Statement {
	subjects := make([]Subject, 0, len(res.Artifacts))
	for _, a := range res.Artifacts {
		subjects = append(subjects, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256, "sha512": a.SHA512}})
	}
	src, img := res.Source, res.Image
	gitDigest := map[string]string{"gitCommit": src.Commit}
	if src.TagObject != "" {
		gitDigest["gitTag"] = src.TagObject
	}
	deps := []ResourceDescriptor{
		{Name: "source", URI: "git+" + src.Repo + "@refs/tags/" + src.Tag, Digest: gitDigest},
		{Name: "source-tree", URI: "git+" + src.Repo + "@" + src.Commit + "^{tree}", Digest: map[string]string{"gitTree": src.Tree}},
		{Name: "image", URI: "oci://" + img.Ref, Digest: digestMap(img.Digest)},
	}
	if img.IndexDigest != "" {
		deps = append(deps, ResourceDescriptor{Name: "image-index", URI: "oci://" + img.Ref, Digest: digestMap(img.IndexDigest)})
	}
	if version == "" {
		version = "(devel)"
	}
	cmd := res.Command
	if cmd == nil {
		cmd = []string{}
	}
	return &Statement{
		Type:          StatementType,
		Subject:       subjects,
		PredicateType: ProvenancePredicate,
		Predicate: SLSAProvenance{
			BuildDefinition: BuildDefinition{
				BuildType: RebuildBuildType,
				ExternalParameters: ExternalParameters{
					Repo: src.Repo, Tag: src.Tag, SourceDateEpoch: src.SourceDateEpoch,
					Image: img.Ref, Platform: img.Platform,
					Command: cmd, Shell: res.Shell, Env: res.Env,
					User: res.User.String(), Network: res.Network, Artifacts: res.Patterns,
					Limits: limitsRecord(res.Limits),
				},
				InternalParameters: InternalParameters{Runtime: res.Runtime, RuntimeVersion: res.RuntimeVersion,
					Unpinned: img.Unpinned, OutputLimit: res.OutputLimit},
				ResolvedDependencies: deps,
			},
			RunDetails: RunDetails{
				Builder:    Builder{ID: BuilderID, Version: map[string]string{"reproof": version}},
				Metadata:   BuildMetadata{StartedOn: res.StartedOn.Format(provenanceTimeFormat), FinishedOn: res.FinishedOn.Format(provenanceTimeFormat)},
				Byproducts: []ResourceDescriptor{{Name: LogFile, Digest: map[string]string{"sha256": res.LogSHA256}}},
			},
		},
	}
}

// limitsRecord is l for the provenance, nil for no limits at all.
func limitsRecord(l Limits) *LimitsRecord {
	if l == (Limits{}) {
		return nil
	}
	return &LimitsRecord{Pids: l.Pids, MemoryBytes: l.Memory, CPUs: l.CPUs, TmpfsBytes: l.TmpfsSize, OutputBytes: l.OutputSize}
}

// digestMap turns "sha256:hex" into {"sha256": "hex"}.
func digestMap(d string) map[string]string {
	alg, hexDigest, ok := strings.Cut(d, ":")
	if !ok {
		return map[string]string{}
	}
	return map[string]string{alg: hexDigest}
}
