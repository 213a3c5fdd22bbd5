package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A streamed submission under the id of another owner's running task is
// refused and gets none of that task's events, not even those stored
// while the kernel finds the id taken: the submitter's consumer, made
// before the task is recorded, stays paused until the task is known to
// be the submitter's, and is deleted when it is not.
func TestAttackStreamedSubmissionUnderARunningTasksID(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices-busy", alice.owner(), bus.EventAssigned)

	// Alice's task keeps storing events, on the kernel's subject, which
	// every reader of the task is delivered.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e := bus.Event{TaskID: "alices-busy", Type: bus.EventProgress, TS: time.Now().UTC(), Text: fmt.Sprintf("alice's secret %d", i)}
			_, _ = k.JS.PublishMsg(ctx, names.EventMsg(e))
		}
	}()
	own := bus.InboxPrefix(mallory.key) + ".mine"
	inbox, err := mallory.nc.SubscribeSync(own)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(bus.Task{ID: "alices-busy", Command: "true"})
	for i := range 40 {
		msg, err := kerneltest.Ask(mallory.nc, names.SubmitAs(mallory.owner(), ""), body, nats.Header{bus.HeaderDeliver: {own}}, 10*time.Second)
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		if code := msg.Header.Get("Nats-Service-Error-Code"); code != "409" {
			t.Fatalf("mallory's streamed submission %d under alice's id: %q %s, want 409", i, code, msg.Data)
		}
	}
	close(stop)
	<-stopped
	if m, err := inbox.NextMsg(time.Second); err == nil {
		t.Fatalf("mallory's inbox got %s %q after taking alice's id", m.Subject, m.Data)
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	for name := range events.ListConsumers(ctx).Info() {
		if strings.HasPrefix(name.Name, bus.ReaderNamePrefix(mallory.owner())) {
			t.Errorf("a consumer of mallory's is left behind: %s", name.Name)
		}
	}
}
