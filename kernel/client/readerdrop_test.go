package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A submission refused by a full queue withdraws its accepted event, and
// its id is anyone's again at once: a reader's consumer made for it
// while it stood (readers.open between the store and the withdrawal)
// would deliver the next owner's task under the id. The withdrawal
// deletes the id's readers' consumers too, well before the kernel's
// sweep of spent readers (every 30 s) would.
func TestAWithdrawnTaskTakesItsReadersWithIt(t *testing.T) {
	t.Parallel()
	k := kerneltest.StartWith(t, kernel.Server{TasksMaxBytes: 64 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &client.Client{NC: k.NC, JS: k.JS}
	body := strings.Repeat("x", 4<<10)
	for i := 0; ; i++ {
		_, _, err := c.Submit(ctx, bus.Task{Pool: "nobody", Command: "echo " + body})
		if errors.Is(err, client.ErrQueueFull) {
			break
		}
		if err != nil || i > 64 {
			t.Fatalf("filling the queue, submission %d: %v", i, err)
		}
	}
	// The squatter's reader, as readers.open makes it once it has read
	// the squatter's record of the id.
	squatter := bus.Owner("nats:USQUATTER")
	// Listened to, as a reader does: a consumer nobody listens to goes
	// by itself after bus.ReaderInactive.
	req := bus.ReaderRequest{Task: "nightly-report", Deliver: k.NC.NewInbox()}
	inbox, err := k.NC.SubscribeSync(req.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Unsubscribe()
	name, err := c.MakeReaderOf(ctx, client.Reader{Owner: squatter}, req, bus.Task{Owner: squatter, Pool: "nobody"}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	events, err := k.JS.Stream(ctx, bus.Names{}.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.PushConsumer(ctx, name); err != nil {
		t.Fatalf("the reader's consumer was not made: %v", err)
	}
	_, _, err = c.Submit(ctx, bus.Task{ID: "nightly-report", Owner: squatter, Pool: "nobody", Command: "echo " + body})
	if !errors.Is(err, client.ErrQueueFull) {
		t.Fatalf("the squatter's submission to a full queue: %v; want ErrQueueFull", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := events.PushConsumer(ctx, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawn task's reader is still there 10 s later (%v): it would deliver the next task under its id", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
