package rebuild

import (
	"encoding/hex"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/reproof/reproof/internal/owner"
)

// What makes a build container reproof's, and whose (see internal/owner):
//
//   - its name is "reproof-", the creating process's owner ID, "-" and 16
//     random hex digits: docker, podman and runc all accept it, and
//     owner.Of reads the owner back from it;
//   - docker and podman containers carry OwnerLabel (the owner ID) and
//     HostLabel (the host name of the creating process: an engine may be
//     shared by several machines, whose processes this one cannot see);
//   - a runc container's state lives in the run's work directory
//     (reproof-rebuild-<owner>-*/runtime/state), itself named by its owner.
//
// A later run, or `reproof gc`, removes those whose owner is dead (Sweep).
const (
	// OwnerLabel is the container label holding the owner ID of the
	// reproof process that created the container.
	OwnerLabel = "dev.reproof.owner"
	// HostLabel is the container label holding that process's host name.
	HostLabel = "dev.reproof.host"
	// containerPrefix starts every build container's name.
	containerPrefix = "reproof-"
)

// ownedName is a build container's name: containerPrefix, this process's
// owner ID, "-" and random (16 hex digits for 8 bytes).
func ownedName(random []byte) string {
	return containerPrefix + owner.Self().String() + "-" + hex.EncodeToString(random)
}

// hostName is the HostLabel value of this process ("" if the kernel will
// not say, which no sweep then matches).
func hostName() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// ownerLabels are the docker/podman create flags that mark a container as
// this process's.
func ownerLabels() []string {
	return []string{"--label", OwnerLabel + "=" + owner.Self().String(), "--label", HostLabel + "=" + hostName()}
}

// startTied starts cmd so that the kernel kills it (SIGKILL) when reproof
// dies, however it dies: a `docker start --attach` or `runc run` must not
// outlive a reproof killed with SIGKILL. What such a child leaves (a
// container still running in the engine, a runc container's state) is
// named by its owner, and Sweep removes it.
//
// The parent-death signal fires when the thread that forked the child
// exits, not the process, so the fork is made from a goroutine locked to
// its thread until the child has been waited for: the Go runtime never
// ends a locked thread while its goroutine runs. The returned channel
// receives cmd.Wait's result.
func startTied(cmd *exec.Cmd) (<-chan error, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}
