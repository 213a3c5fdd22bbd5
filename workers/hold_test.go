package workers

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A worker whose in-progress acks go unanswered for the ack wait (here:
// its consumer is gone, as when a partition outlasts the ack wait and the
// pool redelivers) is told it lost the task, so it stops the run.
func TestUnansweredRenewalsLoseTheHold(t *testing.T) {
	k := kerneltest.Start(t)
	ctx := context.Background()
	s, err := k.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "FLEET_HOLD", Subjects: []string{"fleethold.>"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "hold", AckPolicy: jetstream.AckExplicitPolicy, AckWait: bus.PoolAckWait})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.JS.Publish(ctx, "fleethold.task", []byte("task")); err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	msg := <-batch.Messages()
	if msg == nil {
		t.Fatalf("no message: %v", batch.Error())
	}
	// A renewal the server answers.
	if _, err := k.NC.Request(msg.Reply(), []byte("+WPI"), 5*time.Second); err != nil {
		t.Fatalf("renewal unanswered while the consumer holds the message: %v", err)
	}
	if err := s.DeleteConsumer(ctx, "hold"); err != nil {
		t.Fatal(err)
	}
	w := &Worker{cfg: Config{NC: k.NC}}
	lost := make(chan struct{})
	stop := w.keepInProgress(ctx, msg, time.Now(), func() { close(lost) })
	defer stop()
	<-lost
}
