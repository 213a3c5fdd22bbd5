package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// ReaderAhead is a reader's consumer made before its task is recorded,
// for a submitter that reads the task's events at once (the kernel's
// task API, bus.HeaderDeliver). Made then, it starts at the end of the
// stream, which nats-server counts without walking the stream; made
// after, at the task's accepted event, the count walks every subject the
// stream holds, and what every submission costs would grow with the
// tasks the kernel keeps (bus.ReaderConsumerAhead).
type ReaderAhead struct {
	// Name is the consumer's; "" when none was made.
	Name string
	// start is the first stream sequence it may deliver.
	start uint64
	// cfg is the consumer once it is the reader's: delivering to it.
	cfg jetstream.ConsumerConfig
}

// MakeReaderAhead makes the consumer that will deliver to req.Deliver,
// for reader, the events of the task origin is about to be recorded as
// (req.Task): the submission's last step before its accepted event is
// stored. Until ResumeReaderAhead hands it to the reader it is parked on
// a new inbox of this connection, which nobody subscribes to (nats-server
// lets no other credential subscribe there): a push consumer without
// interest delivers nothing, so not one event of a task that turns out
// to be another's reaches the reader, and one never handed over (its
// kernel died) is deleted by the server after bus.ReaderInactive.
//
// It makes nothing when it may not (the reader's cap, a task it may not
// read), when it cannot, or when a consumer of that name is there
// already (one an earlier asking made, which its reader may be reading);
// the caller then makes the reader as MakeReaderOf does, which says why
// one cannot be made.
func (c *Client) MakeReaderAhead(ctx context.Context, reader Reader, req bus.ReaderRequest, origin bus.Task, limit int) ReaderAhead {
	var final jetstream.ConsumerConfig
	made, err := c.makeReader(ctx, reader, req, origin, limit, func(name string) jetstream.ConsumerConfig {
		final = c.Names.ReaderConsumerAhead(name, req.Task, origin.Pool, req.Deliver)
		parked := final
		parked.DeliverSubject = c.NC.NewInbox()
		return parked
	})
	if err != nil || made == nil {
		return ReaderAhead{}
	}
	return ReaderAhead{Name: made.Name, start: made.Delivered.Stream + 1, cfg: final}
}

// ResumeReaderAhead hands a consumer made ahead to its reader once the
// task's accepted event is stored at accepted (Placed.Accepted), and
// reports whether it now delivers the task from that event: it was made,
// it starts at or before the event, and nats-server took the change. The
// accepted event is stored only while the task's id has no events
// (bus.Fenced(0)), so nothing of the task comes before it and nothing of
// another task under that id after. A submission that stored none (a
// duplicate, 0) leaves it parked: the caller drops it (DropReaderAhead)
// and reads as any reader does, from the task's first event.
//
// Moving it to the reader's inbox, where the reader listens, is what
// starts its deliveries (nats-server tells a push consumer when its
// deliver subject gains interest). nats-server refuses the move while
// anything listens on the parked inbox, a wildcard included: the caller
// then drops it and makes the reader after the event.
func (c *Client) ResumeReaderAhead(ctx context.Context, a ReaderAhead, accepted uint64) bool {
	if a.Name == "" || accepted == 0 || a.start > accepted {
		return false
	}
	// Within the client's bound: the meta group answers 503 while it
	// elects a leader.
	err := c.ride(context.WithoutCancel(ctx), func(ctx context.Context) error {
		_, err := c.events.UpdatePushConsumer(ctx, a.cfg)
		return err
	})
	return err == nil
}

// DropReaderAhead deletes a consumer made ahead that will not be read.
func (c *Client) DropReaderAhead(ctx context.Context, a ReaderAhead) {
	if a.Name == "" {
		return
	}
	_ = c.ride(context.WithoutCancel(ctx), func(ctx context.Context) error {
		err := c.events.DeleteConsumer(ctx, a.Name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil
		}
		return err
	})
}

// DefaultReadersAheadFrom is how many subjects the events stream holds
// before a streamed submission's reader is made ahead of its record
// (ReadersAhead). Made ahead, the consumer costs a round trip before the
// task is queued (~0.5 ms on a loaded machine); made after, its pending
// count walks every subject (~0.3 µs each), beside the worker's start.
// Past 2,000 subjects (~1,000 tasks kept) the walk costs more.
const DefaultReadersAheadFrom = 2000

// keptEvery is how often the events stream's subjects are counted again.
const keptEvery = 5 * time.Second

// keptGauge is how many subjects the events stream held when last
// counted, counted again in the background once keptEvery has passed.
type keptGauge struct {
	mu       sync.Mutex
	subjects int
	at       time.Time
	counting bool
}

// ReadersAhead reports whether a streamed submission's reader is made
// ahead of its record (MakeReaderAhead): the events stream held from
// subjects or more when last counted (from < 0: always). The count is
// at most keptEvery old, read in the background; until a first count
// lands the reader is made after the record.
func (c *Client) ReadersAhead(ctx context.Context, from int) bool {
	if from < 0 {
		return true
	}
	g := &c.kept
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.counting && time.Since(g.at) >= keptEvery {
		g.counting = true
		go c.countKept(context.WithoutCancel(ctx))
	}
	return g.subjects >= from
}

// countKept counts the events stream's subjects into c.kept.
func (c *Client) countKept(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, directTimeout)
	defer cancel()
	n := -1
	if c.init(ctx) == nil {
		if info, err := c.events.Info(ctx); err == nil {
			n = int(info.State.NumSubjects)
		}
	}
	g := &c.kept
	g.mu.Lock()
	defer g.mu.Unlock()
	g.counting, g.at = false, time.Now()
	if n >= 0 {
		g.subjects = n
	}
}
