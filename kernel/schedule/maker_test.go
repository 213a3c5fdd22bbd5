package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/schedule"
)

// A schedule records the key of the credential that made it, taken from
// the subject nats-server let it publish on; one credential keeps at
// most PerMaker schedules, and may not make them under another's key.
func TestSchedulesPerMakerAreBounded(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	thief := serve(t, k, &schedule.Store{JS: k.JS, PerMaker: 2}, "sched-thief")
	thiefNC := thief.C.NC
	other := clientOf(t, k, "sched-other")
	create := func(as client.Schedules, id string) error {
		_, err := as.Create(context.Background(), mustTask(t, `{"id":"`+id+`","command":"true","schedule":"every 1h"}`))
		return err
	}
	for _, id := range []string{"sched-m1", "sched-m2"} {
		if err := create(thief, id); err != nil {
			t.Fatal(err)
		}
	}
	if sc, err := thief.Get(context.Background(), "sched-m1"); err != nil || sc.Maker != client.UserKey(thiefNC) || sc.Maker == "" || sc.RunKey != nil {
		t.Fatalf("made: %+v %v, want maker %s and no run key shown", sc, err, client.UserKey(thiefNC))
	}
	err := create(thief, "sched-m3")
	if !errors.Is(err, client.ErrSchedulesFull) || !strings.Contains(err.Error(), "amf schedule rm") {
		t.Fatalf("past the bound: %v, want ErrSchedulesFull saying what to do", err)
	}
	// Another credential's schedules are its own.
	if err := create(other, "sched-o1"); err != nil {
		t.Fatalf("another credential: %v", err)
	}
	// Making them under another credential's key is refused by
	// nats-server, so the bound cannot be dodged nor blamed on another.
	otherKey := client.UserKey(other.C.NC)
	names := bus.Names{}
	subject := names.ScheduleCreate(otherKey, "")
	if err := thiefNC.Publish(subject, []byte(`{"id":"sched-m4","command":"true","schedule":"every 1h"}`)); err != nil {
		t.Fatal(err)
	}
	_ = thiefNC.Flush()
	if err := thiefNC.LastError(); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
		t.Fatalf("create under another key: %v, want a permissions violation", err)
	}
	if err := thief.Delete(context.Background(), "sched-m1"); err != nil {
		t.Fatal(err)
	}
	if err := create(thief, "sched-m3"); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

// Resume checks the grant on the version it resumes: a schedule replaced
// between the check and the write is read and checked again.
func TestResumeChecksTheVersionItResumes(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	ctx := context.Background()
	st := k.ScheduleStore(k.JS)
	if _, err := st.Create(ctx, mustTask(t, `{"id":"sched-swap","command":"true","schedule":"every 1h"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pause(ctx, "sched-swap"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err := st.ResumeIf(ctx, "sched-swap", func(sc bus.Schedule) error {
		seen = append(seen, sc.Task.Policy)
		if len(seen) == 1 {
			// Between this check and the resume, the schedule is
			// replaced by a paused one running a profile not granted.
			if err := st.Delete(ctx, "sched-swap"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Create(ctx, mustTask(t, `{"id":"sched-swap","command":"true","policy":"trusted","schedule":"every 1h"}`)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Pause(ctx, "sched-swap"); err != nil {
				t.Fatal(err)
			}
			return nil
		}
		if sc.Task.Policy == "trusted" {
			return client.ErrForbidden
		}
		return nil
	})
	if !errors.Is(err, client.ErrForbidden) || len(seen) != 2 {
		t.Fatalf("resume after a swap: %v, checked %v; want the swapped version checked and refused", err, seen)
	}
	if sc, err := st.Get(ctx, "sched-swap"); err != nil || !sc.Paused || sc.Task.Policy != "trusted" {
		t.Fatalf("the swapped schedule was resumed: %+v %v", sc, err)
	}
}
