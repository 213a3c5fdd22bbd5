package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/amf-os/amf/kernel/retry"
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

// Ride runs op until it succeeds, fails for good (not passing), or
// bound passes; op gets a context bounded to one try. The last error is
// returned, wrapped in ErrUnavailable when the election outlasted the
// bound.
func Ride(ctx context.Context, bound time.Duration, op func(context.Context) error) error {
	if bound <= 0 {
		return op(ctx)
	}
	err := retry.Do(ctx, retry.Policy{Bound: bound, Try: rideAttempt, First: 100 * time.Millisecond, Max: time.Second, Retry: passing}, op)
	if errors.Is(err, retry.ErrBoundPassed) && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// passing is the kernel's rule (retry.IsPassing) read through the
// client's own errors: what a call answers when the kernel could not be
// reached is worth the same call again soon.
func passing(err error) bool {
	// A SubmitError always says the kernel was unavailable; what it
	// wraps says whether it may pass.
	var se *SubmitError
	if errors.As(err, &se) {
		return se.Err != nil && passing(se.Err)
	}
	return errors.Is(err, ErrUnavailable) || retry.IsPassing(err)
}
