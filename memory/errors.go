package memory

import "errors"

// Errors of the memory package; callers test them with errors.Is.
var (
	// ErrUnknownMemory is returned for an id no memory has.
	ErrUnknownMemory = errors.New("memory: unknown memory")
	// ErrImportLine wraps the reason one import line was skipped.
	ErrImportLine = errors.New("import")
)
