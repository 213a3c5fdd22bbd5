package status_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
	"github.com/amf-os/amf/memory/cache/redistest"
)

// runProjector runs p until the test ends, and fails the test if Run
// returns an error.
func runProjector(t *testing.T, p *status.StatusProjector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	})
}

func publishEvent(t *testing.T, k *kerneltest.Kernel, e bus.Event) {
	t.Helper()
	if e.TS.IsZero() {
		e.TS = time.Now().UTC()
	}
	// As a worker publishes it: the type in a header too.
	msg := nats.NewMsg(bus.Names{}.Event(e.TaskID))
	msg.Data = e.Encode()
	msg.Header.Set(bus.HeaderEventType, string(e.Type))
	if _, err := k.JS.PublishMsg(ctxT(t), msg); err != nil {
		t.Fatalf("publish %s: %v", e.Type, err)
	}
}

func statusIs(c cache.Cache, id string, want bus.State) func() bool {
	return func() bool {
		s, err := c.Status(context.Background(), id)
		return err == nil && s.State == want
	}
}

func taskLife(t *testing.T, k *kerneltest.Kernel, id string, final bool) {
	t.Helper()
	task := &bus.Task{ID: id, Instruction: "list files", Pool: "default"}
	publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventAccepted, Task: task})
	publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventAssigned, Worker: "w1", Attempt: 1})
	publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventCommand, Command: "ls -l", Attempt: 1})
	if final {
		publishEvent(t, k, bus.Event{TaskID: id, Type: bus.EventDone, Command: "ls -l", Exec: &bus.ExecResult{ExitCode: 0}})
	}
}

func TestProjectorFoldsEventsIntoKVStatus(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	c, err := cache.NewKVCache(ctxT(t), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)
	taskLife(t, k, "t1", true)
	testenv.Eventually(t, "t1 done", statusIs(c, "t1", bus.StateDone))
	s, _ := c.Status(ctxT(t), "t1")
	if s.Command != "ls -l" || s.Worker != "w1" || s.Instruction != "list files" || s.ExitCode == nil || s.LastSeq != 4 {
		t.Fatalf("status = %+v", s)
	}
	// Garbage on the stream does not stop projection.
	if _, err := k.JS.Publish(ctxT(t), bus.Names{}.Event("t2"), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	taskLife(t, k, "t2", false)
	testenv.Eventually(t, "t2 running", statusIs(c, "t2", bus.StateRunning))
	if !p.Healthy() {
		t.Fatalf("unhealthy: %v", p.Err())
	}
}

// TestProjectorRebuildsStatusAfterRedisRestart kills a real redis-server
// mid-run: tasks keep publishing, the projector reports the cache as
// degraded, and once Redis is back (empty) every status is there again,
// including what happened during the outage.
func TestProjectorRebuildsStatusAfterRedisRestart(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	srv := redistest.Start(t)
	c, err := cache.NewRedisCache(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t), HealthEvery: 100 * time.Millisecond}
	runProjector(t, p)

	taskLife(t, k, "before", true)
	testenv.Eventually(t, "status before the outage", statusIs(c, "before", bus.StateDone))

	srv.Kill()
	testenv.Eventually(t, "cache reported degraded", func() bool { return !p.Healthy() })
	if p.Err() == nil {
		t.Fatal("degraded without an error")
	}
	taskLife(t, k, "during", false)
	publishEvent(t, k, bus.Event{TaskID: "before", Type: bus.EventFailed, Reason: "late"}) // final states stay final
	// The projector must meet the dead cache with the outage's events in
	// hand: wait until it holds the first of them unacknowledged.
	names := bus.Names{}
	testenv.Eventually(t, "the projector to hold the outage's events", func() bool {
		cons, err := k.JS.Consumer(ctxT(t), names.EventsStream(), names.StatusConsumer())
		if err != nil {
			return false
		}
		info, err := cons.Info(ctxT(t))
		return err == nil && info.Delivered.Stream > 4 && info.NumAckPending > 0
	})

	srv.Restart()
	testenv.Eventually(t, "cache healthy again", p.Healthy)
	testenv.Eventually(t, "status from the outage", statusIs(c, "during", bus.StateRunning))
	testenv.Eventually(t, "status from before, rebuilt", statusIs(c, "before", bus.StateDone))
	// Every outage event is folded in, not only the first that made it
	// running.
	testenv.Eventually(t, "the outage's command and worker", func() bool {
		s, err := c.Status(ctxT(t), "during")
		return err == nil && s.Command == "ls -l" && s.Worker == "w1"
	})
	// And it keeps going.
	publishEvent(t, k, bus.Event{TaskID: "during", Type: bus.EventDone, Exec: &bus.ExecResult{ExitCode: 0}})
	testenv.Eventually(t, "after the outage", statusIs(c, "during", bus.StateDone))
}

func TestProjectorNeedsItsParts(t *testing.T) {
	t.Parallel()
	err := (&status.StatusProjector{}).Run(context.Background())
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Run without JS and Cache = %v", err)
	}
}

// TestProjectorRebuildsFromStreamWhenCacheForgot: a projector that
// starts after Redis lost everything folds a task's next event onto its
// whole history from the stream, not onto an empty status.
func TestProjectorRebuildsFromStreamWhenCacheForgot(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	srv := redistest.Start(t)
	c, err := cache.NewRedisCache(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	taskLife(t, k, "x", false)
	testenv.Eventually(t, "x running", statusIs(c, "x", bus.StateRunning))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	srv.Restart() // empty
	second := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(t)}
	runProjector(t, second)
	publishEvent(t, k, bus.Event{TaskID: "x", Type: bus.EventDone, Exec: &bus.ExecResult{ExitCode: 0}})
	testenv.Eventually(t, "x done", statusIs(c, "x", bus.StateDone))
	s, _ := c.Status(ctxT(t), "x")
	if s.Instruction != "list files" || s.Pool != "default" || s.Worker != "w1" || s.Command != "ls -l" || s.LastSeq != 4 {
		t.Fatalf("rebuilt status = %+v", s)
	}
}
