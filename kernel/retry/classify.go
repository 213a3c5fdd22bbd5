// Package retry is the one rule for riding through what a JetStream
// cluster answers while it elects leaders or assembles, and the one way
// to retry: Classify names which errors pass, Do retries an operation on
// them, bounded, jittered and stopped by its context.
package retry

import (
	"context"
	"errors"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Class says whether the same call may succeed if made again soon.
type Class int

const (
	// Permanent errors are the answer: the same call gets them again
	// (a full stream, a fence conflict, a missing stream, a refusal).
	Permanent Class = iota
	// Passing errors last while a cluster elects a leader, or a client
	// reconnects to another kernel: a few seconds.
	Passing
	// Assembling errors last while a cluster is still forming: its
	// kernels start in any order, and until enough of them are up there
	// are no peers to place a stream on, nor JetStream. They pass at
	// start; later they describe the deployment, not a moment.
	Assembling
)

// codes is the one table of JetStream API errors (nats-server's named
// error codes) that are not permanent. Every code the server sends and
// this table lacks is Permanent; the test runs each through Classify.
var codes = map[jetstream.ErrorCode]Class{
	code(server.JSClusterNotAvailErr):                      Passing, // no meta leader yet
	code(server.JSClusterNotLeaderErr):                     Passing, // asked a kernel that just lost leadership
	code(server.JSClusterIncompleteErr):                    Passing, // not every peer answered
	code(server.JSStreamOfflineErr):                        Passing, // the stream's replicas are electing
	code(server.JSConsumerOfflineErr):                      Passing, // the consumer's replicas are electing
	code(server.JSStreamExpectedLastSeqPerSubjectNotReady): Passing, // a new leader still loading its state

	code(server.JSClusterNoPeersErrF):                Assembling, // too few peers joined yet
	code(server.JSStreamReplicasNotSupportedErr):     Assembling, // the server does not know it is clustered yet
	code(server.JSInsufficientResourcesErr):          Assembling, // peers have not reported their resources yet
	jetstream.JSErrCodeJetStreamNotEnabled:           Assembling,
	jetstream.JSErrCodeJetStreamNotEnabledForAccount: Assembling,
}

func code(id server.ErrorIdentifier) jetstream.ErrorCode {
	return jetstream.ErrorCode(server.ApiErrors[id].ErrCode)
}

// Is reports whether err is JetStream's API error id (nats-server's
// name for it), for the callers that answer one error their own way.
func Is(err error, id server.ErrorIdentifier) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == code(id)
}

// Classify says whether err may pass. Besides the API's answers, a
// request nobody answered in time or while the connection moves to
// another kernel passes; a client-side "JetStream not enabled" is the
// assembling cluster's.
func Classify(err error) Class {
	if err == nil {
		return Permanent
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return codes[apiErr.ErrorCode]
	}
	switch {
	case errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected):
		return Passing
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return Assembling
	}
	return Permanent
}

// IsPassing reports whether err lasts only while a cluster elects or a
// connection moves: worth the same call again soon.
func IsPassing(err error) bool { return Classify(err) == Passing }

// IsPassingAtStart reports whether err may pass while a kernel starts
// with its cluster: an election's, or an assembling cluster's.
func IsPassingAtStart(err error) bool { return Classify(err) != Permanent }
