package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

const (
	registryReadyTimeout = 15 * time.Second
	registryStopTimeout  = 10 * time.Second
)

// Registry starts go-containerregistry's in-memory OCI registry behind a real
// HTTP server on 127.0.0.1 and returns its address, "127.0.0.1:PORT". It is
// closed when t ends.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// RegistryProcess starts Debian's docker-registry (see StartRegistryProcess)
// with its storage in a temporary directory and returns its address,
// "127.0.0.1:PORT". It is stopped when t ends. Without docker-registry the
// test is skipped or fails, as with RequireTools.
func RegistryProcess(t testing.TB) string {
	t.Helper()
	RequireTools(t, "docker-registry")
	ctx, cancel := context.WithTimeout(context.Background(), 2*registryReadyTimeout)
	defer cancel()
	addr, stop, err := StartRegistryProcess(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("testenv: stopping docker-registry: %v", err)
		}
	})
	return addr
}

// registryConfig is docker-registry's configuration: filesystem storage in
// the given directory, plain HTTP on 127.0.0.1, quiet logs, no auth.
const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
health:
  storagedriver:
    enabled: false
`

// StartRegistryProcess runs Debian's docker-registry (package
// docker-registry) with a configuration written to dir and its blobs stored
// under dir/storage, listening on a free port of 127.0.0.1. It returns the
// address ("127.0.0.1:PORT") once GET /v2/ answers, and a stop function that
// terminates the process (SIGTERM, then SIGKILL after a bounded wait). ctx
// bounds the start only. The packaged /etc/docker/registry config is not
// used. The registry's log is dir/registry.log.
func StartRegistryProcess(ctx context.Context, dir string) (addr string, stop func() error, err error) {
	bin, err := LookTool("docker-registry")
	if err != nil {
		return "", nil, CheckTools("docker-registry")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return "", nil, err
	}
	// The registry cannot listen on port 0 and report the port, so pick a
	// free one and retry if another process takes it first.
	var errs []error
	for attempt := 0; attempt < 5; attempt++ {
		addr, stop, err := startRegistryOnce(ctx, bin, dir, storage)
		if err == nil {
			return addr, stop, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errRegistryExited) || ctx.Err() != nil {
			break
		}
	}
	return "", nil, fmt.Errorf("starting docker-registry: %w", errors.Join(errs...))
}

var errRegistryExited = errors.New("docker-registry exited")

func startRegistryOnce(ctx context.Context, bin, dir, storage string) (string, func() error, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return "", nil, err
	}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(registryConfig, storage, addr)), 0o644); err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(dir, "registry.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", nil, err
	}
	defer logf.Close() //nolint:errcheck // the child writes through its own copy
	cmd := exec.Command(bin, "serve", config)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = dir
	cmd.SysProcAttr = daemonSysProcAttr()
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait() //nolint:errcheck // the exit status is in cmd.ProcessState
		close(exited)
	}()
	stop := func() error {
		select {
		case <-exited:
			return nil
		default:
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case <-exited:
			return nil
		case <-time.After(registryStopTimeout):
			cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile; waited for below
			<-exited
			return fmt.Errorf("docker-registry did not exit within %v of SIGTERM; killed", registryStopTimeout)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, registryReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
		if err != nil {
			return "", nil, errors.Join(err, stop())
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close() //nolint:errcheck // only the status matters
			if resp.StatusCode == http.StatusOK {
				return addr, stop, nil
			}
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("%w on %s (%v); log %s ends:\n%s", errRegistryExited, addr, cmd.ProcessState, logPath, tail(logPath, 10))
		case <-ctx.Done():
			return "", nil, errors.Join(fmt.Errorf("docker-registry on %s did not answer within %v; log %s ends:\n%s", addr, registryReadyTimeout, logPath, tail(logPath, 10)), stop())
		case <-tick.C:
		}
	}
}

// freeLoopbackAddr returns "127.0.0.1:PORT" for a port that was free a
// moment ago.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
