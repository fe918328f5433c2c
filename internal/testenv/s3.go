package testenv

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// VersityGW is the S3-compatible server the tests serve buckets with:
// Versity's S3 gateway, built from the Go module proxy at this version
// (its POSIX backend maps buckets to directories and objects to files).
const VersityGW = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3Server is a running S3-compatible server on 127.0.0.1.
type S3Server struct {
	URL    string // http://127.0.0.1:PORT, no trailing "/"
	Root   string // the directory of its buckets: ROOT/BUCKET/KEY
	access string
	secret string
}

// StartS3 starts the S3 gateway over a new bucket root until the test
// ends, and creates each bucket with a policy that lets anyone list it
// and read its objects, as a public release bucket does. Tests put files
// under Root/BUCKET/ directly.
func StartS3(t testing.TB, buckets ...string) *S3Server {
	t.Helper()
	bin, err := GoTool(VersityGW)
	if err != nil {
		Unmet(t, &MissingError{What: []string{"versitygw"}, Reason: err.Error()})
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tmp := t.TempDir()
	s := &S3Server{
		URL:    fmt.Sprintf("http://127.0.0.1:%d", port),
		Root:   filepath.Join(tmp, "buckets"),
		access: "reproofaccess",
		secret: "reproofsecretkey0123456789",
	}
	sidecar := filepath.Join(tmp, "meta")
	for _, d := range []string{s.Root, sidecar} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.Create(filepath.Join(tmp, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() //nolint:errcheck // the child writes through its own copy
	cmd := exec.Command(bin, "--access", s.access, "--secret", s.secret, "--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet",
		"posix", "--sidecar", sidecar, s.Root)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // stopping it
		cmd.Wait()         //nolint:errcheck // killed
	})
	waitListening(t, "versitygw", port, filepath.Join(tmp, "output"))
	for _, b := range buckets {
		s.do(t, http.MethodPut, "/"+b, "", nil)
		policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"]}]}`, b)
		s.do(t, http.MethodPut, "/"+b, "policy=", []byte(policy))
	}
	return s
}

// waitListening waits up to 10 s for a server to accept connections on
// port, and fails the test with the server's output otherwise.
func waitListening(t testing.TB, what string, port int, outputPath string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on port %d within 10 s: %v\n%s", what, port, err, tail(outputPath, 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do sends one request signed with AWS Signature Version 4 as the root
// user, and fails the test unless the server answers 2xx.
func (s *S3Server) do(t testing.TB, method, path, query string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path+"?"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	s.sign(req, body, time.Now().UTC())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("S3 %s %s?%s: %v", method, path, query, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read to its end below
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("S3 %s %s?%s: reading the answer: %v", method, path, query, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("S3 %s %s?%s: %s\n%s", method, path, query, resp.Status, answer)
	}
}

// sign adds the headers of AWS Signature Version 4 for region us-east-1.
// The query must already be in canonical form (sorted, encoded).
func (s *S3Server) sign(req *http.Request, body []byte, now time.Time) {
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	payload := sha256.Sum256(body)
	payloadHex := hex.EncodeToString(payload[:])
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHex)
	signed := "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{
		req.Method,
		req.URL.EscapedPath(),
		req.URL.RawQuery,
		"host:" + req.URL.Host + "\nx-amz-content-sha256:" + payloadHex + "\nx-amz-date:" + amzDate + "\n",
		signed,
		payloadHex,
	}, "\n")
	scope := day + "/us-east-1/s3/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + s.secret)
	for _, part := range []string{day, "us-east-1", "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.access, scope, signed, hex.EncodeToString(hmacSHA256(key, toSign))))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
