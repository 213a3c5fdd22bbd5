package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// StatusSource answers status reads faster than the event stream can; the
// hot cache implements it. Misses and errors fall back to the stream.
type StatusSource interface {
	Status(ctx context.Context, taskID string) (bus.Status, error)
}

// Client talks to the bus on behalf of a caller. The zero value is not
// usable: set NC (and JS, or it is derived).
type Client struct {
	NC    *nats.Conn
	JS    jetstream.JetStream
	Names bus.Names
	// Cache, when set, is read first for status.
	Cache StatusSource
	// ViaAPI sends Submit and Cancel through the kernel's task API
	// (remote.go): parts with client or bridge credentials may not
	// write the event stream themselves.
	ViaAPI bool
	// RideThrough bounds how long a call retries while the kernel's
	// cluster elects a leader (ride.go); 0 is DefaultRideThrough, < 0
	// fails at the first refusal.
	RideThrough time.Duration
	// Offers, when set, lists the workers whose heartbeats say which
	// workspaces they serve: Submit refuses a task naming one no worker
	// of its pool would run (offers.go).
	Offers WorkerLister
	offers offersCache
	// ReadersPerOwner caps the event streams one owner holds open through
	// this client when it makes readers' consumers itself (the kernel's
	// connection, reading for the bridge's tokens): 0 is
	// bus.DefaultReadersPerOwner, < 0 no cap.
	ReadersPerOwner int
	readerLocks     sync.Map // stream/name prefix → *sync.Mutex: one asker's opens are counted one at a time (pushconsumer.go)

	mu     sync.Mutex
	events jetstream.Stream
	tasks  jetstream.Stream // looked up by tasksStream
	self   *self            // what this connection's credential is (access.go)
	kept   keptGauge        // how many subjects the events stream holds (readerahead.go)
	drops  readerDrops      // readers of withdrawn tasks, deleted in the background (readerdrop.go)
}

// init looks up the events stream once it exists; a failure is not kept,
// so a client made before the kernel finished starting recovers.
func (c *Client) init(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.events != nil {
		return nil
	}
	if c.JS == nil {
		js, err := jetstream.New(c.NC)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		c.JS = js
	}
	s, err := c.JS.Stream(ctx, c.Names.EventsStream())
	if err != nil {
		return fmt.Errorf("%w: events stream %s: %v", ErrUnavailable, c.Names.EventsStream(), err)
	}
	c.events = s
	return nil
}

// eventMsg is an event as the bus stores it, with a de-duplication id
// when msgID is set.
func eventMsg(names bus.Names, e bus.Event, msgID string) *nats.Msg {
	m := names.EventMsg(e)
	if msgID != "" {
		m.Header.Set(bus.HeaderMsgID, msgID)
	}
	return m
}

