package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// TestRawPublishBurstLeavesNoConsumers: an admin credential (the only one
// that may publish on a pool's subject itself) publishes
// 10,000 tasks straight on the pool subject with the nats CLI, none
// through the task API, so none has an accepted event. Every one ends
// with a failed event that says why (its field name has the wrong case),
// the status projector follows all of them, and the events stream never
// holds more than a handful of consumers. Before, the projector made a
// consumer per such task, the stream's cap (4,096) filled, and `amf run`
// and every live event stream failed with "maximum consumers limit
// reached".
func TestRawPublishBurstLeavesNoConsumers(t *testing.T) {
	const tasks = 10000
	f := newAuthFixture(t)
	out, err := f.nats("admin", "pub", "amf.tasks.default", `{"Command":"true","id":"NP-{{Count}}"}`, "--count", itoa(tasks))
	if err != nil {
		t.Fatalf("nats pub --count %d: %v\n%.2000s", tasks, err, out)
	}
	opts, err := kernel.CredsOptions(adminCreds(f.env))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+f.natsAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names := bus.Names{}
	events, err := js.Stream(ctx, names.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for last := "NP-" + itoa(tasks); ; {
		info, err := events.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, info.State.Consumers)
		st, _ := f.nats("admin", "req", "amf.api.status", last, "--raw")
		if strings.Contains(st, `"state":"failed"`) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the last raw task's status never showed it failed: %s", st)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if most > 8 {
		t.Fatalf("the events stream held %d consumers during a burst of %d raw tasks; want the projector's and a few readers'", most, tasks)
	}
	first, err := names.NextEvent(ctx, events, "NP-1", 0)
	if err != nil || first.Type != bus.EventFailed || first.Rule != "invalid-task" || !strings.Contains(first.Reason, `write "command"`) {
		t.Fatalf("NP-1's first event = %+v, %v; want failed, saying the field names are case-sensitive", first, err)
	}
	// The task API decodes as strictly, and answers at once.
	for body, want := range map[string]string{
		`{"Command":"true"}`:                   `write "command"`,
		`{"command":"true","command":"false"}`: "appears twice",
		`{"command":"true","schedule_id":"x"}`: "only the kernel sets schedule_id",
	} {
		subject := ownSubject(t, f.creds["client"], "submit")
		if out, _ := f.nats("client", "req", subject, body); !strings.Contains(out, "400") || !strings.Contains(out, want) {
			t.Errorf("nats req %s %s:\n%s\nwant 400 saying %q", subject, body, out, want)
		}
	}
	// Readers and submissions work on.
	if out := f.amf("run", "--cmd", "echo after the burst"); !strings.Contains(out, "after the burst") {
		t.Fatalf("amf run after the burst:\n%s", out)
	}
}
