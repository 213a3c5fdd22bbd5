package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// A task's sampling options go with its own requests, over the worker's;
// what the worker sets that the task does not (num_ctx, keep_alive) stays,
// and the next task gets the worker's options again.
func TestTaskModelOptionsReachTheModel(t *testing.T) {
	opts, err := workers.ParseModelOptions(`{"temperature": 0.1, "seed": 7}`)
	if err != nil {
		t.Fatal(err)
	}
	m := newWorkerMeshWith(t, workers.SolverConfig{ModelOptions: opts}, ollamatest.WithFallback(cmdReply("x", "true")))
	id := m.submit(bus.Task{Instruction: "one", NoAnswer: true, ModelOptions: bus.ModelOptions{"temperature": 0.9, "top_k": 5, "num_predict": 300}})
	if e := last(m.wait(id)); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	if e := last(m.wait(m.submit(bus.Task{Instruction: "two", NoAnswer: true}))); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	reqs := m.srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	got, next := reqs[0].Options, reqs[1].Options
	if got["temperature"] != 0.9 || got["top_k"] != float64(5) || got["num_predict"] != float64(300) || got["seed"] != float64(7) {
		t.Errorf("the task's request options %v: want its temperature, top_k and num_predict over the worker's seed", got)
	}
	if got["num_ctx"] == nil || got["num_ctx"] != next["num_ctx"] || reqs[0].KeepAlive.Duration != reqs[1].KeepAlive.Duration {
		t.Errorf("num_ctx %v / %v and keep_alive %v / %v differ between tasks: Ollama would reload the model",
			got["num_ctx"], next["num_ctx"], reqs[0].KeepAlive, reqs[1].KeepAlive)
	}
	if next["temperature"] != 0.1 || next["top_k"] != nil || next["num_predict"] != nil {
		t.Errorf("the next task's options %v carry the first task's", next)
	}
}

// An option that would reload the model or hold it for everyone is
// refused when the task is submitted, and a task published by hand with
// one is failed by the worker with the same reason, without asking the
// model.
func TestUnsafeTaskModelOptionIsRefused(t *testing.T) {
	m := newWorkerMesh(t, ollamatest.WithFallback(cmdReply("x", "true")))
	_, _, err := m.client.Submit(context.Background(), bus.Task{Instruction: "x", ModelOptions: bus.ModelOptions{"num_ctx": 65536}})
	if !errors.Is(err, bus.ErrInvalidTask) || !strings.Contains(err.Error(), `may not set "num_ctx"`) || !strings.Contains(err.Error(), "--model-options") {
		t.Fatalf("submit with num_ctx: %v, want a refusal naming the option and the worker flag", err)
	}
	body := `{"id":"by-hand","instruction":"x","model_options":{"num_gpu":0}}`
	if _, err := m.k.JS.Publish(context.Background(), bus.Names{}.Task(bus.DefaultPool), []byte(body)); err != nil {
		t.Fatal(err)
	}
	evs := m.wait("by-hand")
	e := last(evs)
	if e.Type != bus.EventFailed || e.Rule != "invalid-task" || !strings.Contains(e.Reason, `may not set "num_gpu"`) {
		t.Fatalf("hand-published task ended %+v, want failed naming num_gpu", e)
	}
	if n := len(m.srv.Requests()); n != 0 {
		t.Fatalf("the model was asked %d times", n)
	}
}
