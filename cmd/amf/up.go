package main

import (
	"context"

	"golang.org/x/sync/errgroup"
)

func init() {
	register(command{name: "up", summary: "run kernel, bridge and one worker in one process (one machine)", run: runUp})
}

func runUp(ctx context.Context, args []string) error {
	var c common
	var k kernelFlags
	var w workerFlags
	var b bridgeFlags
	var cf cacheFlags
	f := newFlags("up", "up [flags]")
	cf.bind(f)
	c.bindState(f)
	c.bindLog(f)
	k.bind(f)
	w.bind(f)
	b.bind(f)
	if err := f.parse(args); err != nil {
		return err
	}
	log := c.logger()
	l, err := startLocal(ctx, &c, &k, &cf)
	if err != nil {
		return err
	}
	defer l.close()
	nc, cache := l.nc, l.cache
	wk, release, err := w.worker(ctx, nc, &c, cache)
	if err != nil {
		return err
	}
	defer release()
	br := b.server(nc, &c, cache)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return errPart("api", serveAPI(gctx, nc, &c, cache)) })
	g.Go(func() error { return errPart("status", runProjector(gctx, nc, &c, cache)) })
	g.Go(func() error { return errPart("worker", wk.Run(gctx)) })
	g.Go(func() error { return errPart("bridge", br.Run(gctx)) })
	go func() {
		select {
		case <-br.Ready():
			notifyReady()
			log.Info("AMF-OS is up", "http", "http://"+br.Addr().String(), "nats", l.srv.ClientURL(), "creds", localCreds(c.stateDir), "state", c.stateDir)
		case <-gctx.Done():
		}
	}()
	return g.Wait()
}
