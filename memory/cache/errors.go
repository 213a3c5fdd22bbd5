package cache

import "errors"

// Errors of the hot cache; callers test them with errors.Is.
var (
	// ErrNotFound is returned when a task status or session is not cached.
	ErrNotFound = errors.New("not found")
	// ErrBadKey rejects a task id, session or worker id that cannot name a
	// cache entry (bus.ValidToken: letters, digits, '-' and '_').
	ErrBadKey = errors.New("cache: bad key")
	// ErrCacheConfig rejects an unusable cache address or option.
	ErrCacheConfig = errors.New("cache: configuration")
)
