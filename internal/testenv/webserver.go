package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Web servers a test can serve a directory with, as users host releases.
const (
	Nginx        = "nginx"         // Debian's nginx, autoindex on
	NginxNoIndex = "nginx-noindex" // nginx with autoindex off: 403 for a directory
	PythonHTTP   = "python"        // python3 -m http.server, which lists directories
)

// ServeDir serves root on 127.0.0.1 with a real web server of the kind
// given until the test ends, and returns its base URL, without a trailing
// "/". A missing server fails the test, naming its Debian package; one
// that does not answer within 10 s fails it with the server's own output.
func ServeDir(t testing.TB, kind, root string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tmp := t.TempDir()
	var cmd *exec.Cmd
	switch kind {
	case Nginx, NginxNoIndex:
		autoindex := map[bool]string{true: "on", false: "off"}[kind == Nginx]
		conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { text/html html; text/plain txt; application/gzip tgz; }
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
		autoindex %[4]s;
	}
}
`, tmp, port, root, autoindex)
		confPath := filepath.Join(tmp, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(lookTool(t, "nginx", "nginx"), "-e", filepath.Join(tmp, "error.log"), "-p", tmp, "-c", confPath)
	case PythonHTTP:
		cmd = exec.Command(lookTool(t, "python3", "python3"), "-m", "http.server", "--bind", "127.0.0.1", "--directory", root, fmt.Sprint(port))
	default:
		t.Fatalf("testenv.ServeDir: unknown server %q", kind)
	}
	out, err := os.Create(filepath.Join(tmp, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() //nolint:errcheck // the child writes through its own copy
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", kind, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // stopping it
		cmd.Wait()         //nolint:errcheck // killed
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s: %v\n%s\n%s", kind, addr, err, tail(filepath.Join(tmp, "error.log"), 20), tail(filepath.Join(tmp, "output"), 20))
		}
	}
}

// lookTool finds a tool on PATH or in /usr/sbin (nginx, for users whose
// PATH lacks it) and fails the test, naming the Debian package, when it
// is missing.
func lookTool(t testing.TB, tool, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	if p := filepath.Join("/usr/sbin", tool); func() bool { _, err := os.Stat(p); return err == nil }() {
		return p
	}
	t.Fatalf("%s is not installed; install the Debian package %q", tool, pkg)
	return ""
}
