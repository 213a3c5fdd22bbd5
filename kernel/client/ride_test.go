package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// What a kernel answers during an election is retried; what it answers
// about the call itself is not.
func TestRideTellsElectionsFromRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"no responders", fmt.Errorf("publish: %w", nats.ErrNoResponders), true},
		{"no stream response", jetstream.ErrNoStreamResponse, true},
		{"temporarily unavailable", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"timeout", context.DeadlineExceeded, true},
		{"reconnecting", nats.ErrConnectionReconnecting, true},
		{"submission cut by an election", &client.SubmitError{ID: "a", Step: "queue", Err: nats.ErrTimeout}, true},
		{"not the leader", &jetstream.APIError{Code: 500, ErrorCode: 10009, Description: "JetStream cluster not leader"}, true},
		{"fence conflict", &jetstream.APIError{Code: 400, ErrorCode: 10071, Description: "wrong last sequence"}, false},
		{"queue full", &jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum bytes exceeded"}, false},
		{"insufficient resources", &jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, false},
		{"invalid task", fmt.Errorf("%w: bad id", bus.ErrInvalidTask), false},
		{"submission refused", &client.SubmitError{ID: "a", Step: "record", Err: client.ErrForbidden}, false},
		{"not found", client.ErrNotFound, false},
		{"connection closed", nats.ErrConnectionClosed, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tries := 0
			err := client.Ride(context.Background(), 5*time.Second, func(context.Context) error {
				if tries++; tries == 1 {
					return tc.err
				}
				return nil
			})
			if got := tries > 1; got != tc.want {
				t.Fatalf("Ride after %v: tried again = %v, want %v (err %v)", tc.err, got, tc.want, err)
			}
		})
	}
}

// Ride stops at the first refusal, retries an election's answers until
// one passes, and past its bound says the kernel is unavailable.
func TestRideRetriesWithinItsBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tries := 0
	err := client.Ride(ctx, 5*time.Second, func(context.Context) error {
		tries++
		if tries < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("err %v after %d tries, want success at the third", err, tries)
	}
	tries = 0
	err = client.Ride(ctx, 5*time.Second, func(context.Context) error { tries++; return client.ErrNotFound })
	if !errors.Is(err, client.ErrNotFound) || tries != 1 {
		t.Fatalf("err %v after %d tries, want the refusal at once", err, tries)
	}
	err = client.Ride(ctx, 300*time.Millisecond, func(context.Context) error { return nats.ErrNoResponders })
	if !errors.Is(err, client.ErrUnavailable) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("past the bound: %v, want ErrUnavailable wrapping the last answer", err)
	}
}
