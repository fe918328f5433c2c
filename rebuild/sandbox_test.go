package rebuild

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/reproof/reproof/internal/testenv"
)

// The build is untrusted code. sandboxProbe tries, from inside the build,
// everything the sandbox must deny, and writes one KEY=VALUE line per
// attempt to sandbox.txt (its artifact): "yes" when the attempt worked.
// The test reads the verdicts from the build's own output.
const sandboxProbe = `
try() { key=$1; shift; if "$@" >/dev/null 2>&1; then echo "$key=yes"; else echo "$key=no"; fi; }
{
	# Who am I, and can I become root?
	echo "uid=$(id -u)"
	echo "gid=$(id -g)"
	/usr/local/bin/suidprobe
	echo "suidprobe-mode=$(stat -c '%a %u' /usr/local/bin/suidprobe)"
	grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd):' /proc/self/status | tr -d '\t' | tr ':' '='
	try mount busybox mount -t tmpfs none /tmp
	# A user namespace would give the build capabilities over new
	# namespaces: the kernel's largest attack surface for unprivileged code.
	try userns busybox unshare -U -r true
	try userns-net busybox unshare -U -r -n true
	grep -E '^Seccomp:' /proc/self/status | tr -d '\t' | tr ':' '='

	# The network: the host's loopback, and an address of the host's own.
	# (busybox 1.35's wget -T crashes: timeout bounds it instead.)
	try net-loopback timeout 10 busybox wget -q -O /dev/null "$LOOPBACK_URL"
	try net-host timeout 10 busybox wget -q -O /dev/null "$HOST_URL"
	try nc-loopback busybox nc -w 5 127.0.0.1 "$LOOPBACK_PORT" </dev/null
	try nc-host busybox nc -w 5 "$HOST_ADDR" "$HOST_PORT" </dev/null
	echo "interfaces=$(ls /sys/class/net | tr '\n' ' ')"

	# The engine's sockets.
	echo "docker-host=${DOCKER_HOST-unset}"
	try docker-sock test -e /var/run/docker.sock
	try run-docker-sock test -e /run/docker.sock
	try engine-sock test -e "$ENGINE_SOCKET"
	try containerd-sock test -e /run/containerd/containerd.sock
	try podman-sock test -e /run/podman/podman.sock
	echo "sockets=$(find / \( -path /proc -o -path /sys \) -prune -o -type s -print 2>/dev/null | tr '\n' ' ')"

	# Processes: only the build's own.
	echo "pid1=$(tr '\0' '\n' </proc/1/cmdline | head -n 2 | tr '\n' ' ')"
	echo "processes=$(ls /proc | grep -c '^[0-9][0-9]*$')"
	echo "host-marker=$(ps -o args | grep -c "^$HOST_MARKER\$")"

	# The image's filesystem, and anything outside the source mount.
	try write-etc touch /etc/probe
	try write-passwd sh -c 'echo evil::0:0::/:/bin/sh >>/etc/passwd'
	try write-usr touch /usr/probe
	try write-usr-local touch /usr/local/bin/probe
	try write-bin touch /bin/probe
	try write-root touch /probe
	try mkdir-root mkdir /newdir
	try write-parent touch /src/../outside
	try write-through-link sh -c 'ln -s / rootlink && touch rootlink/outside2'
	rm -f rootlink
	try write-tmp touch "/tmp/$TMP_MARKER"
	try write-home touch "$HOME/probe"
} >sandbox.txt 2>&1
`

// suidImage is the toolchain image with a layer holding
// /usr/local/bin/suidprobe, a static program owned by root with the
// setuid bit, which prints its effective UID and whether setuid(0)
// works. It returns the image pushed to the test registry, pinned.
func suidImage(t *testing.T, e *rebuildEnv) string {
	t.Helper()
	testenv.RequireTools(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "suidprobe.c")
	os.WriteFile(src, []byte(`#include <stdio.h>
#include <unistd.h>
int main(void) {
	printf("suid-euid=%d\n", (int)geteuid());
	printf("suid-setuid0=%s\n", setuid(0) == 0 ? "yes" : "no");
	return 0;
}
`), 0o644)
	bin := filepath.Join(dir, "suidprobe")
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc -static: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "usr/local/bin/suidprobe", Typeflag: tar.TypeReg, Mode: 0o4755, Size: int64(len(prog))})
	tw.Write(prog)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	baseRef, err := name.ParseReference(e.set.Toolchain.Ref)
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(baseRef)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(baseRef.Context().RegistryStr() + "/reproof-sandbox/suid:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String()).String()
}

