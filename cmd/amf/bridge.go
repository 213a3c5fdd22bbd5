package main

import "context"

func init() {
	register(command{name: "bridge", summary: "run the HTTP bridge (task API, live events, web console)", run: runBridge})
}

func runBridge(ctx context.Context, args []string) error {
	var c common
	var b bridgeFlags
	var cf cacheFlags
	f := newFlags("bridge", "bridge [flags]")
	cf.bind(f)
	c.bindNATS(f)
	c.bindLog(f)
	b.bind(f)
	if err := f.parse(args); err != nil {
		return err
	}
	c.logger()
	nc, cache, err := c.dial(ctx, "amf-bridge", &cf)
	if err != nil {
		return err
	}
	defer drain(nc)
	ctx, stop := whileConnected(ctx, nc)
	defer stop()
	br := b.server(nc, &c, cache)
	// A bridge elsewhere holds a bridge credential, which may not write
	// the event stream: it submits and cancels through the task API.
	br.Client.ViaAPI = true
	go func() {
		select {
		case <-br.Ready():
			notifyReady()
		case <-ctx.Done():
		}
	}()
	if err := br.Run(ctx); err != nil {
		return err
	}
	return connectionLost(ctx)
}
