package client

import (
	"context"

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
}

// subscribeReplies subscribes to inbox with room for max answers queued
// unread; answers past it are dropped as a slow consumer's would be, so
// max must cover everything the request can be answered with.
func (c *Client) subscribeReplies(inbox string, max int) (*replies, error) {
	ch := make(chan *nats.Msg, max)
	sub, err := c.NC.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, err
	}
	return &replies{sub: sub, ch: ch}, nil
}

// next waits for the next answer or the end of ctx.
func (r *replies) next(ctx context.Context) (*nats.Msg, error) {
	select {
	case m := <-r.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close ends the subscription; answers still queued are dropped.
func (r *replies) close() { _ = r.sub.Unsubscribe() }
