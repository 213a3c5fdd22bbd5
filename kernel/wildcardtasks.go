package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// wildcardSweepEvery is how often the kernel looks for tasks stored on a
// subject with a wildcard token.
var wildcardSweepEvery = 2 * time.Second

// A credential that may publish on amf.tasks.* may publish on the
// literal subjects amf.tasks.* and amf.tasks.>: nats-server matches a
// published subject's tokens literally against the allow list, where
// "*" admits any token, "*" included, and a deny list cannot name the
// literal token without denying every pool. The tasks stream stores such
// a message (its subject pattern matches it too), yet no pool's consumer
// filter does: it would wait forever with no event, shown as pool "*".
// So the kernel ends them: it watches the queue's subjects, and a task
// stored on one with a wildcard token gets a failed event saying where
// to publish, and is removed.

func (s *Server) sweepWildcardTasks(js jetstream.JetStream) *sweeper {
	log := s.logger().With("part", "wildcard-tasks")
	return sweep(wildcardSweepEvery, func(ctx context.Context) {
		if err := endWildcardTasks(ctx, js, s.Names, log); err != nil && ctx.Err() == nil {
			log.Warn("end tasks stored on wildcard subjects", "err", err)
		}
	})
}

// wildcardSubject reports a subject with a "*" or ">" token.
func wildcardSubject(subject string) bool {
	for _, tok := range strings.Split(subject, ".") {
		if tok == "*" || tok == ">" {
			return true
		}
	}
	return false
}

// endWildcardTasks ends every task stored on a subject with a wildcard
// token. The subjects' counts come with the stream's info; only when one
// has such a subject are the queued messages walked to find them (a
// lookup by that subject would read its tokens as wildcards).
func endWildcardTasks(ctx context.Context, js jetstream.JetStream, names bus.Names, log *slog.Logger) error {
	tasks, err := js.Stream(ctx, names.TasksStream())
	if err != nil {
		return err
	}
	info, err := tasks.Info(ctx, jetstream.WithSubjectFilter(names.Task(">")))
	if err != nil {
		return err
	}
	found := false
	for subject := range info.State.Subjects {
		found = found || wildcardSubject(subject)
	}
	if !found {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; {
		raw, err := tasks.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(names.Task(">")))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		seq = raw.Sequence + 1
		if !wildcardSubject(raw.Subject) {
			continue
		}
		task, _ := bus.DecodeTaskMsg(raw.Data, raw.Header, raw.Sequence)
		reason := fmt.Sprintf("subject %s has a wildcard token and names no pool: publish a task on %s, e.g. %s",
			raw.Subject, names.Task("<pool>"), names.Task(bus.DefaultPool))
		failed := bus.Event{TaskID: task.ID, Type: bus.EventFailed, Rule: RuleNoPool, Reason: reason, TS: time.Now().UTC()}
		// Fenced on an empty subject: an id that names a known task is
		// not this message's to end; the message goes either way.
		if _, err := js.PublishMsg(ctx, names.EventMsg(failed), names.FencedTask(failed.TaskID, 0)); err != nil && !bus.IsFenceConflict(err) {
			return fmt.Errorf("report task %s on %s: %w", task.ID, raw.Subject, err)
		}
		if err := tasks.DeleteMsg(ctx, raw.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("remove task %s on %s: %w", task.ID, raw.Subject, err)
		}
		log.Info("ended a task published on a wildcard subject", "subject", raw.Subject, "task", task.ID)
	}
	return nil
}
