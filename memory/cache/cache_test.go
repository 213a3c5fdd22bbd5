package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/cache"
	"github.com/amf-os/amf/memory/cache/redistest"
)

// backends builds each real cache backend for one test.
var backends = []struct {
	name string
	open func(t testing.TB, opts ...cache.CacheOption) cache.Cache
}{
	{"redis", func(t testing.TB, opts ...cache.CacheOption) cache.Cache {
		srv := redistest.Start(t)
		c, err := cache.NewRedisCache(srv.URL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}},
	{"kv", func(t testing.TB, opts ...cache.CacheOption) cache.Cache {
		k := kerneltest.Start(t)
		c, err := cache.NewKVCache(context.Background(), k.JS, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}},
}

// TestCacheConformance runs one suite against every backend: whatever
// the bridge and the workers rely on must hold for both.
func TestCacheConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("status", func(t *testing.T) { testStatus(t, b.open(t)) })
			t.Run("recent", func(t *testing.T) { testRecent(t, b.open(t)) })
			t.Run("sessions", func(t *testing.T) { testSessions(t, b.open(t, cache.WithMaxTurns(5))) })
			t.Run("session_ttl", func(t *testing.T) { testSessionTTL(t, b.open(t, cache.WithSessionTTL(time.Second))) })
			t.Run("concurrent_turns", func(t *testing.T) { testConcurrentTurns(t, b.open(t)) })
			t.Run("workers", func(t *testing.T) { testWorkers(t, b.open(t)) })
			t.Run("bad_keys", func(t *testing.T) { testBadKeys(t, b.open(t)) })
			t.Run("name_and_ping", func(t *testing.T) {
				c := b.open(t)
				if c.Name() != b.name {
					t.Fatalf("Name = %q", c.Name())
				}
				if err := c.Ping(ctxT(t)); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func testStatus(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("missing status: %v, want ErrNotFound", err)
	}
	code := 0
	want := bus.Status{ID: "t1", State: bus.StateDone, Pool: "default", Command: "ls", ExitCode: &code, LastSeq: 7, Updated: time.Now().UTC().Truncate(time.Millisecond)}
	if err := c.SetStatus(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Status(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != want.State || got.Command != want.Command || got.ExitCode == nil || *got.ExitCode != 0 || got.LastSeq != 7 || !got.Updated.Equal(want.Updated) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	want.State, want.LastSeq = bus.StateFailed, 9
	if err := c.SetStatus(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Status(ctx, "t1"); got.State != bus.StateFailed || got.LastSeq != 9 {
		t.Fatalf("overwrite: got %+v", got)
	}
}

func testRecent(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	base := time.Now().UTC()
	// Written out of order; read newest first.
	for _, i := range []int{3, 0, 4, 1, 2} {
		s := bus.Status{ID: fmt.Sprintf("t%d", i), State: bus.StateRunning, Updated: base.Add(time.Duration(i) * time.Second)}
		if err := c.SetStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.RecentStatuses(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	if fmt.Sprint(ids) != "[t4 t3 t2]" {
		t.Fatalf("recent = %v, want [t4 t3 t2]", ids)
	}
	// An update moves a task to the front.
	if err := c.SetStatus(ctx, bus.Status{ID: "t0", State: bus.StateDone, Updated: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.RecentStatuses(ctx, 1); len(got) != 1 || got[0].ID != "t0" {
		t.Fatalf("after update: %+v", got)
	}
	if got, _ := c.RecentStatuses(ctx, 100); len(got) != 5 {
		t.Fatalf("all: %d statuses, want 5", len(got))
	}
}

func testSessions(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	if _, err := c.Turns(ctx, "s1", 3); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	for i := range 7 {
		if err := c.AppendTurn(ctx, "s1", memory.Turn{TaskID: fmt.Sprintf("t%d", i), Instruction: "step", ExitCode: i, TS: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Turns(ctx, "s1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].TaskID != "t4" || got[2].TaskID != "t6" || got[2].ExitCode != 6 {
		t.Fatalf("last 3 = %+v", got)
	}
	all, _ := c.Turns(ctx, "s1", 0)
	if len(all) != 5 || all[0].TaskID != "t2" {
		t.Fatalf("kept %d turns starting %v, want the last 5 (max turns)", len(all), all)
	}
	if _, err := c.Turns(ctx, "s2", 3); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("sessions are separate: %v", err)
	}
}

func testSessionTTL(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	if err := c.AppendTurn(ctx, "short", memory.Turn{TaskID: "a"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	// Appending renews the TTL: the first turn outlives its own second.
	if err := c.AppendTurn(ctx, "short", memory.Turn{TaskID: "b"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if got, err := c.Turns(ctx, "short", 0); err != nil || len(got) != 2 {
		t.Fatalf("renewed session: %v %v", got, err)
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := c.Turns(ctx, "short", 0); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("expired session: %v, want ErrNotFound", err)
	}
}

func testConcurrentTurns(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- c.AppendTurn(ctx, "race", memory.Turn{TaskID: fmt.Sprintf("t%d", i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Turns(ctx, "race", 0)
	if err != nil || len(got) != 20 {
		t.Fatalf("concurrent appends kept %d turns (%v), want 20", len(got), err)
	}
}

func testWorkers(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	w1 := bus.WorkerInfo{ID: "w1", Host: "h1", Pool: "default", Capacity: 4, InFlight: 1, Load: 0.5, Labels: map[string]string{"gpu": "no"}}
	w2 := bus.WorkerInfo{ID: "w2", Host: "h2", Pool: "gpu", Capacity: 2}
	if err := c.Heartbeat(ctx, w2, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.Heartbeat(ctx, w1, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "w1" || got[0].Host != "h1" || got[0].Capacity != 4 || got[0].InFlight != 1 || got[0].Load != 0.5 || got[0].Labels["gpu"] != "no" || got[1].Pool != "gpu" {
		t.Fatalf("workers = %+v", got)
	}
	time.Sleep(time.Second)
	got, err = c.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "w1" {
		t.Fatalf("after w2's TTL: %+v", got)
	}
	if err := c.Heartbeat(ctx, w1, 0); err == nil {
		t.Fatal("zero TTL accepted")
	}
}

func testBadKeys(t *testing.T, c cache.Cache) {
	ctx := ctxT(t)
	for _, k := range []string{"", "a b", "../x", "a.b", "*"} {
		if err := c.SetStatus(ctx, bus.Status{ID: k}); !errors.Is(err, cache.ErrBadKey) {
			t.Fatalf("SetStatus(%q) = %v", k, err)
		}
		if _, err := c.Status(ctx, k); !errors.Is(err, cache.ErrBadKey) {
			t.Fatalf("Status(%q) = %v", k, err)
		}
		if err := c.AppendTurn(ctx, k, memory.Turn{}); !errors.Is(err, cache.ErrBadKey) {
			t.Fatalf("AppendTurn(%q) = %v", k, err)
		}
		if err := c.Heartbeat(ctx, bus.WorkerInfo{ID: k}, time.Second); !errors.Is(err, cache.ErrBadKey) {
			t.Fatalf("Heartbeat(%q) = %v", k, err)
		}
	}
}

func TestBadCacheConfig(t *testing.T) {
	for _, u := range []string{"", "http://x", "redis://[::1"} {
		if _, err := cache.NewRedisCache(u); !errors.Is(err, cache.ErrCacheConfig) {
			t.Fatalf("NewRedisCache(%q) = %v", u, err)
		}
	}
	if _, err := cache.NewRedisCache("redis://127.0.0.1:1/0", cache.WithSessionTTL(-1)); !errors.Is(err, cache.ErrCacheConfig) {
		t.Fatalf("negative TTL: %v", err)
	}
	c, err := cache.NewRedisCache("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(ctxT(t)); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
}

func TestOpenCacheFollowsTheConfiguration(t *testing.T) {
	k := kerneltest.Start(t)
	c, closeFn, err := cache.OpenCache(ctxT(t), "", k.JS)
	if err != nil || c.Name() != "kv" {
		t.Fatalf("no Redis URL: %v %v", c, err)
	}
	closeFn()
	c, closeFn, err = cache.OpenCache(ctxT(t), "redis://127.0.0.1:1/0", k.JS)
	if err != nil || c.Name() != "redis" {
		t.Fatalf("Redis URL: %v %v", c, err)
	}
	closeFn()
	if _, _, err := cache.OpenCache(ctxT(t), "mysql://x", k.JS); !errors.Is(err, cache.ErrCacheConfig) {
		t.Fatalf("bad URL: %v", err)
	}
}
