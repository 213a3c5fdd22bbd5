package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// When the meta group cannot take the hand-over of a consumer made ahead
// (UpdatePushConsumer answered 503 while its leader moves) nor its
// delete, the task API makes the submitter's reader again under the same
// name (api.submitterStream: MakeReaderOf). The consumer it names must
// deliver the task to the submitter's inbox, not stay parked on the
// kernel's own inbox, where nobody reads.
func TestReaderMadeAgainAfterAFailedHandOverDelivers(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, Names: names}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reader, origin := client.Reader{All: true}, bus.Task{Pool: "a"}
	inbox := k.NC.NewInbox()
	sub, err := k.NC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	req := bus.ReaderRequest{Task: "handed-over", Deliver: inbox}
	ahead := c.MakeReaderAhead(ctx, reader, req, origin, 0)
	if ahead.Name == "" {
		t.Fatal("no consumer made ahead")
	}
	ack, err := k.JS.PublishMsg(ctx, names.EventMsg(bus.Event{TaskID: req.Task, Type: bus.EventAccepted, TS: time.Now().UTC()}))
	if err != nil {
		t.Fatal(err)
	}
	// The hand-over and the delete both failed: the consumer made ahead
	// is still parked. The reader is made again, as after the event.
	name, err := c.MakeReaderOf(ctx, reader, req, origin, ack.Sequence, 0)
	if err != nil {
		// Refusing is fine: the submitter then opens its stream itself.
		return
	}
	if name != ahead.Name {
		t.Fatalf("made again as %s, ahead as %s", name, ahead.Name)
	}
	m, err := sub.NextMsg(2 * bus.ReaderHeartbeat)
	for err == nil && len(m.Data) == 0 {
		m, err = sub.NextMsg(2 * bus.ReaderHeartbeat) // a heartbeat
	}
	if err != nil || bus.MsgEventType(m.Header, m.Data) != bus.EventAccepted {
		info, _ := k.JS.PushConsumer(ctx, names.EventsStream(), name)
		deliver := ""
		if info != nil {
			deliver = info.CachedInfo().Config.DeliverSubject
		}
		t.Fatalf("the reader named %s delivers nothing to %s (%v): it delivers to %q", name, inbox, err, deliver)
	}
}
