package kernel

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// Provision creates or updates the streams of the bus. It is idempotent:
// run at every start, it keeps every existing message.
func Provision(ctx context.Context, js jetstream.JetStream, names bus.Names, eventsMaxAge time.Duration, eventsMaxBytes int64) error {
	for _, cfg := range []jetstream.StreamConfig{
		names.TasksStreamConfig(),
		names.EventsStreamConfig(eventsMaxAge, eventsMaxBytes),
		names.MemoryStreamConfig(),
	} {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("provision stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}
