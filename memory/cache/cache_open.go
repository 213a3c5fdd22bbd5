package cache

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// OpenCache is the configuration rule of the hot cache: Redis when
// redisURL (AMF_REDIS_URL) is set, JetStream KV otherwise. The function returned releases
// the backend's connections.
func OpenCache(ctx context.Context, redisURL string, js jetstream.JetStream, opts ...CacheOption) (Cache, func() error, error) {
	if redisURL != "" {
		r, err := NewRedisCache(redisURL, opts...)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Close, nil
	}
	kv, err := NewKVCache(ctx, js, opts...)
	if err != nil {
		return nil, nil, err
	}
	return kv, func() error { return nil }, nil
}
