//go:build linux

package microvm

import (
	"context"
	"testing"
)

// Auto takes KVM only when a guest boots under it, and says why not
// otherwise. On the development VM /dev/kvm is kvm_pvm, which fails
// stock kernels, so the probe times out and TCG is chosen.
func TestChooseAccel(t *testing.T) {
	img, dir := testImage(t)
	gs := GuestSpec{Image: img, MemoryMiB: 256, CPUs: 1, Dir: dir}
	c, err := ChooseAccel(context.Background(), gs, AccelAuto)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("auto chose %+v", c)
	switch c.Accel {
	case AccelKVM:
		if c.Probe <= 0 {
			t.Errorf("KVM chosen without a probe boot: %+v", c)
		}
	case AccelTCG:
		if c.Why == "" {
			t.Errorf("TCG chosen without a reason: %+v", c)
		}
	default:
		t.Errorf("auto chose %q", c.Accel)
	}
	if _, err := ChooseAccel(context.Background(), gs, "fast"); err == nil {
		t.Error("an unknown acceleration was accepted")
	}
}
