package api

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// recountEvery bounds how often an owner at its limit has its tasks'
// states read again: a flood's refusals cost no reads in between.
const recountEvery = time.Second

// Tasks with no events left are released only once the tasks stream is
// read and no longer holds them; that read walks the queue, so it is made
// at most once per scanEvery (a task whose events aged out before the
// ledger saw it end makes room a little later), and only for tasks held
// longer than unrecordedAfter (a submission counted a moment before its
// accepted event was stored has no events yet either).
// Each owner's tasks are looked for at most once per scanEvery, and the
// kernel reads the stream at most once per scanGap for anyone: one owner
// that keeps asking cannot take every read from the others.
const (
	scanEvery       = time.Minute
	scanGap         = 5 * time.Second
	unrecordedAfter = 10 * time.Second
)

// nearLocked reports whether h is within the last quarter of a quota
// and has counted enough tasks since its last recount that one is due
// before the quota is reached. Tasks are released only by a recount, so
// without one an owner whose tasks end as fast as it submits (one `amf
// run` after another, a schedule) would be refused once per quota's
// worth of tasks while holding almost none. A recount reads every held
// task's state, so it is made once a sixteenth as many tasks as the
// owner holds have been counted since the last: at most 16 reads per
// task counted, however many it holds (a byte quota alone lets it hold
// many), not a recount for every task of an owner that stays near.
func (l *ledger) nearLocked(h *holding) bool {
	q := l.quota
	near := (q.Tasks > 0 && len(h.tasks) >= q.Tasks-q.Tasks/4) ||
		(q.TaskBytes > 0 && h.bytes >= q.TaskBytes-q.TaskBytes/4)
	return near && h.since >= max(1, len(h.tasks)/16)
}

// recountLocked starts a recount of h when one is due.
func (l *ledger) recountLocked(h *holding) {
	if h.counting || (time.Since(h.counted) < recountEvery && !l.nearLocked(h)) || l.ctx.Err() != nil {
		return
	}
	h.counting, h.since = true, 0
	tasks := make(map[string]held, len(h.tasks))
	maps.Copy(tasks, h.tasks)
	l.wg.Add(1)
	go l.recount(h, tasks)
}

// recount forgets the tasks that have ended: each the count the recount
// read, never another under its key (a new submission under its id may
// have taken the key meanwhile and moved it aside, again).
func (l *ledger) recount(h *holding, tasks map[string]held) {
	defer l.wg.Done()
	ended := l.ended(l.ctx, h, tasks)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range ended {
		t := tasks[key]
		if now, ok := h.tasks[key]; ok && now.serial != t.serial {
			key = movedKey(t)
		}
		l.forgetLocked(h, key, t.serial)
	}
	h.counted, h.counting = time.Now(), false
}

// ended are the keys of h's tasks that will not run: those whose own
// status is final and whose body no longer waits in the tasks stream, and
// those without a status of their own (no events left, or the id taken
// again since) whose body the tasks stream no longer holds either.
//
// A task cancelled while it waited (for a pool nobody serves) is final,
// but its body stays in the queue everyone shares until a worker of its
// pool takes it and finds it ended. Released then, an owner that submits
// and cancels in turn would fill that queue past its own quota, and the
// queue would refuse everyone. Its body is removed first: at once from
// its place, when this kernel queued it; else once a read of the tasks
// stream finds it (QueuedAmong finds a body by its id, owner and
// submission time). Only the submission's own body is ever removed.
func (l *ledger) ended(ctx context.Context, h *holding, tasks map[string]held) []string {
	owner := h.owner
	var out []string
	var keys []string // of the tasks looked for in the queue
	var refs []client.QueuedRef
	cancelled := map[string]bool{} // looked for in the queue, to remove
	lookFor := func(key string, t held) {
		keys, refs = append(keys, key), append(refs, t.ref(owner))
	}
	for key, t := range tasks {
		st, err := l.status(ctx, t.id)
		own := err == nil && t.owns(owner, st)
		switch {
		case own && st.State == bus.StateCancelled && l.drop != nil:
			if t.queued == 0 {
				cancelled[key] = true
				lookFor(key, t)
			} else if l.drop(ctx, t.queued) == nil {
				out = append(out, key)
			}
		case own && st.State.Final():
			out = append(out, key)
		case (errors.Is(err, client.ErrNotFound) || (err == nil && !own)) && time.Since(t.at) >= unrecordedAfter:
			// Another submission's status, or a worker's under an id
			// that had no events left, says nothing of this one.
			lookFor(key, t)
		}
	}
	if len(refs) == 0 || !l.scanDue(h) {
		return out
	}
	queued, err := l.queued(ctx, refs)
	if err != nil {
		// Still counted; read again after unrecordedAfter, not a whole
		// scanEvery: a read cut short by a busy store is no answer.
		l.mu.Lock()
		h.scanned = time.Now().Add(unrecordedAfter - scanEvery)
		l.mu.Unlock()
		return out
	}
	for i, key := range keys {
		switch seq := queued[i]; {
		case seq == 0:
			out = append(out, key)
		case cancelled[key] && l.drop(ctx, seq) == nil:
			out = append(out, key)
		}
	}
	return out
}

// scanDue reports whether the tasks stream may be read for h's tasks now,
// and if so counts this read.
func (l *ledger) scanDue(h *holding) bool {
	if l.queued == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(h.scanned) < scanEvery || time.Since(l.scanned) < scanGap {
		return false
	}
	h.scanned, l.scanned = time.Now(), time.Now()
	return true
}
