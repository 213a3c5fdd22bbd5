package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/cache"
	"github.com/amf-os/amf/memory/cache/redistest"
)

// TestABadEntryHidesNoOther: a value an operator wrote by hand into the
// status store is not a status; listing leaves it out and still shows
// every real one (it once turned every owner's task list into a 503).
func TestABadEntryHidesNoOther(t *testing.T) {
	good := bus.Status{ID: "good", State: bus.StateDone, Updated: time.Now().UTC()}
	check := func(t *testing.T, c cache.Cache, spoil func(context.Context) error) {
		ctx := ctxT(t)
		if err := c.SetStatus(ctx, good); err != nil {
			t.Fatal(err)
		}
		if err := spoil(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := c.RecentStatuses(ctx, 10)
		if err != nil {
			t.Fatalf("one bad entry failed the list: %v", err)
		}
		if len(got) != 1 || got[0].ID != "good" {
			t.Fatalf("recent = %+v, want only the good status", got)
		}
	}
	t.Run("kv", func(t *testing.T) {
		k := kerneltest.Start(t)
		c, err := cache.NewKVCache(context.Background(), k.JS)
		if err != nil {
			t.Fatal(err)
		}
		check(t, c, func(ctx context.Context) error {
			kv, err := k.JS.KeyValue(ctx, bus.Names{}.StatusBucket())
			if err != nil {
				return err
			}
			_, err = kv.Put(ctx, "bad", []byte("x"))
			return err
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		c, err := cache.NewRedisCache(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		o, err := redis.ParseURL(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(o)
		t.Cleanup(func() { rdb.Close() })
		check(t, c, func(ctx context.Context) error {
			key := bus.Names{}.CacheKey()
			if err := rdb.Set(ctx, key+"status:bad", "x", 0).Err(); err != nil {
				return err
			}
			return rdb.ZAdd(ctx, key+"status:recent", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "bad"}).Err()
		})
	})
}
