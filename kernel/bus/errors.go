package bus

import "errors"

// Sentinel errors of the contract; every validation error wraps one of them.
var (
	// ErrInvalidTask means a task was malformed; the message says how.
	ErrInvalidTask = errors.New("invalid task")
	// ErrTooLarge means a payload exceeded MaxTaskBytes.
	ErrTooLarge = errors.New("payload too large")
	// ErrInvalidEvent means an event could not be decoded.
	ErrInvalidEvent = errors.New("invalid event")
)