// countingServer is an HTTP server on addr that counts the connections it
// accepts.
type countingServer struct {
	url, host, port string
	conns           atomic.Int64
}

func newCountingServer(t *testing.T, addr string) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &countingServer{url: "http://" + ln.Addr().String() + "/"}
	s.host, s.port, _ = net.SplitHostPort(ln.Addr().String())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached\n") }),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// hostAddress is a non-loopback IPv4 address of this machine.
func hostAddress(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address to probe")
	return ""
}

// parseProbe reads sandbox.txt's KEY=VALUE lines.
func parseProbe(t *testing.T, data []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	return got
}

// sandboxRun is the probe's setting: the listeners, the marker process,
// the engine's socket.
type sandboxRun struct {
	loopback, host *countingServer
	socket         string
	marker         string // argv of a host process the build must not see
	tmpMarker      string // a file the build writes in its /tmp
}

func (s *sandboxRun) options(t *testing.T, e *rebuildEnv, runtime, image string) Options {
	opts := e.options(t, runtime)
	opts.Image = image
	opts.Command, opts.Shell = []string{sandboxProbe}, true
	opts.Artifacts = []string{"sandbox.txt"}
	opts.Env = []string{
		"LOOPBACK_URL=" + s.loopback.url, "LOOPBACK_PORT=" + s.loopback.port,
		"HOST_URL=" + s.host.url, "HOST_ADDR=" + s.host.host, "HOST_PORT=" + s.host.port,
		"ENGINE_SOCKET=" + s.socket, "HOST_MARKER=" + s.marker, "TMP_MARKER=" + s.tmpMarker,
	}
	return opts
}

