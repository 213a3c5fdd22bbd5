package client

import (
	"context"

	"github.com/nats-io/nats.go"
)

// ReplyQueue gives the package's external tests a reply queue.
func (c *Client) ReplyQueue(inbox string, max int) (next func(context.Context) (*nats.Msg, error), stop func(), err error) {
	r, err := c.subscribeReplies(inbox, max)
	if err != nil {
		return nil, nil, err
	}
	return r.next, r.close, nil
}

// MayBeStored exposes whether a failed publish may have been stored.
var MayBeStored = mayBeStored
