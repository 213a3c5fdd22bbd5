package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

var _ Cache = (*RedisCache)(nil)

// RedisCache is the hot cache in Redis. Keys (prefix "amf:"):
//
//	amf:status:<task>   task status JSON, expires StatusTTL after its last change
//	amf:status:recent   sorted set of task ids by last change
//	amf:session:<id>    list of turn JSON, trimmed to MaxTurns, expires SessionTTL after the last turn
//	amf:worker:<id>     heartbeat JSON, expires with the heartbeat's TTL
//	amf:workers         sorted set of worker ids by heartbeat expiry
type RedisCache struct {
	rdb *redis.Client
	cfg cacheConfig
}

// NewRedisCache connects to the Redis at url (redis://[user:pass@]host:port/db
// or rediss:// for TLS). It does not dial: a Redis that is down now is a
// degraded cache, not a failed start; Ping tells.
func NewRedisCache(url string, opts ...CacheOption) (*RedisCache, error) {
	cfg, err := newCacheConfig(opts)
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%w: redis url %q: %v (want redis://host:6379/0)", ErrCacheConfig, url, err)
	}
	// Short timeouts: a cache that does not answer quickly is treated as
	// down, and the caller falls back to the event stream.
	o.DialTimeout = 2 * time.Second
	o.ReadTimeout = 2 * time.Second
	o.WriteTimeout = 2 * time.Second
	o.MaxRetries = 1
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return &RedisCache{rdb: redis.NewClient(o), cfg: cfg}, nil
}

// Close closes the connections.
func (c *RedisCache) Close() error { return c.rdb.Close() }

// Name is "redis".
func (c *RedisCache) Name() string { return "redis" }

func (c *RedisCache) key(parts ...string) string {
	k := c.cfg.names.CacheKey()
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// Ping reports whether Redis answers.
func (c *RedisCache) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// SetStatus stores a task's status and indexes it as recent.
func (c *RedisCache) SetStatus(ctx context.Context, s bus.Status) error {
	if err := checkKey("task id", s.ID); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	recent := c.key("status", "recent")
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.key("status", s.ID), data, c.cfg.statusTTL)
		p.ZAdd(ctx, recent, redis.Z{Score: float64(s.Updated.UnixMilli()), Member: s.ID})
		p.ZRemRangeByRank(ctx, recent, 0, -int64(c.cfg.recentLimit)-1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis set status %s: %w", s.ID, err)
	}
	return nil
}

// Status returns a task's status or ErrNotFound.
func (c *RedisCache) Status(ctx context.Context, taskID string) (bus.Status, error) {
	var s bus.Status
	if err := checkKey("task id", taskID); err != nil {
		return s, err
	}
	data, err := c.rdb.Get(ctx, c.key("status", taskID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return s, fmt.Errorf("status of %s: %w", taskID, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("redis get status %s: %w", taskID, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("decode status %s: %w", taskID, err)
	}
	return s, nil
}

// RecentStatuses returns up to n statuses, most recently changed first.
func (c *RedisCache) RecentStatuses(ctx context.Context, n int) ([]bus.Status, error) {
	if n <= 0 {
		return nil, nil
	}
	ids, err := c.rdb.ZRevRange(ctx, c.key("status", "recent"), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis recent statuses: %w", err)
	}
	out, err := mgetJSON[bus.Status](ctx, c, ids, func(id string) string { return c.key("status", id) })
	if err != nil {
		return nil, fmt.Errorf("redis recent statuses: %w", err)
	}
	return out, nil
}

// AppendTurn adds a turn, trims the session and renews its TTL.
func (c *RedisCache) AppendTurn(ctx context.Context, session string, t memory.Turn) error {
	if err := checkKey("session", session); err != nil {
		return err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode turn: %w", err)
	}
	k := c.key("session", session)
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, k, data)
		p.LTrim(ctx, k, -int64(c.cfg.maxTurns), -1)
		p.Expire(ctx, k, c.cfg.sessionTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis append turn to %s: %w", session, err)
	}
	return nil
}

// Turns returns the last n turns (all kept when n ≤ 0), oldest first, or
// ErrNotFound for a session that expired or never was.
func (c *RedisCache) Turns(ctx context.Context, session string, n int) ([]memory.Turn, error) {
	if err := checkKey("session", session); err != nil {
		return nil, err
	}
	start := -int64(n)
	if n <= 0 {
		start = 0
	}
	raw, err := c.rdb.LRange(ctx, c.key("session", session), start, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis turns of %s: %w", session, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("session %s: %w", session, ErrNotFound)
	}
	out := make([]memory.Turn, 0, len(raw))
	for _, r := range raw {
		var t memory.Turn
		if err := json.Unmarshal([]byte(r), &t); err != nil {
			return nil, fmt.Errorf("decode turn of %s: %w", session, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Heartbeat records a worker as present for ttl.
func (c *RedisCache) Heartbeat(ctx context.Context, w bus.WorkerInfo, ttl time.Duration) error {
	if err := checkKey("worker id", w.ID); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode worker: %w", err)
	}
	expires := time.Now().Add(ttl).UnixMilli()
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.key("worker", w.ID), data, ttl)
		p.ZAdd(ctx, c.key("workers"), redis.Z{Score: float64(expires), Member: w.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis heartbeat %s: %w", w.ID, err)
	}
	return nil
}

// Workers lists the workers whose heartbeat has not expired, by id.
func (c *RedisCache) Workers(ctx context.Context) ([]bus.WorkerInfo, error) {
	set := c.key("workers")
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := c.rdb.ZRemRangeByScore(ctx, set, "-inf", "("+now).Err(); err != nil {
		return nil, fmt.Errorf("redis workers: %w", err)
	}
	ids, err := c.rdb.ZRange(ctx, set, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis workers: %w", err)
	}
	slices.Sort(ids)
	out, err := mgetJSON[bus.WorkerInfo](ctx, c, ids, func(id string) string { return c.key("worker", id) })
	if err != nil {
		return nil, fmt.Errorf("redis workers: %w", err)
	}
	return out, nil
}

// mgetJSON reads many JSON values in one round trip, skipping keys that
// expired since they were indexed.
func mgetJSON[T any](ctx context.Context, c *RedisCache, ids []string, key func(string) string) ([]T, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		// A value that is not T (written by hand into the store) is
		// left out: one bad entry must not hide every good one.
		var x T
		if json.Unmarshal([]byte(s), &x) == nil {
			out = append(out, x)
		}
	}
	return out, nil
}
