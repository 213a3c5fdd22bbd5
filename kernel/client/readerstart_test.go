package client_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// manyTasks stores n tasks' events before the one a reader reads: an
// accepted event each and a worker's of pool a, as a busy kernel keeps.
func manyTasks(t testing.TB, js jetstream.JetStream, names bus.Names, n int) {
	t.Helper()
	ctx := context.Background()
	var acks []jetstream.PubAckFuture
	for i := range n {
		id := fmt.Sprintf("other-%d", i)
		for _, m := range []*nats.Msg{
			names.EventMsg(bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC()}),
			names.EventMsgBy(bus.Event{TaskID: id, Type: bus.EventDone, TS: time.Now().UTC()}, "a", "W"),
		} {
			f, err := js.PublishMsgAsync(m)
			if err != nil {
				t.Fatal(err)
			}
			acks = append(acks, f)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
	case <-time.After(time.Minute):
		t.Fatal("stores not acknowledged")
	}
	for _, f := range acks {
		select {
		case err := <-f.Err():
			t.Fatal(err)
		default:
		}
	}
}

// A reader's consumer starts at the task's first event, not at the
// stream's: it delivers the same events, the task's own and its pool's,
// without nats-server walking every task the stream keeps for each.
func TestReaderStartsAtTheTasksFirstEvent(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names, Cache: poolStatus("a")}
	manyTasks(t, k.JS, names, 50)
	publishEvents(t, k.JS, names, "read-me", bus.EventAccepted)
	for _, e := range []struct {
		pool string
		typ  bus.EventType
	}{{"a", bus.EventAssigned}, {"b", bus.EventDone}, {"a", bus.EventDone}} {
		if _, err := k.JS.PublishMsg(context.Background(), names.EventMsgBy(bus.Event{TaskID: "read-me", Type: e.typ, TS: time.Now().UTC()}, e.pool, "W")); err != nil {
			t.Fatal(err)
		}
	}
	inbox := k.NC.NewInbox()
	sub, err := k.NC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	ctx := context.Background()
	reply, err := c.MakeReader(ctx, client.Reader{All: true}, bus.ReaderRequest{Task: "read-me", Deliver: inbox}, 0)
	if err != nil {
		t.Fatal(err)
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	cons, err := events.PushConsumer(ctx, reply.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	first, err := names.NextEvent(ctx, events, "read-me", 1)
	if err != nil {
		t.Fatal(err)
	}
	if cfg := cons.CachedInfo().Config; cfg.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || cfg.OptStartSeq != first.Seq || first.Seq != 101 {
		t.Fatalf("reader starts with %v at %d; want at the task's first event, %d (101)", cfg.DeliverPolicy, cfg.OptStartSeq, first.Seq)
	}
	var got []string
	for len(got) < 3 {
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		if len(m.Data) == 0 {
			continue // a heartbeat
		}
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", md.Sequence.Stream, bus.MsgEventType(m.Header, m.Data)))
	}
	if fmt.Sprint(got) != "[101:accepted 102:assigned 104:done]" {
		t.Fatalf("delivered %v; want the task's own events and its pool's, in order", got)
	}
}

// BenchmarkReaderOnAStreamOfManyTasks opens a reader's consumer on a task
// at the end of an events stream that keeps 20,000 other tasks, and
// reads its first event: started at the task's first event (as the
// kernel makes them), beside started at the stream's first message.
//
//	go test -run '^$' -bench ReaderOnAStreamOfManyTasks ./kernel/client
func BenchmarkReaderOnAStreamOfManyTasks(b *testing.B) {
	k := kerneltest.Start(b)
	names := bus.Names{}
	manyTasks(b, k.JS, names, 20000)
	publishEvents(b, k.JS, names, "read-me", bus.EventAccepted)
	ctx := context.Background()
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		b.Fatal(err)
	}
	first, err := names.NextEvent(ctx, events, "read-me", 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name, pool string
		from       uint64
	}{{"from-task", "a", first.Seq}, {"from-stream-start", "a", 0}, {"one-filter-from-task", "", first.Seq}} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				inbox := k.NC.NewInbox()
				sub, err := k.NC.SubscribeSync(inbox)
				if err != nil {
					b.Fatal(err)
				}
				name := fmt.Sprintf("bench-%s-%d", bc.name, i)
				cfg := names.ReaderConsumerConfig(name, "read-me", bc.pool, 0, bc.from, inbox)
				if _, err := k.JS.CreatePushConsumer(ctx, names.EventsStream(), cfg); err != nil {
					b.Fatal(err)
				}
				if _, err := sub.NextMsg(10 * time.Second); err != nil {
					b.Fatal(err)
				}
				_ = sub.Unsubscribe()
				if err := events.DeleteConsumer(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubmittedReaderOnAStreamOfManyTasks is a streamed submission's
// reader on an events stream that keeps 20,000 other tasks
// (AMF_BENCH_KEPT_TASKS): the task's
// accepted event stored and its reader's consumer made, until the reader
// has that event. "made-after" makes the consumer once the event is
// stored, starting there (MakeReaderOf); "made-ahead" makes it paused at
// the stream's end before the event is stored and resumes it after
// (MakeReaderAhead, ResumeReaderAhead), as the task API does.
//
//	go test -run '^$' -bench SubmittedReaderOnAStreamOfManyTasks ./kernel/client
func BenchmarkSubmittedReaderOnAStreamOfManyTasks(b *testing.B) {
	k := kerneltest.Start(b)
	names := bus.Names{}
	manyTasks(b, k.JS, names, keptTasks())
	c := &client.Client{NC: k.NC, Names: names}
	ctx := context.Background()
	reader, origin := client.Reader{All: true}, bus.Task{Pool: "a"}
	accept := func(id string) uint64 {
		ack, err := k.JS.PublishMsg(ctx, names.EventMsg(bus.Event{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC()}))
		if err != nil {
			b.Fatal(err)
		}
		return ack.Sequence
	}
	for _, ahead := range []bool{false, true} {
		name := map[bool]string{false: "made-after", true: "made-ahead"}[ahead]
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				inbox := k.NC.NewInbox()
				sub, err := k.NC.SubscribeSync(inbox)
				if err != nil {
					b.Fatal(err)
				}
				req := bus.ReaderRequest{Task: fmt.Sprintf("%s-%d", name, i), Deliver: inbox}
				var consumer string
				if ahead {
					a := c.MakeReaderAhead(ctx, reader, req, origin, 0)
					if !c.ResumeReaderAhead(ctx, a, accept(req.Task)) {
						b.Fatal("the reader made ahead does not deliver the task")
					}
					consumer = a.Name
				} else {
					seq := accept(req.Task)
					if consumer, err = c.MakeReaderOf(ctx, reader, req, origin, seq, 0); err != nil {
						b.Fatal(err)
					}
				}
				m, err := sub.NextMsg(10 * time.Second)
				for err == nil && len(m.Data) == 0 {
					m, err = sub.NextMsg(10 * time.Second) // a heartbeat
				}
				if err != nil || bus.MsgEventType(m.Header, m.Data) != bus.EventAccepted {
					b.Fatalf("first delivery: %v", err)
				}
				_ = sub.Unsubscribe()
				if err := c.CloseReader(ctx, func(bus.Owner) bool { return true }, consumer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// keptTasks is how many other tasks the stream keeps:
// AMF_BENCH_KEPT_TASKS, 20,000.
func keptTasks() int {
	if n, err := strconv.Atoi(os.Getenv("AMF_BENCH_KEPT_TASKS")); err == nil && n >= 0 {
		return n
	}
	return 20000
}
