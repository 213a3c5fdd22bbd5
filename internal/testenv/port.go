package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
)

// FreePort returns a loopback TCP port that nothing listens on now, for a
// server a test starts by address (nats-server's routes, leaf and
// monitoring ports, redis-server, a child `amf`). The port is drawn from
// below the kernel's ephemeral range: a port the kernel handed out to
// listen(":0") is handed out again to the next outgoing connection or
// listener once the test closes it, and with hundreds of connections made
// by tests running side by side, one took a cluster's route port before
// its kernel could bind it. Below the range only another test's explicit
// choice can collide, which this process never repeats.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := testPorts()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range 1000 {
		p := lo + rand.IntN(hi-lo)
		if ports.given[p] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		ln.Close()
		ports.given[p] = true
		return p
	}
	t.Fatalf("no free loopback port in [%d, %d)", lo, hi)
	return 0
}

// FreeAddr is FreePort as a host:port on 127.0.0.1.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

var ports = struct {
	mu    sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// testPorts is the range [lo, hi) the tests choose from: from 10,000 up
// to the kernel's ephemeral range, or, where that range starts lower,
// above it.
func testPorts() (lo, hi int) {
	el, eh := 32768, 60999 // Linux's default ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var l, h int
		if _, err := fmt.Sscan(string(b), &l, &h); err == nil && 0 < l && l <= h {
			el, eh = l, h
		}
	}
	const floor, room = 10000, 1000
	switch {
	case el-floor >= room:
		return floor, el
	case 65536-(eh+1) >= room:
		return eh + 1, 65536
	}
	// No room outside the range: the old way, and its rare collisions.
	return floor, 65536
}
