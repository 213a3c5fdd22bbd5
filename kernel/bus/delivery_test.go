package bus_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

func TestJetStreamDelivery(t *testing.T) {
	status := nats.Header{}
	status.Set("Status", "100")
	for _, c := range []struct {
		name  string
		reply string
		h     nats.Header
		want  bool
	}{
		{"delivery", "$JS.ACK.AMF_EVENTS.c.1.2.3.4.0", nil, true},
		{"flow control", "$JS.FC.AMF_EVENTS.x.y", nil, true},
		{"idle heartbeat", "", status, true},
		{"request", "_INBOX_ABC.xyz", nil, false},
		{"publish", "", nats.Header{}, false},
	} {
		if got := bus.JetStreamDelivery(c.reply, c.h); got != c.want {
			t.Errorf("%s: JetStreamDelivery(%q) = %v, want %v", c.name, c.reply, got, c.want)
		}
	}
}
