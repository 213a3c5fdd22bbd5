package child

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// scopeSelf puts the calling thread (and the command after it) in a
// Landlock domain of its own that restricts no file access, only what
// crosses its border: the kernel then refuses ptrace access (and with it
// /proc/<pid>/environ, mem, fd, root) and signals to any process outside
// the domain, other sandboxes included, which a host procfs shows.
func scopeSelf() error {
	attr := unix.LandlockRulesetAttr{Scoped: unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET}
	// The first three fields are the ABI 6 struct; later kernels' fields
	// stay out so older kernels accept it.
	const size = 24
	fd, _, e := unix.RawSyscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return fmt.Errorf("landlock ruleset (needed for pids: host): %w", e)
	}
	defer unix.Close(int(fd))
	if _, _, e := unix.RawSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); e != 0 {
		return fmt.Errorf("landlock restrict (needed for pids: host): %w", e)
	}
	return nil
}

// pingRange lets every group of the sandbox open ICMP echo sockets in
// its own network namespace, so ping works without privileges (it
// reaches what the profile's network reaches, loopback at least).
func pingRange() {
	for _, r := range []string{"0 65535", "0 0"} {
		if os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte(r), 0o644) == nil {
			return
		}
	}
}
