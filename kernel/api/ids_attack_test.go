package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader that asks for a consumer on a task id nobody has used yet
// ("wait": the task has no events so far) gets none of the events a
// task of another owner stores later under that id: the owner is checked
// when the task exists, not only when the reader asks.
func TestWaitingReaderGetsNoEventsOfAnotherOwnersLaterTask(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 0)
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})

	// Mallory waits on an id alice will use (a CI job's, a retry key).
	inbox := mallory.nc.NewInbox()
	sub, err := mallory.nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(bus.ReaderRequest{Task: "deploy-prod-42", Deliver: inbox, Wait: true})
	msg, err := mallory.nc.Request(names.ReadersOpen(mallory.key), req, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return // refused outright: nothing can be delivered
	}
	// Alice's task under that id, as the kernel records it.
	ownedTask(t, k.JS, "deploy-prod-42", alice.owner(), bus.EventAssigned, bus.EventStdout, bus.EventDone)

	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m, err := sub.NextMsg(200 * time.Millisecond)
		if err != nil {
			continue
		}
		if len(m.Data) == 0 {
			continue // a heartbeat
		}
		t.Fatalf("mallory's waiting reader received alice's event: %s", m.Data)
	}
}

// A task an operator submits (amf run with the admin credential, the
// unowned amf.api.submit) is hidden from a client credential's status:
// its events are hidden from the client's reader alike.
func TestClientReadsNoOperatorsTaskEvents(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	operator := &client.Client{NC: o.k.NC, ViaAPI: true}
	task := submit(t, operator, `{"command":"echo DB_PASSWORD=hunter2","pool":"nobody"}`)

	if _, err := o.attacker.Status(ctx, task.ID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("the attacker's status of the operator's task: %v, want not found", err)
	}
	st, err := o.attacker.Open(ctx, task.ID, 0, false)
	if errors.Is(err, client.ErrNotFound) {
		return
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var seen []string
	_ = st.EachEvent(ctx, func(e bus.Event) error {
		b, _ := json.Marshal(e)
		seen = append(seen, string(b))
		return nil
	})
	t.Fatalf("a client credential read the events of an operator's task its status hides: %s", strings.Join(seen, "\n"))
}

// Stream info is counts, never content: a client credential asking the
// events stream's info with a subjects filter learns no other owner's
// task ids (nor how many events each has).
func TestStreamInfoListsNoOtherOwnersTaskIDs(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	task := submit(t, o.victim, `{"id":"victims-payroll-run","command":"true","pool":"nobody"}`)
	names := bus.Names{}
	for _, stream := range []string{names.EventsStream(), names.TasksStream()} {
		// What jetstream's Stream.Info sends, with a filter.
		subject := "$JS.API.STREAM.INFO." + stream
		m, err := kerneltest.Ask(o.attacker.NC, subject, []byte(`{"subjects_filter":">"}`), nil, time.Minute)
		if errors.Is(err, nats.ErrPermissionViolation) {
			t.Logf("refused: %v", err)
			continue // nothing leaks
		}
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			jetstream.StreamInfo
			Error *jetstream.APIError `json:"error"`
		}
		if err := json.Unmarshal(m.Data, &info); err != nil {
			t.Fatalf("info of %s: %v: %s", stream, err, m.Data)
		}
		if info.Error != nil {
			continue // refused by JetStream
		}
		for subject := range info.State.Subjects {
			if strings.Contains(subject, task.ID) {
				t.Errorf("the attacker's info of %s names the victim's task: %s (%d messages)", stream, subject, info.State.Subjects[subject])
			}
		}
	}
}

// Submitting a task under an id another owner already used neither
// answers as a duplicate of that owner's task (which tells the attacker
// it exists, and its pool) nor reports the attacker's task accepted when
// nothing of it will run.
func TestSubmittingAnotherOwnersIDIsNoDuplicateOfIt(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	submit(t, o.victim, `{"id":"victims-job-7","command":"true","pool":"secret-pool"}`)
	task, err := bus.DecodeTask([]byte(`{"id":"victims-job-7","command":"echo mine","pool":"default"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, dup, err := o.attacker.Submit(ctx, task)
	if err == nil && dup {
		t.Fatalf("the attacker's submission under the victim's id was answered as a duplicate of it (pool %q): the victim's task exists, and the attacker's never runs", got.Pool)
	}
	if got.Pool == "secret-pool" {
		t.Fatalf("the answer named the victim's pool")
	}
}

// The task API's discovery ($SRV.STATS, which every client and bridge
// credential may ask) tells counts, never another owner's words: the
// last error of an endpoint shared by every owner (amf.api.as.*.status,
// .cancel …) names the task id and state of whoever failed last.
func TestServiceStatsTellNoOtherOwnersErrors(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task := submit(t, o.victim, `{"id":"victims-merger-draft","command":"true","pool":"nobody"}`)
	if err := o.victim.Cancel(ctx, task.ID, "not yet"); err != nil {
		t.Fatal(err)
	}
	// Cancelling again fails, with the id in the error text.
	_ = o.victim.Cancel(ctx, task.ID, "again")
	_, _ = o.victim.Status(ctx, "victims-other-secret")
	msg, err := o.attacker.NC.Request("$SRV.STATS."+bus.Names{}.ServiceName(), nil, 5*time.Second)
	if err != nil {
		// Refused by the server: a client may discover the service
		// ($SRV.PING, $SRV.INFO), not read its stats.
		if errors.Is(o.attacker.NC.LastError(), nats.ErrPermissionViolation) {
			return
		}
		t.Fatal(err)
	}
	for _, secret := range []string{"victims-merger-draft", "victims-other-secret"} {
		if strings.Contains(string(msg.Data), secret) {
			t.Errorf("the attacker's $SRV.STATS names the victim's %s: %s", secret, msg.Data)
		}
	}
}

// A worker credential may publish any task's events (docs/SECURITY.md),
// but not decide whose a task is: an "assigned" event it forges on
// another pool's queued task, naming another owner in its task, does
// not hand the task to that owner (who could then read, list and cancel
// it, as a worker credential may not) nor take it from its submitter.
func TestForgedEventDoesNotChangeATasksOwner(t *testing.T) {
	t.Parallel()
	o := startOwned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task := submit(t, o.victim, `{"id":"victims-queued","command":"echo payroll","pool":"hr"}`)
	listed(t, o.victim, task.ID)

	workerNC := o.k.ConnectAs(o.k.Creds(kernel.UserSpec{Name: "edge-worker", Role: kernel.RoleWorker, Pools: []string{"edge"}}))
	wjs, err := jetstream.New(workerNC)
	if err != nil {
		t.Fatal(err)
	}
	forged := task
	forged.Owner = ownerOf(o.attacker)
	e := bus.Event{TaskID: task.ID, Type: bus.EventAssigned, TS: time.Now().UTC(), Worker: "edge-1", Attempt: 1, Task: &forged}
	// On the one subject its credential may store the task's events on:
	// its own pool's, under its own id.
	msg := bus.Names{}.EventMsg(e)
	msg.Subject = bus.Names{}.EventBy(task.ID, "edge", bus.CredentialID(client.UserKey(workerNC)))
	if _, err := wjs.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("the worker credential's event: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := o.attacker.Status(ctx, task.ID); err == nil {
			err := o.attacker.Cancel(ctx, task.ID, "mine now")
			t.Fatalf("a forged event handed the victim's task to the attacker: status %s owner %s; cancel: %v", st.State, st.Owner, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := o.victim.Status(ctx, task.ID); err != nil {
		t.Fatalf("the victim lost her task: %v", err)
	}
}
