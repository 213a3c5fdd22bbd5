package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// The status projector folds an event into the status it remembers for
// the event's task id (in memory, else the hot cache), and keys that
// status by id alone. A task id is free again once its events are gone,
// but its status is not: the projector keeps a task that has not ended in
// memory (up to 10000 of them), and the hot cache keeps every status for
// its own TTL (24 h by default, whatever --events-max-age says). Folded
// into the previous owner's status, the next owner's task under the id
// would keep that owner (an accepted event sets an owner only where there
// is none) or nothing of it at all (an ended status changes no more), and
// the task API's status, list and cancel, which answer from it, would let
// the first owner read the next owner's task and change it. A kernel's
// accepted event under an id with a status starts a new one
// (bus.Status.Apply), and cancel checks the kernel's record of the id.

// startAgedOwnedTTL is startAgedOwned with the hot cache's statuses kept
// for statusTTL (0: the cache's default, 24 h, as `amf kernel` opens it)
// and the projector remembering as many tasks as a real one does.
func startAgedOwnedTTL(t *testing.T, age, statusTTL time.Duration) *agedOwned {
	return startAged(t, aged{age: age, tasksDup: time.Second, statusTTL: statusTTL})
}

// victimTakes submits the victim's task under id as soon as it is free.
func (o *agedOwned) victimTakes(t *testing.T, id, body string) bus.Task {
	t.Helper()
	task, err := bus.DecodeTask([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got, _, err := o.victim.Submit(context.Background(), task)
		if err == nil {
			return got
		}
		if !errors.Is(err, client.ErrIDTaken) || time.Now().After(deadline) {
			t.Fatalf("the victim's submission under %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// victimsEvents are the types of the events stored under id, as an admin
// reads them.
func (o *agedOwned) victimsEvents(t *testing.T, id string) []bus.EventType {
	t.Helper()
	admin := &client.Client{NC: o.k.NC, JS: o.k.JS}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := admin.Open(ctx, id, 0, false)
	if err != nil {
		t.Fatalf("admin reads %s: %v", id, err)
	}
	var types []bus.EventType
	if err := s.EachEvent(ctx, func(e bus.Event) error {
		types = append(types, e.Type)
		return nil
	}); err != nil {
		t.Fatalf("admin reads %s: %v", id, err)
	}
	return types
}

// The attacker queues a task under the id a victim will choose, for a
// pool nobody serves: it never ends, so the projector keeps its status
// in memory. Its events age out, the victim records its task under the
// id, and the projector folds the victim's accepted event into the
// attacker's status: owner the attacker, command and instruction the
// victim's. The attacker reads them with the task API's status, and
// cancels the victim's task; the victim is told its task does not exist.
// This holds with the hot cache's TTL equal to the events' max age (the
// stale status is the projector's, in memory).
func TestAttackQueuedTasksStatusOutlivesItsIDAndShowsTheNextOwnersTask(t *testing.T) {
	t.Parallel()
	o := startAgedOwnedTTL(t, 6*time.Second, 6*time.Second)
	const id = "nightly-status"
	submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
	o.onlyEventsGone(t, id)
	o.victimTakes(t, id, `{"id":"`+id+`","command":"echo victims-secret","pool":"nobody"}`)

	ctx := context.Background()
	var leaked bus.Status
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, err := o.attacker.Status(ctx, id)
		if err == nil && strings.Contains(st.Command, "victims-secret") {
			leaked = st
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var problems []string
	if leaked.ID != "" {
		problems = append(problems, "the attacker's status of "+id+" is the victim's task: owner "+string(leaked.Owner)+
			", command "+leaked.Command+", state "+string(leaked.State))
	}
	if _, err := o.victim.Status(ctx, id); err != nil {
		problems = append(problems, "the victim's own status of "+id+": "+err.Error())
	}
	if err := o.attacker.Cancel(ctx, id, "attacker's cancel"); err == nil {
		problems = append(problems, "the attacker cancelled the victim's task "+id+" (events now: "+typesString(o.victimsEvents(t, id))+")")
	}
	if len(problems) > 0 {
		t.Fatalf("a reused id's status stayed the first owner's:\n- %s", strings.Join(problems, "\n- "))
	}
}

// The attacker's task under the id ends (here cancelled by the attacker
// itself) and its events age out after --events-max-age; the hot cache
// keeps its status for its own TTL, 24 h by default whatever
// --events-max-age says. The victim records its task under the id: the
// projector reads the attacker's ended status back from the cache and
// folds nothing more into it (an ended status changes no more), writing
// it again at each of the victim's events. The victim's task is the
// attacker's for the task API: the attacker cancels it, the victim is
// told it does not exist.
func TestAttackEndedTasksCachedStatusHandsItsReusedIDToTheFirstOwner(t *testing.T) {
	t.Parallel()
	o := startAgedOwnedTTL(t, 6*time.Second, 0)
	const id = "weekly-status"
	ctx := context.Background()
	submit(t, o.attacker, `{"id":"`+id+`","command":"true","pool":"nobody"}`)
	if err := o.attacker.Cancel(ctx, id, "done with it"); err != nil {
		t.Fatalf("the attacker cancels its own task: %v", err)
	}
	o.onlyEventsGone(t, id)
	o.victimTakes(t, id, `{"id":"`+id+`","command":"echo victims-secret","pool":"nobody"}`)

	var problems []string
	// Once the projector has folded the victim's accepted event.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, err := o.victim.Status(ctx, id)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			problems = append(problems, "the victim's own status of "+id+": "+err.Error())
			break
		}
	}
	if st, err := o.attacker.Status(ctx, id); err == nil {
		problems = append(problems, "the attacker's status of "+id+" (the victim's task now): owner "+string(st.Owner)+", state "+string(st.State))
	}
	if err := o.attacker.Cancel(ctx, id, "attacker's cancel"); err == nil {
		problems = append(problems, "the attacker cancelled the victim's task "+id+" (events now: "+typesString(o.victimsEvents(t, id))+")")
	}
	if len(problems) > 0 {
		t.Fatalf("a reused id's status stayed the first owner's:\n- %s", strings.Join(problems, "\n- "))
	}
}

func typesString(types []bus.EventType) string {
	s := make([]string, len(types))
	for i, ty := range types {
		s[i] = string(ty)
	}
	return strings.Join(s, ",")
}
