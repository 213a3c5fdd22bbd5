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
