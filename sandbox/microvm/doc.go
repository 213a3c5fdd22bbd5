// Package microvm boots throwaway micro-VMs that run one shell command
// each behind a guest kernel of their own. It owns the guest image (a
// Debian kernel from the host's /boot and an initramfs assembled from
// the host's modules with this very binary as init), the launchers that
// start a guest (QEMU's microvm machine; the Launcher interface is the
// seam for others such as Firecracker), the agent protocol over a
// virtio-serial port, and a warm pool of booted guests.
//
// It knows nothing of policies or profiles: package sandbox validates a
// command and then runs it through a Guest from here.
package microvm
