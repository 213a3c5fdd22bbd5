package kernel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// TestTasksOnWildcardSubjectsEnd: an admin credential (the only one that
// may publish on amf.tasks.<pool> itself) publishes tasks on the literal
// subjects amf.tasks.* and amf.tasks.> (nats-server lets it: its allow
// list admits any token there). Each ends with a failed event
// saying where to publish, leaves the queue, and shows as no pool; a task
// on a real pool published alongside is untouched.
func TestTasksOnWildcardSubjectsEnd(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js := k.JS
	published := map[string]string{
		"wc-star":       names.Task("*"),
		"wc-gt":         names.Task(">"),
		"wc-star-grant": names.TaskFor("*", "network"),
	}
	for id, subject := range published {
		if _, err := js.Publish(ctx, subject, []byte(`{"id":"`+id+`","command":"true"}`)); err != nil {
			t.Fatalf("publish on %s: %v (the server refused it: then nothing is stored either)", subject, err)
		}
	}
	if _, err := js.Publish(ctx, names.Task("idle"), []byte(`{"id":"real","command":"true"}`)); err != nil {
		t.Fatal(err)
	}
	events, err := k.JS.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	for id, subject := range published {
		var e bus.Event
		testenv.Eventually(t, "an event of task "+id, func() bool {
			e, err = names.LastEvent(ctx, events, id)
			return !errors.Is(err, bus.ErrNoEvents)
		})
		if err != nil || e.Type != bus.EventFailed || e.Rule != kernel.RuleNoPool || !strings.Contains(e.Reason, subject) || !strings.Contains(e.Reason, "amf.tasks.<pool>") {
			t.Fatalf("task %s on %s: last event %+v, %v; want failed saying where to publish", id, subject, e, err)
		}
	}
	tasks, err := k.JS.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := tasks.Info(ctx, jetstream.WithSubjectFilter(names.Task(">")))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.State.Subjects) != 1 || info.State.Subjects[names.Task("idle")] != 1 {
		t.Fatalf("the queue holds %v; want only the task on pool idle", info.State.Subjects)
	}
	pools, err := (&client.Client{NC: k.NC, JS: k.JS}).Pools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		if p.Name != "idle" && p.Name != bus.DefaultPool {
			t.Errorf("pools show %q", p.Name)
		}
	}
}
