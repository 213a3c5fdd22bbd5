package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// A reader's request asked again (its answer came late and the client
// sent it once more) is answered with the consumer the first asking
// made: one consumer, not two delivering the same events, and at its
// owner's cap the second asking is not refused for the first one's room.
func TestAReaderAskedAgainIsTheSameConsumer(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices", alice.owner(), bus.EventAssigned)
	if _, err := alice.nc.SubscribeSync(bus.InboxPrefix(alice.key) + ".again"); err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: bus.InboxPrefix(alice.key) + ".again"})
	var made []string
	for range 2 {
		msg, err := alice.nc.Request(names.ReadersOpen(alice.key), req, 10*time.Second)
		if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "" {
			t.Fatalf("asking for a reader, at a cap of one: %v %v %s", err, msg.Header, msg.Data)
		}
		var reply bus.ReaderReply
		if err := json.Unmarshal(msg.Data, &reply); err != nil {
			t.Fatal(err)
		}
		made = append(made, reply.Consumer)
	}
	if made[0] != made[1] {
		t.Errorf("the same request asked twice made %v", made)
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	lister := events.ConsumerNames(ctx)
	for name := range lister.Name() {
		if bus.IsReaderName(name) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d readers' consumers on the events stream, want 1", n)
	}
}
