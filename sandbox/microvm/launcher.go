//go:build linux

package microvm

import "context"

// Launcher starts a guest machine from an image. QEMU's microvm machine
// is the one built (QEMU); a Firecracker launcher would implement the
// same interface with Firecracker's API: the image, the agent and its
// protocol stay the same, only how the machine is described and started
// differs.
type Launcher interface {
	// Launch starts the machine; it returns once the process runs, not
	// once the guest has booted (the agent's ready frame says that).
	Launch(ctx context.Context, m MachineSpec) (Machine, error)
	// Name says which launcher and acceleration this is ("qemu-tcg").
	Name() string
}

// Machine is a running guest machine.
type Machine interface {
	// Kill stops the machine at once.
	Kill()
	// Wait waits for the machine's process to end.
	Wait() error
	// Pid is the host process that is the machine (for its memory).
	Pid() int
}

// MachineSpec describes one guest machine.
type MachineSpec struct {
	Image     *Image
	MemoryMiB int
	CPUs      int
	// Shares are host directories the guest mounts over 9p by tag.
	Shares []Share
	// Dir is the machine process's working directory.
	Dir string
	// AgentSocket is a unix socket the host listens on, relative to
	// Dir; the machine connects its agent port (virtio-serial) to it.
	AgentSocket string
	// Console is a file that receives the guest's console (its kernel
	// log), for the error when a boot fails.
	Console string
	// Cmdline is extra kernel command line.
	Cmdline []string
	// Network gives the machine a NIC on a user-mode network (NAT in
	// the machine's process, no port forwarding, no services of the
	// host) and starts the machine's process in a network namespace
	// of its own, so that what the user-mode network reaches is what
	// that namespace reaches: nothing, until the caller wires it (see
	// GuestSpec.Network). Without it the machine has no NIC at all.
	Network bool
}

// Share is a host directory exported to the guest over virtio-9p.
type Share struct {
	Tag      string
	Path     string
	ReadOnly bool
}
