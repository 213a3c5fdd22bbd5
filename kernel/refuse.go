package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// RuleNoPool is the rule of the failed event a task gets when it was
// published below a pool's subject, where no worker looks.
const RuleNoPool = "no-pool"

// refuseGroup makes one kernel of a cluster answer each such task.
const refuseGroup = "amf-kernel-refuse"

// refuseNested fails every task published below a pool subject
// (amf.tasks.a.b.c): the tasks stream takes a pool and a grant only, so such a task
// would otherwise vanish unseen. It gets a failed event saying where to
// publish instead, and a publisher waiting for an ack gets the same as an
// error.
func refuseNested(nc *nats.Conn, names bus.Names, log *slog.Logger) (*nats.Subscription, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return nc.QueueSubscribe(names.Tasks()+".*.>", refuseGroup, func(m *nats.Msg) {
		task, _ := bus.DecodeTaskMsg(m.Data, m.Header, 0)
		reason := fmt.Sprintf("subject %s names no pool: publish a task on %s (or %s with a granted profile), e.g. %s",
			m.Subject, names.Task("<pool>"), names.TaskFor("<pool>", "<policy>"), names.Task(bus.DefaultPool))
		if bus.InboxReply(m.Reply) {
			body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 400, "description": reason}})
			_ = m.Respond(body)
		}
		failed := bus.Event{TaskID: task.ID, Type: bus.EventFailed, Rule: RuleNoPool, Reason: reason, TS: time.Now().UTC()}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Fenced on an empty subject: an id that names a known task is
		// not this message's to end.
		if _, err := js.PublishMsg(ctx, names.EventMsg(failed), names.FencedTask(failed.TaskID, 0)); err != nil && !bus.IsFenceConflict(err) {
			log.Warn("report a task published below a pool subject", "subject", m.Subject, "task", task.ID, "err", err)
		}
	})
}
