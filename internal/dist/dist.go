// Package dist makes reproof's own release artifacts: the per-platform
// archives and the container image of reproof, as an OCI layout.
//
// Everything here is deterministic: the same files and the same
// SOURCE_DATE_EPOCH give the same bytes, whatever the order the files were
// given in, the times and owners they have on disk, the umask, the time
// zone or the machine. Archives list their entries sorted bytewise, owned
// by 0:0 with no user or group names, every mtime the epoch, no access or
// change times; gzip streams carry no name and no time. The release build
// (internal/dist/cmd/release-build, run by release.toml inside `reproof
// rebuild`) calls it; so do the tests that build the same release twice
// and compare.
package dist
