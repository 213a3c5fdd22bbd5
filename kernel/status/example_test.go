package status_test

import (
	"context"
	"log"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/status"
	"github.com/amf-os/amf/memory/cache"
)

// The kernel process (amf kernel, amf up) keeps task status in the
// configured cache with a projector, and reports the cache as degraded
// while it is down.
func ExampleStatusProjector() {
	ctx, cancel := context.WithCancel(context.Background())
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	c, err := cache.NewRedisCache("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	p := &status.StatusProjector{JS: js, Cache: c}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	if !p.Healthy() {
		log.Printf("cache %s degraded: %v", c.Name(), p.Err())
	}
	cancel()
	if err := <-done; err != nil {
		log.Print(err)
	}
}
