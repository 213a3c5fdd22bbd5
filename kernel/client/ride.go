package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Riding through a leader election: while a cluster elects a new leader
// for a stream (a kernel died or left), JetStream answers "no
// responders", "temporarily unavailable" or nothing at all for a few
// seconds. Calls retry such answers within a bound instead of failing on
// the first; past it they fail with ErrUnavailable.

// DefaultRideThrough bounds how long one call retries during an election:
// a JetStream cluster usually elects within a few seconds.
const DefaultRideThrough = 10 * time.Second

// rideAttempt bounds one try, so that a request lost with a dying kernel
// is sent again to a live one within the bound.
const rideAttempt = 3 * time.Second

// rideBound is how long a call of c retries; RideThrough < 0 is no retry.
func (c *Client) rideBound() time.Duration {
	switch {
	case c.RideThrough < 0:
		return 0
	case c.RideThrough == 0:
		return DefaultRideThrough
	}
	return c.RideThrough
}

// ride is Ride within c's bound.
func (c *Client) ride(ctx context.Context, op func(context.Context) error) error {
	return Ride(ctx, c.rideBound(), op)
}

// Ride runs op until it succeeds, fails for good (not Transient), or
// bound passes; op gets a context bounded to one try. The last error is
// returned, wrapped in ErrUnavailable when the election outlasted the
// bound.
func Ride(ctx context.Context, bound time.Duration, op func(context.Context) error) error {
	if bound <= 0 {
		return op(ctx)
	}
	deadline := time.Now().Add(bound)
	backoff := 100 * time.Millisecond
	for {
		try := rideAttempt
		if left := time.Until(deadline); left < try {
			try = max(left, time.Second)
		}
		octx, cancel := context.WithTimeout(ctx, try)
		err := op(octx)
		cancel()
		if err == nil || ctx.Err() != nil || !Transient(err) {
			return err
		}
		if time.Now().Add(backoff).After(deadline) {
			if errors.Is(err, ErrUnavailable) {
				return err
			}
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// electionCodes are the JetStream API errors of a cluster between
// leaders (nats-server's errors.json).
var electionCodes = map[jetstream.ErrorCode]bool{
	10008: true, // JetStream system temporarily unavailable
	10163: true, // expected last sequence per subject temporarily unavailable
	10004: true, // incomplete results
	10118: true, // stream is offline
	10119: true, // consumer is offline
}

// Transient reports whether err is what a kernel answers while its
// cluster elects a leader or a client reconnects to another kernel: worth
// the same call again soon.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	// A SubmitError always says the kernel was unavailable; what it
	// wraps says whether it may pass.
	var se *SubmitError
	if errors.As(err, &se) {
		return se.Err != nil && Transient(se.Err)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// Not every 503 passes: a full stream (10077) or missing
		// resources stay as they are.
		return electionCodes[apiErr.ErrorCode]
	}
	return errors.Is(err, ErrUnavailable) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected)
}
