package status_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// workerConn is a worker credential's connection for pools, with the
// server's refusals recorded and its credential id.
type workerConn struct {
	js   jetstream.JetStream
	cred string
	mu   sync.Mutex
	// denied are the server's permission violations.
	denied []string
}

func connectWorker(t *testing.T, k *kerneltest.Kernel, name string, pools ...string) *workerConn {
	t.Helper()
	w := &workerConn{}
	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker, Pools: pools}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			w.mu.Lock()
			w.denied = append(w.denied, err.Error())
			w.mu.Unlock()
		}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	w.js, w.cred = js, bus.CredentialOfInbox(nc.Opts.InboxPrefix)
	if w.cred == "" {
		t.Fatalf("worker %s has no credential id in its inbox prefix %q", name, nc.Opts.InboxPrefix)
	}
	return w
}

// publish stores e on subject and reports whether the stream took it.
func (w *workerConn) publish(t *testing.T, subject string, e bus.Event) bool {
	t.Helper()
	e.TS = time.Now().UTC()
	m := bus.Names{}.EventMsgBy(e, "x", "x")
	m.Subject = subject
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := w.js.PublishMsg(ctx, m)
	return err == nil
}

func (w *workerConn) refused(subject string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, d := range w.denied {
		if strings.Contains(d, `"`+subject+`"`) {
			return true
		}
	}
	return false
}

// A worker credential of pool B cannot end a task of pool A: the server
// refuses its done on the task's kernel subject, on pool A's subject and
// on another credential's; on its own subject the done is stored but the
// task's status does not take it, and a reader of the task never sees
// it. Within pool A, only the worker holding the task ends it.
func TestWorkerOfAnotherPoolCannotEndATask(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c, err := cache.NewKVCache(ctxT(t), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)

	const id = "victim"
	accepted := bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(), Task: &bus.Task{ID: id, Command: "true", Pool: "a", Owner: "nats:alice"}}
	if _, err := k.JS.PublishMsg(ctxT(t), names.EventMsg(accepted)); err != nil {
		t.Fatal(err)
	}
	holder := connectWorker(t, k, "holder", "a")
	peer := connectWorker(t, k, "peer", "a")
	evil := connectWorker(t, k, "evil", "b")

	assigned := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "holder", Attempt: 1, Task: accepted.Task}
	if !holder.publish(t, names.EventBy(id, "a", holder.cred), assigned) {
		t.Fatal("the holder's assigned event was refused")
	}
	testenv.Eventually(t, "victim running", statusIs(c, id, bus.StateOf(bus.EventAssigned)))

	done := bus.Event{TaskID: id, Type: bus.EventDone, Worker: "evil"}
	for _, subject := range []string{names.Event(id), "amf.events." + id, names.EventBy(id, "a", evil.cred), names.EventBy(id, "a", holder.cred)} {
		if evil.publish(t, subject, done) || !evil.refused(subject) {
			t.Errorf("pool b's worker stored a done on %s", subject)
		}
	}
	// Its own subject is open to it: stored, and taken by nobody.
	forged := bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "evil", Task: &bus.Task{ID: id, Pool: "b", Owner: "nats:mallory"}}
	if !evil.publish(t, names.EventBy(id, "b", evil.cred), forged) || !evil.publish(t, names.EventBy(id, "b", evil.cred), done) {
		t.Fatal("pool b's worker could not store on its own subject")
	}
	// A peer of the task's pool that does not hold it.
	if !peer.publish(t, names.EventBy(id, "a", peer.cred), bus.Event{TaskID: id, Type: bus.EventFailed, Worker: "peer"}) {
		t.Fatal("the peer's event was refused")
	}
	// A marker after the forgeries: once it is projected, they were too.
	if !holder.publish(t, names.EventBy(id, "a", holder.cred), bus.Event{TaskID: id, Type: bus.EventCommand, Command: "true", Worker: "holder"}) {
		t.Fatal("the holder's command event was refused")
	}
	testenv.Eventually(t, "the holder's command projected", func() bool {
		s, err := c.Status(context.Background(), id)
		return err == nil && s.Command == "true" && s.Worker == "holder"
	})
	s, err := c.Status(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if s.State.Final() || s.Pool != "a" || s.Owner != "nats:alice" || s.Holder != holder.cred {
		t.Fatalf("forged events changed the status: %+v", s)
	}
	// The holder ends it.
	if !holder.publish(t, names.EventBy(id, "a", holder.cred), bus.Event{TaskID: id, Type: bus.EventDone, Worker: "holder"}) {
		t.Fatal("the holder's done was refused")
	}
	testenv.Eventually(t, "victim done by its holder", statusIs(c, id, bus.StateDone))
}
