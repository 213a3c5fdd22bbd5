package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Who may make and change schedules is nats-server's decision: each
// operation is a subject, and a schedule of a granted profile is made on
// that profile's subject. Every denial is tried from the attacker's side.
func TestSchedulePermissions(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	ctx := context.Background()
	names := bus.Names{}
	f.create(t, `{"id":"sched-owned","command":"true","schedule":"every 1m"}`)

	// denied asserts the server refused a publish on subject by conn.
	denied := func(t *testing.T, nc *nats.Conn, subject string, hdr nats.Header) {
		t.Helper()
		if err := nc.PublishMsg(&nats.Msg{Subject: subject, Data: []byte(`{"id":"sched-owned","command":"true","schedule":"every 1s"}`), Header: hdr}); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		if err := nc.LastError(); !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("publish on %s: %v, want a permissions violation", subject, err)
		}
	}

	t.Run("worker may not touch schedules", func(t *testing.T) {
		nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "sched-worker", Role: kernel.RoleWorker}))
		as := client.Schedules{C: &client.Client{NC: nc, ViaAPI: true}}
		if _, err := as.Create(ctx, mustTask(t, `{"command":"true","schedule":"every 1s"}`)); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("worker create: %v, want ErrForbidden", err)
		}
		if err := as.Delete(ctx, "sched-owned"); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("worker delete: %v, want ErrForbidden", err)
		}
		if _, err := as.Pause(ctx, "sched-owned"); !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("worker pause: %v, want ErrForbidden", err)
		}
	})

	t.Run("client may not schedule a profile it was not granted", func(t *testing.T) {
		nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "sched-nogrant", Role: kernel.RoleClient}))
		as := client.Schedules{C: &client.Client{NC: nc, ViaAPI: true}}
		_, err := as.Create(ctx, mustTask(t, `{"command":"true","policy":"sched-net","schedule":"every 1s"}`))
		if !errors.Is(err, client.ErrForbidden) {
			t.Fatalf("create for an ungranted profile: %v, want ErrForbidden", err)
		}
		// Sending it on the base subject instead is refused by the
		// service: the subject is the grant.
		key := client.UserKey(nc)
		reply, err := nc.Request(names.ScheduleCreate(key, ""), []byte(`{"command":"true","policy":"sched-net","schedule":"every 1s"}`), 10*time.Second)
		if err != nil || reply.Header.Get("Nats-Service-Error-Code") != "403" {
			t.Fatalf("ungranted profile on the base subject: %v %v, want 403", err, reply)
		}
		denied(t, nc, names.ScheduleCreate(key, "sched-net"), nil)
		// Nor on an admin's subjects, which name no maker.
		denied(t, nc, names.ScheduleCreate("", ""), nil)
		denied(t, nc, names.ScheduleCreate("", "sched-net"), nil)

		// Nor resume one: resuming starts runs.
		admin := client.Schedules{C: &client.Client{NC: f.k.NC}}
		if _, err := admin.Create(ctx, mustTask(t, `{"id":"sched-net-held","command":"true","policy":"sched-net","schedule":"every 1m"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Pause(ctx, "sched-net-held"); err != nil {
			t.Fatal(err)
		}
		// The schedule is not its own: to it, it does not exist.
		if _, err := as.Resume(ctx, "sched-net-held"); !errors.Is(err, client.ErrScheduleNotFound) {
			t.Fatalf("resume of another owner's schedule: %v, want ErrScheduleNotFound", err)
		}
		// Nor may it use the unowned subjects, an admin's.
		denied(t, nc, names.ScheduleResume(""), nil)
		denied(t, nc, names.ScheduleResume("sched-net"), nil)
		// On its own subject with the profile's grant token it was not
		// granted either.
		denied(t, nc, names.As(bus.OwnerOfCredential(bus.CredentialID(key)), "schedules.resume.sched-net"), nil)
		if sc, err := admin.Get(ctx, "sched-net-held"); err != nil || !sc.Paused {
			t.Fatalf("refused resumes changed it: %+v %v", sc, err)
		}
		// Nor pause nor delete it: only its owner and admins may.
		if err := as.Delete(ctx, "sched-net-held"); !errors.Is(err, client.ErrScheduleNotFound) {
			t.Fatalf("delete of another owner's schedule: %v, want ErrScheduleNotFound", err)
		}
		if err := admin.Delete(ctx, "sched-net-held"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("client may not write or read the schedules stream itself", func(t *testing.T) {
		nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "sched-forger", Role: kernel.RoleClient, Grants: []string{"sched-net"}}))
		// A schedule message of its own, or a forged run, would skip the
		// API's checks.
		denied(t, nc, names.ScheduleDef("sched-forged"), nats.Header{"Nats-Schedule": {"@every 1s"}, "Nats-Schedule-Target": {names.ScheduleRun("sched-forged")}})
		denied(t, nc, names.ScheduleRun("sched-owned"), nats.Header{"Nats-Scheduler": {names.ScheduleDef("sched-owned")}})
		// Schedules keep their task's env values: not readable.
		denied(t, nc, "$JS.API.STREAM.MSG.GET."+names.SchedulesStream(), nil)
		denied(t, nc, "$JS.API.CONSUMER.CREATE."+names.SchedulesStream(), nil)
	})

	t.Run("a granted client schedules its profile and the runs keep it", func(t *testing.T) {
		nc := f.k.ConnectAs(f.k.Creds(kernel.UserSpec{Name: "sched-granted", Role: kernel.RoleClient, Grants: []string{"sched-net"}}))
		as := client.Schedules{C: &client.Client{NC: nc, ViaAPI: true}}
		// Runs are queued on the granted profile's subject, where only a
		// granted submitter could have put them.
		queued, err := f.k.NC.SubscribeSync(names.TaskFor(bus.DefaultPool, "sched-net"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := as.Create(ctx, mustTask(t, `{"id":"sched-granted","command":"true","policy":"sched-net","schedule":"every 1s"}`)); err != nil {
			t.Fatalf("granted create: %v", err)
		}
		r := f.nextOf(t, "sched-granted")
		if r.Policy != "sched-net" {
			t.Fatalf("run policy %q", r.Policy)
		}
		m, err := queued.NextMsg(time.Minute)
		if err != nil || !strings.HasPrefix(bus.PeekID(m.Data), "sched-granted-") {
			t.Fatalf("queued run: %v", err)
		}
		if _, err := as.Pause(ctx, "sched-granted"); err != nil {
			t.Fatal(err)
		}
		if sc, err := as.Resume(ctx, "sched-granted"); err != nil || sc.Paused {
			t.Fatalf("granted resume: %+v %v", sc, err)
		}
		if err := as.Delete(ctx, "sched-granted"); err != nil {
			t.Fatal(err)
		}
	})
}
