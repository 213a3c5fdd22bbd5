package status

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// replay folds a task's events stored before sequence upto. It walks the
// task's subject with direct gets (bus.NextEvent): the server answers from
// the stream's store and keeps nothing for the projector. A consumer per
// task would not do: anyone who may publish a task can make the projector
// replay thousands of tasks (a raw publish has no accepted event), and
// each consumer would live on the events stream until its inactivity
// threshold, crowding out every reader under the stream's consumer cap.
// A task published raw costs one get: its first event is the one folded.
func (p *StatusProjector) replay(ctx context.Context, id string, upto uint64) (bus.Status, error) {
	s := bus.Status{ID: id}
	if !bus.ValidToken(id) {
		return s, nil
	}
	events, err := p.eventsStream(ctx)
	if err != nil {
		return s, fmt.Errorf("replay %s: %w", id, err)
	}
	for seq := uint64(1); seq < upto; {
		e, err := p.Names.NextEvent(ctx, events, id, seq)
		switch {
		case errors.Is(err, bus.ErrNoEvents):
			return s, nil
		case err != nil:
			return s, fmt.Errorf("replay %s: %w", id, err)
		case e.Seq >= upto:
			return s, nil
		}
		if !streamingEvents[e.Type] {
			s.Apply(e)
		}
		seq = e.Seq + 1
	}
	return s, nil
}

// eventsStream is the events stream's handle, looked up once a term.
func (p *StatusProjector) eventsStream(ctx context.Context) (jetstream.Stream, error) {
	p.mu.Lock()
	events := p.events
	p.mu.Unlock()
	if events != nil {
		return events, nil
	}
	events, err := p.JS.Stream(ctx, p.Names.EventsStream())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.events = events
	p.mu.Unlock()
	return events, nil
}
