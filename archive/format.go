package archive

import "fmt"

// Container is the archive format that holds entries.
type Container uint8

// Containers the package can detect.
const (
	Raw  Container = iota // not an archive: a plain byte stream
	Tar                   // ustar, pax or GNU tar
	Zip                   // zip, jar
	Ar                    // Unix ar, including .deb packages and static libraries
	Cpio                  // cpio "newc" (SVR4) with or without CRC
)

var containerNames = [...]string{Raw: "raw", Tar: "tar", Zip: "zip", Ar: "ar", Cpio: "cpio"}

func (c Container) String() string {
	if int(c) < len(containerNames) {
		return containerNames[c]
	}
	return fmt.Sprintf("container(%d)", c)
}

// Compression is the stream compression around a container.
type Compression uint8

// Compressions the package can detect.
const (
	NoCompression Compression = iota
	Gzip
	Xz
	Zstd
	Bzip2 // read only
)

var compressionNames = [...]string{NoCompression: "none", Gzip: "gzip", Xz: "xz", Zstd: "zstd", Bzip2: "bzip2"}

func (c Compression) String() string {
	if int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("compression(%d)", c)
}

// ParseCompression maps a name as printed by String back to a Compression.
func ParseCompression(s string) (Compression, error) {
	for i, n := range compressionNames {
		if n == s {
			return Compression(i), nil
		}
	}
	return 0, fmt.Errorf("unknown compression %q (want none, gzip, xz or zstd)", s)
}

// Format is what detection found: a container inside an optional
// compression layer.
type Format struct {
	Container   Container
	Compression Compression
	// Deb is set for an ar archive whose first member is "debian-binary".
	Deb bool
}

// String names the format the way a user would write it: "tar+gzip",
// "zip", "gzip" (a compressed plain file), "raw".
func (f Format) String() string {
	name := f.Container.String()
	if f.Deb {
		name = "deb"
	}
	switch {
	case f.Compression == NoCompression:
		return name
	case f.Container == Raw:
		return f.Compression.String()
	default:
		return name + "+" + f.Compression.String()
	}
}

// IsArchive reports whether the format holds entries.
func (f Format) IsArchive() bool { return f.Container != Raw }
