// Package statelock owns the lock on a state dir: one kernel per
// JetStream store. Two processes on one store would each believe they
// own it and corrupt it.
package statelock

import "errors"

// File is the lock file in the state dir; it holds the owner's pid.
const File = "amf.lock"

// ErrHeld means another process holds the state dir.
var ErrHeld = errors.New("state dir in use")
