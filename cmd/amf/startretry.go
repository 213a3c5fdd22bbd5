package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startWait bounds how long a kernel's start-up waits for JetStream to
// answer: clustered kernels starting together elect the leaders of their
// replicated buckets at once, and each API call gives up after 5 s meanwhile.
const startWait = time.Minute

// untilReady runs open until it succeeds, fails for a reason waiting
// cannot cure, or startWait passes, saying each time what it waits for.
func untilReady(ctx context.Context, what string, open func() error) error {
	deadline := time.Now().Add(startWait)
	for pause := 250 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		err := open()
		if err == nil || !transientAtStart(err) || ctx.Err() != nil {
			return err
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%w (JetStream did not answer within %v; check that a majority of the cluster's kernels are up)", err, startWait)
		}
		slog.Warn("waiting for JetStream", "for", what, "err", err, "retry_in", pause)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// transientAtStart reports errors of a cluster still electing leaders or
// replicating: the next try may succeed.
func transientAtStart(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 503: not available yet (no leader, too few peers known yet);
		// 10009: asked a kernel that is not the leader; 10118: the
		// stream's replicas are still catching up.
		return apiErr.Code == 503 || apiErr.ErrorCode == 10009 || apiErr.ErrorCode == 10118
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}
