package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/memory/cache"
)

// cacheFlags choose the hot cache: Redis when a URL is set, else the
// kernel's JetStream KV, so one machine needs nothing besides amf.
type cacheFlags struct {
	redisURL string
}

func (cf *cacheFlags) bind(f flags) {
	f.str(&cf.redisURL, "redis", "AMF_REDIS_URL", "", "hot cache (redis://host:6379/0); empty = JetStream KV")
}

// open connects the cache the flags name.
func (cf *cacheFlags) open(ctx context.Context, nc *nats.Conn, c *common) (cache.Cache, error) {
	if cf.redisURL != "" {
		rc, err := cache.NewRedisCache(cf.redisURL, cache.WithNames(c.names()))
		if err != nil {
			return nil, fmt.Errorf("hot cache: %w", err)
		}
		// Redis may be down at start: the stream is the record of truth,
		// so run degraded rather than refuse to start.
		if err := rc.Ping(ctx); err != nil {
			slog.Warn("hot cache unreachable; running degraded until it answers", "redis", cf.redisURL, "err", err)
		}
		return rc, nil
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	kc, err := cache.NewKVCache(ctx, js, cache.WithNames(c.names()))
	if err != nil {
		return nil, fmt.Errorf("hot cache: %w", err)
	}
	return kc, nil
}
