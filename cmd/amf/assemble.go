package main

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/internal/statelock"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/retry"
	"github.com/amf-os/amf/memory/cache"
)

// local is a kernel started in this process, running its task API and
// status projector, with the hot cache it opened for co-located parts.
type local struct {
	srv   *kernel.Server
	cache cache.Cache
	// lock is this process's hold on the state dir's store.
	lock *statelock.Lock
	// kctx is the context this kernel wrote for the CLI (clictx).
	kctx clictx.Context
}

// shutdown stops the kernel, then lets another process have the store.
func (l *local) shutdown() {
	l.srv.Shutdown()
	_ = l.lock.Release()
}

// startLocal starts the kernel with the cache the flags name and writes
// the admin credential for the CLI on this machine; Shutdown stops it.
func startLocal(ctx context.Context, c *common, k *kernelFlags, cf *cacheFlags, noProjector bool) (*local, error) {
	// One kernel per store: a second one on it is refused at once,
	// naming the first's pid.
	lock, err := statelock.Acquire(c.stateDir)
	if err != nil {
		return nil, err
	}
	srv := k.server(c)
	l := &local{srv: srv, lock: lock}
	srv.OpenCache = func(ctx context.Context, nc *nats.Conn) (kernel.Cache, error) {
		hot, err := cf.open(ctx, nc, c)
		l.cache = hot
		return hot, err
	}
	srv.NoStatusProjector = noProjector
	if err := srv.Start(ctx); err != nil {
		_ = lock.Release()
		return nil, err
	}
	if err := ensureLocalCreds(srv, c); err != nil {
		l.shutdown()
		return nil, err
	}
	l.kctx = kernelContext(srv, c, k)
	if err := l.writeContext(); err != nil {
		l.shutdown()
		return nil, err
	}
	return l, nil
}

// dial connects to a kernel elsewhere and opens the hot cache.
func (c *common) dial(ctx context.Context, name string, cf *cacheFlags) (*nats.Conn, cache.Cache, error) {
	nc, err := c.connect(name)
	if err != nil {
		return nil, nil, err
	}
	// The kernels may be electing the buckets' leaders (a cluster
	// starting, a kernel restarting): wait for them as startLocal does.
	var hot cache.Cache
	err = retry.AtStart(ctx, slog.Default(), "hot cache buckets", func(ctx context.Context) (err error) {
		hot, err = cf.open(ctx, nc, c)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, hot, nil
}
