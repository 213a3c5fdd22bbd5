package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

var _ Cache = (*KVCache)(nil)

// kvCASRetries bounds optimistic-concurrency retries of one session
// append when several writers race on the same session.
const kvCASRetries = 20

// workersBucketTTL bounds how long a silent worker's last heartbeat stays
// in the bucket; presence itself is decided by the heartbeat's own TTL.
const workersBucketTTL = time.Hour

// KVCache is the hot cache in JetStream KV, for installations without
// Redis. Buckets: AMF_STATUS (task id → status, aged out after the status
// TTL), AMF_SESSIONS (session → its last turns, aged out after the session
// TTL) and AMF_WORKERS (worker id → heartbeat with its expiry).
type KVCache struct {
	status, sessions, workers jetstream.KeyValue
	cfg                       cacheConfig
}

// NewKVCache creates or opens the buckets.
func NewKVCache(ctx context.Context, js jetstream.JetStream, opts ...CacheOption) (*KVCache, error) {
	cfg, err := newCacheConfig(opts)
	if err != nil {
		return nil, err
	}
	if js == nil {
		return nil, fmt.Errorf("%w: no JetStream context", ErrCacheConfig)
	}
	n := cfg.names
	c := &KVCache{cfg: cfg}
	// The buckets are kept as many times as the kernel keeps its events
	// (--replicas): losing one kernel of a cluster must not lose them.
	replicas := 1
	if s, err := js.Stream(ctx, n.EventsStream()); err == nil {
		replicas = s.CachedInfo().Config.Replicas
	}
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
		ttl  time.Duration
		desc string
	}{
		{&c.status, n.StatusBucket(), cfg.statusTTL, "AMF-OS task status, rebuilt from AMF_EVENTS"},
		{&c.sessions, n.SessionsBucket(), cfg.sessionTTL, "AMF-OS session turns"},
		{&c.workers, n.WorkersBucket(), workersBucketTTL, "AMF-OS worker presence"},
	} {
		// Open an existing bucket as it is: parts with worker or bridge
		// credentials may read and write keys but not create buckets.
		kv, err := js.KeyValue(ctx, b.name)
		if err == nil {
			if st, serr := kv.Status(ctx); serr != nil || st.TTL() != b.ttl {
				err = jetstream.ErrBucketNotFound
			}
		}
		if err != nil {
			kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: b.name, Description: b.desc, TTL: b.ttl, History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
			})
		}
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	return c, nil
}

// Name is "kv".
func (c *KVCache) Name() string { return "kv" }

// Ping reports whether the status bucket answers.
func (c *KVCache) Ping(ctx context.Context) error {
	if _, err := c.status.Status(ctx); err != nil {
		return fmt.Errorf("kv ping: %w", err)
	}
	return nil
}

// SetStatus stores a task's status.
func (c *KVCache) SetStatus(ctx context.Context, s bus.Status) error {
	if err := checkKey("task id", s.ID); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode status: %w", err)
	}
	if _, err := c.status.Put(ctx, s.ID, data); err != nil {
		return fmt.Errorf("kv set status %s: %w", s.ID, err)
	}
	return nil
}

// Status returns a task's status or ErrNotFound.
func (c *KVCache) Status(ctx context.Context, taskID string) (bus.Status, error) {
	var s bus.Status
	if err := checkKey("task id", taskID); err != nil {
		return s, err
	}
	e, err := c.status.Get(ctx, taskID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return s, fmt.Errorf("status of %s: %w", taskID, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("kv get status %s: %w", taskID, err)
	}
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return s, fmt.Errorf("decode status %s: %w", taskID, err)
	}
	return s, nil
}

// RecentStatuses returns up to n statuses, most recently changed first.
// It reads the whole bucket (bounded by the status TTL) in one pass.
func (c *KVCache) RecentStatuses(ctx context.Context, n int) ([]bus.Status, error) {
	if n <= 0 {
		return nil, nil
	}
	all, err := readAll[bus.Status](ctx, c.status)
	if err != nil {
		return nil, fmt.Errorf("kv recent statuses: %w", err)
	}
	slices.SortFunc(all, func(a, b bus.Status) int { return b.Updated.Compare(a.Updated) })
	return all[:min(n, len(all))], nil
}

