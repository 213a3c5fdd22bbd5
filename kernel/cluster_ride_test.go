package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// rideKills is how many times TestClusterRidesThroughLeaderLoss kills a
// stream leader (each time restarting it before the next).
const rideKills = 2

// TestClusterRidesThroughLeaderLoss submits tasks without pause through a
// client connected to all three kernels of a cluster, and reads each one
// back, while the kernel leading a stream is killed (and, before the next
// kill, started again on its store). A call the cluster could not answer
// within the client's bound must say so (ErrUnavailable; a submission
// names its id and says to retry with it), and is retried as a client
// would: with the same id. In the end every task is stored exactly once
// in the tasks stream and has exactly one accepted event, and a reader
// that followed one task through the kills saw each of its events once.
func TestClusterRidesThroughLeaderLoss(t *testing.T) {
	t.Parallel()
	servers, credsFile := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	names := bus.Names{}
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.ClientURL()
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserCredentials(credsFile), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	cl := &client.Client{NC: nc, JS: js, Names: names}

	// phase is the number of kills so far; failed counts, per phase, the
	// calls that failed (and were retried).
	var phase atomic.Int32
	var mu sync.Mutex
	failedSubmits := make([]int, rideKills+1)
	failedReads := make([]int, rideKills+1)
	var wrongErr []string
	var submitted []string
	var ok atomic.Int64

	// The submitter stops between tasks, so that no submission is cut
	// short: every task it started is in submitted.
	var stop atomic.Bool
	sctx := ctx
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load() && sctx.Err() == nil; i++ {
			id := fmt.Sprintf("ride-%d", i)
			for sctx.Err() == nil {
				_, _, err := cl.Submit(sctx, bus.Task{ID: id, Command: "true"})
				if err == nil {
					break
				}
				if sctx.Err() != nil {
					return
				}
				mu.Lock()
				failedSubmits[phase.Load()]++
				if !errors.Is(err, client.ErrUnavailable) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "retry with the same id") {
					wrongErr = append(wrongErr, err.Error())
				}
				mu.Unlock()
			}
			mu.Lock()
			submitted = append(submitted, id)
			mu.Unlock()
			for sctx.Err() == nil {
				st, err := cl.Status(sctx, id)
				if err == nil && st.State == bus.StateQueued {
					break
				}
				if sctx.Err() != nil {
					return
				}
				mu.Lock()
				failedReads[phase.Load()]++
				if err == nil || !errors.Is(err, client.ErrUnavailable) {
					wrongErr = append(wrongErr, fmt.Sprintf("status of %s: %+v, %v", id, st, err))
				}
				mu.Unlock()
			}
			ok.Add(1)
		}
	}()
	// waitFor lets the submitter pass n more tasks.
	waitFor := func(n int64) {
		t.Helper()
		want := ok.Load() + n
		for ok.Load() < want {
			if ctx.Err() != nil {
				t.Fatalf("submissions stalled at %d of %d", ok.Load(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A reader follows one task whose output keeps coming through the
	// kills: it must see every event once, in order.
	const watched = "ride-watched"
	wtask := &bus.Task{ID: watched, Command: "yes"}
	if _, err := publishRetrying(ctx, js, names.EventMsg(bus.Event{TaskID: watched, Type: bus.EventAccepted, Task: wtask, TS: time.Now().UTC()})); err != nil {
		t.Fatal(err)
	}
	var lines atomic.Int64
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
			m := names.EventMsg(bus.Event{TaskID: watched, Type: bus.EventStdout, Text: fmt.Sprint(i), TS: time.Now().UTC()})
			// An id per line: a publish retried after a lost ack is
			// stored once.
			m.Header.Set(bus.HeaderMsgID, fmt.Sprintf("%s-%d", watched, i))
			if _, err := publishRetrying(ctx, js, m); err != nil {
				return
			}
			lines.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var seen []bus.Event
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- cl.Watch(ctx, watched, 0, true, func(e bus.Event) error {
			seen = append(seen, e)
			return nil
		})
	}()

	waitFor(50)
	for kill := range rideKills {
		// The events stream takes the first write of a submission, the
		// tasks stream the second: kill their leaders by turns.
		stream := []string{names.EventsStream(), names.TasksStream()}[kill%2]
		leader := streamLeader(t, ctx, js, stream)
		i := serverIndex(t, servers, leader)
		t.Logf("kill %d: stopping %s, leader of %s, after %d tasks", kill+1, leader, stream, ok.Load())
		phase.Store(int32(kill + 1))
		servers[i].Shutdown()
		waitFor(100)
		if kill+1 < rideKills {
			servers[i] = restart(t, servers[i])
			waitCurrent(t, ctx, js, names.EventsStream(), names.TasksStream())
			waitFor(20)
		}
	}
	stop.Store(true)
	<-done
	<-outDone
	if _, err := publishRetrying(ctx, js, names.EventMsg(bus.Event{TaskID: watched, Type: bus.EventDone, TS: time.Now().UTC()})); err != nil {
		t.Fatal(err)
	}
	if err := <-watchErr; err != nil {
		t.Errorf("watch across the kills: %v", err)
	}
	var out []string
	for i, e := range seen {
		if i > 0 && e.Seq <= seen[i-1].Seq {
			t.Fatalf("watch: event %d after %d: out of order or twice", e.Seq, seen[i-1].Seq)
		}
		if e.Type == bus.EventStdout {
			out = append(out, e.Text)
		}
	}
	if int64(len(out)) != lines.Load() {
		t.Errorf("watch saw %d lines of %d published", len(out), lines.Load())
	}
	for i, text := range out {
		if text != fmt.Sprint(i) {
			t.Fatalf("watch: line %d is %q", i, text)
		}
	}

	if len(wrongErr) > 0 {
		t.Errorf("%d failed calls did not say to retry (first: %s)", len(wrongErr), wrongErr[0])
	}

	t.Logf("tasks submitted: %d; failed submissions per kill: %v; failed reads per kill: %v (index 0: before any kill); lines followed: %d", len(submitted), failedSubmits, failedReads, len(out))

	queued := countQueued(t, ctx, js, names.TasksStream())
	accepted := countByID(t, ctx, js, names.EventsStream(), names.Events(), func(m jetstream.Msg) string {
		if bus.MsgEventType(m.Headers(), m.Data()) != bus.EventAccepted {
			return ""
		}
		src, _ := names.SourceOf(m.Subject())
		return src.Task
	})
	delete(accepted, watched) // published by the test, never queued
	for _, id := range submitted {
		if queued[id] != 1 || accepted[id] != 1 {
			t.Errorf("task %s: queued %d times, accepted %d times; want once each", id, queued[id], accepted[id])
		}
	}
	if len(queued) != len(submitted) || len(accepted) != len(submitted) {
		t.Errorf("stored %d tasks and %d accepted events for %d submissions", len(queued), len(accepted), len(submitted))
	}
}

func streamLeader(t *testing.T, ctx context.Context, js jetstream.JetStream, stream string) string {
	t.Helper()
	for {
		s, err := js.Stream(ctx, stream)
		if err == nil && s.CachedInfo().Cluster != nil && s.CachedInfo().Cluster.Leader != "" {
			return s.CachedInfo().Cluster.Leader
		}
		if ctx.Err() != nil {
			t.Fatalf("no leader of %s: %v", stream, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func serverIndex(t *testing.T, servers []*kernel.Server, name string) int {
	t.Helper()
	for i, s := range servers {
		if s.ServerName == name {
			return i
		}
	}
	t.Fatalf("no kernel named %q", name)
	return -1
}

// restart starts a stopped kernel again on its store and configuration.
func restart(t *testing.T, old *kernel.Server) *kernel.Server {
	t.Helper()
	s := &kernel.Server{
		ConfigFile: old.ConfigFile, ServerName: old.ServerName, Listen: old.Listen,
		StateDir: old.StateDir, AuthDir: old.AuthDir, Logger: old.Logger,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("restart %s: %v", old.ServerName, err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// waitCurrent waits until every replica of the streams is current again.
func waitCurrent(t *testing.T, ctx context.Context, js jetstream.JetStream, streams ...string) {
	t.Helper()
	for _, name := range streams {
		for {
			s, err := js.Stream(ctx, name)
			if err == nil {
				c := s.CachedInfo().Cluster
				current := c != nil && c.Leader != "" && len(c.Replicas) == 2
				for _, r := range c.Replicas {
					current = current && r.Current && !r.Offline
				}
				if current {
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("replicas of %s never caught up: %v", name, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// countByID reads the whole stream and counts its messages by the id key
// returns ("" skips a message).
func countByID(t *testing.T, ctx context.Context, js jetstream.JetStream, stream, subject string, key func(jetstream.Msg) string) map[string]int {
	t.Helper()
	return counted(t, func() (map[string]int, error) {
		cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		if err != nil {
			return nil, err
		}
		counts := map[string]int{}
		for {
			batch, err := cons.FetchNoWait(1000)
			if err != nil {
				return nil, err
			}
			n := 0
			for m := range batch.Messages() {
				n++
				if id := key(m); id != "" {
					counts[id]++
				}
			}
			if err := batch.Error(); err != nil {
				return nil, err
			}
			if n == 0 {
				return counts, nil
			}
		}
	})
}

// countQueued counts the tasks stream's messages by task id. It is a work
// queue, which takes no reader besides the pools' consumers: its messages
// are read one by one.
func countQueued(t *testing.T, ctx context.Context, js jetstream.JetStream, stream string) map[string]int {
	t.Helper()
	return counted(t, func() (map[string]int, error) {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return nil, err
		}
		st := s.CachedInfo().State
		counts := map[string]int{}
		for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			counts[bus.PeekID(m.Data)]++
		}
		return counts, nil
	})
}

// counted is count's answer once the cluster answers it: right after a
// kernel is stopped, its streams elect new leaders, and until then the
// test's own reads (which ride through nothing) find no responders.
func counted(t *testing.T, count func() (map[string]int, error)) map[string]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts, err := count()
		if err == nil {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("count the cluster's messages: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
