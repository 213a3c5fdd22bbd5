package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Every sandbox has a network namespace of its own. A profile with
// network gets one egress path: a veth pair whose far end is the
// sandbox's eth0, routed and masqueraded by the host kernel, with an
// nftables table that drops every packet from a sandbox to the host
// itself (any of its addresses, so no host listener, loopback service or
// the kernel's NATS port is reachable), every connection into a sandbox,
// traffic between sandboxes and to link-local addresses (cloud metadata),
// and lets DNS through to the host's resolver by DNAT. This is kernel
// forwarding with no process per command and no copy of every packet
// through user space, which a user-mode stack (pasta, slirp4netns) would
// add; and those connect from the host's own network namespace, so a
// sandbox could still reach host listeners on the host's own addresses.
//
// Addresses: sandboxNet is split into 256 blocks of /24, one per runner
// on the host (the runner holds a lock file for its block), and each
// block into 64 /30s, one per network sandbox: .1 on the host's end
// (the gateway and the sandbox's DNS server), .2 in the sandbox.
const (
	sandboxNet   = "10.254.0.0/16"
	netSlots     = 64
	netLockDir   = "/run/amf-sandbox"
	netInsideDev = "eth0"
)

type network struct {
	tag      int // this runner's block
	lock     *os.File
	resolver string // where DNS is sent, an IPv4 address
	mu       sync.Mutex
	free     []int
}

// netSlot is one sandbox's /30.
type netSlot struct {
	i             int
	hostIf        string
	gw, addr      net.IP
	routeLocalnet bool
}

// newNetwork claims a block, turns on forwarding and installs the
// runner's nftables table. resolver empty means the host's first
// nameserver.
func newNetwork(resolver string) (*network, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, fmt.Errorf("nft not found (install the nftables package): %w", err)
	}
	if resolver == "" {
		resolver = hostResolver()
	}
	if ip := net.ParseIP(resolver); ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("DNS resolver %q is not an IPv4 address", resolver)
	}
	n := &network{resolver: resolver, tag: -1}
	if err := os.MkdirAll(netLockDir, 0o700); err != nil {
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	for t := range 256 {
		f, err := os.OpenFile(filepath.Join(netLockDir, fmt.Sprintf("net-%02x.lock", t)), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock address block: %w", err)
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			n.tag, n.lock = t, f
			break
		}
		f.Close()
	}
	if n.tag < 0 {
		return nil, errors.New("all 256 sandbox address blocks are in use on this host")
	}
	for i := range netSlots {
		n.free = append(n.free, i)
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0); err != nil {
		n.close()
		return nil, fmt.Errorf("enable forwarding: %w", err)
	}
	if err := n.nft(n.ruleset()); err != nil {
		n.close()
		return nil, err
	}
	return n, nil
}

func (n *network) prefix() string { return fmt.Sprintf("amf%02x", n.tag) }
func (n *network) table() string  { return fmt.Sprintf("amf_sandbox_%02x", n.tag) }

// ruleset is the runner's nftables table; it replaces one a crashed
// runner of the same block left.
func (n *network) ruleset() string {
	p := n.prefix() + "*"
	return fmt.Sprintf(`table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
	chain input {
		type filter hook input priority filter - 10; policy accept;
		iifname "%[2]s" ct status dnat meta l4proto { tcp, udp } th dport 53 accept
		iifname "%[2]s" drop
	}
	chain output {
		type filter hook output priority filter - 10; policy accept;
		oifname "%[2]s" ct state established,related accept
		oifname "%[2]s" drop
	}
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		oifname "%[2]s" ct state established,related accept
		oifname "%[2]s" drop
		iifname "%[2]s" ct status dnat accept
		iifname "%[2]s" ip daddr { %[3]s, 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 } drop
		iifname "%[2]s" meta nfproto ipv6 drop
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "%[2]s" fib daddr type local meta l4proto { tcp, udp } th dport 53 dnat ip to %[4]s
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.254.%[5]d.0/24 oifname != "amf*" masquerade
	}
}
`, n.table(), p, sandboxNet, n.resolver, n.tag)
}

