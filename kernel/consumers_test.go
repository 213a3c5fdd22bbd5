package kernel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader cannot leave consumers behind for good: a durable left on the
// memory stream (only the kernel and operators make consumers there; a
// worker follows through one the kernel makes, kernel/api/
// followers_attack_test.go) is deleted by the server once nobody pulls
// from it, and the streams cap their consumers. Nobody but the kernel
// makes consumers on the events and tasks streams
// (kernel/api/readers_attack_test.go).
func TestReadersCannotLeaveConsumersBehind(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream := names.MemoryStream()
	c, err := k.JS.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "left-behind", AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatalf("an operator creates a consumer on %s: %v", stream, err)
	}
	if got := c.CachedInfo().Config.InactiveThreshold; got != bus.ReaderConsumerInactive {
		t.Errorf("a durable on %s lives while idle for %v, want %v", stream, got, bus.ReaderConsumerInactive)
	}
	if _, err := k.JS.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "forever", InactiveThreshold: 1000 * time.Hour}); err == nil {
		t.Errorf("a consumer on %s outlives the limit", stream)
	}
	for _, stream := range []string{names.EventsStream(), names.MemoryStream()} {
		s, err := k.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.MaxConsumers; got != bus.ReaderMaxConsumers {
			t.Errorf("%s holds up to %d consumers, want %d", stream, got, bus.ReaderMaxConsumers)
		}
	}
}

// A worker reads the hot cache's buckets by key and makes no consumers
// there: the server refuses it one.
func TestWorkersMakeNoConsumersOnTheBuckets(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, denied := roleConn(t, k, kernel.UserSpec{Role: kernel.RoleWorker})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{names.StatusBucket(), names.WorkersBucket(), names.SessionsBucket()} {
		if _, err := k.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		// The refused request gets no answer: bound the wait.
		refused, cancelRefused := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.CreateOrUpdateConsumer(refused, "KV_"+b, jetstream.ConsumerConfig{DeliverSubject: names.Control("victim"), AckPolicy: jetstream.AckNonePolicy})
		cancelRefused()
		if err == nil || !strings.Contains(strings.Join(denied(), "\n"), "Publish to \"$JS.API.CONSUMER.CREATE.KV_"+b) {
			t.Errorf("a worker's push consumer on KV_%s was not refused by the server: %v", b, err)
		}
		kv, err := js.KeyValue(ctx, b)
		if err != nil {
			t.Fatalf("worker opens %s: %v", b, err)
		}
		if b == names.StatusBucket() {
			continue // read only
		}
		if _, err := kv.Put(ctx, "w1", []byte("x")); err != nil {
			t.Fatalf("worker writes %s: %v", b, err)
		}
		if e, err := kv.Get(ctx, "w1"); err != nil || string(e.Value()) != "x" {
			t.Fatalf("worker reads %s: %v", b, err)
		}
	}
}
