package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/amf-os/amf/kernel/bus"
)

// ErrTooManyFollowers means the credential already holds as many
// consumers on the memory stream as the kernel allows one credential
// (--followers-per-credential).
var ErrTooManyFollowers = errors.New("too many memory stream followers")

// MakeFollower is the kernel's half of following the memory stream: it
// makes the push consumer that delivers the stream after req.After onto
// req.Deliver for the credential whose user public key is follower ("":
// an operator, not capped), when that credential holds fewer than limit
// (0: no cap). The caller has checked that req.Deliver is under the
// follower's inbox prefix. Only a connection allowed to create consumers
// (the kernel's) can make one.
func (c *Client) MakeFollower(ctx context.Context, follower string, req bus.FollowerRequest, limit int) (bus.FollowerReply, error) {
	if req.Deliver == "" || strings.ContainsAny(req.Deliver, "*> \t\r\n") || strings.HasPrefix(req.Deliver, "$") {
		return bus.FollowerReply{}, fmt.Errorf("%w: deliver subject %q: give one subject of your own inbox (nats.Conn.NewInbox)", bus.ErrInvalidTask, req.Deliver)
	}
	stream, err := c.JS.Stream(ctx, c.Names.MemoryStream())
	if err != nil {
		return bus.FollowerReply{}, fmt.Errorf("%w: look up %s: %v", ErrUnavailable, c.Names.MemoryStream(), err)
	}
	reply := bus.FollowerReply{Consumer: bus.FollowerName(follower, req)}
	pc := pushCap{stream: stream, prefix: bus.FollowerNamePrefix(follower), tooMany: func(n int) error {
		return fmt.Errorf("%w: %d open, the limit per credential (kernel --followers-per-credential, AMF_FOLLOWERS_PER_CREDENTIAL); stop a worker of this credential or wait %s for a stopped one's to expire", ErrTooManyFollowers, n, bus.FollowerInactive)
	}}
	if follower != "" {
		pc.limit = limit
	}
	switch _, err := c.makePush(ctx, pc, c.Names.FollowerConsumerConfig(reply.Consumer, req.After, req.Deliver)); {
	case errors.Is(err, ErrTooManyFollowers):
		return bus.FollowerReply{}, err // already says what to do
	case err != nil:
		return bus.FollowerReply{}, fmt.Errorf("follow the memory stream: %w", err)
	}
	return reply, nil
}

// CloseFollower deletes a consumer made for follower ("": an operator,
// who may close any follower's); one made for another credential is left
// alone.
func (c *Client) CloseFollower(ctx context.Context, follower, name string) error {
	if !bus.IsFollowerName(name) || (follower != "" && !strings.HasPrefix(name, bus.FollowerNamePrefix(follower))) {
		return fmt.Errorf("%w: %q is not a memory stream follower of yours", ErrNotFound, name)
	}
	stream, err := c.JS.Stream(ctx, c.Names.MemoryStream())
	if err != nil {
		return fmt.Errorf("%w: look up %s: %v", ErrUnavailable, c.Names.MemoryStream(), err)
	}
	if err := stream.DeleteConsumer(ctx, name); err != nil {
		return fmt.Errorf("close follower %s: %w", name, err)
	}
	return nil
}

// OpenFollower asks for a consumer on the memory stream delivering after
// sequence after onto deliver, a subject of c's connection's inbox the
// caller subscribed to first. A worker with the task API asks the kernel
// on its own subject; an operator's connection (the kernel's, an
// admin's) makes it itself, needing no kernel to answer.
func (c *Client) OpenFollower(ctx context.Context, after uint64, deliver string) (string, error) {
	req := bus.FollowerRequest{After: after, Deliver: deliver}
	if !c.ViaAPI || c.credential().operator {
		reply, err := c.MakeFollower(ctx, "", req, 0)
		return reply.Consumer, err
	}
	var reply bus.FollowerReply
	err := c.ride(ctx, func(ctx context.Context) error {
		raw, err := c.request(ctx, c.Names.FollowersOpen(c.credential().key), mustJSON(req))
		if err != nil {
			return err
		}
		return decodeReply(raw, &reply)
	})
	var ae *apiErr
	if errors.As(err, &ae) && ae.code == "429" {
		return "", wrapText(ErrTooManyFollowers, ae.text)
	}
	if err != nil {
		return "", fmt.Errorf("follow the memory stream: %w", err)
	}
	return reply.Consumer, nil
}

// LetGoFollower lets go of a follower's consumer by asking, without
// waiting for the answer (the server deletes it anyway once nobody
// listens for bus.FollowerInactive).
func (c *Client) LetGoFollower(name string) {
	if name == "" {
		return
	}
	if !c.ViaAPI || c.credential().operator {
		ctx, cancel := context.WithTimeout(context.Background(), directTimeout)
		defer cancel()
		_ = c.CloseFollower(ctx, "", name)
		return
	}
	c.tell(c.Names.FollowersClose(c.credential().key), mustJSON(bus.FollowerClose{Consumer: name}))
}
