package seccompfilter

import (
	"fmt"

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
	"lookup_dcookie", "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"personality",
}

// namespaceFlags are the clone flags that would make a new namespace.
var namespaceFlags = []uint32{
	unix.CLONE_NEWUSER, unix.CLONE_NEWNS, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
	unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME,
}

// Program assembles the filter, an allow list: a foreign
// architecture (i386 syscalls from an x86-64 process) kills the process;
// listed syscalls, namespace-creating clones, device mknod, socket
// families namespaces do not isolate and the terminal-injection ioctls
// fail with EPERM (EAFNOSUPPORT for sockets); the syscalls in
// allowedSyscalls run; every other one, clone3 among them (a filter
// cannot read its flags, and libc falls back to clone), fails with
// ENOSYS.
func Program() ([]unix.SockFilter, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return nil, fmt.Errorf("seccomp arch: %w", err)
	}
	var allow []string
	for _, name := range allowedSyscalls {
		if _, ok := info.SyscallNames[name]; ok {
			allow = append(allow, name)
		}
	}
	// The first group that names a syscall decides; what none names
	// fails with ENOSYS. The library takes no errno as its default
	// action, so the default is assembled as ActionTrace, which nothing
	// else uses, and rewritten below.
	pol := seccomp.Policy{
		DefaultAction: seccomp.ActionTrace,
		Syscalls: []seccomp.SyscallGroup{
			{Action: seccomp.ActionErrno | seccomp.Action(unix.EPERM), Names: deniedSyscalls},
			{Action: seccomp.ActionAllow, Names: allow},
		},
	}
	insts, err := pol.Assemble()
	if err != nil {
		return nil, fmt.Errorf("assemble seccomp policy: %w", err)
	}
	for i, in := range insts {
		if r, ok := in.(bpf.RetConstant); ok && r.Val == uint32(seccomp.ActionTrace) {
			insts[i] = bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | uint32(unix.ENOSYS)}
		}
	}
	prog := append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)},
	}, argumentChecks(info)...)
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

// setidSyscalls are the syscalls that set a file's mode, with the
// argument that holds it; with S_ISUID or S_ISGID in it they fail with
// EPERM. openat2 carries its mode in a struct a filter cannot read: it
// fails with ENOSYS, and libc and tools fall back to openat.
var setidSyscalls = []struct {
	name string
	arg  int
}{
	{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2},
	{"creat", 1}, {"open", 2}, {"openat", 3},
	// mknod makes regular files and fifos with any mode bits too.
	{"mknod", 1}, {"mknodat", 2},
}

// x32SyscallBit marks the x32 ABI's syscall numbers, which share the
// x86-64 architecture id: they are killed, so no number escapes the
// checks below by carrying it.
const x32SyscallBit = 0x40000000

// argumentChecks compare arguments the way the kernel reads them: an int
// or unsigned int argument (the socket family, the ioctl request) is the
// low 32 bits of the register, whatever the high 32 bits hold, so
// ioctl(fd, 0x100000000|TIOCSTI) is TIOCSTI here as in the kernel.
func argumentChecks(info *arch.Info) []bpf.Instruction {
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
	// A syscall refused when its argument has any of the bits set.
	bits := func(name string, arg int, mask uint32) block {
		nr, ok := info.SyscallNames[name]
		if !ok {
			return nil
		}
		return block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(nr)}, low(uint32(arg)),
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: mask, SkipFalse: 1}, errno(unix.EPERM)}
	}
	var nsFlags uint32
	for _, f := range namespaceFlags {
		nsFlags |= uint32(f)
	}
	x32 := block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
		bpf.RetConstant{Val: uint32(seccomp.ActionKillProcess)}}
	var out []bpf.Instruction
	blocks := []block{x32, family(unix.SYS_SOCKET, allowedFamilies), family(unix.SYS_SOCKETPAIR, []uint32{unix.AF_UNIX}), ioctl,
		// namespace-creating clones; device nodes (S_IFCHR is set in
		// S_IFBLK too)
		bits("clone", 0, nsFlags), bits("mknod", 1, unix.S_IFCHR), bits("mknodat", 2, unix.S_IFCHR)}
	// No setuid or setgid file: one made in a writable workspace would
	// stay on the host, owned by the workspace's owner, for anyone there
	// to run (see setidSyscalls).
	for _, s := range setidSyscalls {
		blocks = append(blocks, bits(s.name, s.arg, unix.S_ISUID|unix.S_ISGID))
	}
	if nr, ok := info.SyscallNames["openat2"]; ok {
		blocks = append(blocks, block{bpf.LoadAbsolute{Off: nrOff, Size: 4}, bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(nr)}, errno(unix.ENOSYS)})
	}
	for _, b := range blocks {
		if b == nil {
			continue
		}
		// The "not this syscall" jump skips the rest of its block.
		if j, ok := b[1].(bpf.JumpIf); ok && j.Cond == bpf.JumpNotEqual {
			j.SkipTrue = uint8(len(b) - 2)
			b[1] = j
		}
		out = append(out, b...)
	}
	return out
}
