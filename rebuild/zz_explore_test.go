package rebuild

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestZZExplore(t *testing.T) {
	kinds := []string{"404", "500", "reset", "stall-headers", "stall-body", "more-than-cl", "redirect-loop"}
	for _, target := range []string{"manifests", "blobs"} {
		for _, kind := range kinds {
			t.Run(target+"/"+kind, func(t *testing.T) {
				reg := newTestRegistry(t)
				img := testImage(t, "linux", "amd64")
				d := reg.push(t, "base", "v1", img)
				var hits atomic.Int32
				stop := make(chan struct{})
				defer close(stop)
				reg.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/"+target+"/") {
						return false
					}
					hits.Add(1)
					switch kind {
					case "404":
						http.Error(w, "nope", 404)
					case "500":
						http.Error(w, "oops", 500)
					case "reset":
						rec := httptest.NewRecorder()
						next.ServeHTTP(rec, r)
						conn, buf, _ := w.(http.Hijacker).Hijack()
						fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDocker-Content-Digest: %s\r\nContent-Length: %d\r\n\r\n", rec.Header().Get("Content-Type"), rec.Header().Get("Docker-Content-Digest"), rec.Body.Len())
						buf.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
						buf.Flush()
						conn.(*net.TCPConn).SetLinger(0)
						conn.Close()
					case "stall-headers":
						select {
						case <-r.Context().Done():
						case <-stop:
						}
					case "stall-body":
						rec := httptest.NewRecorder()
						next.ServeHTTP(rec, r)
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
					case "more-than-cl":
						rec := httptest.NewRecorder()
						next.ServeHTTP(rec, r)
						conn, buf, _ := w.(http.Hijacker).Hijack()
						fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDocker-Content-Digest: %s\r\nContent-Length: %d\r\n\r\n", rec.Header().Get("Content-Type"), rec.Header().Get("Docker-Content-Digest"), rec.Body.Len())
						buf.Write(rec.Body.Bytes())
						buf.Write([]byte("EXTRA GARBAGE"))
						buf.Flush()
						conn.Close()
					case "redirect-loop":
						http.Redirect(w, r, r.URL.Path, http.StatusFound)
					}
					return true
				})
				opts := testOptions(t)
				ref := fmt.Sprintf("%s/base@%s", reg.host, d)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				start := time.Now()
				_, err := PullImage(ctx, ref, opts)
				t.Logf("%v hits=%d took=%v", err, hits.Load(), time.Since(start).Round(time.Millisecond))
			})
		}
	}
}
