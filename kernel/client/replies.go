package client

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
)

// replies is a subscription to one request's reply inbox whose queue is
// sized to the answers that request can bring. nats.go's SubscribeSync
// gives every subscription the connection's default queue (64k entries,
// a 512 KB channel allocated and zeroed per call), which made reading a
// task's events and every API request allocate half a megabyte: the
// largest single cost of a short task on the bus.
type replies struct {
	sub *nats.Subscription
	ch  chan *nats.Msg
	// alive paces the look at whether the connection was closed: unlike
	// SubscribeSync's, a channel of ChanSubscribe is never closed, so a
	// reader would otherwise wait out its whole timeout.
	alive *time.Ticker
}

// aliveEvery is how soon a reader notices its connection was closed.
const aliveEvery = 250 * time.Millisecond

// subscribeReplies subscribes to inbox with room for max answers queued
// unread; answers past it are dropped as a slow consumer's would be, so
// max must cover everything the request can be answered with.
func (c *Client) subscribeReplies(inbox string, max int) (*replies, error) {
	ch := make(chan *nats.Msg, max)
	sub, err := c.NC.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, err
	}
	return &replies{sub: sub, ch: ch, alive: time.NewTicker(aliveEvery)}, nil
}

// next waits for the next answer, the end of ctx, or the connection's
// close (nats.ErrConnectionClosed, as SubscribeSync's reader gets).
func (r *replies) next(ctx context.Context) (*nats.Msg, error) {
	for {
		select {
		case m := <-r.ch:
			return m, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.alive.C:
			if !r.sub.IsValid() {
				return nil, nats.ErrConnectionClosed
			}
		}
	}
}

// close ends the subscription; answers still queued are dropped.
func (r *replies) close() {
	r.alive.Stop()
	_ = r.sub.Unsubscribe()
}
