package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// setup starts a kernel with short de-duplication windows and a client.
func setup(t *testing.T) (*kerneltest.Kernel, *client.Client) {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{TasksDuplicates: 200 * time.Millisecond, EventsDuplicates: 200 * time.Millisecond})
	return k, &client.Client{NC: k.NC, JS: k.JS}
}

// setupB is a client on a running kernel.
func setupB(_ testing.TB, k *kerneltest.Kernel) (*kerneltest.Kernel, *client.Client) {
	return k, &client.Client{NC: k.NC, JS: k.JS}
}

// events returns every stored event of a task, in order.
func events(t *testing.T, c *client.Client, id string) []bus.Event {
	t.Helper()
	var out []bus.Event
	if err := c.Watch(context.Background(), id, 0, false, func(e bus.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("watch %s: %v", id, err)
	}
	return out
}

func types(es []bus.Event) string {
	var s []string
	for _, e := range es {
		s = append(s, string(e.Type))
	}
	return strings.Join(s, ",")
}

// queued fetches the task messages waiting for pool, acking each, and
// returns their de-duplication ids.
func queued(t *testing.T, k *kerneltest.Kernel, pool string) []string {
	t.Helper()
	ctx := context.Background()
	// The pool's own consumer, as a worker takes from it (a work queue
	// allows one consumer per subject).
	cons, err := k.JS.CreateOrUpdateConsumer(ctx, bus.Names{}.TasksStream(), bus.Names{}.PoolConsumerConfig(pool))
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for m := range batch.Messages() {
		ids = append(ids, m.Headers().Get(bus.HeaderMsgID))
		_ = m.DoubleAck(ctx)
	}
	return ids
}

// finish stores a terminal event the way a worker does.
func finish(t *testing.T, k *kerneltest.Kernel, id string) {
	t.Helper()
	done := bus.Event{TaskID: id, Type: bus.EventDone, Worker: "w1", TS: time.Now().UTC()}
	if _, err := k.JS.PublishMsg(context.Background(), bus.Names{}.EventMsg(done)); err != nil {
		t.Fatal(err)
	}
}

// outlive returns once a message id published now on subject is no longer
// a duplicate: the stream's window has passed for everything before.
func outlive(t *testing.T, js jetstream.JetStream, subject string) {
	t.Helper()
	ctx := context.Background()
	probe := &nats.Msg{Subject: subject, Data: []byte("{}"), Header: nats.Header{bus.HeaderMsgID: []string{"probe-" + subject}}}
	if _, err := js.PublishMsg(ctx, probe); err != nil {
		t.Fatalf("probe %s: %v", subject, err)
	}
	for {
		ack, err := js.PublishMsg(ctx, probe)
		if err != nil {
			t.Fatalf("probe %s: %v", subject, err)
		}
		if !ack.Duplicate {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubmitRecordsThenQueues(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	task, dup, err := c.Submit(context.Background(), bus.Task{ID: "first", Command: "echo hi"})
	if err != nil || dup {
		t.Fatalf("submit: dup=%v err=%v", dup, err)
	}
	if task.Pool != bus.DefaultPool || task.Submitted.IsZero() {
		t.Fatalf("task not normalised: %+v", task)
	}
	es := events(t, c, "first")
	if got, want := types(es), "accepted"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if es[0].Task == nil || es[0].Task.Command != "echo hi" {
		t.Fatalf("accepted event does not carry the task: %+v", es[0])
	}
	if got := queued(t, k, bus.DefaultPool); len(got) != 1 || got[0] != "first" {
		t.Fatalf("queued %v, want [first]", got)
	}
}

func TestSubmitRefusesAnInvalidTask(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	_, _, err := c.Submit(context.Background(), bus.Task{ID: "x", Command: "ls", MaxAttempts: 99})
	if !errors.Is(err, bus.ErrInvalidTask) {
		t.Fatalf("err = %v, want invalid task", err)
	}
}

// A known id answers with the existing task whatever its age, and adds
// nothing to a finished task's events: past both de-duplication windows
// a re-submission used to store a second accepted event after done.
func TestResubmitFinishedTaskAfterTheWindows(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx := context.Background()
	if _, _, err := c.Submit(ctx, bus.Task{ID: "again", Command: "echo one"}); err != nil {
		t.Fatal(err)
	}
	// Taken off the queue, as a worker takes it (a fetch that asks
	// without waiting may come back before the message is there).
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(queued(t, k, bus.DefaultPool), "again"); {
		if time.Now().After(deadline) {
			t.Fatal("the task never reached the queue")
		}
		time.Sleep(20 * time.Millisecond)
	}
	finish(t, k, "again")
	outlive(t, k.JS, bus.Names{}.Event("probe"))
	outlive(t, k.JS, bus.Names{}.Task("probe"))

	task, dup, err := c.Submit(ctx, bus.Task{ID: "again", Command: "echo two"})
	if err != nil {
		t.Fatal(err)
	}
	if !dup {
		t.Fatal("re-submitting a known id is not reported as a duplicate")
	}
	if got, want := task.Command, "echo one"; got != want {
		t.Fatalf("answered command %q, want the existing task's %q", got, want)
	}
	if got, want := types(events(t, c, "again")), "accepted,done"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if got := queued(t, k, bus.DefaultPool); len(got) != 0 {
		t.Fatalf("a finished task was queued again: %v", got)
	}
	if err := c.Cancel(ctx, "again", ""); !errors.Is(err, client.ErrFinished) {
		t.Fatalf("cancel of a finished task: %v, want ErrFinished", err)
	}
}

// When the task cannot be queued, the accepted event is withdrawn and the
// error says to retry with the same id, which then succeeds.
func TestSubmitIsAllOrNothing(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx := context.Background()
	names := bus.Names{}
	s, err := k.JS.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	full := cfg
	full.MaxMsgs = 1
	if _, err := k.JS.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	if _, err := k.JS.Publish(ctx, names.Task("elsewhere"), []byte(`{"command":"ls"}`)); err != nil {
		t.Fatal(err)
	}

	_, _, err = c.Submit(ctx, bus.Task{ID: "whole", Command: "echo whole"})
	var se *client.SubmitError
	if !errors.As(err, &se) || se.ID != "whole" || !strings.Contains(err.Error(), "retry with the same id") {
		t.Fatalf("err = %v, want a SubmitError naming the id and saying to retry", err)
	}
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("err = %v does not wrap ErrUnavailable", err)
	}
	if _, err := c.LastEvent(ctx, "whole"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a task that was not queued has events: %v", err)
	}

	if _, err := k.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	_, dup, err := c.Submit(ctx, bus.Task{ID: "whole", Command: "echo whole"})
	if err != nil || dup {
		t.Fatalf("retry: dup=%v err=%v", dup, err)
	}
	if got := queued(t, k, bus.DefaultPool); len(got) != 1 || got[0] != "whole" {
		t.Fatalf("queued %v, want [whole]", got)
	}
}

// A submitter that died between its two writes left an accepted event and
// no task: the retry with the same id queues it.
func TestRetryQueuesAnAcceptedButUnqueuedTask(t *testing.T) {
	t.Parallel()
	// The retry comes within the tasks' de-duplication window, whatever
	// the machine's load: past it the task is left as it is, and the
	// 200 ms window of setup passed on a loaded machine.
	k := kerneltest.StartWith(t, kernel.Server{TasksDuplicates: time.Minute, EventsDuplicates: time.Minute})
	c := &client.Client{NC: k.NC, JS: k.JS}
	ctx := context.Background()
	task := bus.Task{ID: "phantom", Command: "echo late"}
	if err := task.Normalize(); err != nil {
		t.Fatal(err)
	}
	accepted := bus.Event{TaskID: task.ID, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &task}
	if _, err := k.JS.PublishMsg(ctx, bus.Names{}.EventMsg(accepted)); err != nil {
		t.Fatal(err)
	}
	_, dup, err := c.Submit(ctx, task)
	if err != nil || !dup {
		t.Fatalf("retry: dup=%v err=%v, want a duplicate", dup, err)
	}
	if got := queued(t, k, bus.DefaultPool); len(got) != 1 || got[0] != "phantom" {
		t.Fatalf("queued %v, want [phantom]", got)
	}
	if got, want := types(events(t, c, "phantom")), "accepted"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
}

// A submission that was queued although its submitter saw an error (a
// lost ack) is not queued twice by the retry.
func TestRetryDoesNotQueueTwice(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx := context.Background()
	msg := &nats.Msg{Subject: bus.Names{}.Task(bus.DefaultPool), Data: []byte(`{"id":"once","command":"ls"}`), Header: nats.Header{bus.HeaderMsgID: []string{"once"}}}
	if _, err := k.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Submit(ctx, bus.Task{ID: "once", Command: "ls"}); err != nil {
		t.Fatal(err)
	}
	if got := queued(t, k, bus.DefaultPool); len(got) != 1 {
		t.Fatalf("queued %v, want one copy", got)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx := context.Background()
	if err := c.Cancel(ctx, "nobody", ""); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("cancel of an unknown task: %v, want ErrNotFound", err)
	}
	control := make(chan string, 2)
	sub, err := k.NC.Subscribe(k.Names.Control("*"), func(m *nats.Msg) { control <- m.Subject + " " + string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := k.NC.Flush(); err != nil {
		t.Fatal(err)
	}

	// A task a worker claimed: the worker listening on its control
	// subject is told to stop, and ends it itself.
	if _, _, err := c.Submit(ctx, bus.Task{ID: "stop-me", Command: "sleep 60"}); err != nil {
		t.Fatal(err)
	}
	claim := k.Names.EventMsg(bus.Event{TaskID: "stop-me", Type: bus.EventAssigned, Worker: "w1", TS: time.Now().UTC()})
	accepted, err := c.LastEvent(ctx, "stop-me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.JS.PublishMsg(ctx, claim, k.Names.FencedTask("stop-me", accepted.Seq)); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, "stop-me", "enough"); err != nil {
		t.Fatal(err)
	}
	if got, want := <-control, k.Names.Control("stop-me")+" enough"; got != want {
		t.Fatalf("control message %q, want the reason on the task's subject", got)
	}
	es := events(t, c, "stop-me")
	if got, want := types(es), "accepted,assigned,cancel_requested"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if es[2].Reason != "enough" {
		t.Fatalf("cancel request reason %q", es[2].Reason)
	}

	// A task no worker claimed is ended at once, whoever listens.
	if _, _, err := c.Submit(ctx, bus.Task{ID: "queued", Command: "sleep 60"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(ctx, "queued", "not needed"); err != nil {
		t.Fatal(err)
	}
	if got := types(events(t, c, "queued")); got != "accepted,cancel_requested,cancelled" {
		t.Fatalf("events of a cancelled task no worker claimed: %s", got)
	}
	select {
	case got := <-control:
		t.Fatalf("a task no worker claimed was asked to stop on its control subject: %q", got)
	default:
	}
}

func TestStatusAndWatch(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx := context.Background()
	if _, err := c.Status(ctx, "unknown"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("status of an unknown task: %v, want ErrNotFound", err)
	}
	if _, _, err := c.Submit(ctx, bus.Task{ID: "watched", Command: "echo hi", Pool: "gpu"}); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx, "watched")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != bus.StateQueued || st.Pool != "gpu" || st.Command != "echo hi" {
		t.Fatalf("status %+v, want queued on gpu", st)
	}

	// Following ends at the terminal event, which arrives after the
	// watcher has seen the first one.
	seen := make(chan struct{})
	var got []bus.EventType
	errc := make(chan error, 1)
	go func() {
		first := true
		errc <- c.Watch(ctx, "watched", 0, true, func(e bus.Event) error {
			got = append(got, e.Type)
			if first {
				first = false
				close(seen)
			}
			return nil
		})
	}()
	<-seen
	finish(t, k, "watched")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != bus.EventDone {
		t.Fatalf("watched %v, want accepted then done", got)
	}
	st, err = c.Status(ctx, "watched")
	if err != nil || st.State != bus.StateDone {
		t.Fatalf("status after done: %+v, %v", st, err)
	}
	// Resuming after the end returns at once.
	last := events(t, c, "watched")[1].Seq
	if err := c.Watch(ctx, "watched", last, true, func(e bus.Event) error {
		t.Errorf("event after the end: %+v", e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A submission while the kernel is down fails naming the id; once the
// kernel is back, the retry with that id queues the task exactly once.
func TestSubmitAcrossKernelLoss(t *testing.T) {
	t.Parallel()
	addr := testenv.FreeAddr(t)
	cfg := kernel.Server{StateDir: t.TempDir(), Listen: addr}
	k := kerneltest.StartWith(t, cfg)
	nc, err := nats.Connect("nats://"+addr, nats.UserCredentials(k.AdminCreds), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &client.Client{NC: nc}
	ctx := context.Background()
	if _, _, err := c.Submit(ctx, bus.Task{ID: "before", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	k.Stop()

	down, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, _, err = c.Submit(down, bus.Task{ID: "during", Command: "true"})
	cancel()
	var se *client.SubmitError
	if !errors.As(err, &se) || se.ID != "during" || !strings.Contains(err.Error(), "retry with the same id") {
		t.Fatalf("submit with the kernel down: %v, want a SubmitError naming the id", err)
	}

	k = kerneltest.StartWith(t, cfg)
	for {
		_, _, err = c.Submit(ctx, bus.Task{ID: "during", Command: "true"})
		if err == nil {
			break
		}
		if !errors.As(err, &se) {
			t.Fatalf("retry: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // the connection is still coming back
	}
	if got, want := types(events(t, c, "during")), "accepted"; got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	got := queued(t, k, bus.DefaultPool)
	if len(got) != 2 || got[0] != "before" || got[1] != "during" {
		t.Fatalf("queued %v, want [before during]", got)
	}
}
