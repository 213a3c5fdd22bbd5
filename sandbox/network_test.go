//go:build linux

package sandbox

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/kerneltest"
	"golang.org/x/sys/unix"
)

const networkProfiles = `default: bare
profiles:
  bare:
    description: syntax only, no network
    network: false
    rules: [syntax]
  bare-net:
    description: syntax only, with network
    network: true
    rules: [syntax]
`

// netRunner is a root runner whose profiles check syntax only, so the
// network confinement alone is under test, with DNS sent to dns.
func netRunner(t *testing.T, dns string) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedBinary(t, "nft") // Debian nftables: just deps
	testenv.NeedBinary(t, "ip")
	pf := filepath.Join(t.TempDir(), "profiles.yaml")
	if err := os.WriteFile(pf, []byte(networkProfiles), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), ProfilesFile: pf, DNS: dns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// testNetns is a network namespace the test made, standing for the
// internet: reachable from the host through a veth pair.
type testNetns struct {
	name     string
	hostAddr string // the host's end
	addr     string // the namespace's end
}

func newTestNetns(t *testing.T) *testNetns {
	t.Helper()
	id := fmt.Sprintf("%04x", rand.IntN(1<<16))
	k := testSubnet(t)
	n := &testNetns{name: "confine-" + id, hostAddr: fmt.Sprintf("198.18.%d.1", k), addr: fmt.Sprintf("198.18.%d.2", k)}
	hostIf, nsIf := "confine"+id+"h", "confine"+id+"n"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", n.name)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", n.name).Run()
		exec.Command("ip", "link", "del", hostIf).Run()
	})
	ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", n.name)
	ip("addr", "add", n.hostAddr+"/30", "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", n.name, "addr", "add", n.addr+"/30", "dev", nsIf)
	ip("-n", n.name, "link", "set", nsIf, "up")
	ip("-n", n.name, "link", "set", "lo", "up")
	// Replies to the sandboxes' address range go back through the host,
	// as on a LAN whose router knows the route: inbound must still fail.
	ip("-n", n.name, "route", "add", sandboxNet, "via", n.hostAddr)
	return n
}

var testSubnets struct {
	sync.Mutex
	taken map[int]bool
}

// testSubnet picks a 198.18.k.0/30 that neither a parallel test of this
// process nor anything else on the host uses: two veths with one
// address send the probe to the wrong namespace.
func testSubnet(t *testing.T) int {
	t.Helper()
	testSubnets.Lock()
	defer testSubnets.Unlock()
	if testSubnets.taken == nil {
		testSubnets.taken = map[int]bool{}
	}
	onHost := map[string]bool{}
	for _, a := range hostAddrs(t) {
		onHost[a] = true
	}
	start := rand.IntN(250)
	for i := range 250 {
		k := (start+i)%250 + 1
		if !testSubnets.taken[k] && !onHost[fmt.Sprintf("198.18.%d.1", k)] {
			testSubnets.taken[k] = true
			t.Cleanup(func() {
				testSubnets.Lock()
				delete(testSubnets.taken, k)
				testSubnets.Unlock()
			})
			return k
		}
	}
	t.Fatal("no free 198.18.k.0/30 for a test namespace")
	return 0
}

// in runs fn in the namespace, on a locked thread it then moves back.
// The thread must not exit: a thread that forked the spawner takes it
// along when it dies (the spawner's parent-death signal is per thread).
func (n *testNetns) in(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	f, err := os.Open("/run/netns/" + n.name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("back to the host network namespace: %v", err) // the thread stays locked, and is dropped
	}
	runtime.UnlockOSThread()
}

// greeter accepts connections and writes a greeting; it reports each.
func greeter(ln net.Listener, greeting string, accepted chan<- string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if accepted != nil {
			select {
			case accepted <- c.RemoteAddr().String():
			default:
			}
		}
		c.Write([]byte(greeting + "\n"))
		c.Close()
	}
}

