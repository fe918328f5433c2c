// Command demo is `make demo`: it sets up everything reproof verify needs on
// this machine, then verifies a nimbus-eth2-shaped release twice — as
// published faithfully, and with one byte of its binary changed — and leaves
// the reports in the output directory.
//
//	go run ./examples/demo --reproof bin/reproof --out demo-output
//
// What it starts, it stops: a Docker engine of its own when none answers
// (Debian's docker.io), and a registry on 127.0.0.1 (Debian's
// docker-registry) holding base images built from Debian packages. Nothing
// is pulled from the internet except those packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/reproof/reproof/fixtures"
	"github.com/reproof/reproof/fixtures/images"
	"github.com/reproof/reproof/internal/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

// say prints one step of the demo.
func say(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	bin := fs.String("reproof", "bin/reproof", "the reproof binary to demonstrate")
	out := fs.String("out", "demo-output", "where the reports are left")
	if err := fs.Parse(args); err != nil {
		return err
	}
	reproof, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	outDir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "reproof-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	// A Docker engine: the one DOCKER_HOST (or the default socket) names,
	// or one of our own.
	dockerEnv := os.Environ()
	cli, err := testenv.DockerCLI()
	if err != nil {
		return err
	}
	if exec.CommandContext(ctx, cli, "version").Run() == nil {
		say("using the running Docker engine")
	} else {
		say("starting a private Docker engine (dockerd from Debian's docker.io)")
		engine, err := testenv.StartDocker(ctx)
		if err != nil {
			return fmt.Errorf("starting dockerd: %w", err)
		}
		defer func() {
			say("stopping the Docker engine")
			engine.Stop()
		}()
		dockerEnv = engine.Env()
	}
	// The engine's own client first, whatever else PATH holds.
	dockerEnv = append(dockerEnv, "PATH="+filepath.Dir(cli)+":"+os.Getenv("PATH"))

	say("starting an OCI registry on 127.0.0.1 (Debian's docker-registry)")
	registry, stopRegistry, err := testenv.StartRegistryProcess(ctx, filepath.Join(work, "registry"))
	if err != nil {
		return fmt.Errorf("starting the registry: %w", err)
	}
	defer stopRegistry()

	say("building base images from Debian packages (busybox; busybox + tcc) and pushing them to %s", registry)
	set, err := images.Push(ctx, registry, images.Options{Log: prefixed("    ")})
	if err != nil {
		return err
	}
	fmt.Printf("    toolchain image: %s\n", set.Toolchain.Ref)

	say("writing a nimbus-eth2-shaped project (a C beacon node, tagged v24.1.0) and building its release as its publisher would")
	project, err := fixtures.WriteProject(filepath.Join(work, "project"), fixtures.Nimbus)
	if err != nil {
		return err
	}
	built, err := fixtures.Build(ctx, project, fixtures.BuildOptions{
		Image: set.Toolchain.Ref, TempDir: work, Runtime: "docker", RuntimeBinary: cli, RuntimeEnv: dockerEnv,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	baseURL := "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()

	var results []string
	for _, variant := range []fixtures.Variant{fixtures.Faithful, fixtures.ChangedBinary} {
		root := filepath.Join(work, "published", string(variant))
		pub, err := fixtures.Publish(project, built, variant, root, baseURL+"/"+string(variant))
		if err != nil {
			return err
		}
		mux.Handle("/"+string(variant)+"/", http.StripPrefix("/"+string(variant), pub.Handler()))
		dir := filepath.Join(outDir, string(variant))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		spec := filepath.Join(dir, "reproof.toml")
		if err := fixtures.WriteSpec(spec, project, pub, set.Toolchain.Ref); err != nil {
			return err
		}
		fmt.Println()
		say("release %q: %s", variant, pub.Change)
		args := append([]string{"verify",
			"--html", filepath.Join(dir, "report.html"),
			"--json", filepath.Join(dir, "report.json"),
			"--markdown", filepath.Join(dir, "report.md"),
			"--attestation", filepath.Join(dir, "verification.intoto.jsonl"),
		}, pub.VerifyArgs()...)
		args = append(args, spec)
		fmt.Printf("    $ cd %s\n    $ reproof %s\n\n", dir, strings.Join(shorten(args, dir), " "))
		cmd := exec.CommandContext(ctx, reproof, args...)
		cmd.Dir = dir
		cmd.Env = append(dockerEnv, "REPROOF_IMAGE_CACHE="+filepath.Join(work, "image-cache"))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err = cmd.Run()
		code := cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if code != pub.Expect.Exit {
			return fmt.Errorf("reproof verify exited %d on the %s release; an honest verifier exits %d", code, variant, pub.Expect.Exit)
		}
		results = append(results, fmt.Sprintf("  %-16s exit %d  %s", variant, code, filepath.Join(dir, "report.html")))
	}

	fmt.Println()
	say("done: the faithful release reproduces, the tampered one does not")
	for _, r := range results {
		fmt.Println(r)
	}
	fmt.Printf("\nOpen the HTML reports in a browser; report.json, report.md and the SLSA\nverification summaries (verification.intoto.jsonl) are beside them, and the\nrebuilt artifacts with their provenance under rebuilt/.\n")
	return nil
}

// shorten shows paths under dir relative to it, so the command line shown
// is the one a user would type there.
func shorten(args []string, dir string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, dir+string(filepath.Separator), "")
	}
	return out
}

// prefixed indents each line written to stdout.
func prefixed(prefix string) io.Writer { return &prefixWriter{prefix: prefix} }

type prefixWriter struct{ prefix string }

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Print(p.prefix + line)
		}
	}
	return len(b), nil
}
