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
	"github.com/amf-os/amf/kernel/retry"
)

// Tasks for a pool nobody serves wait in the queue; a full queue refuses
// new ones with ErrQueueFull naming the limit, keeps what it holds, and
// leaves no trace of the refused task. The refusal is not a passing
// fault: it is not retried, so it answers at once.
func TestFullQueueRefusesSubmissions(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	k := kerneltest.StartWith(t, kernel.Server{TasksMaxBytes: limit})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svcDone := make(chan struct{})
	go func() {
		defer close(svcDone)
		_ = (&api.Service{Client: &client.Client{NC: k.NC}}).Run(ctx)
	}()
	defer func() { cancel(); <-svcDone }()
	direct := &client.Client{NC: k.NC, JS: k.JS}
	body := strings.Repeat("x", 4<<10)
	var refused error
	accepted := 0
	for i := 0; i < 64 && refused == nil; i++ {
		_, _, err := direct.Submit(ctx, bus.Task{Pool: "nobody", Command: "echo " + body})
		switch {
		case errors.Is(err, client.ErrQueueFull):
			refused = err
		case err != nil:
			t.Fatalf("submission %d: %v", i, err)
		default:
			accepted++
		}
	}
	if refused == nil {
		t.Fatalf("%d tasks of 4 KiB went into a %d-byte queue", accepted, limit)
	}
	checkQueueFull(t, "submit", refused, accepted)

	// Through the task API, on a client credential, the same answer:
	// not "kernel unavailable, retry", which would be retried.
	remote := &client.Client{NC: k.ConnectAs(k.Creds(kernel.UserSpec{Role: kernel.RoleClient})), ViaAPI: true}
	var err error
	for {
		_, _, err = remote.Submit(ctx, bus.Task{ID: "over-the-api", Pool: "nobody", Command: "echo " + body})
		if !errors.Is(err, client.ErrUnavailable) || ctx.Err() != nil {
			break // the service may not be subscribed yet
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(err, client.ErrQueueFull) {
		t.Fatalf("submit through the task API to a full queue: %v; want ErrQueueFull", err)
	}
	checkQueueFull(t, "submit through the task API", err, accepted)
	if _, err := direct.LastEvent(ctx, "over-the-api"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("the refused task left events behind: %v", err)
	}
	s, err := k.JS.Stream(ctx, bus.Names{}.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != uint64(accepted) {
		t.Fatalf("queue holds %d tasks, want the %d accepted", got, accepted)
	}
}

func checkQueueFull(t *testing.T, what string, err error, accepted int) {
	t.Helper()
	msg := err.Error()
	if retry.IsPassing(err) || errors.Is(err, client.ErrUnavailable) {
		t.Errorf("%s: a full queue is reported as a passing fault, to be retried: %v", what, err)
	}
	if !strings.Contains(msg, "0.1 MiB") || !strings.Contains(msg, "--tasks-max-mib") || strings.Count(msg, "queue full") != 1 {
		t.Errorf("%s: %q does not name the limit once", what, msg)
	}
	if accepted == 0 {
		t.Errorf("%s: the queue took nothing", what)
	}
}
