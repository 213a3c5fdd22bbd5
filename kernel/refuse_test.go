package kernel_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A task published below a pool subject is not stored where no worker
// looks: it gets a failed event saying where to publish, and a publisher
// waiting for an ack gets that as an error.
func TestNestedPoolSubjectIsFailed(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	sub, err := k.NC.SubscribeSync(names.Event("nested"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.NC.Publish("amf.tasks.a.b.c", []byte(`{"id":"nested","command":"ls"}`)); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(30 * time.Second)
	if err != nil {
		t.Fatalf("no event for a task published on amf.tasks.a.b.c: %v", err)
	}
	e, err := bus.DecodeEvent(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != bus.EventFailed || e.Rule != kernel.RuleNoPool || !strings.Contains(e.Reason, "amf.tasks.default") {
		t.Fatalf("event %+v, want failed by rule %s naming where to publish", e, kernel.RuleNoPool)
	}

	ctx := context.Background()
	_, err = k.JS.Publish(ctx, "amf.tasks.gpu.large.x", []byte(`{"command":"ls"}`))
	if err == nil || !strings.Contains(err.Error(), "names no pool") {
		t.Fatalf("acked publish on a nested subject: err = %v, want it refused", err)
	}
	s, err := k.JS.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("tasks stream holds %d messages, want none stranded", info.State.Msgs)
	}
}

// A task over the size limit is stored, so that a worker fails it with an
// event that says why, instead of the stream dropping it unseen.
func TestOversizeTaskIsStored(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	body := `{"id":"big","command":"` + strings.Repeat("x", 2*bus.MaxTaskBytes) + `"}`
	if _, err := k.JS.Publish(context.Background(), bus.Names{}.Task(bus.DefaultPool), []byte(body)); err != nil {
		t.Fatalf("oversize task refused by the stream: %v", err)
	}
}

// A store made when the tasks stream took every depth of subject is
// provisioned again without losing what it holds.
func TestProvisionNarrowsOldTasksSubjects(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx := context.Background()
	names := bus.Names{}
	old := names.TasksStreamConfig(0)
	old.Subjects = []string{"amf.tasks.>"}
	if _, err := k.JS.UpdateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Stored before the narrowing (the kernel's refusal answers too, so
	// the publish is not waited on; the stream's count is).
	if err := k.NC.Publish("amf.tasks.a.b.c", []byte(`{"command":"ls"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := k.JS.Stream(ctx, names.TasksStream())
		if err != nil {
			t.Fatal(err)
		}
		if s.CachedInfo().State.Msgs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old tasks stream never stored amf.tasks.a.b.c")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := kernel.Provision(ctx, k.JS, kernel.Provisioning{Names: names}); err != nil {
		t.Fatalf("provision over an old tasks stream: %v", err)
	}
	s, err := k.JS.Stream(ctx, names.TasksStream())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.CachedInfo().Config.Subjects, names.TasksStreamConfig(0).Subjects; !slices.Equal(got, want) {
		t.Fatalf("subjects %v, want %v", got, want)
	}
}
