package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// ErrTooManyReaders means the owner already holds as many event streams
// open as the kernel allows one owner (--readers-per-owner).
var ErrTooManyReaders = errors.New("too many open event streams")

// Reader is whom a read is for. The zero Reader is the connection's own
// credential (an admin connection reads every task); the bridge reads for
// its HTTP tokens with Owner set to the token's owner and All when the
// token may read every task. Every owner's open streams are capped but
// an Operator's (an admin token), which acts for the installation.
type Reader struct {
	Owner    bus.Owner
	All      bool
	Operator bool
}

func (r Reader) forToken() bool { return r != Reader{} }

// MakeReader is the kernel's half of a read: it checks that reader may
// read the task, that reader's owner holds fewer than limit consumers
// (0: no cap), and makes the push consumer that delivers the task's
// events after req.After onto req.Deliver. Only a connection allowed to
// create consumers (the kernel's) can make one. A task the reader may not
// read is answered as a task that does not exist.
func (c *Client) MakeReader(ctx context.Context, reader Reader, req bus.ReaderRequest, limit int) (bus.ReaderReply, error) {
	if !bus.ValidToken(req.Task) {
		return bus.ReaderReply{}, fmt.Errorf("%w: %q is not a task id", bus.ErrInvalidTask, req.Task)
	}
	if err := CheckDeliver(req.Deliver); err != nil {
		return bus.ReaderReply{}, err
	}
	var reply bus.ReaderReply
	// The task's newest event (where the reader stands) and its first
	// (whose it is) are read side by side: one round trip, not two, on
	// every reader's way to its first event.
	type found struct {
		task  bus.Task
		first uint64
		err   error
	}
	originc := make(chan found, 1)
	go func() {
		t, first, err := c.taskOrigin(ctx, req.Task)
		originc <- found{t, first, err}
	}()
	last, err := c.LastEvent(ctx, req.Task)
	o := <-originc
	if err == nil && c.agesOutSoon(last) {
		// Its consumer would outlive the id (bus.ReaderAgeMargin).
		return reply, fmt.Errorf("%w: %s: its events age out within %v, and no stream of it is opened any more",
			ErrNotFound, req.Task, bus.ReaderAgeMargin(c.eventsMaxAge()))
	}
	if err == nil && o.err == nil {
		// Where the reader stands is the newest event its consumer
		// delivers: the kernel's or the task's pool's.
		last, err = c.lastIn(ctx, req.Task, last, o.task.Pool)
	}
	switch {
	case errors.Is(err, ErrNotFound) && req.Wait:
	case err != nil:
		return reply, err
	default:
		reply.LastSeq, reply.LastType = last.Seq, last.Type
	}
	// A task that has no events yet has no owner to compare with: a
	// reader waiting on an id another owner submits later would get that
	// owner's events. Only operators wait on unknown ids.
	if reply.LastSeq == 0 && !reader.All {
		return bus.ReaderReply{}, fmt.Errorf("%w: %s", ErrNotFound, req.Task)
	}
	var origin bus.Task
	var first uint64
	if reply.LastSeq > 0 {
		if o.err != nil {
			return bus.ReaderReply{}, o.err
		}
		origin, first = o.task, o.first
	}
	name, err := c.MakeReaderOf(ctx, reader, req, origin, first, limit)
	if err == nil && first != 0 {
		// The recording read above may have been withdrawn meanwhile (a
		// task that could not be queued): the id may be another owner's
		// next, whose task the consumer would deliver (readerdrop.go).
		if e, gone := c.Names.NextEvent(ctx, c.events, req.Task, first); gone != nil || e.Seq != first {
			_ = c.events.DeleteConsumer(ctx, name)
			if gone == nil || errors.Is(gone, bus.ErrNoEvents) {
				gone = fmt.Errorf("%w: %s", ErrNotFound, req.Task)
			}
			return bus.ReaderReply{}, gone
		}
	}
	reply.Consumer = name
	return reply, err
}

// MakeReaderOf is MakeReader for a task whose owner and pool the caller
// knows (origin): the kernel that has just recorded the task reads
// nothing again. first, when not 0, is the sequence of the task's first
// event (SubmitWarnAt's, or the accepted event MakeReader read for the
// task's origin), where its consumer starts; 0 reads it.
func (c *Client) MakeReaderOf(ctx context.Context, reader Reader, req bus.ReaderRequest, origin bus.Task, first uint64, limit int) (string, error) {
	_, err := c.makeReader(ctx, reader, req, origin, limit, func(name string) jetstream.ConsumerConfig {
		if first == 0 && req.After == 0 {
			// A reader from the start begins at the task's first event.
			// One that resumes after After begins right after it: near
			// the stream's end already, and the same each time it is
			// asked.
			first = c.firstEvent(ctx, req.Task)
		}
		return c.Names.ReaderConsumerConfig(name, req.Task, origin.Pool, req.After, first, req.Deliver)
	})
	if err != nil {
		return "", err
	}
	return bus.ReaderName(reader.Owner, req), nil
}

