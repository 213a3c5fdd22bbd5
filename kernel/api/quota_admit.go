package api

import (
	"context"

	"github.com/amf-os/amf/kernel/bus"
)

// quota is the service's ledger of what each owner holds, made on first
// use: the kernel's schedule runner counts runs in it before, and while,
// the service answers submissions, so both count against one quota.
func (s *Service) quota() *ledger {
	s.ledgerOnce.Do(func() {
		ctx, stop := context.WithCancel(context.Background())
		l := newLedger(ctx, s.Quota, s.Client.Status)
		l.queued, l.drop = s.Client.QueuedAmong, s.Client.DropQueued
		s.ledger, s.stopLedger = l, stop
	})
	return s.ledger
}

// Close ends the quota's recounts and waits for them; Run closes the
// service when it returns. Tasks admitted afterwards are still counted.
func (s *Service) Close() {
	l := s.quota()
	s.stopLedger()
	l.wait()
}

// Admit counts a task the kernel queues for owner itself (a schedule's
// run) against owner's quota as a submission of size bytes is counted,
// so no path around the task API outgrows it: past the quota it is
// refused with a *client.QuotaError and must not be queued. release
// forgets it again, for a task that was not queued after all (its
// submission failed, or the same task was queued already).
func (s *Service) Admit(owner bus.Owner, id string, size int64) (release func(), err error) {
	l := s.quota()
	serial, err := l.hold(owner, id, size)
	if err != nil {
		return nil, err
	}
	if serial == 0 {
		return func() {}, nil
	}
	return func() { l.release(owner, id, serial) }, nil
}

// Owners are the owners this kernel counts queued or running tasks for:
// for the kernel to act on an owner's tasks (end those of a revoked
// owner).
func (s *Service) Owners() []bus.Owner {
	l := s.quota()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]bus.Owner, 0, len(l.owners))
	for o, h := range l.owners {
		if len(h.tasks) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// HeldIDs are the ids of owner's tasks this kernel counts as queued or
// running.
func (s *Service) HeldIDs(owner bus.Owner) []string {
	l := s.quota()
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.owners[owner]
	if h == nil {
		return nil
	}
	ids := make([]string, 0, len(h.tasks))
	seen := make(map[string]bool, len(h.tasks))
	for _, t := range h.tasks {
		if !seen[t.id] {
			seen[t.id] = true
			ids = append(ids, t.id)
		}
	}
	return ids
}

// Ended forgets owner's task id, which ended: it no longer counts.
func (s *Service) Ended(owner bus.Owner, id string) { s.quota().forget(owner, id, 0) }

// Recount reads owner's counted tasks again in the background (when no
// recount is under way or was made in the last second) and releases those
// that ended by the ledger's rule: for an owner that submits nothing more
// (one revoked), whose refusals would never start a recount.
func (s *Service) Recount(owner bus.Owner) {
	l := s.quota()
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.owners[owner]; h != nil {
		l.recountLocked(h)
	}
}
