package image

import (
	"fmt"
	"strings"
)

// Transport names where an image is read from.
type Transport string

// Transports, as skopeo names them.
const (
	Docker        Transport = "docker"         // a registry
	OCI           Transport = "oci"            // an OCI image layout directory
	OCIArchive    Transport = "oci-archive"    // an OCI image layout in a tar
	DockerArchive Transport = "docker-archive" // docker save's tar
)

var transports = []Transport{Docker, OCI, OCIArchive, DockerArchive}

// Reference is a parsed image reference.
type Reference struct {
	// Transport is where the image is.
	Transport Transport
	// Name is the registry reference (REGISTRY/REPO[:TAG][@DIGEST]) for
	// Docker, else the path of the directory or file.
	Name string
	// Tag selects an image of a layout or archive: an
	// org.opencontainers.image.ref.name of an OCI layout, a RepoTags
	// entry of a docker archive. Empty: the only image there is.
	Tag string
}

// String returns the reference as the user writes it.
func (r Reference) String() string {
	switch {
	case r.Transport == Docker:
		return "docker://" + r.Name
	case r.Tag != "":
		return string(r.Transport) + ":" + r.Name + ":" + r.Tag
	}
	return string(r.Transport) + ":" + r.Name
}

// IsReference reports whether s names an image: whether it starts with
// one of the transports ("docker://", "oci:", "oci-archive:",
// "docker-archive:"). Anything else is a file or directory.
func IsReference(s string) bool {
	for _, t := range transports {
		if strings.HasPrefix(s, string(t)+":") {
			return true
		}
	}
	return false
}

// ParseReference parses an image reference of one of the four
// transports. For oci:, oci-archive: and docker-archive:, a suffix after
// the last colon that holds no slash is the tag: "oci:out/img:v1" is the
// layout out/img, image v1.
func ParseReference(s string) (Reference, error) {
	if rest, ok := strings.CutPrefix(s, "docker://"); ok {
		if rest == "" {
			return Reference{}, fmt.Errorf("image reference %q names no repository", s)
		}
		return Reference{Transport: Docker, Name: rest}, nil
	}
	if strings.HasPrefix(s, "docker:") {
		return Reference{}, fmt.Errorf("image reference %q: a registry image is docker://REGISTRY/REPO[:TAG][@sha256:…]", s)
	}
	for _, t := range []Transport{OCIArchive, OCI, DockerArchive} {
		rest, ok := strings.CutPrefix(s, string(t)+":")
		if !ok {
			continue
		}
		ref := Reference{Transport: t, Name: rest}
		if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i+1:], "/") {
			ref.Name, ref.Tag = rest[:i], rest[i+1:]
			if ref.Tag == "" {
				return Reference{}, fmt.Errorf("image reference %q ends in an empty tag", s)
			}
		}
		if ref.Name == "" {
			return Reference{}, fmt.Errorf("image reference %q names no %s", s, map[bool]string{true: "directory", false: "file"}[t == OCI])
		}
		return ref, nil
	}
	return Reference{}, fmt.Errorf("%q is not an image reference (docker://, oci:, oci-archive: or docker-archive:)", s)
}
