package kernel

import (
	"context"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// leafInterest makes a pool's worker event subjects (amf.events.*.<pool>.*)
// reach the sites' leafnodes as interest. A worker credential may store
// events only on its own pools' subjects, and nats-server offers a leaf
// only the interest its credential may publish on: the events stream's
// own interest (amf.events.>) is broader, so without an interest of the
// pool's own shape a worker behind a leaf would find no stream to store
// on. The subscription takes nothing: it holds the interest open.
type leafInterest struct {
	mu    sync.Mutex
	nc    *nats.Conn
	pools map[string]*nats.Subscription
}

// carry holds pool's interest open, once.
func (l *leafInterest) carry(s *Server, pool string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pools[pool] != nil {
		return
	}
	sub, err := l.nc.Subscribe(s.Names.EventBy("*", pool, "*"), func(*nats.Msg) {})
	if err != nil {
		s.logger().Warn("carry a pool's events over leafnodes", "pool", pool, "err", err)
		return
	}
	// Delivered here only to be dropped: keep no backlog of them.
	_ = sub.SetPendingLimits(1, 1<<20)
	if l.pools == nil {
		l.pools = map[string]*nats.Subscription{}
	}
	l.pools[pool] = sub
}

// carryKnownPools holds the interest of every pool that has a consumer.
func (l *leafInterest) carryKnownPools(ctx context.Context, s *Server, js jetstream.JetStream) {
	stream, err := js.Stream(ctx, s.Names.TasksStream())
	if err != nil {
		return
	}
	names := stream.ConsumerNames(ctx)
	for name := range names.Name() {
		if pool, ok := strings.CutPrefix(name, s.Names.PoolConsumer("")); ok {
			l.carry(s, pool)
		}
	}
}
