package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestRecentTasksReachBackPastAChattyTask: a task older than hundreds of
// another's events is still found, the read window doubling back to it,
// and the newest activity comes first.
func TestRecentTasksReachBackPastAChattyTask(t *testing.T) {
	k := kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	names := bus.Names{}
	publish := func(e bus.Event) {
		t.Helper()
		e.TS = time.Now().UTC()
		if _, err := k.JS.PublishMsg(ctx, names.EventMsg(e)); err != nil {
			t.Fatal(err)
		}
	}
	publish(bus.Event{TaskID: "old", Type: bus.EventAccepted})
	publish(bus.Event{TaskID: "old", Type: bus.EventDone})
	publish(bus.Event{TaskID: "chatty", Type: bus.EventAccepted})
	for range 500 {
		publish(bus.Event{TaskID: "chatty", Type: bus.EventStdout, Text: "line"})
	}
	cl := &client.Client{NC: k.NC, JS: k.JS, Names: names}
	for _, c := range []struct {
		limit int
		want  []string
	}{
		{1, []string{"chatty"}},
		{2, []string{"chatty", "old"}},
		{50, []string{"chatty", "old"}},
	} {
		ids, err := recentTaskIDs(ctx, cl, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("limit %d: %q, want %q", c.limit, ids, c.want)
		}
	}
	publish(bus.Event{TaskID: "old", Type: bus.EventCancelRequested})
	ids, err := recentTaskIDs(ctx, cl, 2)
	if err != nil || !slices.Equal(ids, []string{"old", "chatty"}) {
		t.Fatalf("after new activity on old: %q %v, want old first", ids, err)
	}
	list, err := statuses(ctx, cl, append(ids, "never-was"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].State != bus.StateDone || list[1].State != bus.StateRunning && list[1].State != bus.StateQueued {
		t.Fatalf("statuses %+v: want old done, chatty not ended, never-was left out", list)
	}
}
