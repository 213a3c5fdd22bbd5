//go:build linux

package microvm

import (
	"slices"
	"strings"
	"testing"
)

// A machine without Network has no NIC at all; one with it has a
// user-mode NIC and none of user-mode networking's ways into the host
// (port forwarding, guest forwarding, SMB, TFTP).
func TestQEMUNetworkArgs(t *testing.T) {
	q := &QEMU{Accel: AccelTCG}
	m := MachineSpec{Image: &Image{Kernel: "k", Initrd: "i"}, MemoryMiB: 256, CPUs: 1, AgentSocket: "a.sock"}
	strict := strings.Join(q.args(m), " ")
	for _, no := range []string{"-netdev", "-nic", "-net ", "virtio-net"} {
		if strings.Contains(strict, no) {
			t.Errorf("a machine without network has %q: %s", no, strict)
		}
	}
	m.Network = true
	args := q.args(m)
	i := slices.Index(args, "-netdev")
	if i < 0 || args[i+1] != "user,id=net0,ipv6=off" {
		t.Fatalf("no user-mode netdev as expected: %v", args)
	}
	all := strings.Join(args, " ")
	for _, no := range []string{"hostfwd", "guestfwd", "smb", "tftp", "bootfile"} {
		if strings.Contains(all, no) {
			t.Errorf("the user-mode network has %q: %s", no, all)
		}
	}
	if !slices.Contains(args, "virtio-net-device,netdev=net0") {
		t.Errorf("no virtio-net device on the netdev: %v", args)
	}
}
