package workers

import "errors"

// ErrCancelled is wrapped by the cancel cause of a task someone asked to
// stop: Solve ends such a task as cancelled, not failed.
var ErrCancelled = errors.New("cancelled")

// cancelError carries the reason given with a cancel request.
type cancelError struct{ reason string }

func (e cancelError) Error() string { return e.reason }
func (e cancelError) Unwrap() error { return ErrCancelled }

// Cancelled is the cancel cause for a task stopped on request; reason is
// what the user is told (empty: "cancelled by request").
func Cancelled(reason string) error {
	return cancelError{reason: orDefault(reason, "cancelled by request")}
}
