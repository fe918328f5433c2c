package dist

import (
	"errors"
	"syscall"
)

var errNotRoot = errors.New("loading and running an image with podman needs root")

func umask(m int) int { return syscall.Umask(m) }
