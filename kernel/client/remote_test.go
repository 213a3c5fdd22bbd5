package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A client credential submits and cancels through the task API, within
// its grant; beyond it, the server's refusal comes back as ErrForbidden
// naming the rule and the grant.
func TestSubmitThroughTheAPIWithinTheGrant(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svcDone := make(chan struct{})
	go func() {
		defer close(svcDone)
		_ = (&api.Service{Client: &client.Client{NC: k.NC}}).Run(ctx)
	}()
	defer func() { cancel(); <-svcDone }()
	plain := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleClient})), ViaAPI: true}
	granted := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleClient, Grants: []string{"network"}})), ViaAPI: true}
	admin := &client.Client{NC: k.NC}

	// The service may not be subscribed yet: the first request retries.
	var task bus.Task
	for {
		var err error
		task, _, err = plain.Submit(ctx, bus.Task{ID: "remote-1", Command: "true"})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("submit: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if task.ID != "remote-1" {
		t.Fatalf("submitted %+v", task)
	}
	last, err := admin.LastEvent(ctx, "remote-1")
	if err != nil || last.Type != bus.EventAccepted {
		t.Fatalf("accepted event: %+v %v", last, err)
	}
	if _, dup, err := plain.Submit(ctx, bus.Task{ID: "remote-1", Command: "true"}); err != nil || !dup {
		t.Fatalf("resubmit: dup=%v err=%v", dup, err)
	}

	// Beyond the grant: refused by nats-server, reported at once.
	_, _, err = plain.Submit(ctx, bus.Task{ID: "remote-2", Command: "true", Policy: "network"})
	if !errors.Is(err, client.ErrForbidden) || !strings.Contains(err.Error(), bus.RuleGrant) || !strings.Contains(err.Error(), "--grant network") {
		t.Fatalf("network without the grant: %v", err)
	}
	if _, err := admin.LastEvent(ctx, "remote-2"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a refused task left events: %v", err)
	}
	// Within it: queued on the granted subject.
	if _, _, err := granted.Submit(ctx, bus.Task{ID: "remote-3", Command: "true", Policy: "network"}); err != nil {
		t.Fatal(err)
	}
	info, err := k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := info.GetLastMsgForSubject(ctx, bus.Names{}.TaskFor("default", "network")); err != nil || bus.PeekID(msg.Data) != "remote-3" {
		t.Fatalf("granted task not on its subject: %v", err)
	}

	// Cancel through the API; the kernel writes the events: the request,
	// and, since no worker holds the task, its end.
	if err := plain.Cancel(ctx, "remote-1", "not needed"); err != nil {
		t.Fatal(err)
	}
	if last, err := admin.LastEvent(ctx, "remote-1"); err != nil || last.Type != bus.EventCancelled || last.Rule != "no-worker" {
		t.Fatalf("after cancel: %+v %v", last, err)
	}
	if err := plain.Cancel(ctx, "nope", ""); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	// Invalid input keeps its meaning across the API.
	if _, _, err := plain.Submit(ctx, bus.Task{Command: "true", MaxAttempts: 99}); !errors.Is(err, bus.ErrInvalidTask) {
		t.Fatalf("invalid task: %v", err)
	}
}
