package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader's consumer delivers whatever is stored under its task's id
// for as long as its inbox is listened to. Once the task's events have
// aged out (--events-max-age) the id is free for anyone: a streamed
// submission's reader kept listening after its task must not be
// delivered the task another owner records next under the same id.
func TestAttackStreamOutlivesItsTaskAndReadsTheNextOwnerUnderItsID(t *testing.T) {
	t.Parallel()
	o := startAgedOwned(t, 2*time.Second, api.Quota{})
	names := bus.Names{}
	const id = "release-notes" // an id the victim will choose

	// The attacker submits under the id first, asking for its stream,
	// and keeps its inbox listened to from then on.
	key := client.UserKey(o.attacker.NC)
	own := bus.InboxPrefix(key) + ".kept"
	inbox, err := o.attacker.NC.SubscribeSync(own)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(bus.Task{ID: id, Command: "true", Pool: "nobody"})
	msg, err := kerneltest.Ask(o.attacker.NC, names.SubmitAs(ownerOf(o.attacker), ""), body, nats.Header{bus.HeaderDeliver: {own}}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var s client.Submitted
	if err := json.Unmarshal(msg.Data, &s); err != nil || s.Consumer == "" {
		t.Fatalf("the attacker's streamed submission: %s %s", msg.Header, msg.Data)
	}
	o.eventsGone(t, id)

	// The victim records its own task under the id, now free.
	submit(t, o.victim, `{"id":"`+id+`","command":"echo secret","pool":"nobody"}`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m, err := inbox.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		if len(m.Data) == 0 {
			continue // a heartbeat
		}
		e, err := bus.DecodeEvent(m.Data)
		if err != nil || e.Task == nil || e.Task.Owner != ownerOf(o.victim) {
			continue // the attacker's own task's
		}
		t.Fatalf("the attacker's stream, kept past its task, delivered the victim's %s event of %s (%q)", e.Type, e.TaskID, e.Task.Command)
	}
}

// Two owners submit under the same new id at once, each asking for its
// stream. The accepted event is stored for one of them only; the other's
// consumer, made before either was stored, must deliver it nothing and
// be gone, and the winner's stream starts at its own accepted event.
func TestAttackRacingStreamedSubmissionsUnderOneNewID(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, -1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	type outcome struct {
		who   *attacker
		code  string
		inbox *nats.Subscription
	}
	ask := func(a *attacker, id string, out *outcome, wg *sync.WaitGroup) {
		defer wg.Done()
		own := bus.InboxPrefix(a.key) + "." + id
		sub, err := a.nc.SubscribeSync(own)
		if err != nil {
			t.Error(err)
			return
		}
		body, _ := json.Marshal(bus.Task{ID: id, Command: "true", Pool: "nobody"})
		msg, err := kerneltest.Ask(a.nc, names.SubmitAs(a.owner(), ""), body, nats.Header{bus.HeaderDeliver: {own}}, 10*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		*out = outcome{who: a, code: msg.Header.Get("Nats-Service-Error-Code"), inbox: sub}
	}
	for i := range 30 {
		id := fmt.Sprintf("contested-%d", i)
		var a, m outcome
		var wg sync.WaitGroup
		wg.Add(2)
		go ask(alice, id, &a, &wg)
		go ask(mallory, id, &m, &wg)
		wg.Wait()
		if t.Failed() {
			return
		}
		won, lost := a, m
		if a.code != "" {
			won, lost = m, a
		}
		if won.code != "" || lost.code != "409" {
			t.Fatalf("round %d: alice %q, mallory %q; want one accepted and one 409", i, a.code, m.code)
		}
		first, err := won.inbox.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("round %d: the winner's stream delivered nothing: %v", i, err)
		}
		e, err := bus.DecodeEvent(first.Data)
		if err != nil || e.Type != bus.EventAccepted || e.Task == nil || e.Task.Owner != won.who.owner() {
			t.Fatalf("round %d: the winner's first event %s %q, want its own accepted event", i, first.Subject, first.Data)
		}
		if msg, err := lost.inbox.NextMsg(200 * time.Millisecond); err == nil {
			t.Fatalf("round %d: the refused submitter's inbox got %s %q", i, msg.Subject, msg.Data)
		}
		_ = won.inbox.Unsubscribe()
		_ = lost.inbox.Unsubscribe()
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	for info := range events.ListConsumers(ctx).Info() {
		if !bus.IsReaderName(info.Name) {
			continue
		}
		if !strings.HasPrefix(info.Config.DeliverSubject, bus.InboxPrefix(alice.key)+".") && !strings.HasPrefix(info.Config.DeliverSubject, bus.InboxPrefix(mallory.key)+".") {
			t.Errorf("reader %s left delivering to %s", info.Name, info.Config.DeliverSubject)
		}
	}
}
