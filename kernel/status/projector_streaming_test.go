package status_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// countingCache counts the status writes that reach a real cache.
type countingCache struct {
	status.Cache
	writes atomic.Int64
}

func (c *countingCache) SetStatus(ctx context.Context, s bus.Status) error {
	c.writes.Add(1)
	return c.Cache.SetStatus(ctx, s)
}

// projectorRig is a projector on a real kernel writing to the KV cache.
type projectorRig struct {
	k     *kerneltest.Kernel
	cache *countingCache
}

func startProjector(tb testing.TB, projectStreaming bool) *projectorRig {
	tb.Helper()
	k := kerneltest.Start(tb)
	ctx, cancel := context.WithCancel(context.Background())
	kv, err := cache.NewKVCache(ctx, k.JS)
	if err != nil {
		tb.Fatal(err)
	}
	c := &countingCache{Cache: kv}
	p := &status.StatusProjector{JS: k.JS, Cache: c, Logger: kerneltest.Logger(tb)}
	status.SetProjectStreaming(p, projectStreaming)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("projector: %v", err)
		}
	})
	return &projectorRig{k: k, cache: c}
}

// publishTask publishes the events of one task that streams some
// thinking, tokens tokens and a few lines of output, each with its type header as a
// worker sends it, and returns how many events it published.
func (r *projectorRig) publishTask(tb testing.TB, id string, tokens int) int {
	tb.Helper()
	n := 0
	pub := func(e bus.Event) {
		e.TaskID, e.TS = id, time.Now().UTC()
		msg := nats.NewMsg(bus.Names{}.Event(id))
		msg.Data = e.Encode()
		msg.Header.Set(bus.HeaderEventType, string(e.Type))
		if _, err := r.k.JS.PublishMsgAsync(msg); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	pub(bus.Event{Type: bus.EventAccepted, Task: &bus.Task{ID: id, Instruction: "count the files", Pool: "default"}})
	pub(bus.Event{Type: bus.EventAssigned, Worker: "w1", Attempt: 1})
	for range 5 {
		pub(bus.Event{Type: bus.EventThinking, Attempt: 1, Text: "hmm"})
	}
	for i := range tokens {
		pub(bus.Event{Type: bus.EventToken, Attempt: 1, Text: fmt.Sprint(i, " ")})
	}
	pub(bus.Event{Type: bus.EventCommand, Attempt: 1, Command: "ls | wc -l"})
	pub(bus.Event{Type: bus.EventExecStart, Attempt: 1, Command: "ls | wc -l"})
	for range 3 {
		pub(bus.Event{Type: bus.EventStdout, Attempt: 1, Text: "42"})
	}
	pub(bus.Event{Type: bus.EventExecEnd, Attempt: 1, Exec: &bus.ExecResult{ExitCode: 0}})
	pub(bus.Event{Type: bus.EventAnswer, Attempt: 1, Text: "42 files"})
	pub(bus.Event{Type: bus.EventDone, Attempt: 1, Command: "ls | wc -l", Answer: "42 files", Exec: &bus.ExecResult{ExitCode: 0}})
	select {
	case <-r.k.JS.PublishAsyncComplete():
	case <-time.After(time.Minute):
		tb.Fatal("publishing the events took over a minute")
	}
	return n
}

// waitDone waits until the task's status is done; the projector folds
// one task's events in order, so every write for it has happened then.
func (r *projectorRig) waitDone(tb testing.TB, id string) bus.Status {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := r.cache.Status(context.Background(), id)
		if err == nil && s.State == bus.StateDone {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("task %s not done in the cache after a minute: %+v, %v", id, s, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProjectorSkipsStreamingEvents: tokens, output lines and the answer
// are not written to the cache, and the status reads the same as when
// every event was folded.
func TestProjectorSkipsStreamingEvents(t *testing.T) {
	t.Parallel()
	const tokens = 50
	var got [2]bus.Status
	for i, all := range []bool{true, false} {
		r := startProjector(t, all)
		published := r.publishTask(t, "t1", tokens)
		got[i] = r.waitDone(t, "t1")
		writes := int(r.cache.writes.Load())
		want := published // every event once
		if !all {
			want = published - 5 - tokens - 3 - 1 // thinking, tokens, stdout lines, answer
		}
		if writes != want {
			t.Errorf("projectStreaming=%v: %d cache writes for %d events, want %d", all, writes, published, want)
		}
	}
	a, b := got[0], got[1]
	if a.State != b.State || a.Command != b.Command || a.Answer != b.Answer || a.Worker != b.Worker ||
		a.Attempt != b.Attempt || a.Instruction != b.Instruction || *a.ExitCode != *b.ExitCode {
		t.Fatalf("status differs when streaming events are skipped:\nall:  %+v\nskip: %+v", a, b)
	}
}

// BenchmarkProjectorWrites counts the cache writes of one task that
// streams 2,000 tokens: "all" folds every event (the projector before it
// read the type header), "skip" leaves streaming events out.
func BenchmarkProjectorWrites(b *testing.B) {
	for _, v := range []struct {
		name string
		all  bool
	}{{"all", true}, {"skip", false}} {
		b.Run(v.name, func(b *testing.B) {
			r := startProjector(b, v.all)
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("t%d", i)
				r.publishTask(b, id, 2000)
				r.waitDone(b, id)
				i++
			}
			b.ReportMetric(float64(r.cache.writes.Load())/float64(i), "writes/task")
		})
	}
}
