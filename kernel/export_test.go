package kernel

import "github.com/nats-io/nats-server/v2/server"

// EmbeddedServer exposes the nats-server a kernel runs to the kernel's
// own tests, which check what reached its configuration.
func (s *Server) EmbeddedServer() *server.Server { return s.ns }
