package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory/cache"
)

// nats-server does not check a request's reply subject against its
// sender's permissions, and whoever answers (the task API on the kernel's
// admin connection, JetStream's API) publishes the answer there with its
// own rights. A client credential sends its own harmless requests
// (amf.api.as.<itself>.list, $JS.API.STREAM.INFO.AMF_TASKS) with the
// reply subject set to another owner's task's kernel event subject and to
// a pool's task subject for a profile it was not granted: both answers
// are stored, in AMF_EVENTS as the kernel's events of the victim's task
// (the victim's SSE stream and `amf tasks logs` show them), and in
// AMF_TASKS as tasks on amf.tasks.<pool>.trusted (held for a pool nobody
// serves, counted in no owner's quota). The client may publish on
// neither subject.
func TestClientCannotStoreThroughAReplySubject(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 0)
	names := bus.Names{}
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices", alice.owner(), bus.EventAssigned)

	victimEvents := names.Event("alices")
	foreignTasks := "amf.tasks.nobody.trusted"
	for _, target := range []string{victimEvents, foreignTasks} {
		for _, subject := range []string{names.As(mallory.owner(), "list"), "$JS.API.STREAM.INFO." + names.TasksStream()} {
			if err := mallory.nc.PublishRequest(subject, target, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := mallory.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for stream, subject := range map[string]string{names.EventsStream(): victimEvents, names.TasksStream(): foreignTasks} {
		s, err := k.JS.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(0)
		if subject == victimEvents {
			want = 2 // alice's accepted and assigned, stored by the kernel
		}
		if got := info.State.Subjects[subject]; got != want {
			t.Errorf("mallory's replies stored %d messages on %s in %s, beyond the %d the kernel stored: a client writes where it may not publish", got-want, subject, stream, want)
		}
	}
}

// The same reply subject, pointed at the hot cache's status bucket: a
// client makes JetStream write its stream-info answer as the status of
// any key ($KV.AMF_STATUS.<id>: another owner's task, or a name of its
// own). Every listing decodes every status, so one foreign value breaks
// GET /v1/tasks, amf.api.list and `amf tasks ls` for every owner, admins
// included ("decode <id>: json: cannot unmarshal …"), and a victim's task
// status is replaced.
func TestClientCannotWriteTheStatusBucketThroughAReplySubject(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	c, err := cache.NewKVCache(context.Background(), k.JS)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetStatus(context.Background(), bus.Status{ID: "alices", State: bus.StateOf(bus.EventAssigned), Owner: "nats:alice"}); err != nil {
		t.Fatal(err)
	}
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	if err := mallory.nc.PublishRequest("$JS.API.STREAM.INFO."+bus.Names{}.TasksStream(), "$KV."+bus.Names{}.StatusBucket()+".poisoned", nil); err != nil {
		t.Fatal(err)
	}
	if err := mallory.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.RecentStatuses(ctx, 50); err != nil {
		t.Errorf("after a client's request replied into the status bucket, listing tasks fails for everyone: %v", err)
	}

	// The leases bucket: the holder of a cluster-wide part (the status
	// projector) finds its key changed, stops, and cannot take it back
	// while the client writes again within the bucket's TTL.
	leases, err := k.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.Names{}.LeasesBucket(), TTL: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Put(ctx, "status-projector", []byte("kernel-1")); err != nil {
		t.Fatal(err)
	}
	if err := mallory.nc.PublishRequest("$JS.API.STREAM.INFO."+bus.Names{}.TasksStream(), "$KV."+bus.Names{}.LeasesBucket()+".status-projector", nil); err != nil {
		t.Fatal(err)
	}
	_ = mallory.nc.Flush()
	time.Sleep(time.Second)
	if e, err := leases.Get(ctx, "status-projector"); err != nil || string(e.Value()) != "kernel-1" {
		v := ""
		if e != nil {
			v = string(e.Value())
		}
		t.Errorf("a client's reply rewrote the status projector's lease (%.60q, %v): the holder stops", v, err)
	}
}
