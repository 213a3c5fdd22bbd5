package workers_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// recordingLearner keeps what the loop would teach the fleet.
type recordingLearner struct {
	mu      sync.Mutex
	learned []bus.Learned
}

func (l *recordingLearner) Learn(_ context.Context, rec bus.Learned) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.learned = append(l.learned, rec)
	return "m-1", nil
}

func (l *recordingLearner) ReportFailure(context.Context, bus.MemoryFailure) error { return nil }

// The loop runs with nothing but a sink, a model and a runner, and a
// learned command names every program it runs, wrapped ones included.
func TestSolveWithASinkLearnsEveryProgram(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithReplies(
		cmdReply("make a file, then compress it through find", "echo hi > a.txt && find . -name a.txt -exec gzip {} +"),
	))
	learner := &recordingLearner{}
	cfg := workers.SolverConfig{LLM: srv.Client(), LLMHost: srv.URL(), Runner: loopRunner(t), StateDir: t.TempDir(), Learner: learner, Worker: "w-1"}
	s, err := workers.NewSolver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var evs []bus.Event
	task := bus.Task{Instruction: "compress a.txt", NoAnswer: true}
	if err := task.Normalize(); err != nil {
		t.Fatal(err)
	}
	final := s.Solve(context.Background(), task, workers.SinkFunc(func(e bus.Event) { evs = append(evs, e) }))
	if final.Type != bus.EventDone {
		t.Fatalf("ended %+v; events %v", final, types(evs))
	}
	if final.TaskID != task.ID || final.Worker != "w-1" {
		t.Errorf("terminal event names task %q worker %q", final.TaskID, final.Worker)
	}
	if got := types(evs); !slices.Contains(got, bus.EventCommand) || !slices.Contains(got, bus.EventLearned) {
		t.Errorf("events %v: want command and learned", got)
	}
	for _, e := range evs {
		if e.Type.Terminal() {
			t.Errorf("the sink got a terminal event: %+v", e)
		}
	}
	if len(learner.learned) != 1 {
		t.Fatalf("learned %d records, want 1", len(learner.learned))
	}
	if tools := learner.learned[0].Host.Tools; !slices.Contains(tools, "find") || !slices.Contains(tools, "gzip") {
		t.Errorf("learned tools %q, want find and gzip", tools)
	}
}

// A cancel cause wrapping ErrCancelled ends the task cancelled, with the
// reason as given, said once.
func TestSolveCancelledBeforeStartRunsNothing(t *testing.T) {
	srv := ollamatest.New(t)
	s, err := workers.NewSolver(workers.SolverConfig{LLM: srv.Client(), Runner: hostRunner(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(workers.Cancelled("changed my mind"))
	task := bus.Task{Instruction: "anything"}
	_ = task.Normalize()
	var evs []bus.Event
	final := s.Solve(ctx, task, workers.SinkFunc(func(e bus.Event) { evs = append(evs, e) }))
	if final.Type != bus.EventCancelled || final.Reason != "changed my mind" {
		t.Fatalf("ended %+v, want cancelled with the reason alone", final)
	}
	if len(evs) != 0 || len(srv.Requests()) != 0 {
		t.Fatalf("a cancelled task did work: events %v, %d model requests", types(evs), len(srv.Requests()))
	}
}