// TestBuildSandbox runs a hostile build with every runtime: it tries to
// reach the network (a listener on the host's 127.0.0.1 and one on a
// non-loopback address of the host), to find the container engine's
// socket, to become root (a setuid-root program in the image), to write
// the image's filesystem and outside its source mount, and to see the
// host's processes. Every attempt must fail, as the build's own output
// says, and the listeners must see no connection. A build given the
// network (runc, --network) and the same program run by docker without
// no-new-privileges show that the probes do detect what they look for.
func TestBuildSandbox(t *testing.T) {
	e := newRebuildEnv(t)
	ctx := context.Background()
	image := suidImage(t, e)
	rnd := make([]byte, 6)
	rand.Read(rnd)
	s := &sandboxRun{
		loopback:  newCountingServer(t, "127.0.0.1:0"),
		host:      newCountingServer(t, net.JoinHostPort(hostAddress(t), "0")),
		socket:    strings.TrimPrefix(e.docker.Host, "unix://"),
		marker:    "sleep 7" + fmt.Sprint(int(rnd[0])*256+int(rnd[1])),
		tmpMarker: "reproof-sandbox-" + hex.EncodeToString(rnd),
	}
	if fi, err := os.Stat(s.socket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("the engine's socket %s is not there to be found: %v", s.socket, err)
	}
	marker := exec.Command("sh", "-c", "exec "+s.marker)
	if err := marker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { marker.Process.Kill(); marker.Wait() })

	denied := map[string]string{
		"uid": "1000", "gid": "1000", "suid-euid": "1000", "suid-setuid0": "no", "suidprobe-mode": "4755 0",
		"NoNewPrivs": "1", "CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapBnd": "0000000000000000",
		"mount": "no", "userns": "no", "userns-net": "no", "Seccomp": "2",
		"net-loopback": "no", "net-host": "no", "nc-loopback": "no", "nc-host": "no", "interfaces": "lo",
		"docker-host": "unset", "docker-sock": "no", "run-docker-sock": "no", "engine-sock": "no",
		"containerd-sock": "no", "podman-sock": "no", "sockets": "", "host-marker": "0",
		"write-etc": "no", "write-passwd": "no", "write-usr": "no", "write-usr-local": "no", "write-bin": "no",
		"write-root": "no", "mkdir-root": "no", "write-parent": "no", "write-through-link": "no",
		"write-tmp": "yes", "write-home": "yes", // tmpfs of the container's own
	}
	for _, runtime := range buildRuntimes {
		t.Run(runtime, func(t *testing.T) {
			e.require(t, runtime)
			opts := s.options(t, e, runtime, image)
			var log bytes.Buffer
			opts.Log = &log
			res, err := Rebuild(ctx, opts)
			if err != nil {
				t.Fatalf("the probe build failed: %v\n%s", err, log.Bytes())
			}
			e.checkClean(t)
			out, _ := os.ReadFile(filepath.Join(res.OutDir, "sandbox.txt"))
			got := parseProbe(t, out)
			for k, want := range denied {
				if got[k] != want {
					t.Errorf("%s: %s=%q, want %q", runtime, k, got[k], want)
				}
			}
			if n := got["processes"]; n == "" || len(n) > 1 {
				t.Errorf("%s: the build sees %s processes; the host has more than 9", runtime, n)
			}
			if got["pid1"] != "/bin/sh -c" {
				t.Errorf("%s: PID 1 is %q, not the build's shell", runtime, got["pid1"])
			}
			if n := s.loopback.conns.Load() + s.host.conns.Load(); n != 0 {
				t.Errorf("%s: the host's listeners saw %d connections", runtime, n)
			}
			if _, err := os.Stat(filepath.Join(os.TempDir(), s.tmpMarker)); err == nil {
				t.Errorf("%s: the build's /tmp is the host's", runtime)
			}
			if t.Failed() {
				t.Logf("sandbox.txt:\n%s", out)
			}
		})
	}

	// Not a conformance case: it proves the probes with runc's network
	// and with `docker run` itself, outside of any Runtime.
	t.Run("probes work", func(t *testing.T) {
		// Given the network, the same build reaches both listeners.
		opts := s.options(t, e, "runc", image)
		opts.Network = true
		res, err := Rebuild(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := os.ReadFile(filepath.Join(res.OutDir, "sandbox.txt"))
		got := parseProbe(t, out)
		for _, k := range []string{"net-loopback", "net-host", "nc-loopback", "nc-host"} {
			if got[k] != "yes" {
				t.Errorf("with --network: %s=%q, want yes", k, got[k])
			}
		}
		if s.loopback.conns.Load() == 0 || s.host.conns.Load() == 0 {
			t.Errorf("with --network the listeners saw no connection")
		}
		e.checkClean(t)

		// Without no-new-privileges the setuid program runs as root: the
		// bit is real. (reproof loaded the image into the engine under
		// its config digest.)
		cfg, err := res.Image.Image.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.docker.Output(ctx, "image", "inspect", cfg.String()); err != nil {
			t.Skipf("the image is not in the engine: %v", err)
		}
		raw, err := e.docker.Output(ctx, "run", "--rm", "--network", "none", "--user", "1000:1000", cfg.String(), "/usr/local/bin/suidprobe")
		if err != nil {
			t.Fatal(err)
		}
		if got := parseProbe(t, raw); got["suid-euid"] != "0" {
			t.Errorf("without no-new-privileges: %s", raw)
		}

		// Without a seccomp filter, the same user makes a user namespace:
		// the kernel allows it, and only the filter stops the build.
		if _, err := e.docker.Output(ctx, "run", "--rm", "--network", "none", "--user", "1000:1000", "--cap-drop", "ALL",
			"--security-opt", "no-new-privileges", "--security-opt", "seccomp=unconfined", cfg.String(),
			"busybox", "unshare", "-U", "-r", "true"); err != nil {
			// The host refuses user namespaces itself (a sysctl, or a
			// filter around this whole machine): the builds' userns=no
			// above shows nothing about reproof's filter here.
			t.Logf("without a seccomp filter unshare -U fails too; the userns probe proves nothing on this host: %v", err)
		}
	})
}
