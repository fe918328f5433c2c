package rebuild

import (
	"bytes"
	"regexp"
	"strings"
)

// FailedLogFile is the build log a failed build leaves in the output
// directory: the whole kept log (see DefaultLogLimit), for the user to
// read. A later rebuild into that directory replaces it.
const FailedLogFile = "build-failed.log"

// maxExplain caps the lines Explain picks out of a log.
const maxExplain = 12

// explainLine matches the lines that usually say why a build failed:
// compilers', linkers', shells', package managers' and make's errors.
var explainLine = regexp.MustCompile(`(?i)(\berror\b|\bfatal\b|undefined reference|not found|no such file|cannot |can't |permission denied|\bfailed\b|\*\*\*|panic:|traceback|exception)`)

// networkLine matches what a build prints when it reaches for a network it
// does not have.
var networkLine = regexp.MustCompile(`(?i)(could not resolve|temporary failure in name resolution|name or service not known|no such host|network is unreachable|no route to host|connection refused|connection timed out|failed to connect|dial tcp|getaddrinfo|eai_again|enotfound|econnrefused|unable to access .http|could not connect|bad address|resolve host)`)

// Explain picks out of a build log the lines that explain a failure (at
// most 12, in order, each once), and a hint when the build failed reaching
// for the network it runs without.
func Explain(log []byte, network bool) (lines []string, hint string) {
	seen := map[string]bool{}
	offline := false
	for _, l := range bytes.Split(log, []byte("\n")) {
		s := strings.TrimSpace(string(l))
		if s == "" {
			continue
		}
		if !network && networkLine.MatchString(s) {
			offline = true
		}
		if len(lines) < maxExplain && !seen[s] && (explainLine.MatchString(s) || networkLine.MatchString(s)) {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	if offline {
		hint = NetworkHint
	}
	return lines, hint
}

// NetworkHint is what to do when a build that runs offline reaches for
// the network.
const NetworkHint = "the build runs with the network off: vendor its dependencies into the source (go mod vendor, cargo vendor, a committed npm cache), or allow --network (recorded in the provenance and warned in every report)"
