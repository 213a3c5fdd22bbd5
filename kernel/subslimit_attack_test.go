package kernel_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// Property: a credential cannot grow the kernel by subscribing. A
// client credential subscribes on its own inbox, where it may, past its
// bound: nats-server refuses the subscription past ClientSubsLimit and
// the ones before it work; a worker's connection holds more, and an
// operator's any number.
func TestAttackSubscriptionsPastTheCredentialsBound(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	for _, c := range []struct {
		spec  kernel.UserSpec
		limit int
	}{
		{kernel.UserSpec{Name: "flood", Role: kernel.RoleClient}, kernel.ClientSubsLimit},
		{kernel.UserSpec{Name: "flood-worker", Role: kernel.RoleWorker}, kernel.PartSubsLimit},
		{kernel.UserSpec{Name: "op", Role: kernel.RoleAdmin}, -1},
	} {
		t.Run(string(c.spec.Role), func(t *testing.T) {
			var mu sync.Mutex
			var refused []string
			nc := k.ConnectAs(k.Creds(c.spec), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
				mu.Lock()
				refused = append(refused, err.Error())
				mu.Unlock()
			}))
			inbox := nc.Opts.InboxPrefix
			n := c.limit + 10
			if c.limit < 0 {
				n = kernel.PartSubsLimit + 10
			}
			got := make(chan struct{}, n)
			for i := range n {
				if _, err := nc.Subscribe(inbox+".flood."+strconv.Itoa(i), func(*nats.Msg) { got <- struct{}{} }); err != nil {
					t.Fatal(err)
				}
			}
			if err := nc.FlushTimeout(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			// The refusal reaches the error handler after the flush.
			errs := ""
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				mu.Lock()
				errs = strings.Join(refused, "; ")
				mu.Unlock()
				if errs != "" {
					break
				}
			}
			if c.limit >= 0 && !strings.Contains(errs, "maximum subscriptions exceeded") {
				t.Fatalf("%d subscriptions by a %s credential, none refused (bound %d): %q", n, c.spec.Role, c.limit, errs)
			}
			if c.limit < 0 && errs != "" {
				t.Fatalf("an operator's subscriptions were refused: %s", errs)
			}
			// The ones within the bound deliver (what the kernel sends).
			if err := k.NC.Publish(inbox+".flood.0", nil); err != nil {
				t.Fatal(err)
			}
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				t.Fatalf("a subscription within the bound delivered nothing")
			}
		})
	}
}

// Property: nor by connecting. A client credential opens connections
// past ConnsPerCredential: the server closes the ones past it, the ones
// within it work, and a worker's connections are not counted.
func TestAttackConnectionsPastTheCredentialsBound(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	flood := k.Creds(kernel.UserSpec{Name: "conn-flood", Role: kernel.RoleClient})
	var conns []*nats.Conn
	for i := range kernel.ConnsPerCredential + 8 {
		nc, err := k.DialAs(flood, nats.NoReconnect())
		if err != nil {
			// The server may close one past the bound before its
			// handshake ends: refused, as the bound says.
			if i < kernel.ConnsPerCredential {
				t.Fatalf("connection %d, within the bound: %v", i, err)
			}
			continue
		}
		conns = append(conns, nc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		open := 0
		for _, nc := range conns {
			if nc.IsConnected() {
				open++
			}
		}
		if open <= kernel.ConnsPerCredential {
			if open < kernel.ConnsPerCredential-8 {
				t.Fatalf("%d of the credential's connections left open, want its bound %d", open, kernel.ConnsPerCredential)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections of one client credential stay open, past its bound %d", open, kernel.ConnsPerCredential)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// One within the bound still works.
	for _, nc := range conns {
		if nc.IsConnected() {
			if err := nc.FlushTimeout(5 * time.Second); err != nil {
				t.Fatalf("a connection within the bound: %v", err)
			}
			break
		}
	}
	// Workers run as many processes as the installation starts.
	worker := k.Creds(kernel.UserSpec{Name: "many-workers", Role: kernel.RoleWorker})
	var workers []*nats.Conn
	for range kernel.ConnsPerCredential + 8 {
		workers = append(workers, k.ConnectAs(worker, nats.NoReconnect()))
	}
	time.Sleep(500 * time.Millisecond)
	for i, nc := range workers {
		if !nc.IsConnected() {
			t.Fatalf("worker connection %d was closed: workers are not bounded", i)
		}
	}
}