// makeReader checks that reader may read a task of origin and makes the
// consumer config(name) describes, within the reader's cap.
func (c *Client) makeReader(ctx context.Context, reader Reader, req bus.ReaderRequest, origin bus.Task, limit int, config func(name string) jetstream.ConsumerConfig) (*jetstream.ConsumerInfo, error) {
	if !bus.MayRead(reader.Owner, reader.All, origin.Owner) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, req.Task)
	}
	if err := CheckDeliver(req.Deliver); err != nil {
		return nil, err
	}
	if err := c.init(ctx); err != nil {
		return nil, err
	}
	pc := pushCap{stream: c.events, prefix: bus.ReaderNamePrefix(reader.Owner), deliver: req.Deliver, tooMany: func(n int) error {
		return fmt.Errorf("%w: %d open, the limit per owner (kernel --readers-per-owner, AMF_READERS_PER_OWNER); close a stream you no longer read", ErrTooManyReaders, n)
	}}
	// Every owner is capped, one that reads all too; operators are not.
	if reader.Owner != "" && !reader.Operator {
		pc.limit = limit
	}
	made, err := c.makePush(ctx, pc, config(bus.ReaderName(reader.Owner, req)))
	switch {
	case errors.Is(err, ErrTooManyReaders):
		return nil, err // already says what to do
	case err != nil:
		return nil, fmt.Errorf("open a stream of %s: %w", req.Task, err)
	}
	return made, nil
}

// eventsMaxAge is how long the events stream keeps an event, as it was
// configured when c looked it up (0: forever, or not looked up).
func (c *Client) eventsMaxAge() time.Duration {
	if c.events == nil {
		return 0
	}
	if info := c.events.CachedInfo(); info != nil {
		return info.Config.MaxAge
	}
	return 0
}

// agesOutSoon says whether e, a task's newest event, is within
// bus.ReaderAgeMargin of aging out: a consumer made for the task now
// could outlive the task's id. An event read without its stored time
// (from a cluster's leader, just stored) is not.
func (c *Client) agesOutSoon(e bus.Event) bool {
	return !e.Stored.IsZero() && bus.AgesOutSoon(e.Stored, c.eventsMaxAge(), time.Now())
}

// firstEvent is the sequence of the task's first event, where its
// reader's consumer may start (bus.ReaderConsumerConfig); 0 when there
// is none yet or it cannot be read: the consumer then starts at the
// stream's first message, which delivers the same events at a higher
// cost.
func (c *Client) firstEvent(ctx context.Context, id string) uint64 {
	e, err := c.Names.NextEvent(ctx, c.events, id, 1)
	if err != nil {
		return 0
	}
	return e.Seq
}

// CheckDeliver refuses a subject a reader's consumer may not deliver
// onto: only one literal subject, never the system's.
func CheckDeliver(deliver string) error {
	if deliver == "" || strings.ContainsAny(deliver, "*> \t\r\n") || strings.HasPrefix(deliver, "$") {
		return fmt.Errorf("%w: deliver subject %q: give one subject of your own inbox (nats.Conn.NewInbox)", bus.ErrInvalidTask, deliver)
	}
	return nil
}

// CloseReader deletes a consumer made for one of owners' readers; one
// made for another owner is left alone.
func (c *Client) CloseReader(ctx context.Context, owners func(bus.Owner) bool, name string) error {
	if !bus.IsReaderName(name) || !owners(bus.ReaderNameOwner(name)) {
		return fmt.Errorf("%w: %q is not a stream of yours", ErrNotFound, name)
	}
	if err := c.init(ctx); err != nil {
		return err
	}
	if err := c.events.DeleteConsumer(ctx, name); err != nil {
		return fmt.Errorf("close stream %s: %w", name, err)
	}
	return nil
}

// openReader asks for a consumer on the task's events delivering onto a
// new inbox of c's connection, subscribed before the ask so that nothing
// delivered is missed. A client with the task API asks the kernel; the
// kernel's own connection makes it itself.
func (c *Client) openReader(ctx context.Context, reader Reader, id string, after uint64, wait bool) (*replies, bus.ReaderReply, error) {
	deliver, sub, err := c.readerInbox()
	if err != nil {
		return nil, bus.ReaderReply{}, fmt.Errorf("watch %s: %w", id, err)
	}
	req := bus.ReaderRequest{Task: id, After: after, Deliver: deliver, Wait: wait}
	var reply bus.ReaderReply
	if c.ViaAPI {
		reply, err = c.readerViaAPI(ctx, reader, req)
	} else {
		if !reader.forToken() {
			reader.All = true // the kernel's own connection
		}
		reply, err = c.MakeReader(ctx, reader, req, c.readersLimit())
	}
	if err != nil {
		sub.close()
		return nil, reply, err
	}
	return sub, reply, nil
}

// readerQueue is how many deliveries a reader's inbox holds unread. Past
// it nats.go drops them, and the reader, seeing the gap in its
// consumer's sequence, asks for a new consumer from its last event
// (errGap). SubscribeSync's queue (64k) was a 512 KB channel made and
// zeroed for every stream: half of all the bytes a loaded amf up
// allocated. 8,192 is more than a task's events in any burst a reader
// falls behind by.
const readerQueue = 8192

