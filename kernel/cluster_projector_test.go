package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// writeLog counts the statuses each kernel's projector stored, by task
// and by the stream sequence of the event the status ends with.
type writeLog struct {
	mu sync.Mutex
	by map[string][]int // "task@seq" → kernels that stored it, once per write
}

func (w *writeLog) add(kernel int, id string, seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := fmt.Sprintf("%s@%d", id, seq)
	w.by[k] = append(w.by[k], kernel)
}

func (w *writeLog) writers(id string, seq uint64) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.by[fmt.Sprintf("%s@%d", id, seq)]...)
}

// countingCache is a real cache that also logs every status it stored.
type countingCache struct {
	cache.Cache
	kernel int
	log    *writeLog
}

func (c countingCache) SetStatus(ctx context.Context, s bus.Status) error {
	err := c.Cache.SetStatus(ctx, s)
	if err == nil {
		c.log.add(c.kernel, s.ID, s.LastSeq)
	}
	return err
}

// TestClusterProjectsStatusOnceAndFailsOver runs the status projector on
// each of three clustered kernels, as `amf kernel` does, each with its own
// cache connection to its own kernel. Exactly one of them projects: each
// event is stored in the status cache once across the cluster. Then the
// holder's kernel is stopped (its projector left running, cut off, as a
// partitioned kernel would be) and the events published next are still
// projected, once each, by one of the two others.
func TestClusterProjectsStatusOnceAndFailsOver(t *testing.T) {
	t.Parallel()
	servers, credsFile := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	names := bus.Names{}
	log := &writeLog{by: map[string][]int{}}
	js := make([]jetstream.JetStream, len(servers))
	caches := make([]cache.Cache, len(servers))
	for i, s := range servers {
		// Only its own kernel, as `amf kernel`'s in-process connection:
		// once that kernel stops, this projector is cut off.
		nc, err := nats.Connect(s.ClientURL(), nats.UserCredentials(credsFile), nats.MaxReconnects(-1), nats.IgnoreDiscoveredServers())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js[i], _ = jetstream.New(nc)
		kv, err := cache.NewKVCache(ctx, js[i])
		if err != nil {
			t.Fatal(err)
		}
		caches[i] = kv
	}
	var wg sync.WaitGroup
	pctx, stop := context.WithCancel(context.Background())
	t.Cleanup(func() { stop(); wg.Wait() })
	for i := range servers {
		// A lease that lapses while the machine is loaded hands the
		// projection over mid-run, legitimately, and a write whose
		// reply the old holder lost then counts for no one here: the
		// TTL is long enough that only the stop below hands it over.
		lease := &status.Lease{JS: js[i], Names: names, Key: names.StatusLease(), Holder: fmt.Sprintf("kernel-%d", i+1), TTL: 6 * time.Second}
		p := &status.StatusProjector{JS: js[i], Names: names, Cache: countingCache{caches[i], i, log}, Lease: lease}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(pctx); err != nil {
				t.Errorf("projector on kernel-%d: %v", i+1, err)
			}
		}()
	}

	// last maps each task to the sequence of its last event; events lists
	// every event's sequence.
	last := map[string]uint64{}
	var events []struct {
		id  string
		seq uint64
	}
	publishTasks := func(via jetstream.JetStream, prefix string, n int) {
		for i := range n {
			id := fmt.Sprintf("%s-%d", prefix, i)
			task := &bus.Task{ID: id, Instruction: "list files", Pool: "default"}
			for _, e := range []bus.Event{
				{Type: bus.EventAccepted, Task: task},
				{Type: bus.EventAssigned, Worker: "w1", Attempt: 1},
				{Type: bus.EventCommand, Command: "ls", Attempt: 1},
				{Type: bus.EventDone, Command: "ls", Exec: &bus.ExecResult{ExitCode: 0}},
			} {
				e.TaskID, e.TS = id, time.Now().UTC()
				ack, err := publishRetrying(ctx, via, names.EventMsg(e))
				if err != nil {
					t.Fatalf("publish %s of %s: %v", e.Type, id, err)
				}
				last[id] = ack.Sequence
				events = append(events, struct {
					id  string
					seq uint64
				}{id, ack.Sequence})
			}
		}
	}
	waitProjected := func(c cache.Cache) {
		t.Helper()
		for id, seq := range last {
			for {
				s, err := c.Status(ctx, id)
				if err == nil && s.LastSeq == seq {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("status of %s never reached event %d: %+v, %v", id, seq, s, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	checkOnce := func(from int, notBy int) (by map[int]int) {
		t.Helper()
		by = map[int]int{}
		for _, e := range events[from:] {
			w := log.writers(e.id, e.seq)
			if len(w) != 1 {
				t.Fatalf("event %d of %s stored %d times (by kernels %v), want once", e.seq, e.id, len(w), w)
			}
			if w[0] == notBy {
				t.Fatalf("event %d of %s stored by the stopped kernel-%d", e.seq, e.id, notBy+1)
			}
			by[w[0]]++
		}
		return by
	}

	publishTasks(js[0], "before", 10)
	waitProjected(caches[0])
	by := checkOnce(0, -1)
	if len(by) != 1 {
		t.Fatalf("events were projected by %d kernels (%v), want one", len(by), by)
	}
	holder, err := status.LeaseHolder(ctx, js[0], names, names.StatusLease())
	if err != nil {
		t.Fatal(err)
	}
	h := -1
	for k := range by {
		h = k
	}
	if want := fmt.Sprintf("kernel-%d", h+1); holder != want {
		t.Fatalf("lease names %q, but %s projected", holder, want)
	}

	servers[h].Shutdown()
	survivor := (h + 1) % len(servers)
	before := len(events)
	publishTasks(js[survivor], "after", 10)
	waitProjected(caches[survivor])
	by = checkOnce(before, h)
	if len(by) != 1 {
		t.Fatalf("after the stop, events were projected by %d kernels (%v), want one", len(by), by)
	}
	t.Logf("kernel-%d projected %d events; after it stopped, %v", h+1, before, by)
}

// publishRetrying publishes msg, retrying while the cluster elects a
// leader after a kernel stopped: the test is about the projector.
func publishRetrying(ctx context.Context, js jetstream.JetStream, msg *nats.Msg) (*jetstream.PubAck, error) {
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ack, err := js.PublishMsg(pctx, msg)
		cancel()
		if err == nil || ctx.Err() != nil {
			return ack, err
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrNoResponders) && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
