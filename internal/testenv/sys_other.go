//go:build !linux

package testenv

import (
	"errors"
	"syscall"
)

var errNotLinux = errors.New("a private docker engine needs linux")

func checkPlatform() error {
	return &MissingError{What: []string{"linux"}, Reason: errNotLinux.Error()}
}

func daemonSysProcAttr() *syscall.SysProcAttr { return nil }

func processAlive(pid int) bool { return false }

func killProcessesUsing(dir string) error { return nil }

func unmountUnder(dir string) error { return nil }

func removeCgroups(name string) error { return nil }
