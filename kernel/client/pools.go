package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// PoolList is the answer to <prefix>.api.pools and GET /v1/pools: one
// shape on both paths.
type PoolList struct {
	Pools []Pool `json:"pools"`
}

// Pool is the back-pressure of one pool: what waits, what runs, what had
// to be delivered again and what no worker could finish.
type Pool struct {
	Name string `json:"name"`
	// Stored is every task message the pool's queue holds: waiting,
	// running, and spent ones the kernel has not removed yet.
	Stored uint64 `json:"stored"`
	// Waiting tasks have not been delivered to any worker yet.
	Waiting uint64 `json:"waiting"`
	// Running tasks are held by a worker and not yet acknowledged.
	Running int `json:"running"`
	// Redelivered of the running tasks were delivered more than once
	// (their first worker died or handed them back).
	Redelivered int `json:"redelivered"`
	// IdleRequests are worker requests for work waiting for a task: idle
	// capacity. Zero with tasks waiting means the pool is saturated, or
	// has no workers.
	IdleRequests int `json:"idle_requests"`
	// MaxDeliver is how often a task is delivered before it is failed.
	MaxDeliver int `json:"max_deliver"`
	// MaxDeliveryFailures counts tasks failed for running out of
	// deliveries, since this process began counting.
	MaxDeliveryFailures uint64 `json:"max_delivery_failures"`
	// NoWorkers means no worker of the pool ever connected: nothing will
	// take its waiting tasks.
	NoWorkers bool `json:"no_workers,omitempty"`
}

// Pools reports every pool that has workers or queued tasks, by name.
// failures may be nil.
func (c *Client) Pools(ctx context.Context, failures *DeliveryFailures) ([]Pool, error) {
	if err := c.init(ctx); err != nil {
		return nil, err
	}
	stream, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return nil, fmt.Errorf("%w: tasks stream: %v", ErrUnavailable, err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(c.Names.Task(">")))
	if err != nil {
		return nil, fmt.Errorf("%w: tasks stream: %v", ErrUnavailable, err)
	}
	byName := map[string]*Pool{}
	pool := func(name string) *Pool {
		if p := byName[name]; p != nil {
			return p
		}
		p := &Pool{Name: name, NoWorkers: true}
		byName[name] = p
		return p
	}
	taskPrefix := strings.TrimSuffix(c.Names.Task("x"), "x")
	for subject, n := range info.State.Subjects {
		// amf.tasks.<pool> and its granted-profile subjects
		// amf.tasks.<pool>.<policy> count for the same pool.
		if rest, ok := strings.CutPrefix(subject, taskPrefix); ok {
			name, _, _ := strings.Cut(rest, ".")
			if !bus.ValidToken(name) {
				continue // a wildcard token: the kernel ends such tasks
			}
			p := pool(name)
			p.Stored += n
			p.Waiting += n
		}
	}
	consumerPrefix := strings.TrimSuffix(c.Names.PoolConsumer("x"), "x")
	list := stream.ListConsumers(ctx)
	for ci := range list.Info() {
		name, ok := strings.CutPrefix(ci.Name, consumerPrefix)
		if !ok || (ci.Config.FilterSubject != c.Names.Task(name) && !slices.Contains(ci.Config.FilterSubjects, c.Names.Task(name))) {
			continue
		}
		p := pool(name)
		p.NoWorkers = false
		p.Waiting = ci.NumPending
		p.Running = ci.NumAckPending
		p.Redelivered = ci.NumRedelivered
		p.IdleRequests = ci.NumWaiting
		p.MaxDeliver = ci.Config.MaxDeliver
	}
	if err := list.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("%w: pool consumers: %v", ErrUnavailable, err)
	}
	out := make([]Pool, 0, len(byName))
	for _, p := range byName {
		p.MaxDeliveryFailures = failures.count(p.Name)
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Pool) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// DeliveryFailures counts, per pool, the tasks JetStream stopped
// delivering after their maximum deliveries, from its advisories.
type DeliveryFailures struct {
	mu     sync.Mutex
	byPool map[string]uint64
	sub    *nats.Subscription
}

// CountDeliveryFailures starts counting; Stop ends it.
func (c *Client) CountDeliveryFailures() (*DeliveryFailures, error) {
	f := &DeliveryFailures{byPool: map[string]uint64{}}
	consumerPrefix := strings.TrimSuffix(c.Names.PoolConsumer("x"), "x")
	sub, err := c.NC.Subscribe(maxDeliveriesSubject(c.Names.TasksStream()), func(m *nats.Msg) {
		var a maxDeliveriesAdvisory
		if json.Unmarshal(m.Data, &a) != nil {
			return
		}
		if name, ok := strings.CutPrefix(a.Consumer, consumerPrefix); ok {
			f.mu.Lock()
			f.byPool[name]++
			f.mu.Unlock()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("count max-delivery failures: %w", err)
	}
	f.sub = sub
	return f, nil
}

func (f *DeliveryFailures) count(pool string) uint64 {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byPool[pool]
}

// Stop ends the counting.
func (f *DeliveryFailures) Stop() {
	if f != nil && f.sub != nil {
		_ = f.sub.Unsubscribe()
	}
}
