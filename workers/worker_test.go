package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/workers"
)

func TestCommandTaskStreamsOutputAndEndsDone(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{})
	id := m.submit(bus.Task{Command: "echo one; echo two >&2; echo three"})
	evs := m.wait(id)
	assertOneTerminal(t, evs)
	if got, want := last(evs).Type, bus.EventDone; got != want {
		t.Fatalf("ended %s, want %s: %+v", got, want, last(evs))
	}
	wantOrder := []bus.EventType{bus.EventAccepted, bus.EventAssigned, bus.EventCommand, bus.EventExecStart}
	for i, w := range wantOrder {
		if evs[i].Type != w {
			t.Fatalf("event %d is %s, want %s (all: %v)", i, evs[i].Type, w, types(evs))
		}
	}
	// Lines written faster than events are stored share an event.
	if got := lines(evs, bus.EventStdout); got != "one\nthree" {
		t.Errorf("stdout lines = %q, want one, three", got)
	}
	if got := lines(evs, bus.EventStderr); got != "two" {
		t.Errorf("stderr lines = %q, want two", got)
	}
	if out := last(evs).Output; out != "one\nthree" {
		t.Errorf("done output = %q", out)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq <= evs[i-1].Seq {
			t.Fatalf("sequence not increasing at %d: %d after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func TestFailingCommandEndsFailedWithExitCode(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{})
	id := m.submit(bus.Task{Command: "echo nope >&2; exit 3"})
	evs := m.wait(id)
	assertOneTerminal(t, evs)
	end := last(evs)
	if end.Type != bus.EventFailed || end.Exec == nil || end.Exec.ExitCode != 3 {
		t.Fatalf("want failed with exit 3, got %+v", end)
	}
	if !strings.Contains(end.Reason, "exit code 3") || !strings.Contains(end.Reason, "nope") {
		t.Errorf("reason %q should name the exit code and the stderr tail", end.Reason)
	}
}

func TestUndecodableTaskFailsWithReasonAndWorkerSurvives(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{})
	ctx := context.Background()
	bad := []struct{ name, id, body string }{
		{"unknown field", "bad-1", `{"id":"bad-1","command":"true","colour":"blue"}`},
		{"both set", "bad-2", `{"id":"bad-2","command":"true","instruction":"x"}`},
		{"malformed, id in header", "bad-3", `{"command":`},
		{"invalid utf8, id in header", "bad-4", "{\"command\":\"\xff\"}"},
	}
	for _, b := range bad {
		msg := &nats.Msg{Subject: bus.Names{}.Task("default"), Data: []byte(b.body), Header: nats.Header{}}
		msg.Header.Set(bus.HeaderMsgID, b.id)
		if _, err := m.k.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			evs := m.wait(b.id)
			assertOneTerminal(t, evs)
			if e := last(evs); e.Type != bus.EventFailed || e.Reason == "" {
				t.Fatalf("want failed with a reason, got %+v", e)
			}
		})
	}
	// The worker still takes good tasks.
	if e := last(m.wait(m.submit(bus.Task{Command: "true"}))); e.Type != bus.EventDone {
		t.Fatalf("good task after bad ones: %+v", e)
	}
}

