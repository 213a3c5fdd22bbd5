package api_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// A worker credential may publish memory failures but not on
// amf.api.submit.trusted; a push consumer on the memory stream delivering
// its message there, carrying a task body, must not submit a trusted
// task. No worker may make such a consumer (only the kernel makes its
// followers', into their own inboxes: followers_attack_test.go), so an
// operator's stands in for one made by mistake. Two things hold it: the
// delivery keeps its stored subject (amf.memory.…), which names no grant,
// and the service drops JetStream deliveries outright.
func TestServiceIgnoresJetStreamDeliveries(t *testing.T) {
	t.Parallel()
	k, c := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	svcCtx, stop := context.WithCancel(ctx)
	svc := &api.Service{Client: c}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := svc.Run(svcCtx); err != nil {
			t.Errorf("service: %v", err)
		}
	}()
	t.Cleanup(func() { stop(); wg.Wait() })

	names := bus.Names{}
	nc := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "submit-attacker", Role: kernel.RoleWorker}))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bait := names.MemoryFailed()
	_, err = k.JS.CreateOrUpdateConsumer(ctx, names.MemoryStream(), jetstream.ConsumerConfig{
		Durable: "submit-inject", DeliverSubject: names.Submit("trusted"), FilterSubject: bait,
		AckPolicy: jetstream.AckNonePolicy, DeliverPolicy: jetstream.DeliverNewPolicy,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// A genuine submission through the service first, so it is listening.
	if _, _, err := (&client.Client{NC: k.NC, ViaAPI: true}).Submit(ctx, bus.Task{ID: "genuine", Command: "true"}); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	// Watch the delivery arrive where the service listens.
	seen, err := k.NC.SubscribeSync(names.Submit("trusted"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, bait, []byte(`{"id":"smuggled","command":"id","policy":"trusted"}`)); err != nil {
		t.Fatal(err)
	}
	m, err := seen.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("the smuggled submission was never delivered: %v", err)
	}
	if !bus.JetStreamDelivery(m.Reply, m.Header) {
		t.Fatalf("delivery with reply %q: not recognisable as JetStream's", m.Reply)
	}
	// The service answers a genuine request on the same endpoint after
	// the delivery, so the delivery has been handled (or ignored) by then.
	if _, _, err := (&client.Client{NC: k.NC, ViaAPI: true}).Submit(ctx, bus.Task{ID: "after", Command: "true", Policy: "trusted"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LastEvent(ctx, "smuggled"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a JetStream delivery on %s submitted a task: %v", names.Submit("trusted"), err)
	}
}
