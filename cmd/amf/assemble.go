package main

import (
	"context"
	"io"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/memory/cache"
)

// local is a kernel started in this process with what co-located parts
// share: an in-process connection (no TCP) and the hot cache.
type local struct {
	srv    *kernel.Server
	nc     *nats.Conn
	cache  cache.Cache
	tokens *tokens.Store
}

// startLocal starts the kernel and opens the connection and the cache;
// close drains the connection before the kernel shuts down.
func startLocal(ctx context.Context, c *common, k *kernelFlags, cf *cacheFlags) (*local, error) {
	srv := k.server(c)
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	if err := ensureLocalCreds(srv, c); err != nil {
		srv.Shutdown()
		return nil, err
	}
	nc, err := srv.Connect()
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	// Kernels of a cluster starting together create their replicated
	// buckets at once: JetStream may time out until leaders are elected.
	var cache cache.Cache
	err = untilReady(ctx, "hot cache buckets", func() (err error) {
		cache, err = cf.open(ctx, nc, c)
		return err
	})
	if err != nil {
		drain(nc)
		srv.Shutdown()
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err == nil {
		var st *tokens.Store
		err = untilReady(ctx, "token bucket", func() (err error) {
			st, err = tokens.Open(ctx, js, c.names(), true)
			return err
		})
		if err == nil {
			return &local{srv: srv, nc: nc, cache: cache, tokens: st}, nil
		}
	}
	l := &local{srv: srv, nc: nc, cache: cache}
	l.close()
	return nil, err
}

func (l *local) close() {
	if cl, ok := l.cache.(io.Closer); ok {
		_ = cl.Close()
	}
	drain(l.nc)
	l.srv.Shutdown()
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
	err = untilReady(ctx, "hot cache buckets", func() (err error) {
		hot, err = cf.open(ctx, nc, c)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, hot, nil
}
