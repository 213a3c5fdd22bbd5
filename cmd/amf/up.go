package main

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/retry"
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
	var printLink bool
	f := newFlags("up", "up [flags]")
	f.bool(&printLink, "print-login-link", "AMF_PRINT_LOGIN_LINK", true, "print a console link that logs in (it holds the admin token)")
	cf.bind(f)
	c.bindState(f)
	c.bindLog(f)
	k.bind(f)
	w.bind(f)
	b.bind(f)
	if err := f.parse(args); err != nil {
		return err
	}
	noObserve := w.sandbox.upDefaults()
	log := c.logger()
	if noObserve != "" {
		log.Warn("amf up: " + noObserve)
	}
	l, err := startLocal(ctx, &c, &k, &cf, false)
	if err != nil {
		return err
	}
	defer l.shutdown()
	// The worker and the bridge share a connection, drained before the
	// kernel shuts down.
	nc, err := l.srv.Connect()
	if err != nil {
		return err
	}
	defer drain(nc)
	cache := l.cache
	wk, release, err := w.worker(ctx, nc, &c, cache)
	if err != nil {
		return err
	}
	defer release()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	var st *tokens.Store
	err = retry.AtStart(ctx, log, "token bucket", func(ctx context.Context) (err error) {
		st, err = tokens.Open(ctx, js, c.names(), true)
		return err
	})
	if err != nil {
		return err
	}
	token, tokenFile, err := ensureAdminToken(ctx, st, c.stateDir)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	v, err := st.Watch(ctx)
	if err != nil {
		return err
	}
	defer v.Stop()
	br, err := b.server(nc, &c, cache, v)
	if err != nil {
		return err
	}
	br.MoreMetrics = wk.Metrics()
	// The bridge shares the kernel's connection: it makes its tokens'
	// readers itself, under the kernel's cap.
	br.Client.ReadersPerOwner = k.readers
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return errPart("kernel", l.srv.Wait(gctx)) })
	g.Go(func() error { return errPart("worker", wk.Run(gctx)) })
	g.Go(func() error { return errPart("bridge", br.Run(gctx)) })
	go func() {
		select {
		case <-br.Ready():
			// The context gains the console's address once it listens.
			l.kctx.HTTP, l.kctx.TokenFile = br.Addr().String(), absPath(tokenFile)
			if err := l.writeContext(); err != nil {
				log.Warn("the CLI context lacks the HTTP address", "err", err)
			}
			notifyReady()
			log.Info("AMF-OS is up", "http", "http://"+br.Addr().String(), "nats", l.srv.ClientURL(), "creds", localCreds(c.stateDir), "state", c.stateDir, "admin_token_file", tokenFile)
			if printLink {
				// Printed, never logged: the one place the token is shown.
				fmt.Printf("Console (logs in): http://%s/#token=%s\n", br.Addr(), token)
			}
		case <-gctx.Done():
		}
	}()
	return g.Wait()
}
