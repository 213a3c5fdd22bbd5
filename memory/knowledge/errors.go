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
	// ErrQuota says an owner has as many memories as Config.QuotaPerOwner
	// lets it: what its tasks teach next is not learned.
	ErrQuota = errors.New("quota reached: memories")
)
