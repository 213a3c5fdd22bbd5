package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/amf-os/amf/kernel/retry"
)

// startWait bounds how long a kernel's start-up waits for JetStream to
// answer: clustered kernels starting together elect the leaders of their
// replicated buckets at once, and each API call gives up after 5 s meanwhile.
const startWait = time.Minute

// untilReady runs open until it succeeds, fails for a reason waiting
// cannot cure, or startWait passes, saying each time what it waits for.
func untilReady(ctx context.Context, what string, open func() error) error {
	err := retry.Do(ctx, retry.Policy{
		Bound: startWait, First: 250 * time.Millisecond, Max: 5 * time.Second,
		Retry: retry.IsPassingAtStart,
		OnRetry: func(err error, pause time.Duration) {
			slog.Warn("waiting for JetStream", "for", what, "err", err, "retry_in", pause)
		},
	}, func(context.Context) error { return open() })
	if errors.Is(err, retry.ErrBoundPassed) {
		return fmt.Errorf("%w (JetStream did not answer within %v; check that a majority of the cluster's kernels are up)", err, startWait)
	}
	return err
}
