package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// lan is a set of "hosts", network namespaces each joined by a veth pair
// to one bridge in the test's own namespace: the test process is a host
// of the LAN too (the client, and where the fake model is served from).
// Every name starts with flt and the test's pid; all of it is removed
// when the test ends, failed or not.
type lan struct {
	*hosts
	ipBin  string
	n      int
	net    string // first three octets of the /24
	ns     map[string]string
	ip     map[string]string
	link   map[string]string // the bridge's side of each host's veth
	bridge string
}

func newLAN(t *testing.T, roles ...string) *lan {
	testenv.NeedRoot(t)
	ipBin := testenv.NeedBinary(t, "ip")
	n := os.Getpid() % 100000
	l := &lan{
		hosts: &hosts{t: t}, ipBin: ipBin, n: n,
		// One /24 per test process, so two runs on one machine do not
		// share addresses.
		net: fmt.Sprintf("10.214.%d", n%250),
		ns:  map[string]string{}, ip: map[string]string{}, link: map[string]string{},
		bridge: fmt.Sprintf("fltbr%d", n),
	}
	l.run("link", "add", l.bridge, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command(ipBin, "link", "del", l.bridge).Run() })
	l.run("addr", "add", l.gateway()+"/24", "dev", l.bridge)
	l.run("link", "set", l.bridge, "up")
	for i, role := range roles {
		ns, in, out := fmt.Sprintf("flt%s%d", role, n), fmt.Sprintf("flt%si%d", role, n), fmt.Sprintf("flt%so%d", role, n)
		l.ns[role], l.link[role], l.ip[role] = ns, out, fmt.Sprintf("%s.%d", l.net, i+1)
		l.run("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command(ipBin, "netns", "del", ns).Run() })
		l.run("link", "add", out, "type", "veth", "peer", "name", in)
		t.Cleanup(func() { _ = exec.Command(ipBin, "link", "del", out).Run() })
		l.run("link", "set", in, "netns", ns)
		l.run("link", "set", out, "master", l.bridge)
		l.run("link", "set", out, "up")
		l.run("-n", ns, "addr", "add", l.ip[role]+"/24", "dev", in)
		l.run("-n", ns, "link", "set", in, "up")
		l.run("-n", ns, "link", "set", "lo", "up")
	}
	return l
}

func (l *lan) gateway() string { return l.net + ".254" }

func (l *lan) run(args ...string) {
	l.t.Helper()
	if out, err := exec.Command(l.ipBin, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
}

// cut takes a host off the LAN (its cable pulled) or puts it back.
func (l *lan) cut(role string, off bool) {
	state := "up"
	if off {
		state = "down"
	}
	l.run("link", "set", l.link[role], state)
}

// behindNAT makes a host reachable from nowhere: it may open connections
// and gets their answers, nothing else comes in — what a NAT gateway or a
// stateful firewall does for the usual worker at a site.
func (l *lan) behindNAT(role string) {
	l.t.Helper()
	nft := testenv.NeedBinary(l.t, "nft")
	rules := `table inet fltnat {
	chain in {
		type filter hook input priority 0; policy drop;
		iif lo accept
		ct state established,related accept
	}
}
`
	cmd := exec.Command(l.ipBin, "netns", "exec", l.ns[role], nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft in %s: %v\n%s", l.ns[role], err, out)
	}
}

// serveOnLAN relays HTTP from the bridge address to a loopback server of
// the test (the fake model), so hosts of the LAN can reach it.
func (l *lan) serveOnLAN(target string) string {
	l.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		l.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", l.gateway()+":0")
	if err != nil {
		l.t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.FlushInterval = -1 // the model streams
	// A worker killed mid-answer breaks its stream: expected here.
	p.ErrorLog = log.New(io.Discard, "", 0)
	srv := &http.Server{Handler: p}
	go func() { _ = srv.Serve(ln) }()
	l.t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}
