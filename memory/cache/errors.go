package cache

import (
	"errors"

	"github.com/amf-os/amf/kernel/bus"
)

// Errors of the hot cache; callers test them with errors.Is.
var (
	// ErrNotFound is returned when a task status or session is not cached
	// (bus.ErrNotCached, which the kernel's status projector tests for).
	ErrNotFound = bus.ErrNotCached
	// ErrBadKey rejects a task id, session or worker id that cannot name a
	// cache entry (bus.ValidToken: letters, digits, '-' and '_').
	ErrBadKey = bus.ErrBadCacheKey
	// ErrCacheConfig rejects an unusable cache address or option.
	ErrCacheConfig = errors.New("cache: configuration")
)
