package main

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge/tokens"
)

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
	v, err := watchTokens(ctx, nc, &c)
	if err != nil {
		return err
	}
	defer v.Stop()
	br, err := b.server(nc, &c, cache, v)
	if err != nil {
		return err
	}
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

// watchTokens follows the kernel's token bucket, so a token created or
// revoked anywhere counts on this bridge at once.
func watchTokens(ctx context.Context, nc *nats.Conn, c *common) (*tokens.Verifier, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := tokens.Open(ctx, js, c.names(), true)
	if err != nil {
		return nil, err
	}
	return st.Watch(ctx)
}