// sessionValue is one session in the sessions bucket.
type sessionValue struct {
	Turns   []memory.Turn `json:"turns"`
	Expires time.Time     `json:"expires"`
}

// AppendTurn adds a turn with compare-and-set, so concurrent appends to
// one session are all kept.
func (c *KVCache) AppendTurn(ctx context.Context, session string, t memory.Turn) error {
	if err := checkKey("session", session); err != nil {
		return err
	}
	for range kvCASRetries {
		var v sessionValue
		var rev uint64
		e, err := c.sessions.Get(ctx, session)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("kv read session %s: %w", session, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &v); err != nil || time.Now().After(v.Expires) {
				v = sessionValue{}
			}
		}
		v.Turns = append(v.Turns, t)
		if extra := len(v.Turns) - c.cfg.maxTurns; extra > 0 {
			v.Turns = v.Turns[extra:]
		}
		v.Expires = time.Now().Add(c.cfg.sessionTTL)
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode session: %w", err)
		}
		if rev == 0 {
			_, err = c.sessions.Create(ctx, session, data)
		} else {
			_, err = c.sessions.Update(ctx, session, data, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("kv append turn to %s: %w", session, err)
		}
	}
	return fmt.Errorf("kv append turn to %s: too much contention", session)
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Turns returns the last n turns (all kept when n ≤ 0), oldest first, or
// ErrNotFound.
func (c *KVCache) Turns(ctx context.Context, session string, n int) ([]memory.Turn, error) {
	if err := checkKey("session", session); err != nil {
		return nil, err
	}
	e, err := c.sessions.Get(ctx, session)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("session %s: %w", session, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("kv turns of %s: %w", session, err)
	}
	var v sessionValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return nil, fmt.Errorf("decode session %s: %w", session, err)
	}
	if time.Now().After(v.Expires) || len(v.Turns) == 0 {
		return nil, fmt.Errorf("session %s: %w", session, ErrNotFound)
	}
	if n > 0 && n < len(v.Turns) {
		v.Turns = v.Turns[len(v.Turns)-n:]
	}
	return v.Turns, nil
}

// workerValue is one heartbeat in the workers bucket.
type workerValue struct {
	bus.WorkerInfo
	Expires time.Time `json:"expires"`
}

// Heartbeat records a worker as present for ttl.
func (c *KVCache) Heartbeat(ctx context.Context, w bus.WorkerInfo, ttl time.Duration) error {
	if err := checkKey("worker id", w.ID); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	data, err := json.Marshal(workerValue{WorkerInfo: w, Expires: time.Now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("encode worker: %w", err)
	}
	if _, err := c.workers.Put(ctx, w.ID, data); err != nil {
		return fmt.Errorf("kv heartbeat %s: %w", w.ID, err)
	}
	return nil
}

// Workers lists the workers whose heartbeat has not expired, by id.
func (c *KVCache) Workers(ctx context.Context) ([]bus.WorkerInfo, error) {
	all, err := readAll[workerValue](ctx, c.workers)
	if err != nil {
		return nil, fmt.Errorf("kv workers: %w", err)
	}
	now := time.Now()
	out := make([]bus.WorkerInfo, 0, len(all))
	for _, w := range all {
		if now.Before(w.Expires) {
			out = append(out, w.WorkerInfo)
		}
	}
	slices.SortFunc(out, func(a, b bus.WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// readAll decodes the latest value of every key with one watcher, which
// streams the bucket instead of a round trip per key.
func readAll[T any](ctx context.Context, kv jetstream.KeyValue) ([]T, error) {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out []T
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("watcher closed")
			}
			if e == nil {
				return out, nil
			}
			// A value that is not T (written by hand into the bucket)
			// is left out: one bad entry must not hide every good one.
			var x T
			if json.Unmarshal(e.Value(), &x) == nil {
				out = append(out, x)
			}
		}
	}
}
