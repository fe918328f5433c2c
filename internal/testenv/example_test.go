package testenv_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/reproof/reproof/internal/testenv"
)

// A command (such as the demo) can run Debian's docker-registry on loopback
// outside of any test.
func ExampleStartRegistryProcess() {
	dir, err := os.MkdirTemp("", "registry-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir) //nolint:errcheck // an example's temporary directory, best effort
	addr, stop, err := testenv.StartRegistryProcess(context.Background(), dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("push to", addr+"/reproof-fixtures/busybox")
	if err := stop(); err != nil {
		log.Fatal(err)
	}
}
