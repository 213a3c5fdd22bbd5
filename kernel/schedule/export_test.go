package schedule

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// Handle runs one run message as the runner's consumer would.
func (r *Runner) Handle(ctx context.Context, m jetstream.Msg) { r.handle(ctx, m) }
