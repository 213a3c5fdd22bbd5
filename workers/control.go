package workers

import (
	"strings"

	"github.com/nats-io/nats.go"
)

// isControl tells a cancellation published on the task's control subject
// from a message JetStream delivered there: a push consumer's deliver
// subject can name any subject, so a credential refused `pub` on
// amf.control.<id> could otherwise cancel the task through a stream.
// JetStream deliveries carry their ack subject as reply, even with
// AckNone.
func isControl(m *nats.Msg, subject string) bool {
	return m.Subject == subject && !strings.HasPrefix(m.Reply, "$JS.ACK.")
}
