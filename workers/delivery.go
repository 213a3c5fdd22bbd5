package workers

import (
	"context"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
)

// ruleMaxDeliveries is the rule of a task that ran out of deliveries, as
// the kernel names it when JetStream's advisory says so.
const ruleMaxDeliveries = "max-deliveries"

// deliveryOf is which delivery of the task this one is. JetStream counts
// deliveries in the pool consumer, whose state a kernel that crashed may
// have lost: its count starts at 1 again and the max-deliveries bound
// with it. The task's events are the record that survives, so the count
// is also kept there: every event a worker stores carries its delivery,
// and this one is one past the newest recorded, or JetStream's count if
// that is higher.
func (w *Worker) deliveryOf(ctx context.Context, id string, numDelivered uint64, last bus.Event) int {
	n := int(numDelivered)
	switch {
	case last.Seq == 0 || last.Type == bus.EventAccepted:
		return n // nobody held the task yet
	case last.Delivery > 0:
		return max(n, last.Delivery+1)
	}
	// The newest event is not a worker's (a cancel request): the newest
	// delivery recorded is found by walking the task's events.
	prior := 0
	for seq := uint64(1); seq <= last.Seq; {
		e, err := w.cfg.Names.NextEvent(ctx, w.events, id, seq)
		if err != nil {
			break
		}
		prior = max(prior, e.Delivery)
		seq = e.Seq + 1
	}
	if prior == 0 {
		return n
	}
	return max(n, prior+1)
}

// tooManyDeliveries is why a task delivered past the pool's bound ends.
func tooManyDeliveries(delivery int) error {
	return fmt.Errorf("the task was delivered %d times, past the bound of %d: each worker that took it stopped without finishing (deliveries before a kernel restart count)", delivery, bus.PoolMaxDeliver)
}

// stamped is e with this delivery's number, as every event the worker
// stores carries it (see deliveryOf).
func (em *emitter) stamped(e bus.Event) bus.Event {
	if e.Delivery == 0 {
		e.Delivery = em.delivery
	}
	return e
}
