package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// The kernel deletes a reader's consumer whose task's newest event ages
// out within a margin (kernel/readerreap.go), checking every few
// seconds. It does not refuse to make one within that margin, and it
// does not tie a consumer to the recording of the id it was made for.
// An attacker squats an id a victim will choose, and asks for its own
// task's stream again and again (readers.open, its own credential, its
// own inbox) until the task's events age out: the last consumer made
// outlives the id until the reaper's next pass. The victim records its
// task under the id, now free, within that pass: the attacker's
// consumer is delivered the victim's accepted event (command and all),
// and from then on the reaper sees a fresh event under the id and keeps
// the attacker's consumer for the victim's whole task.
func TestAttackReaderOpenedAsItsTaskAgesOutReadsTheNextOwner(t *testing.T) {
	t.Parallel()
	// 6 s of events: the reaper's margin is 3 s, its pass every 750 ms.
	o := startAgedOwned(t, 6*time.Second, api.Quota{})
	names := bus.Names{}
	key := client.UserKey(o.attacker.NC)
	open := names.ReadersOpen(key)
	const rounds = 3
	for round := range rounds {
		id := fmt.Sprintf("nightly-report-%d", round) // an id the victim will choose
		submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
		deliver := fmt.Sprintf("%s.kept%d", bus.InboxPrefix(key), round)
		inbox, err := o.attacker.NC.SubscribeSync(deliver)
		if err != nil {
			t.Fatal(err)
		}
		// The attacker asks for its own task's stream until the kernel
		// answers that the task is gone (or about to be): the request is
		// the same each time, so it is one consumer, made anew whenever
		// the reaper deleted it.
		req, _ := json.Marshal(bus.ReaderRequest{Task: id, Deliver: deliver})
		deadline := time.Now().Add(time.Minute)
		for {
			msg, err := kerneltest.Ask(o.attacker.NC, open, req, nil, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code := msg.Header.Get("Nats-Service-Error-Code"); code == "404" {
				break
			} else if code != "" {
				t.Fatalf("readers.open: %s %s", code, msg.Data)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's events never aged out", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The victim records its own task under the id as soon as it is
		// free.
		victims, err := bus.DecodeTask([]byte(`{"id":"` + id + `","command":"echo victims-secret","pool":"nobody"}`))
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, _, err := o.victim.Submit(context.Background(), victims)
			if err == nil {
				break
			}
			if !errors.Is(err, client.ErrIDTaken) || time.Now().After(deadline) {
				t.Fatalf("the victim's submission under %s: %v", id, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		until := time.Now().Add(3 * time.Second)
		for time.Now().Before(until) {
			m, err := inbox.NextMsg(time.Until(until))
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
			// Several reaper passes later, the victim's task goes on: the
			// reaper sees the victim's fresh events under the id and
			// keeps the attacker's consumer.
			time.Sleep(3 * time.Second)
			later := bus.Event{TaskID: id, Type: bus.EventProgress, TS: time.Now().UTC(), Text: "victim's later progress"}
			if _, err := o.k.JS.PublishMsg(context.Background(), names.EventMsg(later)); err != nil {
				t.Fatal(err)
			}
			still := "and nothing after it"
			for {
				m, err := inbox.NextMsg(2 * time.Second)
				if err != nil {
					break
				}
				if l, err := bus.DecodeEvent(m.Data); err == nil && l.Text == later.Text {
					still = "and, 3 s (4 reaper passes) later, the victim's next event too"
					break
				}
			}
			t.Fatalf("round %d: the attacker's consumer, asked for as its own task aged out, was delivered the victim's %s event of %s (owner %s, command %q), %s",
				round, e.Type, e.TaskID, e.Task.Owner, e.Task.Command, still)
		}
		_ = inbox.Unsubscribe()
	}
}
