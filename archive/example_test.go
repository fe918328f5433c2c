package archive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/reproof/reproof/archive"
)

// Open reads any supported archive, whatever its name, as one entry model.
func ExampleOpen() {
	f, err := os.Open("testdata/seed/t.tar.xz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	s, err := archive.Open(f, f.Name(), archive.Options{Digest: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format:", s.Format)
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if e.Name == "t/run.sh" {
			// The digest is set once the content is read.
			if _, err := io.Copy(io.Discard, s); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("%s %v %04o %d bytes sha256:%x\n", e.Name, e.Type, e.Mode, e.Size, e.Digest[:8])
		}
	}
	// Close removes what the stream spilled to disk.
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// format: tar+xz
	// t/run.sh file 0755 18 bytes sha256:299001868fb8c02f
}

// Normalize rewrites an archive so that its bytes depend only on its
// content, and reports what each pass changed.
func ExampleNormalize() {
	f, err := os.Open("testdata/seed/t.tar.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // opened read-only
	var out bytes.Buffer
	rep, err := archive.Normalize(context.Background(), f, f.Name(), &out, archive.NormalizeOptions{
		Passes:   archive.AllPasses(),
		Epoch:    time.Unix(1700000000, 0),
		HasEpoch: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Input, "->", rep.Output, rep.Entries, "entries")
	for _, p := range rep.Passes {
		if p.Pass == "tar-mtime" || p.Pass == "gzip-header" {
			fmt.Println(p.Pass, "changed", p.Changed)
		}
	}
	// Output:
	// tar+gzip -> tar+gzip 10 entries
	// tar-mtime changed 10
	// gzip-header changed 1
}
