package bus

import "errors"

// Sentinel errors of the hot cache's contract, shared by the caches
// (memory/cache) and the kernel's status projector (kernel/status), which
// rebuilds a status the cache does not hold.
var (
	// ErrNotCached is returned when a task status or session is not cached.
	ErrNotCached = errors.New("not found")
	// ErrBadCacheKey rejects a task id, session or worker id that cannot
	// name a cache entry (ValidToken: letters, digits, '-' and '_').
	ErrBadCacheKey = errors.New("cache: bad key")
)
