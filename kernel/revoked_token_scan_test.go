package kernel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A token's queued task that no task API counts (accepted by a kernel of
// the cluster that is down since, or before this kernel's restart) is
// cancelled when the token is revoked: the kernel reads the tasks stream
// itself once the token bucket changes, and the task's body names its
// owner.
func TestRevokedTokensQueuedTaskIsCancelledFromTheQueue(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx := context.Background()
	tokens, err := k.JS.KeyValue(ctx, k.Names.TokensBucket())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Put(ctx, "tok-queued", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// Queued straight onto the bus, as another kernel's task API does:
	// this kernel's ledger does not count it.
	admin := &client.Client{NC: k.NC, JS: k.JS}
	task, _, err := admin.Submit(ctx, bus.Task{Command: "echo ran-for-a-revoked-token", Pool: "later", Owner: bus.OwnerOfToken("tok-queued")})
	if err != nil {
		t.Fatal(err)
	}
	// Not cancelled while the token stands (a sweep or two pass).
	time.Sleep(4 * time.Second)
	if last, err := admin.LastEvent(ctx, task.ID); err != nil || last.Type.Terminal() {
		t.Fatalf("task of a token still valid: last event %+v, %v; want it queued", last, err)
	}

	if err := tokens.Purge(ctx, "tok-queued"); err != nil { // amf auth token revoke
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		last, err := admin.LastEvent(ctx, task.ID)
		if err == nil && last.Type == bus.EventCancelled && strings.Contains(last.Reason, "token (tok-queued) was revoked") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after its token was revoked, task %s is still queued: last event %+v, %v", task.ID, last, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
