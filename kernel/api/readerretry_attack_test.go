package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// openReader asks the task API for a reader with c's credential, as the
// client does (and as its retry does again, the same request, when the
// answer comes late): the reply, or the service's error text.
func openReader(t *testing.T, c *client.Client, req bus.ReaderRequest) (bus.ReaderReply, string) {
	t.Helper()
	body, _ := json.Marshal(req)
	msg, err := c.NC.Request(bus.Names{}.ReadersOpen(client.UserKey(c.NC)), body, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return bus.ReaderReply{}, code + " " + msg.Header.Get("Nats-Service-Error")
	}
	var reply bus.ReaderReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		t.Fatal(err)
	}
	return reply, ""
}

// A client that resumes its task's events after the newest it has seen
// (After) and whose readers.open is sent twice (its client's retry after
// a late answer) gets the same consumer both times, still delivering:
// the consumer's name is a digest of the request, so what it delivers
// must not depend on when each copy is served. Between the two the task
// stores its next event past other owners' events.
func TestResumedReaderAskedTwiceKeepsItsStream(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx := context.Background()
	task := submit(t, o.attacker, `{"command":"true","pool":"nobody"}`)
	probe, fail := openReader(t, o.attacker, bus.ReaderRequest{Task: task.ID, Deliver: o.attacker.NC.NewInbox()})
	if fail != "" || probe.LastSeq == 0 {
		t.Fatalf("reader of the own task: %+v %s", probe, fail)
	}
	inbox := o.attacker.NC.NewInbox()
	sub, err := o.attacker.NC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	req := bus.ReaderRequest{Task: task.ID, Deliver: inbox, After: probe.LastSeq}
	first, fail := openReader(t, o.attacker, req)
	if fail != "" {
		t.Fatal(fail)
	}
	// Others' events, then the task's next one.
	submit(t, o.victim, `{"command":"true","pool":"nobody"}`)
	if err := o.attacker.Cancel(ctx, task.ID, "resumed"); err != nil {
		t.Fatal(err)
	}
	again, fail := openReader(t, o.attacker, req)
	if fail != "" || again.Consumer != first.Consumer {
		t.Fatalf("the same request asked again: %+v %q; want consumer %s again", again, fail, first.Consumer)
	}
	for {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("the task's next event not delivered: %v", err)
		}
		if len(m.Data) == 0 {
			continue // a heartbeat
		}
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if typ := bus.MsgEventType(m.Header, m.Data); md.Sequence.Stream <= req.After || !strings.HasPrefix(string(typ), "cancel") {
			t.Fatalf("delivered %s at %d; want the task's cancel event after %d", typ, md.Sequence.Stream, req.After)
		}
		return
	}
}
