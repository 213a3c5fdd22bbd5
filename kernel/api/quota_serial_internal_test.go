package api

import (
	"context"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// A recount acts on a copy of an owner's tasks while their states are
// read. A new submission under one of their ids, counted meanwhile
// (again), takes the id's key; the recount, finding the earlier
// submission ended, forgets that one only, never the new count under
// the same key.
func TestARecountForgetsOnlyTheCountItRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reading := make(chan struct{})
	goOn := make(chan struct{})
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	status := func(ctx context.Context, id string) (bus.Status, error) {
		close(reading)
		<-goOn
		// The earlier submission ended.
		return bus.Status{ID: id, Owner: "owner", State: bus.StateDone, Submitted: first}, nil
	}
	l := newLedger(ctx, Quota{Tasks: 10}, status)
	serial, err := l.hold("owner", "x", 10)
	if err != nil || serial == 0 {
		t.Fatalf("hold: %d, %v", serial, err)
	}
	l.placed("owner", "x", serial, 0, first)
	l.mu.Lock()
	h := l.owners["owner"]
	h.counted = time.Time{}
	l.recountLocked(h)
	l.mu.Unlock()
	<-reading
	// Meanwhile the id, free again, is submitted anew and queued at 7.
	l.again("owner", "x", 20, 7, first.Add(time.Hour))
	close(goOn)
	l.wait()

	l.mu.Lock()
	defer l.mu.Unlock()
	t2, ok := h.tasks["x"]
	if !ok || t2.queued != 7 || t2.size != 20 {
		t.Fatalf("after the recount the owner holds %+v; want the new submission (queued at 7, 20 bytes) still counted", h.tasks)
	}
	if len(h.tasks) != 1 || h.bytes != 20 {
		t.Fatalf("after the recount the owner holds %d tasks, %d bytes; want only the new one", len(h.tasks), h.bytes)
	}
}

// The installation's own work (owner "") is never counted, however it
// is submitted again.
func TestTheInstallationsTasksAreNeverCounted(t *testing.T) {
	l := newLedger(context.Background(), Quota{Tasks: 1}, func(context.Context, string) (bus.Status, error) {
		return bus.Status{}, client.ErrNotFound
	})
	for range 3 {
		if serial, err := l.hold("", "x", 10); err != nil || serial != 0 {
			t.Fatalf("hold for the installation: %d, %v", serial, err)
		}
		l.again("", "x", 10, 1, time.Now())
	}
	if n, b := l.held(""); n != 0 || b != 0 {
		t.Fatalf("the installation holds %d tasks, %d bytes; want none counted", n, b)
	}
}
