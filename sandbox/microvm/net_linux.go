package microvm

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netEnv, set to 1 on the kernel command line, tells the agent its
// guest has a NIC on a user-mode network.
const netEnv = "AMF_MICROVM_NET"

// The user-mode network's fixed addresses: the guest is 10.0.2.15 and
// its gateway 10.0.2.2 is the NAT in the machine's process. Static, so
// no DHCP exchange sits on the boot path.
var (
	guestAddr = &net.IPNet{IP: net.IPv4(10, 0, 2, 15).To4(), Mask: net.CIDRMask(24, 32)}
	guestGW   = net.IPv4(10, 0, 2, 2).To4()
)

// guestNIC brings up the guest's one NIC (virtio_net, eth0) with its
// address and default route. The device may appear a moment after the
// driver loads.
func guestNIC() error {
	var link netlink.Link
	var err error
	for i := 0; ; i++ {
		if link, err = netlink.LinkByName("eth0"); err == nil {
			break
		}
		if i == 2000 {
			return fmt.Errorf("no network device eth0: %w", err)
		}
		unix.Nanosleep(&unix.Timespec{Nsec: 5e6}, nil)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: guestAddr}); err != nil {
		return fmt.Errorf("address eth0: %w", err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring eth0 up: %w", err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: guestGW}); err != nil {
		return fmt.Errorf("default route: %w", err)
	}
	return nil
}
