package kernel_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A revoked owner's task still queued (for a pool nobody serves) is
// cancelled from the tasks stream by id. Once its events have aged out
// the id is free and another owner may submit under it; the next read of
// the queue finds the revoked owner's old body under that id and cancels
// the task the id now names: the other owner's, which was never the
// revoked owner's. The queue's read must end only the task its body is
// (the kernel's record of the id names the same owner), never another
// owner's task under the same id.
func TestAttackRevokedOwnersStaleBodyCancelsAnotherOwnersTask(t *testing.T) {
	t.Parallel()
	const maxAge = 2 * time.Second
	k := kerneltest.StartWith(t, kernel.Server{EventsMaxAge: maxAge, EventsDuplicates: time.Second, TasksDuplicates: time.Second})
	ctx := context.Background()
	tokens, err := k.JS.KeyValue(ctx, k.Names.TokensBucket())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"tok-gone", "tok-victim"} {
		if _, err := tokens.Put(ctx, id, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	admin := &client.Client{NC: k.NC, JS: k.JS}
	const id = "shared-id"
	if _, _, err := admin.Submit(ctx, bus.Task{ID: id, Command: "echo old", Pool: "later", Owner: bus.OwnerOfToken("tok-gone")}); err != nil {
		t.Fatal(err)
	}
	if err := tokens.Purge(ctx, "tok-gone"); err != nil { // amf auth token revoke
		t.Fatal(err)
	}
	// Cancelled by the queue's read, then its events age out: its body
	// stays queued for a pool nobody serves. The cancel is awaited
	// first: a read that comes after the accepted event aged out stores
	// the end under the id then, and the id is taken until it ages out.
	deadline := time.Now().Add(time.Minute)
	for cancelled := false; ; {
		last, err := admin.LastEvent(ctx, id)
		cancelled = cancelled || err == nil && last.Type == bus.EventCancelled
		if cancelled && errors.Is(err, client.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not cancelled, or its events still there, a minute later (cancelled %v): %v", id, cancelled, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Another owner, never revoked, takes the free id.
	victim := client.WithAccess(ctx, bus.Access{Owner: bus.OwnerOfToken("tok-victim")})
	if _, _, err := admin.Submit(victim, bus.Task{ID: id, Command: "echo victims-own", Pool: "elsewhere"}); err != nil {
		t.Fatalf("the victim's submission under the free id: %v", err)
	}
	// Any token written since makes the kernel read the queue again.
	if _, err := tokens.Put(ctx, "tok-new", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		if last, ended := victimsTaskEnded(ctx, admin, id); ended {
			if last.Type == bus.EventCancelled && strings.Contains(last.Reason, "revoked") {
				t.Fatalf("the victim's task %s was cancelled for another owner's revocation: %+v", id, last)
			}
			t.Fatalf("the victim's queued task %s ended: %+v", id, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// victimsTaskEnded says whether task id, recorded for the victim, has
// ended (last). The victim's events age out too (after maxAge, within
// the time the tests watch): once they have, the id is free again, and
// an end stored under it then (the revoked owner's stale body ended
// under an id with no events, as it should be) is not the victim's task.
func victimsTaskEnded(ctx context.Context, admin *client.Client, id string) (last bus.Event, ended bool) {
	last, err := admin.LastEvent(ctx, id)
	if err != nil || !last.Type.Terminal() {
		return last, false
	}
	_, err = admin.Recorded(ctx, id) // the victim's record, still there
	return last, err == nil
}

// The same through the task API's own count: the kernel holds the revoked
// owner's task by id, and once its events have aged out another owner
// submits under that id. The sweep of held tasks read the status under
// the id, the other owner's, and cancelled it for the revocation.
func TestAttackRevokedOwnersHeldIDCancelsAnotherOwnersTask(t *testing.T) {
	t.Parallel()
	const maxAge = 2 * time.Second
	k := kerneltest.StartWith(t, kernel.Server{EventsMaxAge: maxAge, EventsDuplicates: time.Second, TasksDuplicates: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = k.TaskAPI().Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	const id = "shared-held-id"
	leaving := k.Creds(kernel.UserSpec{Name: "leaving", Role: kernel.RoleClient})
	submitAs := func(c *client.Client, pool string) {
		t.Helper()
		for {
			_, _, err := c.Submit(context.Background(), bus.Task{ID: id, Command: "echo " + pool, Pool: pool})
			if err == nil {
				return
			}
			if !errors.Is(err, client.ErrUnavailable) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // the service is still starting
		}
	}
	submitAs(&client.Client{NC: k.ConnectAs(leaving), ViaAPI: true}, "later")
	admin := &client.Client{NC: k.NC, JS: k.JS}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := admin.LastEvent(ctx, id); errors.Is(err, client.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s's events still there a minute later", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Another owner, never revoked, takes the free id.
	victim := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Name: "staying", Role: kernel.RoleClient})), ViaAPI: true}
	submitAs(victim, "elsewhere")

	revokeCreds(t, k, leaving)
	// Several sweeps (every 3 s) pass.
	deadline = time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		if last, ended := victimsTaskEnded(ctx, admin, id); ended {
			t.Fatalf("the victim's queued task %s ended for another owner's revocation: %+v", id, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
