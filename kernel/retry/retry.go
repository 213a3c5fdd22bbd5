package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrBoundPassed wraps the last error of an operation that was still
// failing on passing errors when its bound passed.
var ErrBoundPassed = errors.New("still failing when the retry bound passed")

// Defaults of Policy.
const (
	DefaultFirst = 100 * time.Millisecond
	DefaultMax   = 2 * time.Second
)

// Policy says how an operation is retried. The zero value retries passing
// errors (IsPassing) with pauses from DefaultFirst doubling to DefaultMax
// until the context ends.
type Policy struct {
	// Bound is how long to keep trying, from the first try; zero is until
	// the context ends.
	Bound time.Duration
	// Try bounds each try's context, so a request lost with a dying kernel
	// is sent again to a live one; zero leaves tries unbounded. The last
	// try keeps at least MinTry (a second by default) when Bound is near.
	Try    time.Duration
	MinTry time.Duration
	// First and Max are the first and the largest pause between tries;
	// each pause is drawn between half and all of its step (jitter), so
	// clients cut by one election do not all come back at once.
	First, Max time.Duration
	// Retry says which errors are worth another try; nil is IsPassing.
	Retry func(error) bool
	// OnRetry, when set, hears each error that will be retried and the
	// pause before the next try (to log what is awaited).
	OnRetry func(err error, pause time.Duration)
}

// Do runs op until it succeeds, fails with an error p.Retry rejects, the
// context ends, or p.Bound passes. It returns nil, the rejected error,
// the last error when the context ends, or the last error wrapped in
// ErrBoundPassed.
func Do(ctx context.Context, p Policy, op func(context.Context) error) error {
	retry := p.Retry
	if retry == nil {
		retry = IsPassing
	}
	first, most := p.First, p.Max
	if first <= 0 {
		first = DefaultFirst
	}
	if most < first {
		most = max(first, DefaultMax)
	}
	minTry := p.MinTry
	if minTry <= 0 {
		minTry = time.Second
	}
	var deadline time.Time
	if p.Bound > 0 {
		deadline = time.Now().Add(p.Bound)
	}
	for step := first; ; step = min(2*step, most) {
		err := try(ctx, p.Try, minTry, deadline, op)
		if err == nil || ctx.Err() != nil || !retry(err) {
			return err
		}
		pause := step/2 + rand.N(step/2+1)
		if !deadline.IsZero() && time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%w (%v): %w", ErrBoundPassed, p.Bound, err)
		}
		if p.OnRetry != nil {
			p.OnRetry(err, pause)
		}
		if !Sleep(ctx, pause) {
			return err
		}
	}
}

// try runs op once, its context bounded to one try.
func try(ctx context.Context, each, minTry time.Duration, deadline time.Time, op func(context.Context) error) error {
	if each <= 0 {
		return op(ctx)
	}
	if !deadline.IsZero() {
		each = min(each, max(time.Until(deadline), minTry))
	}
	tctx, cancel := context.WithTimeout(ctx, each)
	defer cancel()
	return op(tctx)
}

// Sleep pauses for d, or until ctx ends; it reports whether the pause ran
// its course.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
