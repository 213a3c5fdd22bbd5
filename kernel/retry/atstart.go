package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// StartWait bounds how long a part starting with its cluster waits for
// JetStream: clustered kernels starting together elect the leaders of
// their replicated buckets at once, and each API call gives up after 5 s
// meanwhile.
const StartWait = time.Minute

// AtStart runs open until it succeeds, fails for a reason waiting cannot
// cure (not IsPassingAtStart), or StartWait passes, logging each time
// what it waits for.
func AtStart(ctx context.Context, log *slog.Logger, what string, open func(context.Context) error) error {
	if log == nil {
		log = slog.Default()
	}
	err := Do(ctx, Policy{
		Bound: StartWait, First: 250 * time.Millisecond, Max: 5 * time.Second,
		Retry: IsPassingAtStart,
		OnRetry: func(err error, pause time.Duration) {
			log.Warn("waiting for JetStream", "for", what, "err", err, "retry_in", pause)
		},
	}, open)
	if errors.Is(err, ErrBoundPassed) {
		return fmt.Errorf("%s: %w (JetStream did not answer within %v; check that a majority of the cluster's kernels are up)", what, err, StartWait)
	}
	return err
}