// Status returns what is known of a task: from the cache when it has it,
// else folded from the task's events, riding through an election. A task
// the caller may not see (access.go) is ErrNotFound, as an unknown one.
func (c *Client) Status(ctx context.Context, id string) (bus.Status, error) {
	st, err := c.status(ctx, id)
	if err == nil && !c.access(ctx).MaySee(st.Owner) {
		return bus.Status{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return st, err
}

func (c *Client) status(ctx context.Context, id string) (bus.Status, error) {
	if c.ViaAPI && c.Cache == nil {
		return c.statusViaAPI(ctx, id)
	}
	var st bus.Status
	err := c.ride(ctx, func(ctx context.Context) error {
		if c.Cache != nil {
			if s, err := c.Cache.Status(ctx, id); err == nil && s.ID != "" {
				st = s
				return nil
			}
		}
		var err error
		st, err = c.StatusFromEvents(ctx, id)
		return err
	})
	return st, err
}

// StatusFromEvents rebuilds a task's status from the record of truth.
func (c *Client) StatusFromEvents(ctx context.Context, id string) (bus.Status, error) {
	var st bus.Status
	n := 0
	reader := Reader{}
	if c.ViaAPI {
		// A bridge on its own credential reads for the token it serves.
		reader = readerFrom(ctx)
	}
	s, err := c.OpenAs(ctx, reader, id, 0, false)
	if errors.Is(err, ErrNotFound) {
		return st, err
	}
	if err == nil {
		err = s.Each(ctx, c.decoded(func(e bus.Event) error {
			st.Apply(e)
			n++
			return nil
		}))
	}
	if err != nil {
		return st, err
	}
	if n == 0 {
		return st, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return st, nil
}

// LastEvent returns the newest event of a task, or ErrNotFound (which
// the stream's leader confirmed: see lastEventFromLeader).
func (c *Client) LastEvent(ctx context.Context, id string) (bus.Event, error) {
	var e bus.Event
	err := c.ride(ctx, func(ctx context.Context) error {
		if err := c.init(ctx); err != nil {
			return err
		}
		var err error
		e, err = c.Names.LastEvent(ctx, c.events, id)
		if errors.Is(err, bus.ErrNoEvents) {
			e, err = c.lastEventFromLeader(ctx, id)
		}
		return err
	})
	if errors.Is(err, bus.ErrNoEvents) {
		return e, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return e, err
}

// OwnLastEvent is last, the newest event of task id from any writer, as
// the task's pool sees it: when a worker of another pool stored it (a
// worker may store events under any id, on its own pool's subject), the
// newest of the kernel's and the pool's own, which is what the pool's
// workers and the task's readers go by. The pool is the kernel's record
// of the task; one published raw has none, and last stands.
func (c *Client) OwnLastEvent(ctx context.Context, id string, last bus.Event) (bus.Event, error) {
	if last.Source.Pool == "" {
		return last, nil
	}
	rec, err := c.accepted(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return last, nil
	case err != nil:
		return last, err
	}
	return c.lastIn(ctx, id, last, rec.Task.Pool)
}

// lastIn is OwnLastEvent for a task whose pool the caller knows.
func (c *Client) lastIn(ctx context.Context, id string, last bus.Event, pool string) (bus.Event, error) {
	if last.Source.Pool == "" || pool == "" || last.Source.Pool == pool {
		return last, nil
	}
	e, err := c.Names.LastEventIn(ctx, c.events, id, pool)
	if errors.Is(err, bus.ErrNoEvents) {
		return e, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return e, err
}

// cancelTries bounds how often Cancel re-reads a task whose events keep
// coming while it tries to append its request after the newest one.
const cancelTries = 20

// Cancel asks whoever runs the task to stop it. A task still queued is
// marked so that the worker that takes it cancels it at once. The request
// is appended only after a non-terminal event (bus.Fenced), so it never
// lands after a task's end.
func (c *Client) Cancel(ctx context.Context, id, reason string) error {
	_, err := c.CancelEnded(ctx, id, reason)
	return err
}

// CancelEnded is Cancel, reporting too whether the call ended the task
// itself (ended): no worker held it, so its cancelled event is stored and
// its body, if queued, is for no worker to run. Through the task API
// (ViaAPI) it is never known.
func (c *Client) CancelEnded(ctx context.Context, id, reason string) (ended bool, err error) {
	if c.ViaAPI {
		return false, c.cancelViaAPI(ctx, id, reason)
	}
	if err := c.mayTouch(ctx, id); err != nil {
		return false, err
	}
	if reason == "" {
		reason = "cancelled by request"
	}
	req := bus.Event{TaskID: id, Type: bus.EventCancelRequested, TS: time.Now().UTC(), Reason: reason}
	var ack *jetstream.PubAck
	var own bus.Event
	var fenced bool
	for try := 1; ; try++ {
		last, err := c.LastEvent(ctx, id)
		if err != nil {
			return false, err
		}
		// Ended as its pool sees it; the fence stays on the newest
		// event from any writer, which is what the store compares.
		own, err = c.OwnLastEvent(ctx, id, last)
		if err != nil {
			return false, err
		}
		if own.Type.Terminal() {
			return false, fmt.Errorf("%w: %s ended as %s", ErrFinished, id, own.Type)
		}
		var opts []jetstream.PublishOpt
		if fenced = try < cancelTries; fenced {
			// A task that streams faster than we can read its tail is
			// running, not ended: the last try appends unfenced.
			opts = append(opts, c.Names.FencedTask(id, last.Seq))
		}
		ack, err = c.JS.PublishMsg(ctx, c.Names.EventMsg(req), opts...)
		if bus.IsFenceConflict(err) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("cancel %s: %w", id, err)
		}
		break
	}
	// Newest as its pool sees it when the request was stored fenced on
	// it, the kernel's accepted event says no worker of the pool has
	// claimed the task: a claim is stored after it.
	return c.stopHolder(ctx, id, reason, ack.Sequence, fenced && own.Type == bus.EventAccepted)
}

// mayTouch refuses a change to a task the caller did not make: as an
// unknown task when it may not see it either, else as forbidden.
// ownerOf is whose task id is. Where c reads the events stream (the
// kernel's connection) that is the kernel's record of the submission
// under the id now: a cached status may still be of an earlier task
// under a reused id, whose owner would be let touch the new one. Through
// the task API it is the status, and the kernel checks again.
func (c *Client) ownerOf(ctx context.Context, id string) (bus.Owner, error) {
	if c.ViaAPI {
		st, err := c.status(ctx, id)
		return st.Owner, err
	}
	var t bus.Task
	err := c.ride(ctx, func(ctx context.Context) error {
		var err error
		t, err = c.Recorded(ctx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		if _, err := c.LastEvent(ctx, id); err != nil {
			return "", err
		}
		return "", nil // events, but no submission's record: the operators' only
	}
	return t.Owner, err
}

func (c *Client) mayTouch(ctx context.Context, id string) error {
	a := c.access(ctx)
	if a.ActAll {
		return nil
	}
	owner, err := c.ownerOf(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case a.MayTouch(owner):
		return nil
	case a.MaySee(owner):
		return fmt.Errorf("%w: task %s is another owner's: the read-all right sees it, only its owner or an admin may change it", ErrForbidden, id)
	}
	return fmt.Errorf("%w: %s", ErrNotFound, id)
}
