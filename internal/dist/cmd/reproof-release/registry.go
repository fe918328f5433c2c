package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// loopbackRegistry is go-containerregistry's registry, its blobs on disk,
// served over HTTP on 127.0.0.1 while the release builds: `reproof
// rebuild` pulls the build image from it by digest, as from any registry.
type loopbackRegistry struct {
	addr string
	srv  *http.Server
	done chan error
}

func startRegistry(blobDir string) (*loopbackRegistry, error) {
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the registry: %w", err)
	}
	r := &loopbackRegistry{
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir))),
			ReadHeaderTimeout: time.Minute,
		},
		done: make(chan error, 1),
	}
	go func() { r.done <- r.srv.Serve(ln) }()
	return r, nil
}

// push pushes img under repo and returns its pinned reference.
func (r *loopbackRegistry) push(ctx context.Context, bi *buildImage) (string, error) {
	tag, err := name.NewTag(r.addr+"/"+imageRepo+":"+bi.GoVersion, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, bi.Image, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing the build image: %w", err)
	}
	return r.addr + "/" + imageRepo + "@" + bi.Digest, nil
}

func (r *loopbackRegistry) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if serr := <-r.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
