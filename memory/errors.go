package memory

import "errors"

// Errors of the memory package; callers test them with errors.Is.
var (
	// ErrClosed is returned by a Knowledge used after Close.
	ErrClosed = errors.New("memory: closed")
	// ErrEmbed wraps every failure to compute an embedding.
	ErrEmbed = errors.New("memory: embed")
	// ErrBadQuery rejects an empty or oversized recall query.
	ErrBadQuery = errors.New("memory: bad query")
	// ErrUnknownMemory is returned for an id no memory has.
	ErrUnknownMemory = errors.New("memory: unknown memory")
	// ErrCacheConfig rejects an unusable cache address or option.
	ErrCacheConfig = errors.New("memory: cache configuration")
)
