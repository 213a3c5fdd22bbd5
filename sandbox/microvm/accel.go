//go:build linux

package microvm

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Accelerations a launcher can use.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// ProbeTimeout bounds the probe boot under KVM. A guest boots under
// KVM in well under a second; one whose KVM cannot run it (a nested
// hypervisor such as kvm_pvm fails stock kernels with emulation errors
// only after tens of seconds) is given up on after this.
const ProbeTimeout = 5 * time.Second

// Choice is the outcome of choosing the acceleration.
type Choice struct {
	Accel string
	// Probe is the probe boot's time under KVM, when one succeeded.
	Probe time.Duration
	// Why says why KVM is not used, when it is not.
	Why string
}

// ChooseAccel resolves accel ("auto", "kvm", "tcg", or empty for auto).
// Auto boots one probe guest under KVM with ProbeTimeout and takes TCG
// (software emulation) if it does not come up.
func ChooseAccel(ctx context.Context, gs GuestSpec, accel string) (Choice, error) {
	switch accel {
	case AccelKVM:
		return Choice{Accel: accel}, nil
	case AccelTCG:
		return Choice{Accel: accel, Why: "software emulation was asked for"}, nil
	case AccelAuto, "":
	default:
		return Choice{}, fmt.Errorf("microvm: unknown acceleration %q: use kvm, tcg or auto", accel)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return Choice{Accel: AccelTCG, Why: fmt.Sprintf("no usable /dev/kvm (%v)", err)}, nil
	}
	f.Close()
	gs.Launcher = &QEMU{Accel: AccelKVM}
	gs.BootTimeout = ProbeTimeout
	g, err := Boot(ctx, gs)
	if err != nil {
		if ctx.Err() != nil {
			return Choice{}, ctx.Err()
		}
		return Choice{Accel: AccelTCG, Why: fmt.Sprintf("a probe boot under KVM failed: %v", err)}, nil
	}
	g.Close()
	return Choice{Accel: AccelKVM, Probe: g.BootTime}, nil
}
