package sandbox

import "errors"

// Sentinel errors; callers match them with errors.Is.
var (
	// ErrBadProfiles means a profiles file could not be used.
	ErrBadProfiles = errors.New("invalid sandbox profiles")
	// ErrUnsupported means this host cannot run the namespace backend.
	ErrUnsupported = errors.New("sandbox not supported on this host")
	// ErrStart means a confined command could not be started.
	ErrStart = errors.New("start sandboxed command")
)
