package kernel

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// A reader's consumer filters on its task's id, not on one recording of
// it, and delivers for as long as its inbox is listened to. Once the
// task's events are gone (aged out, --events-max-age, or discarded for
// room) the id is free, and a consumer a reader kept open past its task
// would deliver the next owner's task recorded under it. The kernel
// therefore deletes a reader's consumer whose task has no events left,
// whose events age out soon (before the id can be taken again), or
// whose task ended and the end was delivered a while ago (readerEndGrace:
// a reader has what it came for).
var (
	readerReapEvery = 30 * time.Second
	readerEndGrace  = time.Minute
)

// sweepReaders starts the deletion of spent readers' consumers. Every
// kernel of a cluster runs one; two deleting the same consumer is one
// deletion and a not-found.
func (s *Server) sweepReaders(js jetstream.JetStream) *sweeper {
	maxAge := s.EventsMaxAge
	if maxAge <= 0 {
		maxAge = bus.DefaultEventsMaxAge
	}
	// A few passes within the margin, so that one missed pass still
	// deletes in time.
	every := min(readerReapEvery, bus.ReaderAgeMargin(maxAge)/4)
	log := s.logger().With("part", "readers")
	return sweep(every, func(ctx context.Context) {
		reapReaders(ctx, js, s.Names, log, time.Now())
	})
}

// reapReaders deletes the readers' consumers that are spent at now.
func reapReaders(ctx context.Context, js jetstream.JetStream, names bus.Names, log *slog.Logger, now time.Time) {
	events, err := js.Stream(ctx, names.EventsStream())
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("look up the events stream", "err", err)
		}
		return
	}
	maxAge := events.CachedInfo().Config.MaxAge
	// A task's newest event, read once a pass however many readers it
	// has (every SSE client of one task holds a consumer of its own).
	type newest struct {
		msg *jetstream.RawStreamMsg
		err error
	}
	lasts := map[string]newest{}
	list := events.ListConsumers(ctx)
	for info := range list.Info() {
		if !bus.IsReaderName(info.Name) {
			continue
		}
		id, ok := names.ReaderTask(info.Config)
		if !ok {
			continue
		}
		last, read := lasts[id]
		if !read {
			last.msg, last.err = events.GetLastMsgForSubject(ctx, names.TaskEvents(id))
			lasts[id] = last
		}
		why, err := readerSpent(last.msg, last.err, info, maxAge, now)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("look up a reader's task", "task", id, "consumer", info.Name, "err", err)
			}
			continue
		}
		if why == "" {
			continue
		}
		if err := events.DeleteConsumer(ctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			log.Warn("delete a spent reader", "task", id, "consumer", info.Name, "err", err)
			continue
		}
		log.Debug("deleted a spent reader", "task", id, "consumer", info.Name, "why", why)
	}
	if err := list.Err(); err != nil && ctx.Err() == nil {
		log.Warn("list readers", "err", err)
	}
}

// readerSpent says why a reader's consumer is spent at now, or "" when
// it is not, given its task's newest event as read (last, err): its task
// has no events left, its task's newest event ages out within
// bus.ReaderAgeMargin, or its task ended and the end was delivered more than
// readerEndGrace ago.
func readerSpent(last *jetstream.RawStreamMsg, err error, info *jetstream.ConsumerInfo, maxAge time.Duration, now time.Time) (string, error) {
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return "its task has no events left", nil
	case err != nil:
		return "", err
	}
	if bus.AgesOutSoon(last.Time, maxAge, now) {
		return "its task's events age out soon", nil
	}
	if bus.MsgEventType(last.Header, last.Data).Terminal() && info.Delivered.Stream >= last.Sequence && now.Sub(last.Time) > readerEndGrace {
		return "its task ended", nil
	}
	return "", nil
}
