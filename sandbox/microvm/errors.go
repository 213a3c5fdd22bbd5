package microvm

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrNoQEMU means qemu-system-x86_64 is not installed.
	ErrNoQEMU = errors.New("microvm: qemu-system-x86_64 not found; install the Debian package qemu-system-x86")
	// ErrNoKernel means no usable guest kernel is installed.
	ErrNoKernel = errors.New("microvm: no guest kernel")
	// ErrBoot means a guest did not come up.
	ErrBoot = errors.New("microvm: guest did not boot")
	// ErrAgent means the guest's agent broke the protocol or went away.
	ErrAgent = errors.New("microvm: guest agent failed")
	// ErrClosed means the pool was closed.
	ErrClosed = errors.New("microvm: pool closed")
)
