package testenv

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
)

// A Fault is what a misbehaving server (a release host, a registry) does
// with one request. stop is closed when the test ends, so that stalled
// handlers return; good serves the right answer (the file, the registry's
// own response) for faults that start from it.
type Fault func(stop <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler)

// Recorded is good's answer to r.
func Recorded(good http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	good.ServeHTTP(rec, r)
	return rec
}

// RawAnswer hijacks the connection and writes rec's status and headers
// with Content-Length announced, then body, and returns the connection and
// its buffered reader for the caller to finish with.
func RawAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder, announced int, body []byte) (net.Conn, *bufio.ReadWriter) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	head := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	for k, vs := range rec.Header() {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			head = fmt.Appendf(head, "%s: %s\r\n", k, v)
		}
	}
	head = fmt.Appendf(head, "Content-Length: %d\r\n\r\n", announced)
	Send(buf, head, body)
	return conn, buf
}

// Send writes parts on a hijacked connection and flushes them. The client
// under test may hang up at any point, which can be what the test is
// about: what it received is what the test checks, so a failed write is
// not an error here.
func Send(buf *bufio.ReadWriter, parts ...[]byte) {
	for _, p := range parts {
		if _, err := buf.Write(p); err != nil {
			return
		}
	}
	buf.Flush() //nolint:errcheck // the client may have hung up (see above)
}

// ResetConn closes conn with a TCP reset.
func ResetConn(conn net.Conn) {
	if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
		panic(err) // a plain close instead of the reset would test another fault
	}
	conn.Close()
}

// StallBeforeHeaders never answers.
func StallBeforeHeaders(stop <-chan struct{}, w http.ResponseWriter, r *http.Request, _ http.Handler) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
}

// StallInBody sends the right headers and half the body, then nothing.
func StallInBody(stop <-chan struct{}, w http.ResponseWriter, r *http.Request, good http.Handler) {
	rec := Recorded(good, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-stop:
	}
}
