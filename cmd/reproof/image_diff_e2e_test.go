package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/reproof/reproof/internal/testenv"
)

// imageRootfs lays out one small rootfs and tars it whole (rootfs.tar)
// and in two parts (part1.tar: bin and etc; part2.tar: usr), with GNU tar
// at fixed times and owners.
func imageRootfs(t *testing.T, dir, data string) {
	t.Helper()
	e2eShell(t, dir, []string{"DATA=" + data}, `
umask 022
rm -rf root && mkdir -p root/bin root/etc root/usr/share/app
printf '#!/bin/sh\necho hello\n' >root/bin/app && chmod 755 root/bin/app
printf 'level=1\n' >root/etc/app.conf
printf '%s' "$DATA" >root/usr/share/app/data.txt
T='--sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 --format=pax --pax-option=delete=atime,delete=ctime'
tar $T -C root -cf rootfs.tar .
tar $T -C root -cf part1.tar ./bin ./etc
tar $T -C root -cf part2.tar ./usr
`)
}

// assembleImage is our own assembler: rootfs.tar as one gzip layer, with
// the entrypoint of the Dockerfiles.
func assembleImage(t *testing.T, tarPath string) v1.Image {
	t.Helper()
	l, err := tarball.LayerFromFile(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "reproof assembler", Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()}}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	cf.Config.Entrypoint = []string{"/bin/app"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestDiffImagesBuilders builds one rootfs into images with docker build
// (two ADD layers), buildah (one layer, if installed) and our assembler
// (one layer), pushes them to Debian's docker-registry on 127.0.0.1 and
// writes a docker save archive and an oci-archive: reproof diff finds the
// squashed filesystems equal and names the layer- and config-level
// differences; a one-byte change in one file of one layer is found and
// shown.
func TestDiffImagesBuilders(t *testing.T) {
	testenv.RequireTools(t, "sh", "tar")
	docker := testenv.Docker(t)
	registry := testenv.RegistryProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	imageRootfs(t, dir, "first line\nsecond line\n")
	writeFile(t, filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nADD part1.tar /\nADD part2.tar /\nENTRYPOINT [\"/bin/app\"]\n"))
	writeFile(t, filepath.Join(dir, "Dockerfile.one"), []byte("FROM scratch\nADD rootfs.tar /\nENTRYPOINT [\"/bin/app\"]\n"))
	dockerBuild := func(tag string) string {
		ref := registry + "/img:" + tag
		for _, args := range [][]string{{"build", "-q", "-t", ref, dir}, {"push", ref}} {
			if out, err := docker.Output(ctx, args...); err != nil {
				t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return "docker://" + ref
	}
	dockerRef := dockerBuild("docker")
	saved := filepath.Join(dir, "docker.tar")
	if out, err := docker.Output(ctx, "save", "-o", saved, strings.TrimPrefix(dockerRef, "docker://")); err != nil {
		t.Fatalf("docker save: %v\n%s", err, out)
	}
	ours := assembleImage(t, filepath.Join(dir, "rootfs.tar"))
	oursRef := registry + "/img:ours"
	ref, err := name.ParseReference(oursRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, ours); err != nil {
		t.Fatal(err)
	}

	// Two layers against one: the squashed filesystems are equal, the
	// layers and configs are named.
	r := reproof(t, invocation{}, "diff", "--color", "never", dockerRef, "docker://"+oursRef)
	if r.code != 1 {
		t.Fatalf("diff docker ours: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"squashed filesystems: equal", "layers: 1 not-opened, 2 missing", "the layer counts differ: 2 → 1", "config/history"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("diff docker ours: stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	// docker save of the same image: its config, its layers uncompressed.
	r = reproof(t, invocation{}, "diff", "--color", "never", dockerRef, "docker-archive:"+saved)
	if r.code != 3 || !strings.Contains(r.stdout, "layer-compression") {
		t.Errorf("diff docker docker-archive: exit %d, want 3 naming layer-compression\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A retagged image is identical.
	if out, err := docker.Output(ctx, "tag", strings.TrimPrefix(dockerRef, "docker://"), registry+"/img:retagged"); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	if out, err := docker.Output(ctx, "push", registry+"/img:retagged"); err != nil {
		t.Fatalf("docker push: %v\n%s", err, out)
	}
	if r = reproof(t, invocation{}, "diff", dockerRef, "docker://"+registry+"/img:retagged"); r.code != 0 {
		t.Errorf("diff of a retagged image: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}

	// buildah, one layer like ours: compared by position.
	if testenv.HaveTools(t, "buildah") {
		broot := t.TempDir()
		buildah := func(args ...string) {
			t.Helper()
			full := append([]string{"--root", filepath.Join(broot, "root"), "--runroot", filepath.Join(broot, "run"), "--storage-driver", "vfs"}, args...)
			cmd := exec.CommandContext(ctx, "buildah", full...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		buildah("build", "--isolation", "chroot", "-q", "-f", "Dockerfile.one", "-t", "localhost/img:buildah", ".")
		buildah("push", "--tls-verify=false", "localhost/img:buildah", "docker://"+registry+"/img:buildah")
		archivePath := filepath.Join(dir, "buildah.tar")
		buildah("push", "localhost/img:buildah", "oci-archive:"+archivePath)
		r = reproof(t, invocation{}, "diff", "--color", "never", "--squashed", "always", "docker://"+registry+"/img:buildah", "docker://"+oursRef)
		if r.code == 2 || !strings.Contains(r.stdout, "squashed filesystems: equal") {
			t.Errorf("diff buildah ours: exit %d, want the squashed filesystems equal\n%s%s", r.code, r.stdout, r.stderr)
		}
		r = reproof(t, invocation{}, "diff", "oci-archive:"+archivePath, "docker://"+registry+"/img:buildah")
		if r.code != 0 && r.code != 3 {
			t.Errorf("diff buildah's oci-archive and its push: exit %d, want 0 or 3\n%s%s", r.code, r.stdout, r.stderr)
		}
	} else {
		t.Log("buildah not installed: its builds are not compared")
	}

	// One byte changed in one file of the second layer.
	imageRootfs(t, dir, "first line\nsecond lIne\n")
	changed := dockerBuild("changed")
	jsonPath, htmlPath, mdPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md")
	r = reproof(t, invocation{}, "diff", "--color", "never", "--json", jsonPath, "--html", htmlPath, "--markdown", mdPath, dockerRef, changed)
	if r.code != 1 || !strings.Contains(r.stdout, "layers/2!/usr/share/app/data.txt") || !strings.Contains(r.stdout, "+second lIne") {
		t.Errorf("diff of a one-byte change: exit %d, want 1 showing the changed line of layers/2!/usr/share/app/data.txt\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "1 identical, 2 different") {
		t.Errorf("diff of a one-byte change: the layers line does not say layer 1 is identical, 2 different:\n%s", r.stdout)
	}
	var doc struct {
		Image struct {
			Platforms []struct{ Verdict string }
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Image.Platforms) != 1 || doc.Image.Platforms[0].Verdict != "different" {
		t.Errorf("JSON report: image platforms %+v (%v), want one, different", doc.Image.Platforms, err)
	}
	for _, p := range []string{htmlPath, mdPath} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("platform linux/amd64: different")) || !bytes.Contains(b, []byte("usr/share/app/data.txt")) {
			t.Errorf("%s does not show the image summary and the changed file", filepath.Base(p))
		}
	}
}

var _ = io.Discard
