package api

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Quota bounds what one owner may hold at once, so one flooding owner is
// refused while everyone else's submissions go on. It is checked where
// tasks are accepted, the task API, which every submission passes
// through, and on the runs the kernel's schedule runner queues (Admit).
// The installation's own work (owner "", admins) is not bounded.
// Each kernel of a cluster keeps its own count: an owner may hold up to
// the limits on each kernel its requests reach.
type Quota struct {
	// Tasks is how many queued or running tasks one owner may hold;
	// 0 is DefaultQuotaTasks, < 0 none.
	Tasks int
	// TaskBytes is how many bytes of queued or running tasks one owner
	// may hold; 0 is DefaultQuotaTaskBytes, < 0 none.
	TaskBytes int64
}

// Default quotas: far below the tasks queue's bound (bus.DefaultTasksMaxBytes),
// so one owner cannot fill it for everyone.
const (
	DefaultQuotaTasks     = 1000
	DefaultQuotaTaskBytes = 64 << 20
)

// Settings that raise the quotas, named in refusals.
const (
	QuotaTasksSetting     = "--quota-tasks, AMF_QUOTA_TASKS"
	QuotaTaskBytesSetting = "--quota-task-mib, AMF_QUOTA_TASK_MIB"
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

// ledger counts each owner's accepted tasks that have not ended. A task
// is released only on a fact that it will not run (again): a final state
// read from its status (a terminal event: done, failed, cancelled, a
// worker's refusal), or the tasks stream no longer holding it (a worker
// acknowledged or terminated it). A task whose events aged out while it
// waited in the queue is still queued: "not found" alone releases nothing.
type ledger struct {
	quota  Quota
	status func(ctx context.Context, id string) (bus.Status, error)
	// queued, when set, reads which of the submissions the tasks stream
	// holds, and where.
	queued func(ctx context.Context, refs []client.QueuedRef) ([]uint64, error)
	// drop, when set, removes the body at a sequence from the tasks
	// stream (client.DropQueued).
	drop func(ctx context.Context, seq uint64) error
	ctx  context.Context // ends the recounts
	wg   sync.WaitGroup  // the recounts in flight

	mu      sync.Mutex
	owners  map[bus.Owner]*holding
	scanned time.Time // when the tasks stream was last read, for anyone
}

// holding is one owner's tasks, by key: a task's id, or for an earlier
// submission under an id submitted again, the id with that submission's
// time (again).
type holding struct {
	owner    bus.Owner
	scanned  time.Time // when the tasks stream was last read for its tasks
	tasks    map[string]held
	bytes    int64
	counted  time.Time // when its tasks' states were last read
	counting bool      // a recount is in flight
	since    int       // tasks counted since the last recount began
}

// held is one counted task: its encoded size, when it was counted, its
// body's place in the tasks stream (0: not known, as for a task counted
// again after a restart) and when it was submitted (zero: not known, as
// for a schedule's run). An id is taken again once its events have aged
// out, so what is read under it is the task's own only for the same
// owner and submission time.
type held struct {
	id        string
	size      int64
	at        time.Time
	queued    uint64
	submitted time.Time
}

// ref names t, held by owner, in the tasks stream.
func (t held) ref(owner bus.Owner) client.QueuedRef {
	return client.QueuedRef{ID: t.id, Owner: owner, Submitted: t.submitted}
}

// owns reports whether st, read under t's id, is t's own status.
func (t held) owns(owner bus.Owner, st bus.Status) bool {
	return st.Owner == owner && (t.submitted.IsZero() || st.Submitted.Equal(t.submitted))
}

func newLedger(ctx context.Context, q Quota, status func(ctx context.Context, id string) (bus.Status, error)) *ledger {
	if q.Tasks == 0 {
		q.Tasks = DefaultQuotaTasks
	}
	if q.TaskBytes == 0 {
		q.TaskBytes = DefaultQuotaTaskBytes
	}
	return &ledger{quota: q, status: status, ctx: ctx, owners: map[bus.Owner]*holding{}}
}

// wait returns once no recount is in flight; the ledger's context ends them.
func (l *ledger) wait() { l.wg.Wait() }

// hold counts task id of size bytes for owner (added: it was not counted
// yet), or refuses it with a *client.QuotaError. release undoes an added
// hold whose submission failed.
func (l *ledger) hold(owner bus.Owner, id string, size int64) (added bool, err error) {
	if owner == "" {
		return false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.holding(owner)
	// A retry of a task it holds, or a new submission under the id once
	// the earlier one's events aged out (again): which, the submission
	// tells. Either may be refused here at the quota, the retry too, so
	// that the new one never passes it.
	if err := l.overLocked(owner, h, size); err != nil {
		return false, err
	}
	if _, ok := h.tasks[id]; ok {
		return false, nil
	}
	h.tasks[id] = held{id: id, size: size, at: time.Now()}
	h.bytes += size
	h.since++
	if l.nearLocked(h) {
		l.recountLocked(h)
	}
	return true, nil
}

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

// refuse answers, without reading anything, whether owner is past its
// quota for a task of size: a flood's requests are refused before their
// bodies are decoded, so they cost the task API next to nothing and
// everyone else's requests behind them wait no longer. An owner past its
// quota has its tasks' states read again in the background, at most once
// per recountEvery, so tasks that ended make room.
func (l *ledger) refuse(owner bus.Owner, size int64) error {
	if owner == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overLocked(owner, l.holding(owner), size)
}

func (l *ledger) holding(owner bus.Owner) *holding {
	h := l.owners[owner]
	if h == nil {
		h = &holding{owner: owner, tasks: map[string]held{}}
		l.owners[owner] = h
	}
	return h
}

// overLocked is the quota owner's next task of size would break, if any;
// when there is one it starts a recount that is due.
func (l *ledger) overLocked(owner bus.Owner, h *holding, size int64) error {
	err := l.over(owner, h, size)
	if err != nil {
		l.recountLocked(h)
	}
	return err
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

// recount forgets the tasks that have ended.
func (l *ledger) recount(h *holding, tasks map[string]held) {
	defer l.wg.Done()
	ended := l.ended(l.ctx, h, tasks)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, key := range ended {
		if t, ok := h.tasks[key]; ok {
			h.bytes -= t.size
			delete(h.tasks, key)
		}
	}
	h.counted, h.counting = time.Now(), false
}

// over is the quota owner's next task of size would break, if any.
func (l *ledger) over(owner bus.Owner, h *holding, size int64) error {
	q := l.quota
	switch {
	case q.Tasks > 0 && len(h.tasks) >= q.Tasks:
		return &client.QuotaError{Owner: owner, Limit: "tasks", Held: int64(len(h.tasks)), Max: int64(q.Tasks), Setting: QuotaTasksSetting}
	case q.TaskBytes > 0 && h.bytes+size > q.TaskBytes:
		return &client.QuotaError{Owner: owner, Limit: "task-bytes", Held: h.bytes, Max: q.TaskBytes, Setting: QuotaTaskBytesSetting}
	}
	return nil
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

// again counts a new submission of owner under id, an id it holds (the
// earlier submission's events aged out while its body may still wait in
// the queue): the earlier stays counted, under the id with its time of
// counting, until its own status ends it or the queue no longer holds
// its body.
func (l *ledger) again(owner bus.Owner, id string, size int64, queued uint64, submitted time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.holding(owner)
	if old, ok := h.tasks[id]; ok {
		h.tasks[id+"\x00"+old.at.Format(time.RFC3339Nano)] = old
	}
	h.tasks[id] = held{id: id, size: size, at: time.Now(), queued: queued, submitted: submitted}
	h.bytes += size
	h.since++
}

// placed notes where owner's task id, submitted then, waits in the
// tasks stream.
func (l *ledger) placed(owner bus.Owner, id string, queued uint64, submitted time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		if t, ok := h.tasks[id]; ok {
			t.queued, t.submitted = queued, submitted
			h.tasks[id] = t
		}
	}
}

// release forgets a task whose submission did not queue it.
func (l *ledger) release(owner bus.Owner, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		if t, ok := h.tasks[id]; ok {
			h.bytes -= t.size
			delete(h.tasks, id)
		}
	}
}

// Held is how many queued or running tasks, and bytes of them, owner
// holds by this kernel's count: for other per-owner limits and reports.
func (s *Service) Held(owner bus.Owner) (tasks int, bytes int64) {
	return s.quota().held(owner)
}

func (l *ledger) held(owner bus.Owner) (tasks int, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		return len(h.tasks), h.bytes
	}
	return 0, 0
}

// load counts the tasks the hot cache holds that have not ended, so a
// kernel that restarts keeps counting what owners held before.
func (l *ledger) load(ctx context.Context, recent client.RecentSource) {
	if recent == nil {
		return
	}
	list, err := recent.RecentStatuses(ctx, client.ListWindow)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range list {
		// A task cancelled before any worker took it may still wait in
		// the queue: it counts until its body is found gone or removed.
		waits := !st.State.Final() || (st.State == bus.StateCancelled && st.Worker == "")
		if st.Owner == "" || !waits {
			continue
		}
		h := l.holding(st.Owner)
		if _, ok := h.tasks[st.ID]; ok {
			continue // held since the service started
		}
		size := st.Bytes
		if size == 0 {
			// Recorded by an older kernel, without its size: its text
			// is most of it.
			size = int64(len(st.Instruction) + len(st.Command))
		}
		h.tasks[st.ID] = held{id: st.ID, size: size, at: time.Now(), submitted: st.Submitted}
		h.bytes += size
	}
}