// readerInbox is a new inbox of c's connection, subscribed: where a
// reader's consumer delivers.
func (c *Client) readerInbox() (string, *replies, error) {
	deliver := c.NC.NewInbox()
	sub, err := c.subscribeReplies(deliver, readerQueue)
	return deliver, sub, err
}

func (c *Client) readerViaAPI(ctx context.Context, reader Reader, req bus.ReaderRequest) (bus.ReaderReply, error) {
	key := c.credential().key
	subject := c.Names.ReadersOpen(key)
	switch {
	case reader.forToken():
		subject = c.Names.ReadersOpenForToken(key)
		req.Owner, req.All, req.Operator = reader.Owner, reader.All, reader.Operator
	case key == "" || c.credential().operator:
		subject = c.Names.ReadersOpen("")
	case c.credential().access.SeeAll:
		subject = c.Names.ReadersOpenAll(key)
	}
	var reply bus.ReaderReply
	err := c.ride(ctx, func(ctx context.Context) error {
		raw, err := c.request(ctx, subject, mustJSON(req))
		if err != nil {
			return err
		}
		return decodeReply(raw, &reply)
	})
	var ae *apiErr
	if errors.As(err, &ae) && ae.code == "429" {
		return reply, wrapText(ErrTooManyReaders, ae.text)
	}
	if err != nil {
		return reply, fmt.Errorf("watch %s: %w", req.Task, err)
	}
	return reply, nil
}

// closeReader lets go of a reader's consumer: the subscription at once,
// the consumer by asking, without waiting for the answer (the server
// deletes it anyway once nobody listens for bus.ReaderInactive).
func (c *Client) closeReader(reader Reader, sub *replies, name string) {
	if sub != nil {
		sub.close()
	}
	if name == "" {
		return
	}
	if !c.ViaAPI {
		ctx, cancel := context.WithTimeout(context.Background(), directTimeout)
		defer cancel()
		_ = c.CloseReader(ctx, func(bus.Owner) bool { return true }, name)
		return
	}
	key := c.credential().key
	subject := c.Names.ReadersClose(key)
	switch {
	case reader.forToken():
		subject = c.Names.ReadersCloseForToken(key)
	case key == "" || c.credential().operator:
		subject = c.Names.ReadersClose("")
	}
	c.tell(subject, mustJSON(bus.ReaderClose{Consumer: name}))
}

// tell sends the task API a request whose answer nobody waits for. It
// still names an inbox to answer into: the API serves only requests
// answered into an inbox (api.published), and drops a bare publish.
func (c *Client) tell(subject string, body []byte) {
	_ = c.NC.PublishRequest(subject, c.NC.NewInbox(), body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of this package are marshalled
	}
	return b
}

func decodeReply(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: the kernel answered %q", ErrUnavailable, raw)
	}
	return nil
}

func (c *Client) readersLimit() int {
	switch {
	case c.ReadersPerOwner < 0:
		return 0
	case c.ReadersPerOwner == 0:
		return bus.DefaultReadersPerOwner
	}
	return c.ReadersPerOwner
}

// taskOrigin is the owner and pool of task id, as the kernel recorded
// them at submission: in the task its accepted event carries, the first
// event on the kernel's subject (which only the kernel and operators may
// store on), and that event's sequence, where a reader starts. One
// direct get; a task published raw by an operator has no accepted event,
// and its pool is read from its status (first 0).
func (c *Client) taskOrigin(ctx context.Context, id string) (origin bus.Task, first uint64, err error) {
	switch e, err := c.accepted(ctx, id); {
	case err == nil:
		return bus.Task{Owner: e.Task.Owner, Pool: e.Task.Pool}, e.Seq, nil
	case !errors.Is(err, ErrNotFound):
		return bus.Task{}, 0, err
	}
	st, err := c.Status(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return bus.Task{}, 0, err
	}
	return bus.Task{Pool: st.Pool}, 0, nil
}

// Recorded is the task the kernel recorded under id at its submission:
// the task its accepted event carries, the task's first event. ErrNotFound
// when the id has no such record (no events, or a first event that is not
// the kernel's accepted one).
func (c *Client) Recorded(ctx context.Context, id string) (bus.Task, error) {
	e, err := c.accepted(ctx, id)
	if err != nil {
		return bus.Task{}, err
	}
	return *e.Task, nil
}

// accepted is Recorded's event: the kernel's accepted event of task id,
// with its sequence.
func (c *Client) accepted(ctx context.Context, id string) (bus.Event, error) {
	if err := c.init(ctx); err != nil {
		return bus.Event{}, err
	}
	first, err := c.Names.NextEvent(ctx, c.events, id, 1)
	switch {
	case errors.Is(err, bus.ErrNoEvents):
		return bus.Event{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	case err != nil:
		return bus.Event{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	case !first.Recorded():
		return bus.Event{}, fmt.Errorf("%w: %s has no accepted event", ErrNotFound, id)
	}
	return first, nil
}
