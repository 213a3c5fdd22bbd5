package kernel_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A reader cannot leave consumers behind for good: a durable a client
// or worker credential creates on a stream it reads is deleted by the
// server once nobody pulls from it, and the streams cap their consumers.
func TestReadersCannotLeaveConsumersBehind(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, role := range []kernel.Role{kernel.RoleClient, kernel.RoleWorker} {
		js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Role: role})))
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []string{names.EventsStream(), names.MemoryStream()} {
			if role == kernel.RoleClient && stream == names.MemoryStream() {
				continue // clients read only events
			}
			c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "left-behind-" + string(role), AckPolicy: jetstream.AckNonePolicy})
			if err != nil {
				t.Fatalf("%s creates a consumer on %s: %v", role, stream, err)
			}
			if got := c.CachedInfo().Config.InactiveThreshold; got != bus.ReaderConsumerInactive {
				t.Errorf("%s's durable on %s lives while idle for %v, want %v", role, stream, got, bus.ReaderConsumerInactive)
			}
			if _, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "forever-" + string(role), InactiveThreshold: 1000 * time.Hour}); err == nil {
				t.Errorf("%s made a consumer on %s that outlives the limit", role, stream)
			}
			s, err := k.JS.Stream(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CachedInfo().Config.MaxConsumers; got != bus.ReaderMaxConsumers {
				t.Errorf("%s holds up to %d consumers, want %d", stream, got, bus.ReaderMaxConsumers)
			}
		}
	}
}
