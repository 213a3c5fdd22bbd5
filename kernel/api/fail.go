package api

import (
	"errors"

	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// codeOf is the code an error of the task API answers with, the one home
// of that table: the client turns each code back into its sentinel
// (client.apiError), and the bridge into the HTTP status of the same
// number. Anything unknown is the kernel not answering: 503, retry.
func codeOf(err error) string {
	switch {
	case errors.Is(err, bus.ErrTooLarge):
		return "413"
	case errors.Is(err, bus.ErrInvalidTask):
		return "400"
	case errors.Is(err, client.ErrForbidden):
		return "403"
	case errors.Is(err, client.ErrNotFound), errors.Is(err, client.ErrScheduleNotFound):
		return "404"
	case errors.Is(err, client.ErrFinished), errors.Is(err, client.ErrIDTaken), errors.Is(err, client.ErrScheduleExists):
		return "409"
	case errors.Is(err, client.ErrQuota), errors.Is(err, client.ErrQueueFull), errors.Is(err, client.ErrTooManyReaders),
		errors.Is(err, client.ErrTooManyFollowers):
		return "429"
	case errors.Is(err, client.ErrStoreFull), errors.Is(err, client.ErrSchedulesFull):
		return "507"
	}
	return "503"
}

// fail answers r with err under its code.
func fail(r micro.Request, err error) { _ = r.Error(codeOf(err), err.Error(), nil) }
