package memory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// A worker opens its knowledge base once, recalls before asking the
// model, and publishes what worked.
func ExampleOpenKnowledge() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	kn, err := memory.OpenKnowledge(ctx, js, memory.KnowledgeConfig{StateDir: "/var/lib/amf"})
	if err != nil {
		log.Fatal(err)
	}
	defer kn.Close()

	facts := memory.DetectHostFacts()
	matches, err := kn.Recall(ctx, "free disk space per filesystem", facts, memory.DefaultK)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		fmt.Printf("%.2f %s (reuse: %v)\n", m.Score, m.Command, m.Reuse)
	}
	if _, err := kn.Learn(ctx, bus.Learned{Instruction: "free disk space per filesystem", Command: "df -h", Host: facts}); err != nil {
		log.Fatal(err)
	}
}

// The bridge keeps task status in the configured cache with a
// projector, and reports the cache as degraded while it is down.
func ExampleStatusProjector() {
	ctx, cancel := context.WithCancel(context.Background())
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cache, err := memory.NewRedisCache("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	p := &memory.StatusProjector{JS: js, Cache: cache}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	if !p.Healthy() {
		log.Printf("cache %s degraded: %v", cache.Name(), p.Err())
	}
	cancel()
	if err := <-done; err != nil {
		log.Print(err)
	}
}
