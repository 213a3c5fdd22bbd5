package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// Defaults of StatusProjector.
const (
	DefaultRemember     = 10000
	DefaultHealthEvery  = time.Second
	projectorMaxBackoff = 5 * time.Second
)

// StatusProjector keeps task status in the hot cache: it follows
// AMF_EVENTS with a durable consumer and folds each event into its task's
// status (bus.Status.Apply). The stream is the record of truth, so when
// the cache is down the projector holds its position and retries; once
// the cache answers again it rewrites every status it remembers and goes
// on from where it stopped, so events published during the outage reach
// the cache. One projector may consume at a time, or two would fold one
// task's events out of order: give each kernel of a cluster the same
// Lease and only its holder projects; another takes over when it dies.
type StatusProjector struct {
	JS    jetstream.JetStream
	Names bus.Names
	Cache Cache
	// Durable names the consumer; default Names.StatusConsumer().
	Durable string
	// Remember bounds how many statuses are kept in memory to rewrite
	// after an outage; default DefaultRemember.
	Remember int
	// HealthEvery is how often an idle projector checks the cache.
	HealthEvery time.Duration
	// Lease, when set, makes Run project only while it holds the lease.
	Lease  *Lease
	Logger *slog.Logger

	// projectStreaming folds streaming events too, as the projector did
	// before it skipped them; kept for the benchmark that compares both.
	projectStreaming bool

	mu      sync.Mutex
	err     error
	started bool
	// known holds the status of each task seen lately; a task that ended
	// is kept as its id alone (a nil status), rebuilt from the event
	// stream if the cache ever needs it again (see remember.go).
	known   map[string]*bus.Status
	order   []string // ids in the order first seen, to bound known
	dropped int      // entries deleted from known since it was last made
	taken   int      // tasks added to known since it was last made
	events  jetstream.Stream
}

// Healthy reports whether the last cache operation succeeded.
func (p *StatusProjector) Healthy() bool { return p.Err() == nil }

// Err is the last cache error, nil while the cache answers.
func (p *StatusProjector) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// setErr records the cache's health and reports whether it just came
// back after an outage.
func (p *StatusProjector) setErr(err error) (recovered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	recovered = p.err != nil && err == nil
	if p.err == nil && err != nil {
		p.log().Warn("status cache down; holding position in the event stream", "cache", p.Cache.Name(), "err", err)
	}
	if recovered {
		p.log().Info("status cache back; rebuilding status", "cache", p.Cache.Name(), "statuses", len(p.known))
	}
	p.err = err
	return recovered
}

func (p *StatusProjector) log() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p.Logger
}

// Run projects until ctx ends; it returns nil then, or, without a Lease,
// an error when the event stream cannot be consumed. With a Lease it
// projects while it holds the lease and an error gives the lease up.
func (p *StatusProjector) Run(ctx context.Context) error {
	if p.JS == nil || p.Cache == nil {
		return errors.New("status projector: JS and Cache are required")
	}
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return errors.New("status projector: already running")
	}
	p.started = true
	p.mu.Unlock()
	if p.Durable == "" {
		p.Durable = p.Names.StatusConsumer()
	}
	if p.Remember <= 0 {
		p.Remember = DefaultRemember
	}
	if p.HealthEvery <= 0 {
		p.HealthEvery = DefaultHealthEvery
	}
	if p.Lease != nil {
		return p.Lease.Run(ctx, p.project1)
	}
	return p.project1(ctx)
}

// project1 is one term of projecting: what was remembered before may be
// stale, since another holder may have projected meanwhile.
func (p *StatusProjector) project1(ctx context.Context) error {
	p.mu.Lock()
	p.known, p.order, p.dropped, p.taken, p.events = map[string]*bus.Status{}, nil, 0, 0, nil
	p.mu.Unlock()
	cons, err := p.consumer(ctx)
	if err != nil {
		return fmt.Errorf("status projector: consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("status projector: consume: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next(jetstream.NextMaxWait(p.HealthEvery))
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrTimeout):
			p.idleCheck(ctx)
			continue
		case err != nil:
			return fmt.Errorf("status projector: next event: %w", err)
		}
		p.project(ctx, msg)
	}
}

// consumer opens the durable consumer. Events a previous projector took
// and never acknowledged (it died holding them) would come back only
// after the ack wait, so the consumer then starts again after the last
// event acknowledged: those already stored are skipped by their sequence.
func (p *StatusProjector) consumer(ctx context.Context) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       p.Durable,
		Description:   "projects task status into the hot cache",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 1024,
	}
	stream := p.Names.EventsStream()
	// An existing consumer is taken as it is: one restarted from a
	// sequence cannot be updated back to deliver all.
	cons, err := p.JS.Consumer(ctx, stream, p.Durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = p.JS.CreateConsumer(ctx, stream, cfg)
	}
	if err != nil {
		return nil, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.NumAckPending == 0 {
		return cons, nil
	}
	floor := info.AckFloor.Stream
	p.log().Info("status projector: taking over events left unacknowledged", "after", floor, "pending", info.NumAckPending)
	if err := p.JS.DeleteConsumer(ctx, stream, p.Durable); err != nil {
		return nil, err
	}
	cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, floor+1
	return p.JS.CreateConsumer(ctx, stream, cfg)
}

