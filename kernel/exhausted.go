package kernel

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/client"
)

// endExhaustedTasks answers, on a connection of its own, JetStream's
// max-deliveries advisories with a terminal event for the task: a task
// whose workers kept dying must still end. The kernels of a cluster
// share the work.
func (s *Server) endExhaustedTasks() (*nats.Conn, error) {
	nc, err := s.Connect(nats.Name("amf-kernel-exhausted"))
	if err != nil {
		return nil, err
	}
	c := &client.Client{NC: nc, Names: s.Names}
	if _, err := c.EndExhausted(s.logger().With("part", "exhausted")); err != nil {
		nc.Close()
		return nil, fmt.Errorf("start kernel: watch max-deliveries advisories: %w", err)
	}
	return nc, nil
}
