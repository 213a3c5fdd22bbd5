package knowledge

import "errors"

// Errors of the knowledge package; callers test them with errors.Is.
// An id no memory has is memory.ErrUnknownMemory.
var (
	// ErrClosed is returned by a Knowledge used after Close.
	ErrClosed = errors.New("knowledge: closed")
	// ErrEmbed wraps every failure to compute an embedding.
	ErrEmbed = errors.New("knowledge: embed")
	// ErrBadQuery rejects an empty or oversized recall query.
	ErrBadQuery = errors.New("knowledge: bad query")
)
