package sandbox

// MicroVMConfig configures the micro-VM backend (NewMicroVM).
type MicroVMConfig struct {
	// Accel is "kvm", "tcg" (software emulation) or "auto" (empty): a
	// probe boot under KVM, TCG when it fails.
	Accel string
	// Kernel is the guest's kernel release (under /boot and
	// /lib/modules); empty means the newest one with 9p modules.
	Kernel string
	// WarmGuests is how many guests a root runner keeps booted ahead
	// of need. Zero means 1; negative boots each guest on demand.
	WarmGuests int
}
