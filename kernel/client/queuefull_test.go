package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// Tasks for a pool nobody serves wait in the queue; a full queue refuses
// new ones, naming the id to retry with, and keeps what it holds.
func TestFullQueueRefusesSubmissions(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	k := kerneltest.StartWith(t, kernel.Server{TasksMaxBytes: limit})
	c := &client.Client{NC: k.NC, JS: k.JS}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := strings.Repeat("x", 4<<10)
	var refused *client.SubmitError
	accepted := 0
	for i := 0; i < 64 && refused == nil; i++ {
		_, _, err := c.Submit(ctx, bus.Task{Pool: "nobody", Command: "echo " + body})
		switch {
		case errors.As(err, &refused):
		case err != nil:
			t.Fatalf("submission %d: %v", i, err)
		default:
			accepted++
		}
	}
	if refused == nil {
		t.Fatalf("%d tasks of 4 KiB went into a %d-byte queue", accepted, limit)
	}
	if accepted == 0 || refused.ID == "" || !strings.Contains(refused.Error(), "retry with the same id") {
		t.Fatalf("after %d accepted: %v", accepted, refused)
	}
	if _, err := c.LastEvent(ctx, refused.ID); !errors.Is(err, client.ErrNotFound) {
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
