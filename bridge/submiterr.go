package bridge

import (
	"errors"
	"net/http"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// submitFailure is the answer to a submission the client refused, with
// the same status whether the bridge submits itself (amf up) or through
// the kernel's task API (a bridge on its own credential): only a kernel
// that did not answer is a 503 to retry.
func submitFailure(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		// The bridge's own refusal, made during the submission
		// (client.WithGrantCheck).
		return ae
	case errors.Is(err, bus.ErrTooLarge):
		return fail(http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, bus.ErrInvalidTask):
		return fail(http.StatusBadRequest, "invalid_task", err.Error())
	case errors.Is(err, client.ErrForbidden):
		return fail(http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, client.ErrQuota):
		// One owner's limit, named in the message: others go on.
		return fail(http.StatusTooManyRequests, "quota", err.Error())
	case errors.Is(err, client.ErrIDTaken):
		return fail(http.StatusConflict, "id_taken", err.Error())
	case errors.Is(err, client.ErrQueueFull):
		return fail(http.StatusTooManyRequests, "queue_full", err.Error())
	case errors.Is(err, client.ErrStoreFull):
		return fail(http.StatusInsufficientStorage, "store_full", err.Error())
	}
	// Submit rode through an election as long as its bound allows; the
	// message names the id and says to retry with it.
	return fail(http.StatusServiceUnavailable, "unavailable", err.Error())
}
