package client_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// BenchmarkSubmit is one submission (the accepted event claiming the id,
// then the task queued) against its baseline in the same run: one bare
// JetStream publish of the same task.
func BenchmarkSubmit(b *testing.B) {
	k := kerneltest.Start(b)
	ctx := context.Background()
	b.Run("publish", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			id := "p" + strconv.Itoa(i)
			t := bus.Task{ID: id, Command: "true", Pool: "bench"}
			if _, err := k.JS.PublishMsg(ctx, &nats.Msg{Subject: bus.Names{}.Task("bench"), Data: t.Encode(), Header: nats.Header{bus.HeaderMsgID: []string{id}}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("submit", func(b *testing.B) {
		_, c := setupB(b, k)
		i := 0
		for b.Loop() {
			i++
			if _, _, err := c.Submit(ctx, bus.Task{ID: "s" + strconv.Itoa(i), Command: "true", Pool: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
