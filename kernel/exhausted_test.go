package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// dyingWorker takes the next task of the pool, says it was assigned the
// way a worker does, and dies: it never acknowledges.
func dyingWorker(t *testing.T, js jetstream.JetStream, cons jetstream.Consumer, name string) uint64 {
	t.Helper()
	ctx := context.Background()
	for {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			e := bus.Event{TaskID: bus.PeekID(msg.Data()), Type: bus.EventAssigned, Worker: name, Host: "host-" + name,
				Pool: "default", Delivery: int(meta.NumDelivered), TS: time.Now().UTC()}
			m := &nats.Msg{Subject: bus.Names{}.Event(e.TaskID), Data: e.Encode(), Header: nats.Header{}}
			m.Header.Set(bus.HeaderEventType, string(e.Type))
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Fatal(err)
			}
			return meta.NumDelivered
		}
	}
}

func submit(t *testing.T, c *client.Client, id string) {
	t.Helper()
	if _, _, err := c.Submit(context.Background(), bus.Task{ID: id, Instruction: "echo hi"}); err != nil {
		t.Fatal(err)
	}
}

// terminal follows the task to its terminal event.
func terminal(t *testing.T, c *client.Client, id string) bus.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last bus.Event
	if err := c.Watch(ctx, id, 0, true, func(e bus.Event) error { last = e; return nil }); err != nil {
		t.Fatalf("follow %s: %v (last event %q)", id, err, last.Type)
	}
	return last
}

// TestTaskWhoseWorkersDieEnds lets every delivery of a task die with its
// worker: once the pool stops delivering it, the kernel ends it.
func TestTaskWhoseWorkersDieEnds(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	cfg := names.PoolConsumerConfig("default")
	cfg.MaxDeliver, cfg.AckWait = 3, 300*time.Millisecond
	cons, err := k.JS.CreateOrUpdateConsumer(context.Background(), names.TasksStream(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	submit(t, c, "doomed")
	for i, name := range []string{"w-1", "w-2", "w-3"} {
		if n := dyingWorker(t, k.JS, cons, name); n != uint64(i+1) {
			t.Fatalf("delivery %d, want %d", n, i+1)
		}
	}
	// The rest of the pool keeps asking for work, as live workers do;
	// that is when JetStream notices the task is spent.
	survivor := make(chan int, 1)
	go func() {
		n := 0
		b, err := cons.Fetch(1, jetstream.FetchMaxWait(3*time.Second))
		if err == nil {
			for range b.Messages() {
				n++
			}
		}
		survivor <- n
	}()
	end := terminal(t, c, "doomed")
	if end.Type != bus.EventFailed || end.Rule != client.RuleMaxDeliveries || end.Delivery != 3 {
		t.Fatalf("terminal event %+v, want failed by %s after 3 deliveries", end, client.RuleMaxDeliveries)
	}
	if !strings.Contains(end.Reason, "w-1, w-2, w-3") || len(end.Attempts) != 3 || !strings.Contains(end.Attempts[2].Reason, "w-3 on host-w-3") {
		t.Fatalf("the failure does not name the workers that died: %q %+v", end.Reason, end.Attempts)
	}
	if n := <-survivor; n != 0 {
		t.Fatalf("a spent task was delivered again")
	}
	st, err := c.StatusFromEvents(context.Background(), "doomed")
	if err != nil || st.State != bus.StateFailed {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := c.Cancel(context.Background(), "doomed", ""); !errors.Is(err, client.ErrFinished) {
		t.Fatalf("cancel of an ended task: %v, want ErrFinished", err)
	}
	// The queue lets go of it once it is ended.
	s, err := k.JS.Stream(context.Background(), names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := s.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCancelOfUnheldTaskEnds cancels tasks that no worker holds: one
// whose worker died holding it, one still queued. The kernel ends both;
// a task a worker holds is left to that worker.
func TestCancelOfUnheldTaskEnds(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	ctx := context.Background()
	cfg := names.PoolConsumerConfig("default")
	cfg.AckWait = time.Hour // the dead worker's task is not redelivered during the test
	cons, err := k.JS.CreateOrUpdateConsumer(ctx, names.TasksStream(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	submit(t, c, "orphan")
	dyingWorker(t, k.JS, cons, "w-dead")
	if err := c.Cancel(ctx, "orphan", "stop it"); err != nil {
		t.Fatal(err)
	}
	if end := terminal(t, c, "orphan"); end.Type != bus.EventCancelled || end.Reason != "stop it" {
		t.Fatalf("orphan ended with %+v, want cancelled", end)
	}

	submit(t, c, "waiting")
	if err := c.Cancel(ctx, "waiting", ""); err != nil {
		t.Fatal(err)
	}
	if end := terminal(t, c, "waiting"); end.Type != bus.EventCancelled {
		t.Fatalf("queued task ended with %+v, want cancelled", end)
	}

	// A worker that holds its task (its claim stored) listens on its
	// control subject and stops it itself: the kernel adds nothing.
	submit(t, c, "held")
	claim := bus.Event{TaskID: "held", Type: bus.EventAssigned, Worker: "w-alive", Pool: "default", Delivery: 1, TS: time.Now().UTC()}
	if _, err := k.JS.PublishMsg(ctx, names.EventMsg(claim)); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	sub, err := k.NC.Subscribe(names.Control("held"), func(m *nats.Msg) { got <- string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := c.Cancel(ctx, "held", "by hand"); err != nil {
		t.Fatal(err)
	}
	if reason := <-got; reason != "by hand" {
		t.Fatalf("holder got %q", reason)
	}
	last, err := c.LastEvent(ctx, "held")
	if err != nil || last.Type != bus.EventCancelRequested {
		t.Fatalf("newest event of a held task %+v, %v; want the request only", last, err)
	}
}
