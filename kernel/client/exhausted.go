package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// RuleMaxDeliveries is the rule of the failed event a task gets when its
// pool delivered it as often as allowed and no worker finished it.
const RuleMaxDeliveries = "max-deliveries"

// maxDeliveriesAdvisory is what JetStream publishes when a consumer gives
// up on a message.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// exhaustedQueue makes the kernels of a cluster share the advisories, so
// each is handled once.
const exhaustedQueue = "amf-kernel-exhausted"

// EndExhausted ends every task its pool stops delivering: JetStream gives
// up on a message after the consumer's MaxDeliver deliveries and says so
// in an advisory, but the task would stay running forever. The kernel
// answers each advisory with a terminal failed event naming the
// deliveries and the workers that took the task, and removes the message
// from the queue. Unsubscribe the returned subscription to stop.
func (c *Client) EndExhausted(log *slog.Logger) (*nats.Subscription, error) {
	if c.JS == nil {
		js, err := jetstream.New(c.NC)
		if err != nil {
			return nil, err
		}
		c.JS = js
	}
	return c.NC.QueueSubscribe(maxDeliveriesSubject(c.Names.TasksStream()), exhaustedQueue, func(m *nats.Msg) {
		var a maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data, &a); err != nil || a.StreamSeq == 0 {
			log.Warn("unreadable max-deliveries advisory", "subject", m.Subject, "err", err)
			return
		}
		// Handled apart from the subscription's goroutine: reading the
		// task's events must not hold up the next advisory.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.endExhausted(ctx, a); err != nil {
				log.Error("end a task no worker finished", "stream_seq", a.StreamSeq, "consumer", a.Consumer, "err", err)
			}
		}()
	})
}

func (c *Client) endExhausted(ctx context.Context, a maxDeliveriesAdvisory) error {
	tasks, err := c.JS.Stream(ctx, c.Names.TasksStream())
	if err != nil {
		return err
	}
	raw, err := tasks.GetMsg(ctx, a.StreamSeq)
	if err != nil {
		// Already removed: acknowledged late, or handled by another kernel.
		return nil
	}
	id := queuedTaskID(raw)
	for range 5 {
		var tookIt []string
		var last RawEvent
		var attempts []bus.AttemptSummary
		err := c.Watch(ctx, id, 0, false, func(e bus.Event) error {
			last = RawEvent{Seq: e.Seq, Type: e.Type}
			if e.Type == bus.EventAssigned {
				who := e.Worker
				if e.Host != "" {
					who += " on " + e.Host
				}
				tookIt = append(tookIt, e.Worker)
				attempts = append(attempts, bus.AttemptSummary{Attempt: e.Delivery, Reason: fmt.Sprintf("delivery %d: %s stopped without finishing", e.Delivery, who)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !last.Type.Terminal() {
			reason := fmt.Sprintf("no worker finished the task in %d deliveries", a.Deliveries)
			if len(tookIt) > 0 {
				reason += "; workers that took it and stopped: " + strings.Join(tookIt, ", ")
			}
			e := bus.Event{TaskID: id, Type: bus.EventFailed, TS: time.Now().UTC(), Rule: RuleMaxDeliveries,
				Reason: reason, Delivery: int(a.Deliveries), Attempts: attempts}
			_, err = c.JS.PublishMsg(ctx, eventMsg(c.Names, e, "max-deliveries-"+id), c.Names.FencedTask(id, last.Seq))
			if bus.IsFenceConflict(err) {
				continue // a late worker stored something; look again
			}
			if err != nil {
				return fmt.Errorf("store failed event of %s: %w", id, err)
			}
		}
		// Ended either way: nothing will deliver it again, so the queue
		// need not keep it.
		if err := tasks.DeleteMsg(ctx, a.StreamSeq); err != nil && !strings.Contains(err.Error(), "not found") {
			return fmt.Errorf("remove task %s from the queue: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("task %s: events kept arriving while ending it", id)
}

// queuedTaskID is the id of a queued task message, derived the way the
// workers derive it: its body's id, else its de-duplication header, else
// its stream sequence.
func queuedTaskID(raw *jetstream.RawStreamMsg) string {
	if id := bus.PeekID(raw.Data); id != "" {
		return id
	}
	if h := raw.Header.Get(bus.HeaderMsgID); h != "" && bus.ValidToken(h) {
		return h
	}
	return fmt.Sprintf("t-seq%d", raw.Sequence)
}

// maxDeliveriesSubject is where JetStream announces the messages of a
// stream's consumers that ran out of deliveries.
func maxDeliveriesSubject(stream string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + ".*"
}
