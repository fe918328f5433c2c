package rebuild

import (
	"runtime"
	"slices"
)

// The seccomp filter of runc and podman builds.
//
// Docker applies its own default profile, an allowlist that already
// refuses all of this to a container without capabilities, so docker
// builds keep it. runc has no default filter, and podman's default one
// lets an unprivileged process create user namespaces. A user namespace
// hands the build every capability over namespaces of its own (mounts,
// network devices, netfilter): the kernel's largest attack surface for
// unprivileged code, and no build needs it.
//
// reproof's filter allows every system call but these, which fail with
// EPERM (clone3 with ENOSYS, so that the C library falls back to clone,
// whose flags a filter can read):
//
//   - new namespaces: unshare, setns, and clone with any CLONE_NEW* flag;
//   - the kernel keyring, which is not namespaced: keyctl, add_key,
//     request_key;
//   - interfaces with a record of kernel exploits and no use in a build:
//     bpf, perf_event_open, userfaultfd, io_uring_*;
//   - what needs a capability the build does not have anyway (defence in
//     depth): mounting, modules, kexec, reboot, swap, the clock, quotas,
//     process accounting, open_by_handle_at, the kernel log.
//
// A denylist cannot refuse system calls added to the kernel after it was
// written, as docker's allowlist does; it is what runc and podman builds
// gain over their defaults without breaking builds that use newer calls.
type seccompProfile struct {
	DefaultAction string           `json:"defaultAction"`
	Architectures []string         `json:"architectures"`
	Syscalls      []seccompSyscall `json:"syscalls"`
}

// seccompSyscall is one rule. The same fields serve in an OCI runtime
// config (runc) and in a docker-format profile file (podman
// --security-opt seccomp=FILE).
type seccompSyscall struct {
	Names    []string     `json:"names"`
	Action   string       `json:"action"`
	ErrnoRet uint         `json:"errnoRet"`
	Args     []seccompArg `json:"args,omitempty"`
}

// seccompArg compares argument Index: with SCMP_CMP_MASKED_EQ, the rule
// matches when arg & Value == ValueTwo.
type seccompArg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo"`
	Op       string `json:"op"`
}

const (
	errnoEPERM  = 1
	errnoENOSYS = 38
)

// cloneNewFlags are the CLONE_NEW* flags clone takes as its first
// argument: mount, cgroup, uts, ipc, user, pid, net.
var cloneNewFlags = []uint64{0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000}

// deniedSyscalls fail with EPERM. Each name exists on amd64 and arm64.
var deniedSyscalls = []string{
	"unshare", "setns",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
	"swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "quotactl", "acct",
	"open_by_handle_at", "syslog", "vhangup", "lookup_dcookie",
}

// buildSeccomp is the filter for builds on this machine's architecture
// (with its 32-bit ABIs, so that they cannot bypass it).
func buildSeccomp() *seccompProfile {
	p := &seccompProfile{
		DefaultAction: "SCMP_ACT_ALLOW",
		Architectures: seccompArchitectures(runtime.GOARCH),
		Syscalls: []seccompSyscall{
			{Names: slices.Clone(deniedSyscalls), Action: "SCMP_ACT_ERRNO", ErrnoRet: errnoEPERM},
			{Names: []string{"clone3"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: errnoENOSYS},
		},
	}
	// One rule per flag: a rule's conditions must all hold, and any one
	// flag set must be refused.
	for _, flag := range cloneNewFlags {
		p.Syscalls = append(p.Syscalls, seccompSyscall{
			Names: []string{"clone"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: errnoEPERM,
			Args: []seccompArg{{Index: cloneFlagsIndex(runtime.GOARCH), Value: flag, ValueTwo: flag, Op: "SCMP_CMP_MASKED_EQ"}},
		})
	}
	return p
}

// seccompArchitectures are the system call ABIs a process on goarch can
// use: listing the 32-bit ones makes the rules apply to their system
// calls too.
func seccompArchitectures(goarch string) []string {
	switch goarch {
	case "amd64":
		return []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}
	case "arm64":
		return []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	case "386":
		return []string{"SCMP_ARCH_X86"}
	case "arm":
		return []string{"SCMP_ARCH_ARM"}
	case "ppc64le":
		return []string{"SCMP_ARCH_PPC64LE"}
	case "s390x":
		return []string{"SCMP_ARCH_S390X", "SCMP_ARCH_S390"}
	case "riscv64":
		return []string{"SCMP_ARCH_RISCV64"}
	}
	return nil // the native one
}

// cloneFlagsIndex is the argument of clone that holds its flags: the first,
// but on s390 the second.
func cloneFlagsIndex(goarch string) uint {
	if goarch == "s390x" {
		return 1
	}
	return 0
}
