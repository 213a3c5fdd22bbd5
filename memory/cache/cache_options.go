package cache

import (
	"fmt"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// Defaults of the hot cache.
const (
	DefaultSessionTTL = 24 * time.Hour
	DefaultMaxTurns   = 50
	DefaultStatusTTL  = 24 * time.Hour
	// DefaultRecentLimit bounds the index of recent statuses.
	DefaultRecentLimit = 10000
)

// CacheOption adjusts a cache backend.
type CacheOption func(*cacheConfig)

type cacheConfig struct {
	names       bus.Names
	sessionTTL  time.Duration
	maxTurns    int
	statusTTL   time.Duration
	recentLimit int
}

// WithNames sets the prefix of keys and buckets.
func WithNames(n bus.Names) CacheOption { return func(c *cacheConfig) { c.names = n } }

// WithSessionTTL sets how long an idle session is kept.
func WithSessionTTL(d time.Duration) CacheOption { return func(c *cacheConfig) { c.sessionTTL = d } }

// WithMaxTurns bounds the turns kept per session.
func WithMaxTurns(n int) CacheOption { return func(c *cacheConfig) { c.maxTurns = n } }

// WithStatusTTL sets how long a task's status is kept after its last change.
func WithStatusTTL(d time.Duration) CacheOption { return func(c *cacheConfig) { c.statusTTL = d } }

func newCacheConfig(opts []CacheOption) (cacheConfig, error) {
	c := cacheConfig{sessionTTL: DefaultSessionTTL, maxTurns: DefaultMaxTurns, statusTTL: DefaultStatusTTL, recentLimit: DefaultRecentLimit}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.sessionTTL <= 0:
		return c, fmt.Errorf("%w: session TTL must be positive, not %s", ErrCacheConfig, c.sessionTTL)
	case c.statusTTL <= 0:
		return c, fmt.Errorf("%w: status TTL must be positive, not %s", ErrCacheConfig, c.statusTTL)
	case c.maxTurns <= 0:
		return c, fmt.Errorf("%w: max turns must be positive, not %d", ErrCacheConfig, c.maxTurns)
	}
	return c, nil
}

func checkKey(kind, key string) error {
	if !bus.ValidToken(key) {
		return fmt.Errorf("%w: %s %q may hold only letters, digits, '-' and '_' (at most 128)", ErrBadKey, kind, key)
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: heartbeat TTL must be positive, not %s", ErrCacheConfig, ttl)
	}
	return nil
}
