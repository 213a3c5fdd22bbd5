package schedule_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/schedule"
)

// A run handled more than once (a kernel died after submitting it but
// before acknowledging, so another kernel got it too) is one task with
// one accepted event.
func TestARunHandledTwiceIsOneTask(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	names := bus.Names{}
	f.create(t, `{"id":"sched-twice","command":"true","schedule":"every 1s"}`)
	// A consumer of the test's own sees the runs the kernel's runner
	// also takes.
	cons, err := f.k.JS.CreateConsumer(ctx, names.SchedulesStream(), jetstream.ConsumerConfig{
		FilterSubject: names.ScheduleRun("sched-twice"), AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var m jetstream.Msg
	for msg := range batch.Messages() {
		m = msg
	}
	if m == nil {
		t.Fatal("no run within a minute")
	}
	meta, _ := m.Metadata()
	st := f.k.ScheduleStore(f.k.JS)
	sc, err := st.Get(ctx, "sched-twice")
	if err != nil {
		t.Fatal(err)
	}
	id := sc.RunID(meta.Timestamp)
	r := &schedule.Runner{Client: &client.Client{NC: f.k.NC, JS: f.k.JS}, Store: st}
	r.Handle(ctx, m)
	r.Handle(ctx, m)
	// The kernel's own runner handled it as well; wait until it did.
	for run := f.nextOf(t, "sched-twice"); run.ID != id; run = f.nextOf(t, "sched-twice") {
	}
	var accepted int
	c := &client.Client{NC: f.k.NC, JS: f.k.JS}
	if err := c.Watch(ctx, id, 0, false, func(e bus.Event) error {
		if e.Type == bus.EventAccepted {
			accepted++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if accepted != 1 {
		t.Fatalf("run %s has %d accepted events, want 1", id, accepted)
	}
	// The queue holds it once.
	tasks, err := f.k.JS.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := tasks.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queued := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		if raw, err := tasks.GetMsg(ctx, seq); err == nil && bus.PeekID(raw.Data) == id {
			queued++
		}
	}
	if queued != 1 {
		t.Fatalf("run %s queued %d times, want 1", id, queued)
	}
}
