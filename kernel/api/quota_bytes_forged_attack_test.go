package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory/cache"
)

// A worker credential (of any pool) stores an accepted event of its own
// under fresh ids, naming the victim as the task's owner and a huge
// task_bytes: the status keeps neither (only the kernel's accepted sets
// the owner and bytes), so a restarted task API does not count those
// tasks against the victim, whose submissions go on.
func TestAttackWorkerAcceptedEventCannotChargeAnOwnerAfterARestart(t *testing.T) {
	t.Parallel()
	o := startOwned(t, func(s *api.Service) { s.Quota = api.Quota{Tasks: 2, TaskBytes: 1 << 20} })
	ctx := context.Background()
	nc := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "w", Role: kernel.RoleWorker, Pools: []string{"mine"}}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cred := bus.CredentialOfInbox(nc.Opts.InboxPrefix)
	ids := []string{"forged-1", "forged-2", "forged-3"}
	for _, id := range ids {
		task := bus.Task{ID: id, Command: "true", Pool: "mine", Owner: o.victimOwner, Submitted: time.Now().UTC()}
		e := bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &task, TaskBytes: 1 << 40}
		if _, err := js.PublishMsg(ctx, o.k.Names.EventMsgBy(e, "mine", cred)); err != nil {
			t.Fatal(err)
		}
	}
	hot, err := cache.NewKVCache(ctx, o.k.JS)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the forged statuses to be projected", func() bool {
		for _, id := range ids {
			if st, err := hot.Status(ctx, id); err != nil || st.State != bus.StateQueued {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		if st, _ := hot.Status(ctx, id); st.Owner != "" || st.Bytes != 0 {
			t.Fatalf("a worker's accepted event set the status's owner or bytes: %+v", st)
		}
	}
	o.restart()
	for range 2 {
		submit(t, o.victim, `{"command":"true","pool":"nobody"}`)
	}
}
