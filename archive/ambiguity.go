package archive

import (
	"errors"
	"fmt"
	"strings"
)

// ErrAmbiguous is wrapped by the error of an operation that refuses an
// archive holding an ambiguous construct (Normalize does: rewriting such an
// archive would pick one reading and hide the others).
var ErrAmbiguous = errors.New("ambiguous archive")

// Ambiguity is a construct in an archive that the mainstream extractors
// (GNU tar, bsdtar, Info-ZIP unzip, Python's tarfile and zipfile,
// dpkg-deb, GNU cpio) would unpack differently from one another, or that
// this package does not model. An archive that holds one is never
// equivalent to another: what a user gets from it depends on the tool.
type Ambiguity struct {
	// Construct names the construct in a few words, stable across
	// releases ("pax path with a GNU long name").
	Construct string
	// Detail says, in one line, what was found and which extractor reads
	// what ("GNU tar extracts \"b\", bsdtar \"a\"").
	Detail string
}

func (a Ambiguity) String() string {
	if a.Detail == "" {
		return a.Construct
	}
	return a.Construct + ": " + a.Detail
}

// ambiguous returns an Ambiguity with a formatted detail.
func ambiguous(construct, format string, args ...any) Ambiguity {
	return Ambiguity{Construct: construct, Detail: fmt.Sprintf(format, args...)}
}

// ambiguityError is the error of an operation that refuses an ambiguous
// archive: the first construct found, and how many more there are.
func ambiguityError(entry string, found []Ambiguity) error {
	if len(found) == 0 {
		return nil
	}
	msg := found[0].String()
	if entry != "" {
		msg = fmt.Sprintf("entry %q: %s", clipName(entry), msg)
	}
	if len(found) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(found)-1)
	}
	return fmt.Errorf("%w: %s", ErrAmbiguous, strings.TrimSpace(msg))
}
