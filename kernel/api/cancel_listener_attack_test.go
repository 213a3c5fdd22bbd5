package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// Property: a task cancelled while it waits for a pool nobody serves is
// final (docs/SECURITY.md), whoever listens on the control subjects. A
// worker credential of another pool, which may subscribe to every
// task's control subject, only listens: the cancel must still end the
// task, and its status say so.
func TestAttackListenerOnControlKeepsACancelledTaskRunning(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	spy := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "spy", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	heard := make(chan string, 4)
	if _, err := spy.Subscribe(o.k.Names.Control("*"), func(m *nats.Msg) { heard <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := spy.Flush(); err != nil {
		t.Fatal(err)
	}
	task := submit(t, o.victim, `{"command":"echo never","pool":"nobody-serves","policy":"strict"}`)
	if err := o.victim.Cancel(context.Background(), task.ID, "not needed"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := o.victim.Status(context.Background(), task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == bus.StateCancelled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a cancelled task nobody runs is %q 10 s later, while another pool's worker listened on its control subject", st.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