// idleCheck pings the cache while no event arrives, so health is known
// and a cache that came back is refilled without waiting for an event.
func (p *StatusProjector) idleCheck(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, p.HealthEvery)
	err := p.Cache.Ping(pctx)
	cancel()
	if p.setErr(err) {
		p.rewriteAll(ctx, nil)
	}
	p.compact()
}

// project folds one event and acknowledges it once its status is stored.
// A streaming event is acknowledged unread: see streaming.
func (p *StatusProjector) project(ctx context.Context, msg jetstream.Msg) {
	if !p.projectStreaming && streaming(msg.Headers()) {
		msg.Ack()
		return
	}
	md, err := msg.Metadata()
	if err != nil {
		msg.Term()
		return
	}
	e, err := bus.DecodeEvent(msg.Data())
	if err != nil {
		p.log().Warn("status projector: skipping a bad event", "seq", md.Sequence.Stream, "err", err)
		msg.Term()
		return
	}
	e.Seq = md.Sequence.Stream
	e.Source = p.Names.StoredSource(msg.Subject())
	var s *bus.Status
	p.retry(ctx, msg, func(ctx context.Context) error {
		var err error
		s, err = p.current(ctx, e)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	if e.Seq <= s.LastSeq {
		msg.Ack() // redelivered after it was stored
		return
	}
	s.Apply(e)
	p.retry(ctx, msg, func(ctx context.Context) error { return p.Cache.SetStatus(ctx, *s) })
	if ctx.Err() == nil {
		if s.State.Final() {
			p.ended(e.TaskID)
		}
		msg.Ack()
	}
}

// current is the status an event folds into: remembered, else cached,
// else rebuilt from the task's earlier events in the stream (a cache that
// lost its data must not leave a status with only its latest events).
func (p *StatusProjector) current(ctx context.Context, e bus.Event) (*bus.Status, error) {
	id := e.TaskID
	p.mu.Lock()
	s, seen := p.known[id]
	p.mu.Unlock()
	if s != nil {
		return s, nil
	}
	cached, err := p.Cache.Status(ctx, id)
	switch {
	case errors.Is(err, bus.ErrNotCached), errors.Is(err, bus.ErrBadCacheKey):
		cached = bus.Status{ID: id}
		if e.Type != bus.EventAccepted {
			if cached, err = p.replay(ctx, id, e.Seq); err != nil {
				return nil, err
			}
		}
	case err != nil:
		return nil, err
	}
	s = &cached
	p.remember(id, s, seen)
	return s, nil
}

// retry runs op until it succeeds or ctx ends, keeping msg from being
// redelivered meanwhile. When the cache comes back it first rewrites
// every remembered status, since a restarted cache may have lost them.
func (p *StatusProjector) retry(ctx context.Context, msg jetstream.Msg, op func(context.Context) error) {
	// Every cache error is held through: the stream keeps the events.
	always := func(error) bool { return true }
	_ = retry.Do(ctx, retry.Policy{Try: 5 * time.Second, First: 50 * time.Millisecond, Max: projectorMaxBackoff, Retry: always}, func(octx context.Context) error {
		err := op(octx)
		if ctx.Err() != nil {
			return nil
		}
		if p.setErr(err) {
			p.rewriteAll(ctx, msg)
		}
		if err != nil {
			msg.InProgress()
		}
		return err
	})
}

// rewriteAll stores every remembered status again, a task that ended
// rebuilt from its events. A failure marks the cache down again; the
// next operation retries.
func (p *StatusProjector) rewriteAll(ctx context.Context, msg jetstream.Msg) {
	p.mu.Lock()
	all := make([]bus.Status, 0, len(p.known))
	var ended []string
	for id, s := range p.known {
		if s == nil {
			ended = append(ended, id)
			continue
		}
		all = append(all, *s)
	}
	p.mu.Unlock()
	for _, id := range ended {
		s, err := p.replay(ctx, id, math.MaxUint64)
		if err != nil {
			p.log().Warn("status projector: rebuild an ended task's status", "task", id, "err", err)
			continue
		}
		all = append(all, s)
	}
	for i, s := range all {
		if err := p.Cache.SetStatus(ctx, s); err != nil {
			p.setErr(err)
			return
		}
		if msg != nil && i%500 == 499 {
			msg.InProgress()
		}
	}
}

// streamingEvents are the events a task sends by the hundred (a token
// each, a line of output each) that change nothing a status shows: the
// state is already running, and the command, exit code and answer come
// with command, exec_end and done. Their type is read from the header the
// publisher sets (bus.HeaderEventType), so they are neither decoded nor
// written to the cache: with the KV cache each would otherwise be stored
// a second time in JetStream. A message without the header is decoded.
var streamingEvents = map[bus.EventType]bool{
	bus.EventToken:    true,
	bus.EventStdout:   true,
	bus.EventStderr:   true,
	bus.EventAnswer:   true,
	bus.EventThinking: true,
}

func streaming(h nats.Header) bool {
	t := h.Get(bus.HeaderEventType)
	return t != "" && streamingEvents[bus.EventType(t)]
}
