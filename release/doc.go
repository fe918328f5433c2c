// Package release reads the published side of a release: where its files
// come from (a directory, a web server, a GitHub or GitLab release) and the
// checksum manifests that vouch for them, in every layout found in the
// wild (coreutils and BSD lines, bare-hex sidecars, checksum blocks in a
// Markdown release body, PGP clear-signed manifests, JSON indexes with no
// digests at all).
//
// It is strict: a malformed manifest line is an error naming the file and
// line, never skipped; a name listed twice with two digests is an error;
// downloads are verified while they stream and nothing unverified is
// cached. A hostile or broken server gets bounded time and attempts: every
// wait for it is bounded (SourceOptions.Timeout, or REPROOF_HTTP_TIMEOUT),
// transient failures are retried a bounded number of times, redirects are
// capped and loops refused, and sizes are capped.
package release
