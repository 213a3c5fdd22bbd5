package workers

import (
	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// isControl tells a cancellation published on the task's control subject
// from a message JetStream delivered there (bus.JetStreamDelivery): a
// credential refused `pub` on amf.control.<id> could otherwise cancel the
// task through a stream.
func isControl(m *nats.Msg, subject string) bool {
	return m.Subject == subject && !bus.JetStreamDelivery(m.Reply, m.Header)
}
