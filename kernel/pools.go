package kernel

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// servePools opens a pool's consumer when a worker asks for it. Workers'
// credentials may not create consumers, so the consumer's configuration
// is the bus's, never the asker's; nats-server lets a worker ask only for
// the pools its credential names.
func (s *Server) servePools(nc *nats.Conn, js jetstream.JetStream) error {
	names := s.Names
	var leaves *leafInterest
	if s.LeafListen != "" {
		leaves = &leafInterest{nc: nc}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		leaves.carryKnownPools(ctx, s, js)
		cancel()
	}
	_, err := nc.QueueSubscribe(names.PoolSubject("*"), "amf-kernel", func(m *nats.Msg) {
		if !bus.InboxReply(m.Reply) {
			return // answered only into an inbox (bus.InboxReply)
		}
		pool := strings.TrimPrefix(m.Subject, names.PoolSubject(""))
		if !bus.ValidToken(pool) {
			_ = m.Respond([]byte("invalid pool"))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := js.CreateOrUpdateConsumer(ctx, names.TasksStream(), names.PoolConsumerConfig(pool)); err != nil {
			s.logger().Warn("open pool consumer", "pool", pool, "err", err)
			return // the worker's request times out and it reports why
		}
		if leaves != nil {
			leaves.carry(s, pool)
		}
		_ = m.Respond([]byte("ok"))
	})
	return err
}
