package client_test

import (
	"context"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A streamed submission's reader is made ahead of its record once the
// events stream keeps as many subjects as asked: counted in the
// background, so the first ask, before any count, makes it after.
func TestReadersAreMadeAheadOnceTheStreamKeepsEnough(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	manyTasks(t, k.JS, names, 100) // two subjects each
	c := &client.Client{NC: k.NC, Names: names}
	ctx := context.Background()
	if !c.ReadersAhead(ctx, -1) {
		t.Fatal("not made ahead when asked to be always")
	}
	if c.ReadersAhead(ctx, 150) {
		t.Fatal("made ahead before the stream was counted")
	}
	testenv.Eventually(t, "the stream's 200 subjects counted", func() bool { return c.ReadersAhead(ctx, 150) })
	if c.ReadersAhead(ctx, 201) {
		t.Fatal("made ahead with 200 subjects kept, from 201")
	}
}

// A reader made ahead under the name of one its asker already reads (the
// same task, the same inbox: a streamed submission of a task asked
// again) is not made: the one there delivers where its reader listens,
// and is left alone, not taken for one left parked and made anew.
func TestAReaderMadeAheadLeavesTheOneItsAskerReads(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	c := &client.Client{NC: k.NC, JS: k.JS, Names: names}
	ctx := context.Background()
	owner := bus.Owner("nats:UREADER")
	req := bus.ReaderRequest{Task: "asked-again", Deliver: k.NC.NewInbox()}
	origin := bus.Task{Owner: owner, Pool: "nobody"}
	name, err := c.MakeReaderOf(ctx, client.Reader{Owner: owner}, req, origin, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.MakeReaderAhead(ctx, client.Reader{Owner: owner}, req, origin, 0); a.Name != "" {
		t.Fatalf("made ahead over the reader's own consumer %s", a.Name)
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := events.PushConsumer(ctx, name)
	if err != nil {
		t.Fatalf("the reader's consumer is gone: %v", err)
	}
	if got := pc.CachedInfo().Config.DeliverSubject; got != req.Deliver {
		t.Fatalf("the reader's consumer delivers to %s, not to its reader's %s", got, req.Deliver)
	}
}
