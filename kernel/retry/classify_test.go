package retry

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// received is err as a client receives it: nats-server's API error,
// encoded in its JSON reply and decoded by nats.go.
func received(t *testing.T, e *server.ApiError) error {
	t.Helper()
	data, err := json.Marshal(struct {
		Error *server.ApiError `json:"error"`
	}{e})
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(data, &reply); err != nil {
		t.Fatal(err)
	}
	return fmt.Errorf("publish: %w", reply.Error)
}

// One test per row of the table: the server's own error for that code,
// as a client receives it, is classified as the row says.
func TestEveryRowOfTheTable(t *testing.T) {
	t.Parallel()
	rows := map[server.ErrorIdentifier]Class{
		server.JSClusterNotAvailErr:                      Passing,
		server.JSClusterNotLeaderErr:                     Passing,
		server.JSClusterIncompleteErr:                    Passing,
		server.JSStreamOfflineErr:                        Passing,
		server.JSConsumerOfflineErr:                      Passing,
		server.JSStreamExpectedLastSeqPerSubjectNotReady: Passing,
		server.JSClusterNoPeersErrF:                      Assembling,
		server.JSStreamReplicasNotSupportedErr:           Assembling,
		server.JSInsufficientResourcesErr:                Assembling,
		server.JSNotEnabledErr:                           Assembling,
		server.JSNotEnabledForAccountErr:                 Assembling,
	}
	if len(rows) != len(codes) {
		t.Fatalf("the test has %d rows, the table %d: give every row a test", len(rows), len(codes))
	}
	for id, want := range rows {
		e := server.ApiErrors[id]
		t.Run(fmt.Sprintf("%d %s", e.ErrCode, e.Description), func(t *testing.T) {
			t.Parallel()
			if got := Classify(received(t, e)); got != want {
				t.Fatalf("Classify(%d %q) = %v, want %v", e.ErrCode, e.Description, got, want)
			}
			if got, want := IsPassingAtStart(received(t, e)), true; got != want {
				t.Fatalf("IsPassingAtStart(%d) = %v, want %v", e.ErrCode, got, want)
			}
			if got, want := IsPassing(received(t, e)), want == Passing; got != want {
				t.Fatalf("IsPassing(%d) = %v, want %v", e.ErrCode, got, want)
			}
		})
	}
}

// Every error code nats-server can send runs through the classifier:
// what the table lacks is permanent, whatever its HTTP-like status (not
// every 503 passes: a full stream stays full).
func TestEveryServerCodeIsClassified(t *testing.T) {
	t.Parallel()
	for id, e := range server.ApiErrors {
		want, ok := codes[jetstream.ErrorCode(e.ErrCode)]
		if !ok {
			want = Permanent
		}
		if got := Classify(received(t, e)); got != want {
			t.Errorf("Classify(%d %q, status %d, %v) = %v, want %v", e.ErrCode, e.Description, e.Code, id, got, want)
		}
	}
}

// The answers the product meets, by name, as the client meets them.
func TestProductErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"no responders", fmt.Errorf("publish: %w", nats.ErrNoResponders), Passing},
		{"no stream response", jetstream.ErrNoStreamResponse, Passing},
		{"timeout", nats.ErrTimeout, Passing},
		{"deadline", context.DeadlineExceeded, Passing},
		{"reconnecting", nats.ErrConnectionReconnecting, Passing},
		{"disconnected", nats.ErrDisconnected, Passing},
		{"JetStream not enabled (client)", jetstream.ErrJetStreamNotEnabled, Assembling},
		{"JetStream not enabled for the account (client)", jetstream.ErrJetStreamNotEnabledForAccount, Assembling},
		{"fence conflict", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, Permanent},
		{"queue full", &jetstream.APIError{Code: 503, ErrorCode: code(server.JSStreamStoreFailedF), Description: "maximum bytes exceeded"}, Permanent},
		{"stream not found", jetstream.ErrStreamNotFound, Permanent},
		{"consumer not found", jetstream.ErrConsumerNotFound, Permanent},
		{"message too large", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamMessageExceedsMaximum}, Permanent},
		{"permission violation", nats.ErrPermissionViolation, Permanent},
		{"connection closed", nats.ErrConnectionClosed, Permanent},
		{"cancelled", context.Canceled, Permanent},
		{"nil", nil, Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