// greet listens on addr and answers every connection with greeting,
// reporting each on accepted (when not nil) until the test ends.
func greet(t *testing.T, network, addr, greeting string, accepted chan<- string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go greeter(ln, greeting, accepted)
	return ln
}

// greetOutside is greet inside the test's "internet" namespace.
func greetOutside(t *testing.T, inet *testNetns) string {
	t.Helper()
	var ln net.Listener
	inet.in(t, func() { ln = greet(t, "tcp4", inet.addr+":0", "hello from outside", nil) })
	return ln.Addr().String()
}

// dnsServer answers every A query with answer, on addr:53 (UDP).
func dnsServer(t *testing.T, addr string, answer net.IP) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(addr, "53"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			// The question: labels up to the root, then type and class.
			i := 12
			for i < n && buf[i] != 0 {
				i += int(buf[i]) + 1
			}
			if i+5 > n {
				continue
			}
			qtype := binary.BigEndian.Uint16(buf[i+1:])
			end := i + 5
			resp := append([]byte(nil), buf[:end]...)
			binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion available, no error
			binary.BigEndian.PutUint16(resp[6:], 0)      // answers
			binary.BigEndian.PutUint16(resp[8:], 0)
			binary.BigEndian.PutUint16(resp[10:], 0)
			if qtype == 1 {
				binary.BigEndian.PutUint16(resp[6:], 1)
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
				resp = append(resp, answer.To4()...)
			}
			pc.WriteTo(resp, from)
		}
	}()
}

// probe is a command that tries to connect to each address and prints
// one line per address: "ADDR connected" or "ADDR failed: why".
func probe(addrs ...string) string {
	return `python3 -c '
import socket, sys
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX if a.startswith("@") else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1.5)
    try:
        if a.startswith("@"):
            s.connect("\0" + a[1:])
        else:
            h, p = a.rsplit(":", 1); s.connect((h, int(p)))
        print(a, "connected", s.recv(64).decode().strip())
    except Exception as e:
        print(a, "failed:", e)
' ` + strings.Join(addrs, " ")
}

func hostAddrs(t *testing.T) []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}

// A sandbox with network gets egress and DNS, and nothing of the host:
// not its loopback services, not its listeners on any of its addresses,
// not its abstract unix sockets; and nothing can connect in.
func TestNetworkProfileEgressOnly(t *testing.T) {
	dnsAddr := fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(250), 1+rand.IntN(250))
	dnsServer(t, dnsAddr, net.IPv4(203, 0, 113, 77))
	r := netRunner(t, dnsAddr)
	inet := newTestNetns(t)

	// The internet: a server in the test's namespace.
	outsideAddr := greetOutside(t, inet)

	// The host: a loopback service, a listener on every address, the
	// kernel's NATS port and an abstract unix socket.
	accepted := make(chan string, 16)
	lo := greet(t, "tcp4", "127.0.0.1:0", "host loopback", accepted)
	all := greet(t, "tcp4", "0.0.0.0:0", "host listener", accepted)
	abstract := "confine-" + newID()
	ul, err := net.Listen("unix", "@"+abstract)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	go greeter(ul, "host abstract socket", accepted)
	k := kerneltest.Start(t)
	natsURL, _ := url.Parse(k.NC.ConnectedUrl())

	allPort := strconv.Itoa(all.Addr().(*net.TCPAddr).Port)
	targets := []string{
		outsideAddr,
		lo.Addr().String(),
		"127.0.0.1:" + natsURL.Port(),
		"@" + abstract,
		inet.hostAddr + ":" + allPort,
	}
	for _, a := range hostAddrs(t) {
		targets = append(targets, a+":"+allPort)
	}
	// The sandbox's gateway is the host's end of its veth.
	res, out := attempt(t, r, "reaching the outside, the host and DNS from a network sandbox",
		`gw=$(ip -4 route show default | cut -d" " -f3); echo gateway $gw; `+
			probe(targets...)+` $gw:`+allPort+` $gw:`+natsURL.Port()+`; getent ahostsv4 confine-probe.test | head -1`,
		Spec{Profile: "bare-net", Timeout: 60 * time.Second})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	if !strings.Contains(out, outsideAddr+" connected hello from outside") {
		t.Errorf("no egress: the outside server was not reached")
	}
	if !strings.Contains(out, "stdout: 203.0.113.77") {
		t.Errorf("DNS did not answer through the host's resolver")
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " connected ") && !strings.Contains(l, outsideAddr) {
			t.Errorf("reached the host: %s", l)
		}
	}
	select {
	case a := <-accepted:
		t.Errorf("a host listener accepted a connection from %s", a)
	default:
	}
}

