package api

import (
	"context"
	"strconv"
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
	serial  uint64        // of the last task counted
	scanned time.Time     // when the tasks stream was last read, for anyone
	loading chan struct{} // closed once load has counted what a restart left
}

// holding is one owner's tasks, by key: a task's id, or for an earlier
// submission under an id submitted again, the id with that submission's
// serial (again).
type holding struct {
	owner    bus.Owner
	scanned  time.Time // when the tasks stream was last read for its tasks
	tasks    map[string]held
	bytes    int64
	counted  time.Time // when its tasks' states were last read
	counting bool      // a recount is in flight
	since    int       // tasks counted since the last recount began
}

// held is one counted task: its id, encoded size, when it was counted,
// its body's place in the tasks stream (0: not known, as for a task
// counted again after a restart) and when it was submitted (zero: not
// known, as for a schedule's run). An id is taken again once its events
// have aged out, so what is read under it is the task's own only for the
// same owner and submission time. serial tells this count of the task
// from any other under the same key, so that whatever acted on a copy
// (a recount, a failed submission) forgets only what it looked at.
type held struct {
	id        string
	serial    uint64
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

// hold counts task id of size bytes for owner, under a serial (0: not
// counted, for the installation's own work, or a retry of a task it
// holds), or refuses it with a *client.QuotaError. release undoes a hold
// whose submission failed.
//
// An id the owner holds may come again as a retry of the task (the id
// still records it: its status is the task's own), which is neither
// counted again nor refused; or as a new submission once the earlier
// one's events aged out, checked against the quota here and counted
// beside the earlier one once it is queued (again).
func (l *ledger) hold(owner bus.Owner, id string, size int64) (serial uint64, err error) {
	if owner == "" {
		return 0, nil
	}
	l.awaitLoad()
	l.mu.Lock()
	t, ok := l.holding(owner).tasks[id]
	l.mu.Unlock()
	if ok && l.retries(owner, t) {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.holding(owner)
	if err := l.overLocked(owner, h, size); err != nil {
		return 0, err
	}
	if _, ok := h.tasks[id]; ok {
		return 0, nil
	}
	l.serial++
	h.tasks[id] = held{id: id, serial: l.serial, size: size, at: time.Now()}
	h.bytes += size
	h.since++
	if l.nearLocked(h) {
		l.recountLocked(h)
	}
	return l.serial, nil
}

// retries reports whether a submission under t's id is a retry of t: the
// id still records t.
func (l *ledger) retries(owner bus.Owner, t held) bool {
	st, err := l.status(l.ctx, t.id)
	return err == nil && t.owns(owner, st)
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
	l.awaitLoad()
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

// again counts a new submission of owner under id, an id it holds (the
// earlier submission's events aged out while its body may still wait in
// the queue): the earlier stays counted, under the id with its serial,
// until its own status ends it or the queue no longer holds its body.
func (l *ledger) again(owner bus.Owner, id string, size int64, queued uint64, submitted time.Time) {
	if owner == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.holding(owner)
	if old, ok := h.tasks[id]; ok {
		h.tasks[movedKey(old)] = old
	}
	l.serial++
	h.tasks[id] = held{id: id, serial: l.serial, size: size, at: time.Now(), queued: queued, submitted: submitted}
	h.bytes += size
	h.since++
}

// movedKey is where again moves an earlier count of t's id.
func movedKey(t held) string { return t.id + "\x00" + strconv.FormatUint(t.serial, 10) }

// placed notes where owner's task id, counted under serial and
// submitted then, waits in the tasks stream.
func (l *ledger) placed(owner bus.Owner, id string, serial, queued uint64, submitted time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		if t, ok := h.tasks[id]; ok && t.serial == serial {
			t.queued, t.submitted = queued, submitted
			h.tasks[id] = t
		}
	}
}

// cancelled takes owner's task id, which its cancel ended before any
// worker took it (client.CancelEnded), off the queue and forgets it, when
// this kernel knows where its body waits: at once, so that an owner's
// recounts read statuses and remove nothing.
func (l *ledger) cancelled(ctx context.Context, owner bus.Owner, id string) {
	if owner == "" || l.drop == nil {
		return
	}
	l.mu.Lock()
	var t held
	if h := l.owners[owner]; h != nil {
		t = h.tasks[id]
	}
	l.mu.Unlock()
	if t.queued != 0 && l.drop(ctx, t.queued) == nil {
		l.forget(owner, id, t.serial)
	}
}

// release forgets a task counted under serial whose submission did not
// queue it.
func (l *ledger) release(owner bus.Owner, id string, serial uint64) { l.forget(owner, id, serial) }

// forget drops owner's task under key, if it is still the one counted
// under serial (0: whichever).
func (l *ledger) forget(owner bus.Owner, key string, serial uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		l.forgetLocked(h, key, serial)
	}
}

func (l *ledger) forgetLocked(h *holding, key string, serial uint64) {
	if t, ok := h.tasks[key]; ok && (serial == 0 || t.serial == serial) {
		h.bytes -= t.size
		delete(h.tasks, key)
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
