package memory

import (
	"errors"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Errors of the memory package; callers test them with errors.Is.
var (
	// ErrUnknownMemory is returned for an id no memory has.
	ErrUnknownMemory = bus.ErrUnknownMemory
	// ErrImportLine wraps the reason one import line was skipped.
	ErrImportLine = errors.New("import")
	// ErrBadRequest wraps the memory service's refusal of a request it
	// cannot answer as sent (an empty or oversized query, a bad limit).
	ErrBadRequest = client.ErrBadMemoryRequest
)
