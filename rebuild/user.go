package rebuild

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// User is who the build runs as.
type User struct {
	UID, GID int
}

func (u User) String() string { return fmt.Sprintf("%d:%d", u.UID, u.GID) }

// ParseUser reads "UID:GID" (numeric; names would have to be looked up in
// the image, and the point of the flag is to say exactly who builds).
func ParseUser(s string) (User, error) {
	uid, gid, ok := strings.Cut(s, ":")
	if !ok {
		return User{}, fmt.Errorf("user %q: want UID:GID, numeric", s)
	}
	u, err1 := strconv.ParseUint(uid, 10, 31)
	g, err2 := strconv.ParseUint(gid, 10, 31)
	if err1 != nil || err2 != nil {
		return User{}, fmt.Errorf("user %q: want UID:GID, numeric", s)
	}
	return User{UID: int(u), GID: int(g)}, nil
}

// unprivilegedUser is who builds when reproof itself runs as root and no
// user is given: a build is untrusted code and never runs as root unless
// asked. 1000 is the first regular user on Debian-like systems.
var unprivilegedUser = User{UID: 1000, GID: 1000}

// DefaultUser is the host's UID/GID, or unprivilegedUser when that is root
// (SUDO_UID/SUDO_GID name the invoking user under sudo).
func DefaultUser(getenv func(string) string) User {
	u := User{UID: os.Getuid(), GID: os.Getgid()}
	if u.UID != 0 {
		return u
	}
	if su, err := ParseUser(getenv("SUDO_UID") + ":" + getenv("SUDO_GID")); err == nil && su.UID != 0 {
		return su
	}
	return unprivilegedUser
}

// maxEtcFile bounds what is read of the image's /etc/passwd and /etc/group.
const maxEtcFile = 1 << 20

// writeEtc writes passwd and group files into dir for the build: the
// image's own entries, plus an entry for u's UID and GID when the image has
// none, so that tools that look the user up (id, whoami, ssh, git, many
// build systems) work. It returns the home directory to use: the image's
// for a UID it knows, /home/reproof otherwise.
func writeEtc(ctx context.Context, img v1.Image, u User, dir string) (home string, err error) {
	files, err := imageFiles(ctx, img, []string{"etc/passwd", "etc/group"}, maxEtcFile)
	if err != nil {
		return "", err
	}
	passwd, group := files[0], files[1]
	home = "/home/reproof"
	if fields := findEntry(passwd, u.UID, 2); len(fields) >= 6 && path.IsAbs(fields[5]) && path.Clean(fields[5]) != "/" {
		home = path.Clean(fields[5])
	} else {
		passwd = appendLine(passwd, fmt.Sprintf("reproof:x:%d:%d:reproof build user:%s:/bin/sh", u.UID, u.GID, home))
	}
	if findEntry(group, u.GID, 2) == nil {
		group = appendLine(group, fmt.Sprintf("reproof:x:%d:", u.GID))
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), passwd, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "group"), group, 0o644); err != nil {
		return "", err
	}
	return home, nil
}

// findEntry returns the colon-separated fields of the first line of an
// /etc/passwd or /etc/group file whose field idx is id.
func findEntry(data []byte, id, idx int) []string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxEtcFile)
	want := strconv.Itoa(id)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > idx && fields[idx] == want {
			return fields
		}
	}
	return nil
}

func appendLine(data []byte, line string) []byte {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	return append(append(data, line...), '\n')
}

// imageFiles returns the content of the regular files at paths (no
// leading slash) in the image's merged filesystem, nil for those it does
// not have, reading layers from the top and honouring OCI whiteouts; each
// layer is read once for all of them. Symlinks are not followed: a passwd
// that is a link is treated as absent.
func imageFiles(ctx context.Context, img v1.Image, paths []string, limit int64) ([][]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the image's layers: %w", err)
	}
	data := make([][]byte, len(paths))
	done := make([]bool, len(paths))
	left := len(paths)
	for i := len(layers) - 1; i >= 0 && left > 0; i-- {
		found, states, err := layerFiles(ctx, layers[i], paths, done, limit)
		if err != nil {
			d, _ := layers[i].Digest()
			return nil, fmt.Errorf("reading %s from layer %s: %w", strings.Join(paths, ", "), d, err)
		}
		for j, st := range states {
			if st != fileAbsent && !done[j] {
				data[j], done[j] = found[j], true
				left--
			}
		}
	}
	return data, nil
}

type fileState int

const (
	fileAbsent  fileState = iota // the layer says nothing about it
	fileFound                    // the layer holds it
	fileDeleted                  // the layer whites it (or a parent) out
)

// layerFiles is what one layer says about each of paths not yet done.
func layerFiles(ctx context.Context, l v1.Layer, paths []string, done []bool, limit int64) ([][]byte, []fileState, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(ctxReader{ctx: ctx, r: rc})
	data := make([][]byte, len(paths))
	states := make([]fileState, len(paths))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return data, states, nil
		}
		if err != nil {
			return nil, nil, err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		hdir, hbase := path.Split(name)
		for j, p := range paths {
			if done[j] {
				continue
			}
			dir, base := path.Split(p)
			switch {
			case name == p:
				if h.Typeflag != tar.TypeReg {
					states[j], data[j] = fileDeleted, nil // not a regular file: no usable content
					continue
				}
				if h.Size > limit {
					return nil, nil, fmt.Errorf("/%s is %d bytes, more than %d", p, h.Size, limit)
				}
				b, err := io.ReadAll(io.LimitReader(tr, limit))
				if err != nil {
					return nil, nil, err
				}
				states[j], data[j] = fileFound, b
			case hdir == dir && hbase == ".wh."+base, hdir == dir && hbase == ".wh..wh..opq" && states[j] == fileAbsent:
				// A whiteout of the file, or an opaque parent: lower layers'
				// copies are gone. (An opaque marker does not hide a copy in
				// this same layer.)
				states[j] = fileDeleted
			case strings.HasPrefix(hbase, ".wh.") && strings.HasPrefix(dir, hdir+strings.TrimPrefix(hbase, ".wh.")+"/"):
				states[j], data[j] = fileDeleted, nil // a parent directory was whited out
			}
		}
	}
}
