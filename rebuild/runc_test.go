package rebuild

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/reproof/reproof/internal/testenv"
)

// The runc runtime's own tests: what only runc does, since it unpacks the
// image itself (docker and podman load it into their engines, whose
// unpacking is theirs). Everything a build sees and what Run returns is
// in the conformance suite, which runc runs with docker and podman
// (conformance_test.go).

// needRunc returns the runc runtime, or skips the test where it cannot run
// (not root, or no runc, or no static busybox for the test image), unless
// testenv.Required: then that is a failure.
func needRunc(t testing.TB) *runc {
	t.Helper()
	testenv.RequireRoot(t, "the runc runtime runs runc as root")
	testenv.RequireTools(t, "runc", "busybox")
	return NewRunc("").(*runc)
}

// TestMain stops the Docker engine the rebuild tests start (testenv.Main
// exits the process).
func TestMain(m *testing.M) { testenv.Main(m) }

// A layer runc's unpacker refuses is runc's error, naming the image, the
// layer and the entry.
func TestRuncRefusesHostileLayer(t *testing.T) {
	rt := needRunc(t)
	bad := &PulledImage{Digest: "sha256:test", Image: imageOf(t, busyboxLayer(t), layerOf(t, fileEntry("../x", "x")))}
	spec := newRunSpec(t, bad, "true")
	err := rt.Run(context.Background(), spec)
	checkNothingLeft(t, spec)
	if err == nil || !strings.Contains(err.Error(), `runc: unpacking image sha256:test: layer sha256:`) ||
		!strings.Contains(err.Error(), `entry "../x": name has a ".." component`) {
		t.Errorf("Run = %v, want a refusal naming the layer and entry", err)
	}
}

// BenchmarkRuncTrivial measures the runtime's overhead: unpacking the
// busybox image and running true.
func BenchmarkRuncTrivial(b *testing.B) {
	rt := needRunc(b)
	img, _ := busyboxImage(b)
	for b.Loop() {
		spec := newRunSpec(b, img, "true")
		if err := rt.Run(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(spec.ScratchDir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuncUnpack measures the unpacking part of BenchmarkRuncTrivial.
func BenchmarkRuncUnpack(b *testing.B) {
	rt := needRunc(b)
	img, _ := busyboxImage(b)
	for b.Loop() {
		dir := b.TempDir()
		if _, err := unpackRootfs(context.Background(), img.Image, dir, rt.limits); err != nil {
			b.Fatal(err)
		}
	}
}
