package kernel

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// EmbeddedServer exposes the nats-server a kernel runs to the kernel's
// own tests, which check what reached its configuration.
func (s *Server) EmbeddedServer() *server.Server { return s.ns }

// ReapReaders runs one pass of the deletion of spent readers' consumers
// as if the time were now.
func ReapReaders(ctx context.Context, js jetstream.JetStream, names bus.Names, now time.Time) {
	reapReaders(ctx, js, names, slog.New(slog.DiscardHandler), now)
}