func (n *network) nft(script string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// reserve takes a /30 for a sandbox about to start.
func (n *network) reserve() (*netSlot, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.free) == 0 {
		return nil, fmt.Errorf("%w: all %d network sandboxes of this runner are in use", ErrStart, netSlots)
	}
	// The slot freed longest ago: its old veth pair is most likely gone
	// with its namespace.
	i := n.free[0]
	n.free = n.free[1:]
	base := net.IPv4(10, 254, byte(n.tag), byte(4*i)).To4()
	s := &netSlot{i: i, hostIf: fmt.Sprintf("%s%02x", n.prefix(), i)}
	s.gw = net.IPv4(base[0], base[1], base[2], base[3]+1).To4()
	s.addr = net.IPv4(base[0], base[1], base[2], base[3]+2).To4()
	s.routeLocalnet = net.ParseIP(n.resolver).IsLoopback()
	return s, nil
}

// release returns a slot once its sandbox has ended.
func (n *network) release(s *netSlot) {
	if s == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.free = append(n.free, s.i)
}

// attach wires a started init's network namespace to the host.
func (n *network) attach(s *netSlot, pid int) error {
	mask := net.CIDRMask(30, 32)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.hostIf},
		PeerName:      netInsideDev,
		PeerNamespace: netlink.NsPid(pid),
	}
	err := netlink.LinkAdd(veth)
	if errors.Is(err, unix.EEXIST) {
		// The pair of an earlier sandbox of this slot whose namespace
		// the kernel has not finished tearing down.
		if old, lerr := netlink.LinkByName(s.hostIf); lerr == nil {
			netlink.LinkDel(old)
		}
		err = netlink.LinkAdd(veth)
	}
	if err != nil {
		return fmt.Errorf("create veth %s: %w", s.hostIf, err)
	}
	host, err := netlink.LinkByName(s.hostIf)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", s.hostIf, err)
	}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: &net.IPNet{IP: s.gw, Mask: mask}}); err != nil {
		return fmt.Errorf("address veth %s: %w", s.hostIf, err)
	}
	if s.routeLocalnet {
		// DNS is sent on to a resolver on the host's loopback; the input
		// chain lets nothing else through.
		os.WriteFile("/proc/sys/net/ipv4/conf/"+s.hostIf+"/route_localnet", []byte("1"), 0)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring veth %s up: %w", s.hostIf, err)
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("sandbox network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("sandbox netlink: %w", err)
	}
	defer h.Close()
	in, err := h.LinkByName(netInsideDev)
	if err != nil {
		return fmt.Errorf("find sandbox %s: %w", netInsideDev, err)
	}
	if err := h.AddrAdd(in, &netlink.Addr{IPNet: &net.IPNet{IP: s.addr, Mask: mask}}); err != nil {
		return fmt.Errorf("address sandbox %s: %w", netInsideDev, err)
	}
	if err := h.LinkSetUp(in); err != nil {
		return fmt.Errorf("bring sandbox %s up: %w", netInsideDev, err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: in.Attrs().Index, Gw: s.gw}); err != nil {
		return fmt.Errorf("sandbox default route: %w", err)
	}
	return nil
}

// close gives up the runner's block. Its table stays: commands still
// running after Close keep their veth pairs, and must stay filtered; the
// next runner to claim the block replaces the table in one transaction.
// The veth pairs go with their sandboxes' namespaces.
func (n *network) close() {
	if n.lock == nil {
		return
	}
	n.lock.Close()
	n.lock = nil
}

// hostResolver is the first nameserver of the host's resolv.conf.
func hostResolver() string {
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		return "127.0.0.53"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip != nil && ip.To4() != nil {
				return fields[1]
			}
		}
	}
	return "127.0.0.53"
}
