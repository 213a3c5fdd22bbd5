package child

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter comes ready from the runner, which assembles it once
// (package seccompfilter) instead of every init assembling it anew: after
// reporting ready, an init receives one message holding the program's
// instructions (struct sock_filter, as the kernel takes them), then the
// task. The init still installs it itself, on the thread that becomes the
// command, after no_new_privs and before the exec.
//
// The message comes over the init's own control socket, whose other end
// only the runner holds: nothing a confined command can reach writes
// there. The init checks its shape all the same (whole instructions, at
// least one, at most the kernel's limit, no descriptors) and the kernel
// checks the program when it is installed; an init without a filter runs
// no command.

// maxFilterInsns is the kernel's BPF_MAXINSNS, the longest classic BPF
// program seccomp takes.
const maxFilterInsns = 4096

const sockFilterSize = int(unsafe.Sizeof(unix.SockFilter{}))

// FilterMessage is the message that carries filter to an init.
func FilterMessage(filter []unix.SockFilter) []byte {
	if len(filter) == 0 {
		return nil
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&filter[0])), len(filter)*sockFilterSize)
	return append([]byte(nil), raw...)
}

// errNoFilter: the runner closed the socket before sending the filter,
// which is how it releases a warm init.
var errNoFilter = errors.New("no seccomp filter")

// receiveFilter blocks until the runner sends the filter.
func receiveFilter() ([]unix.SockFilter, error) {
	// One byte more than the longest program, to tell one from a longer
	// message the socket would truncate.
	buf := make([]byte, maxFilterInsns*sockFilterSize+1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, flags, _, err := unix.Recvmsg(fdControl, buf, oob, unix.MSG_CMSG_CLOEXEC)
	for err == unix.EINTR {
		n, oobn, flags, _, err = unix.Recvmsg(fdControl, buf, oob, unix.MSG_CMSG_CLOEXEC)
	}
	if err != nil {
		return nil, fmt.Errorf("receive seccomp filter: %w", err)
	}
	if n == 0 {
		return nil, errNoFilter
	}
	return decodeFilter(buf[:n], oobn, flags)
}

// decodeFilter checks the message's shape and copies the program out.
func decodeFilter(b []byte, oobn, flags int) ([]unix.SockFilter, error) {
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("seccomp filter message: empty program")
	case oobn != 0 || flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) != 0:
		return nil, fmt.Errorf("seccomp filter message: descriptors attached or truncated")
	case len(b)%sockFilterSize != 0:
		return nil, fmt.Errorf("seccomp filter message: %d bytes is not whole instructions of %d", len(b), sockFilterSize)
	case len(b)/sockFilterSize > maxFilterInsns:
		return nil, fmt.Errorf("seccomp filter message: more than %d instructions", maxFilterInsns)
	}
	f := make([]unix.SockFilter, len(b)/sockFilterSize)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(b)), b)
	return f, nil
}

// loadSeccomp installs the filter on the calling thread only: the thread
// that then executes the command, which is the one whose filter the
// command inherits.
func loadSeccomp(filter []unix.SockFilter) error {
	if len(filter) == 0 {
		return fmt.Errorf("load seccomp filter: empty program")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return fmt.Errorf("load seccomp filter: %w", e)
	}
	return nil
}