func TestPlainNATSPublishRunsTask(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{})
	// Exactly what `nats pub amf.tasks.default '{"command":"echo hi"}'` sends.
	ack, err := m.k.JS.Publish(context.Background(), "amf.tasks.default", []byte(`{"command":"echo hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	id := "t-seq" + itoa(ack.Sequence)
	evs := m.wait(id)
	if e := last(evs); e.Type != bus.EventDone || e.Output != "hi" {
		t.Fatalf("got %+v", e)
	}
}

func TestDuplicateIDIsOneTask(t *testing.T) {
	m := newMesh(t)
	task := bus.Task{ID: "same-id", Command: "echo once"}
	m.submit(task)
	_, dup, err := m.client.Submit(context.Background(), task)
	if err != nil || !dup {
		t.Fatalf("second submit: dup=%v err=%v", dup, err)
	}
	m.startWorker(workers.Config{})
	evs := m.wait("same-id")
	if got := count(evs, bus.EventAssigned); got != 1 {
		t.Fatalf("assigned %d times, want once: %v", got, types(evs))
	}
	if got := count(evs, bus.EventAccepted); got != 1 {
		t.Fatalf("accepted %d times, want once: %v", got, types(evs))
	}
}

func TestCancelRunningAndQueuedTasks(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{Concurrency: 1})
	running := m.submit(bus.Task{Command: "echo started; sleep 30"})
	queued := m.submit(bus.Task{Command: "echo should-not-run"})
	// Wait for the first to be running, then cancel both.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = m.client.Watch(ctx, running, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventStdout {
			return context.Canceled
		}
		return nil
	})
	if err := m.client.Cancel(ctx, queued, "changed my mind"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.client.Cancel(ctx, running, ""); err != nil {
		t.Fatal(err)
	}
	evs := m.wait(running)
	assertOneTerminal(t, evs)
	if e := last(evs); e.Type != bus.EventCancelled {
		t.Fatalf("running task ended %+v", e)
	}
	t.Logf("running task cancelled in %v", time.Since(start))
	qe := m.wait(queued)
	assertOneTerminal(t, qe)
	if e := last(qe); e.Type != bus.EventCancelled || !strings.Contains(e.Reason, "changed my mind") {
		t.Fatalf("queued task ended %+v", e)
	}
	if count(qe, bus.EventStdout) != 0 || count(qe, bus.EventExecStart) != 0 {
		t.Fatalf("queued task ran after cancel: %v", types(qe))
	}
}

func TestShutdownDrainsInFlightTask(t *testing.T) {
	m := newMesh(t)
	stop := m.startWorker(workers.Config{Grace: 20 * time.Second})
	id := m.submit(bus.Task{Command: "sleep 1; echo finished"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = m.client.Watch(ctx, id, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventExecStart {
			return context.Canceled
		}
		return nil
	})
	stop() // returns only after the in-flight task ended
	evs := m.wait(id)
	if e := last(evs); e.Type != bus.EventDone || e.Output != "finished" {
		t.Fatalf("in-flight task after drain: %+v", e)
	}
}

func TestSecondRunIsAnErrorAndConfigStaysApart(t *testing.T) {
	m := newMesh(t)
	cfg := workers.Config{NC: m.k.NC}
	cfg.Runner = hostRunner(t)
	w, err := workers.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The first Run ends at once (its context is already done); whatever
	// it returned, the worker has run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	first := w.Run(ctx)
	if errors.Is(first, workers.ErrRunning) {
		t.Fatalf("first Run = %v", first)
	}
	if err := w.Run(context.Background()); !errors.Is(err, workers.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	// The caller's config is a value: NewWorker's defaults stay inside.
	if cfg.Pool != "" || cfg.ID != "" || cfg.Concurrency != 0 {
		t.Fatalf("config changed under the caller: %+v", cfg)
	}
}

func TestNewWorkerNeedsConnectionAndRunner(t *testing.T) {
	if _, err := workers.NewWorker(workers.Config{}); !errors.Is(err, workers.ErrConfig) {
		t.Fatalf("NewWorker(zero) = %v, want ErrConfig", err)
	}
	if _, err := workers.NewSolver(workers.SolverConfig{}); !errors.Is(err, workers.ErrConfig) {
		t.Fatalf("NewSolver(zero) = %v, want ErrConfig", err)
	}
}

// A worker started while Ollama is down says so in its heartbeat, and
// recovers on its own when Ollama comes up, without a task.
func TestModelHealthInHeartbeatRecoversWithoutATask(t *testing.T) {
	srv := ollamatest.New(t)
	srv.Down()
	m := newMesh(t)
	roster := &client.Roster{NC: m.k.NC}
	if err := roster.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(roster.Stop)
	cfg := workers.Config{ID: "w-health", Heartbeat: 100 * time.Millisecond}
	cfg.LLM, cfg.LLMHost, cfg.Runner = srv.Client(), srv.URL(), hostRunner(t)
	m.startWorker(cfg)
	model := func() *bus.ModelHealth {
		ws, _ := roster.Workers(context.Background())
		for _, w := range ws {
			if w.ID == "w-health" {
				return w.Model
			}
		}
		return nil
	}
	testenv.Eventually(t, "heartbeat says degraded", func() bool {
		h := model()
		return h != nil && h.Status == bus.ModelDegraded && strings.Contains(h.Reason, "cannot reach Ollama at "+srv.URL())
	})
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "heartbeat says ok", func() bool {
		h := model()
		return h != nil && h.Status == bus.ModelOK
	})
}
