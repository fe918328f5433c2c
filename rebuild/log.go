package rebuild

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// buildLog keeps a capped copy of a build's output: the first headCap bytes
// and the last tailCap bytes, with a line saying how much was dropped
// between them. Builds can print gigabytes; the log is evidence, so its
// start (the environment, the first error) and its end (the failure) are
// what matter. Safe for concurrent writes from stdout and stderr copiers.
type buildLog struct {
	mu      sync.Mutex
	headCap int
	tailCap int
	head    []byte
	tail    []byte // a ring of tailCap bytes once full; next is where the next byte goes
	next    int
	dropped int64
}

func newBuildLog(limit int64) *buildLog {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	head := int(limit / 4)
	return &buildLog{headCap: head, tailCap: int(limit) - head}
}

// DefaultLogLimit caps the build log kept in the output: 4 MiB.
const DefaultLogLimit = 4 << 20

func (l *buildLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if room := l.headCap - len(l.head); room > 0 {
		k := min(room, len(p))
		l.head = append(l.head, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		if len(l.tail) < l.tailCap { // filling the ring
			k := min(l.tailCap-len(l.tail), len(p))
			l.tail = append(l.tail, p[:k]...)
			p = p[k:]
			continue
		}
		if len(p) > l.tailCap { // only the last tailCap bytes can survive
			l.dropped += int64(len(p) - l.tailCap)
			p = p[len(p)-l.tailCap:]
		}
		k := copy(l.tail[l.next:], p)
		l.dropped += int64(k)
		l.next = (l.next + k) % l.tailCap
		p = p[k:]
	}
	return n, nil
}

// Bytes is the kept log.
func (l *buildLog) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b bytes.Buffer
	b.Write(l.head)
	if l.dropped > 0 {
		fmt.Fprintf(&b, "\n[reproof: %d bytes of build output omitted here]\n", l.dropped)
	}
	b.Write(l.tail[l.next:])
	b.Write(l.tail[:l.next])
	return b.Bytes()
}

// Tail is the last n lines of the log, for error messages.
func (l *buildLog) Tail(n int) string {
	all := strings.TrimRight(string(l.Bytes()), "\n")
	lines := strings.Split(all, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
