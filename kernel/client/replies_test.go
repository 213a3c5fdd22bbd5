package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestReplyQueue: answers come in order, and a reader whose connection
// is closed hears so at once, as a SubscribeSync reader does, instead of
// waiting out its timeout.
func TestReplyQueue(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	nc := k.ConnectAs(k.AdminCreds)
	c := &client.Client{NC: nc, Names: bus.Names{}}
	inbox := nc.NewInbox()
	next, stop, err := c.ReplyQueue(inbox, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, s := range []string{"one", "two"} {
		if err := nc.Publish(inbox, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, want := range []string{"one", "two"} {
		m, err := next(ctx)
		if err != nil || string(m.Data) != want {
			t.Fatalf("answer %v, %v; want %q", m, err, want)
		}
	}
	time.AfterFunc(50*time.Millisecond, nc.Close)
	start := time.Now()
	if _, err := next(ctx); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("reader of a closed connection got %v, want %v", err, nats.ErrConnectionClosed)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the reader heard of the close after %v", d)
	}
}
