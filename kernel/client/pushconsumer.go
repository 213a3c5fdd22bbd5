package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// pushCap is the one home of "the kernel makes a push consumer for an
// asker on a stream, capped": readers on the events stream, followers on
// the memory stream. Consumers made for one asker share a name prefix;
// limit is how many of them it may hold (0: no cap) and tooMany the
// refusal naming that limit, given how many it holds.
type pushCap struct {
	stream  jetstream.Stream
	prefix  string
	limit   int
	tooMany func(n int) error
	// deliver is where the asker listens ("": cfg's deliver subject). A
	// consumer made ahead is parked elsewhere until it is handed over
	// (MakeReaderAhead), and the name is the request's, deliver subject
	// included: a consumer of the name delivering elsewhere than here is
	// one left parked.
	deliver string
}

// makePush counts the asker's consumers on the stream and makes cfg (a
// push consumer into the asker's own inbox, checked by the caller) when
// there is room. Counted and made under the asker's lock: two of its
// opens at once must not both see room for one more; other askers' opens
// do not wait for it. made is the consumer as made, nil when one of that
// name was there already.
func (c *Client) makePush(ctx context.Context, pc pushCap, cfg jetstream.ConsumerConfig) (made *jetstream.ConsumerInfo, err error) {
	stream, name := pc.stream, pc.stream.CachedInfo().Config.Name
	if pc.limit > 0 {
		mu, _ := c.readerLocks.LoadOrStore(name+"/"+pc.prefix, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
		n, again := 0, false
		names := stream.ConsumerNames(ctx)
		for made := range names.Name() {
			if strings.HasPrefix(made, pc.prefix) {
				n++
			}
			// A request asked again names the consumer its first asking
			// made (bus.ReaderName): it takes no more room.
			again = again || made == cfg.Name
		}
		if err := names.Err(); err != nil {
			return nil, fmt.Errorf("%w: count open consumers on %s: %v", ErrUnavailable, name, err)
		}
		if n >= pc.limit && !again {
			return nil, pc.tooMany(n)
		}
	}
	// Made apart from the asker's context: a create cut off mid-way may
	// still happen on the server, and one the asker no longer wants is
	// deleted here rather than left to count against it.
	mk, cancel := context.WithTimeout(context.WithoutCancel(ctx), directTimeout)
	defer cancel()
	pushed, err := c.JS.CreatePushConsumer(mk, name, cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) && c.parked(mk, stream, cfg.Name, cmp.Or(pc.deliver, cfg.DeliverSubject)) {
		// The one of that name is still parked where the kernel made it
		// ahead (MakeReaderAhead), its hand-over and its delete having
		// failed: nobody reads there, so it is made anew.
		_ = stream.DeleteConsumer(mk, cfg.Name)
		pushed, err = c.JS.CreatePushConsumer(mk, name, cfg)
	}
	switch {
	case errors.Is(err, jetstream.ErrConsumerExists):
		// The name is the request's (bus.ReaderName): a request asked
		// again is answered with the consumer its first asking made,
		// even when the config would now come out otherwise (where it
		// starts, as the task moved on), and that consumer, which its
		// reader may be reading, is left alone.
	case err != nil:
		_ = stream.DeleteConsumer(mk, cfg.Name)
		return nil, fmt.Errorf("%w: make a consumer on %s: %v", ErrUnavailable, name, err)
	default:
		made = pushed.CachedInfo()
	}
	if ctx.Err() != nil {
		_ = stream.DeleteConsumer(mk, cfg.Name)
		return nil, ctx.Err()
	}
	return made, nil
}

// parked reports whether consumer name delivers elsewhere than deliver,
// where its asker listens. A name is a digest of the request, deliver
// subject included, so the only such consumer is one the kernel made
// ahead and left parked on its own inbox.
func (c *Client) parked(ctx context.Context, stream jetstream.Stream, name, deliver string) bool {
	made, err := stream.PushConsumer(ctx, name)
	return err == nil && made.CachedInfo().Config.DeliverSubject != deliver
}
