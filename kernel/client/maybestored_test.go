package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/client"
)

// A task whose queueing failed keeps its accepted event unless the
// failure says the body was not stored: withdrawn while the body may be
// queued, the id would be free while a worker may run the body.
func TestAFailedQueueingMayHaveStoredTheTask(t *testing.T) {
	refused := &jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum messages exceeded"}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nats.ErrTimeout, true},
		{context.DeadlineExceeded, true},
		{fmt.Errorf("publish: %w", context.DeadlineExceeded), true},
		{nats.ErrConnectionClosed, true},
		{refused, false},
		{fmt.Errorf("nats: %w", refused), false},
		{jetstream.ErrNoStreamResponse, false},
		{nats.ErrNoResponders, false},
	} {
		if got := client.MayBeStored(c.err); got != c.want {
			t.Errorf("MayBeStored(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
