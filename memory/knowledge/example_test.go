package knowledge_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// A worker opens its knowledge base once, recalls before asking the
// model, and publishes what worked.
func ExampleOpen() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	kn, err := knowledge.Open(ctx, js, knowledge.Config{StateDir: "/var/lib/amf"})
	if err != nil {
		log.Fatal(err)
	}
	defer kn.Close()

	facts := memory.DetectHostFacts()
	matches, err := kn.Recall(ctx, "", "free disk space per filesystem", facts, knowledge.DefaultK)
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

// A worker serves its index to `amf memory search`: an admin or read-all
// credential asks it with memory.Search (every owner's memories), a
// client credential with memory.SearchOn on its own owner's subject
// (client.Client.MemorySearchSubject).
func ExampleServe() {
	ctx := context.Background()
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kn, err := knowledge.Open(ctx, js, knowledge.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer kn.Close()
	stop := knowledge.Serve(ctx, nc, bus.Names{}, kn)
	defer stop()

	rep, err := memory.Search(ctx, nc, bus.Names{}, memory.SearchRequest{Query: "free disk space", K: 5, Pool: "ops"})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range rep.Matches {
		fmt.Printf("%.2f %s\n", m.Score, m.Command)
	}
}
