package api

import (
	"context"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// loadWait bounds how long a request waits for a restarted kernel's
// ledger to count what owners held before it (load): past it, the
// request is judged on what is counted so far.
const loadWait = 5 * time.Second

// startLoad marks the ledger as counting what a restart left; load ends
// it. Requests wait for it (awaitLoad), so that an owner's first requests
// after a restart are not judged on an empty count.
func (l *ledger) startLoad() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loading = make(chan struct{})
}

// endLoad lets the requests waiting for load go on.
func (l *ledger) endLoad() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loading != nil {
		close(l.loading)
		l.loading = nil
	}
}

// awaitLoad returns once load has counted, or after loadWait.
func (l *ledger) awaitLoad() {
	l.mu.Lock()
	ch := l.loading
	l.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(loadWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// load counts the tasks the hot cache holds that have not ended, so a
// kernel that restarts keeps counting what owners held before.
func (l *ledger) load(ctx context.Context, recent client.RecentSource) {
	defer l.endLoad()
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
		l.serial++
		h.tasks[st.ID] = held{id: st.ID, serial: l.serial, size: size, at: time.Now(), submitted: st.Submitted}
		h.bytes += size
	}
}
