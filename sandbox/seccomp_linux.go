package sandbox

import (
	"fmt"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside the sandbox: they change mounts
// or namespaces, debug other processes, load kernel code, or are the
// kernel interfaces most often used in container escapes.
var deniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"keyctl", "add_key", "request_key", "bpf", "perf_event_open",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
	"open_by_handle_at", "name_to_handle_at", "reboot", "swapon", "swapoff",
	"acct", "quotactl", "syslog", "iopl", "ioperm", "vhangup", "uselib",
	"lookup_dcookie", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"personality",
}

// namespaceFlags are the clone flags that would make a new namespace.
var namespaceFlags = []uint64{
	unix.CLONE_NEWUSER, unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
	unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME,
}

// seccompProgram assembles the filter: a foreign architecture (i386
// syscalls from an x86-64 process) kills the process; listed syscalls,
// namespace-creating clones, device mknod and the terminal-injection
// ioctls fail with EPERM; clone3, whose flags a filter cannot read, fails
// with ENOSYS so libc falls back to clone.
func seccompProgram() ([]unix.SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, fmt.Errorf("seccomp arch: %w", err)
	}
	var cloneConds []seccomp.NameWithConditions
	for _, f := range namespaceFlags {
		cloneConds = append(cloneConds, seccomp.NameWithConditions{Name: "clone", Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.BitsSet, Value: f}}})
	}
	withArgs := append(cloneConds,
		seccomp.NameWithConditions{Name: "mknod", Conditions: seccomp.ArgumentConditions{{Argument: 1, Operation: seccomp.BitsSet, Value: unix.S_IFCHR}}},
		seccomp.NameWithConditions{Name: "mknodat", Conditions: seccomp.ArgumentConditions{{Argument: 2, Operation: seccomp.BitsSet, Value: unix.S_IFCHR}}},
	)
	pol := seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM), Names: deniedSyscalls, NamesWithCondtions: withArgs},
			{Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS), Names: []string{"clone3"}},
		},
	}
	insts, err := pol.Assemble()
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp policy: %w", err)
	}
	prog := append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)},
	}, argumentChecks()...)
	prog = append(prog, insts...)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp program: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// allowedFamilies are the socket families a command may open: the ones
// network namespaces isolate and everyday tools need. Every other family
// fails with EAFNOSUPPORT, above all those the kernel does not namespace
// (see README: AF_VSOCK's ports are the host VM's, AF_ALG, AF_BLUETOOTH,
// …) and any a future kernel adds.
var allowedFamilies = []uint32{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}

// x32SyscallBit marks the x32 ABI's syscall numbers, which share the
// x86-64 architecture id: they are killed, so no number escapes the
// checks below by carrying it.
const x32SyscallBit = 0x40000000

// argumentChecks compare arguments the way the kernel reads them: an int
// or unsigned int argument (the socket family, the ioctl request) is the
// low 32 bits of the register, whatever the high 32 bits hold, so
// ioctl(fd, 0x100000000|TIOCSTI) is TIOCSTI here as in the kernel.
func argumentChecks() []bpf.Instruction {
	// Offsets in struct seccomp_data; an argument's low half comes first
	// on the little-endian architectures this runs on.
	const nrOff, argOff = 0, 16
	low := func(arg uint32) bpf.Instruction { return bpf.LoadAbsolute{Off: argOff + 8*arg, Size: 4} }
	errno := func(e unix.Errno) bpf.Instruction {
		return bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | uint32(e)}
	}
	// Each block starts by loading the syscall number and ends by
	// falling through to the next; "next" jumps are fixed up below.
	type block []bpf.Instruction
	family := func(nr uint32, allowed []uint32) block {
		b := block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: nr}, low(0)}
		for i, f := range allowed {
			b = append(b, bpf.JumpIf{Cond: bpf.JumpEqual, Val: f, SkipTrue: uint8(len(allowed) - i)})
		}
		return append(b, errno(unix.EAFNOSUPPORT))
	}
	ioctl := block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: unix.SYS_IOCTL}, low(1),
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.TIOCSTI, SkipFalse: 1}, errno(unix.EPERM),
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.TIOCLINUX, SkipFalse: 1}, errno(unix.EPERM),
	}
	x32 := block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)}}
	var out []bpf.Instruction
	for _, b := range []block{x32, family(unix.SYS_SOCKET, allowedFamilies), family(unix.SYS_SOCKETPAIR, []uint32{unix.AF_UNIX}), ioctl} {
		// The "not this syscall" jump skips the rest of its block.
		if j, ok := b[1].(bpf.JumpIf); ok && j.Cond == bpf.JumpNotEqual {
			j.SkipTrue = uint8(len(b) - 2)
			b[1] = j
		}
		out = append(out, b...)
	}
	return out
}

// loadSeccomp installs the filter on the calling thread only: the thread
// that then executes the command, which is the one whose filter the
// command inherits.
func loadSeccomp(filter []unix.SockFilter) error {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("load seccomp filter: %w", e)
	}
	return nil
}
