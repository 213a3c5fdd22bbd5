package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A submission that asks for its stream gets it in the same request: the
// kernel makes the reader's consumer, and the submitter never asks
// readers.open (watched on the admin connection).
func TestSubmitOpensItsStreamInOneRequest(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := bus.Names{}
	asked, err := k.NC.SubscribeSync(names.API() + ".readers.open.>")
	if err != nil {
		t.Fatal(err)
	}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	c := &client.Client{NC: alice.nc, Names: names, ViaAPI: true}
	// Another task's events come first in the stream.
	if _, _, err := c.Submit(ctx, bus.Task{ID: "before", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	sm, err := c.SubmitOpen(ctx, client.Reader{}, bus.Task{ID: "streamed", Command: "true"})
	if err != nil || sm.Stream == nil || sm.StreamErr != nil {
		t.Fatalf("submit and open: %+v %v", sm, err)
	}
	// Its consumer was made just before the accepted event was stored,
	// at the stream's end (bus.ReaderConsumerAhead), and resumed once the
	// task was recorded as alice's.
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	readers := 0
	for info := range events.ListConsumers(ctx).Info() {
		if !bus.IsReaderName(info.Name) {
			continue
		}
		readers++
		if info.Config.DeliverPolicy != jetstream.DeliverNewPolicy || info.Paused {
			t.Fatalf("the reader starts with %v, paused %v; want made ahead at the stream's end, and resumed", info.Config.DeliverPolicy, info.Paused)
		}
	}
	if readers != 1 {
		t.Fatalf("%d readers' consumers, want 1", readers)
	}
	var first bus.Event
	errOne := errors.New("one is enough")
	if err := sm.Stream.EachEvent(ctx, func(e bus.Event) error { first = e; return errOne }); !errors.Is(err, errOne) {
		t.Fatalf("read the stream: %v", err)
	}
	if first.Type != bus.EventAccepted || first.TaskID != "streamed" || first.Task == nil || first.Task.Owner != alice.owner() {
		t.Fatalf("first event %+v, want alice's accepted task", first)
	}
	if m, err := asked.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("the stream was opened with a second request on %s", m.Subject)
	}
}

// What a client credential may not get by asking for a stream with its
// submission: one delivering into another credential's inbox or onto a
// subject the system reads (refused, and nothing submitted), another
// owner's task under an id it takes (refused, nothing delivered), or an
// uncapped stream by claiming to be an admin's token (capped as any).
func TestAttackSubmissionStreams(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices", alice.owner(), bus.EventAssigned)
	submit := func(id, deliver string, more ...string) (client.Submitted, *nats.Msg) {
		t.Helper()
		hdr := nats.Header{bus.HeaderDeliver: {deliver}}
		for i := 0; i+1 < len(more); i += 2 {
			hdr.Set(more[i], more[i+1])
		}
		body, _ := json.Marshal(bus.Task{ID: id, Command: "true"})
		msg, err := kerneltest.Ask(mallory.nc, names.SubmitAs(mallory.owner(), ""), body, hdr, 10*time.Second)
		if err != nil {
			t.Fatalf("submit %s: %v", id, err)
		}
		var s client.Submitted
		_ = json.Unmarshal(msg.Data, &s)
		return s, msg
	}
	recorded := func(id string) bool {
		_, err := admin.LastEvent(ctx, id)
		return err == nil
	}
	own := bus.InboxPrefix(mallory.key) + ".mine"
	for _, c := range []struct {
		name, id, deliver, code string
	}{
		{"into alice's inbox", "m-into-alice", bus.InboxPrefix(alice.key) + ".stolen", "403"},
		{"onto a pool's tasks", "m-onto-tasks", names.TaskFor(bus.DefaultPool, ""), "400"},
		{"onto the events", "m-onto-events", names.Event("alices"), "400"},
		{"onto every inbox", "m-wildcard", bus.InboxPrefix(mallory.key) + ".>", "400"},
		{"onto a system subject", "m-system", "$JS.API.CONSUMER.DELETE.AMF_EVENTS.x", "400"},
		{"onto an inbox with a space", "m-space", own + " x", "400"},
	} {
		if _, msg := submit(c.id, c.deliver); msg.Header.Get("Nats-Service-Error-Code") != c.code {
			t.Errorf("a stream %s: answered %q %s, want %s", c.name, msg.Header.Get("Nats-Service-Error-Code"), msg.Data, c.code)
		}
		if recorded(c.id) {
			t.Errorf("a stream %s was refused but its task %s was recorded", c.name, c.id)
		}
	}

	// Alice's id: refused as taken, and nothing of hers delivered.
	inbox, err := mallory.nc.SubscribeSync(own)
	if err != nil {
		t.Fatal(err)
	}
	if _, msg := submit("alices", own); msg.Header.Get("Nats-Service-Error-Code") != "409" {
		t.Errorf("mallory's streamed submission under alice's id: %s %s, want 409", msg.Header.Get("Nats-Service-Error-Code"), msg.Data)
	}
	if m, err := inbox.NextMsg(time.Second); err == nil {
		t.Fatalf("mallory's inbox got %s %s after taking alice's id", m.Subject, m.Data)
	}

	// At her one stream, a claim to be an admin's token lifts no cap: the
	// task is submitted, and its stream is not made.
	mc := &client.Client{NC: mallory.nc, Names: names, ViaAPI: true}
	held, err := mc.SubmitOpen(ctx, client.Reader{}, bus.Task{ID: "m-held", Command: "true"})
	if err != nil || held.Stream == nil {
		t.Fatalf("mallory's first streamed submission: %+v %v", held, err)
	}
	s, msg := submit("m-uncapped", own, bus.HeaderOperator, "true")
	if msg.Header.Get("Nats-Service-Error-Code") != "" || s.ID != "m-uncapped" || s.Consumer != "" {
		t.Errorf("a second stream past the cap, claiming an admin's token: %s %+v", msg.Header, s)
	}
	if !recorded("m-uncapped") {
		t.Error("the submission past the stream cap was not recorded")
	}
	// Opened the usual way, the refusal names the limit.
	sm, err := mc.SubmitOpen(ctx, client.Reader{}, bus.Task{ID: "m-third", Command: "true"})
	if err != nil || sm.Stream != nil || !errors.Is(sm.StreamErr, client.ErrTooManyReaders) {
		t.Errorf("a streamed submission past the cap: %+v %v, want the task submitted and the stream refused", sm, err)
	}
	readOne(t, ctx, held.Stream)
}