// Nothing connects into a sandbox: not the host, not a neighbour that
// routes the sandboxes' addresses through the host.
func TestNetworkProfileNoInbound(t *testing.T) {
	r := netRunner(t, "")
	inet := newTestNetns(t)
	addrLine := make(chan string, 1)
	done := make(chan string, 1)
	go func() {
		var c collector
		_, err := r.Run(t.Context(), Spec{Profile: "bare-net", Timeout: 60 * time.Second, Command: `python3 -c '
import socket, subprocess
s = socket.socket(); s.bind(("0.0.0.0", 8000)); s.listen(8); s.settimeout(4)
addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "eth0"], capture_output=True, text=True).stdout.split()[3].split("/")[0]
print("listening", addr, flush=True)
try:
    c, a = s.accept(); print("accepted", a)
except Exception as e:
    print("nothing accepted:", e)
'`}, func(s Stream, line string) {
			c.out(s, line)
			if strings.HasPrefix(line, "listening ") {
				addrLine <- strings.TrimPrefix(line, "listening ")
			}
		})
		if err != nil {
			t.Error(err)
		}
		done <- c.text()
	}()
	var addr string
	select {
	case addr = <-addrLine:
	case out := <-done:
		t.Fatalf("the sandbox did not listen:\n%s", out)
	}
	target := net.JoinHostPort(addr, "8000")
	if c, err := net.DialTimeout("tcp4", target, time.Second); err == nil {
		c.Close()
		t.Errorf("the host connected into the sandbox at %s", target)
	} else {
		t.Logf("host → %s: %v", target, err)
	}
	inet.in(t, func() {
		if c, err := net.DialTimeout("tcp4", target, time.Second); err == nil {
			c.Close()
			t.Errorf("a neighbour connected into the sandbox at %s", target)
		} else {
			t.Logf("neighbour → %s: %v", target, err)
		}
	})
	out := <-done
	t.Logf("%s", out)
	if !strings.Contains(out, "nothing accepted") {
		t.Errorf("the sandbox accepted a connection")
	}
}

// Two network sandboxes cannot reach each other either.
func TestNetworkProfileSandboxesApart(t *testing.T) {
	r := netRunner(t, "")
	addrLine := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(t.Context(), Spec{Profile: "bare-net", Timeout: 60 * time.Second, Command: `python3 -c '
import socket, subprocess
s = socket.socket(); s.bind(("0.0.0.0", 8000)); s.listen(8); s.settimeout(5)
addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "eth0"], capture_output=True, text=True).stdout.split()[3].split("/")[0]
print("listening", addr, flush=True)
try:
    s.accept()
except Exception:
    pass
'`}, func(s Stream, line string) {
			if strings.HasPrefix(line, "listening ") {
				addrLine <- strings.TrimPrefix(line, "listening ")
			}
		})
	}()
	addr := <-addrLine
	_, out := attempt(t, r, "reaching another sandbox", probe(addr+":8000"), Spec{Profile: "bare-net", Timeout: 30 * time.Second})
	if strings.Contains(out, " connected") {
		t.Errorf("one sandbox reached another")
	}
	<-done
}
