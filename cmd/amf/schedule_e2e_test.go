package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
)

// TestScheduleCommand makes a schedule with `amf schedule`, sees its runs
// end done on `amf up`'s worker, reads it with the real `nats` CLI as an
// operator would, and pauses and deletes it.
func TestScheduleCommand(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	llm := fakeModel(t)
	env, base, natsAddr := upEnv(t, llm)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	amf := func(want int, args ...string) string {
		t.Helper()
		p := startAmf(t, env, args...)
		if code := p.wait(60 * time.Second); code != want {
			t.Fatalf("amf %v: exit %d, want %d\n%s", args, code, want, p.Output())
		}
		return p.Output()
	}
	nc, err := nats.Connect("nats://"+natsAddr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ends := make(chan bus.Event, 256)
	sub, err := nc.Subscribe("amf.events.>", func(m *nats.Msg) {
		if e, err := bus.DecodeEvent(m.Data); err == nil && e.Type.Terminal() {
			ends <- e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	endOf := func(prefix string) bus.Event {
		t.Helper()
		for {
			select {
			case e := <-ends:
				if strings.HasPrefix(e.TaskID, prefix) {
					return e
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("no task %s… ended", prefix)
			}
		}
	}

	if out := amf(1, "schedule", "add", "--cmd", "true", "every banana"); !strings.Contains(out, `"banana" is not a duration`) {
		t.Fatalf("bad schedule: %s", out)
	}
	if out := amf(1, "schedule", "add", "--cmd", "true", "0 */5 * * * *"); !strings.Contains(out, "it takes 5") {
		t.Fatalf("six cron fields: %s", out)
	}
	out := amf(0, "schedule", "add", "--id", "sched-e2e", "--cmd", "echo scheduled run", "every 1s")
	if !strings.Contains(out, "sched-e2e") || !strings.Contains(out, "active") {
		t.Fatalf("add: %s", out)
	}
	// Each run is a task the worker runs to its end.
	end := endOf("sched-e2e-")
	if end.Type != bus.EventDone || !strings.Contains(end.Output, "scheduled run") {
		t.Fatalf("run ended %+v", end)
	}

	// What an operator types.
	list, err := exec.Command(natsBin, "--server", "nats://"+natsAddr, "--creds", adminCreds(env), "--timeout", "10s",
		"req", "amf.api.schedules.list", "", "--raw").CombinedOutput()
	if err != nil {
		t.Fatalf("nats req amf.api.schedules.list: %v\n%s", err, list)
	}
	var scs []bus.Schedule
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(list))), &scs); err != nil || len(scs) != 1 || scs[0].ID != "sched-e2e" || scs[0].Pattern != "@every 1s" {
		t.Fatalf("schedules over nats: %v %s", err, list)
	}

	if out := amf(0, "schedule", "pause", "sched-e2e"); !strings.Contains(out, "paused") {
		t.Fatalf("pause: %s", out)
	}
	if out := amf(0, "schedule", "ls"); !strings.Contains(out, "sched-e2e") || !strings.Contains(out, "paused") {
		t.Fatalf("ls: %s", out)
	}
	if out := amf(0, "schedule", "rm", "sched-e2e"); !strings.Contains(out, "deleted schedule sched-e2e") {
		t.Fatalf("rm: %s", out)
	}
	if out := amf(1, "schedule", "show", "sched-e2e"); !strings.Contains(out, "schedule not found") {
		t.Fatalf("show after rm: %s", out)
	}

	// A task with a schedule published on a pool's subject by hand is
	// not run: it ends failed, saying where schedules are made.
	if err := nc.Publish("amf.tasks.default", []byte(`{"id":"sched-by-hand","command":"true","schedule":"every 1m"}`)); err != nil {
		t.Fatal(err)
	}
	if e := endOf("sched-by-hand"); e.Type != bus.EventFailed || !strings.Contains(e.Reason, "amf.api.schedules.create") {
		t.Fatalf("hand-published schedule ended %+v", e)
	}
	// Nor is a task published by hand as a run of a schedule: only the
	// kernel sets schedule_id, on runs it records before queueing.
	if err := nc.Publish("amf.tasks.default", []byte(`{"id":"run-by-hand","command":"true","schedule_id":"sched-e2e"}`)); err != nil {
		t.Fatal(err)
	}
	if e := endOf("run-by-hand"); e.Type != bus.EventFailed || !strings.Contains(e.Reason, "only the kernel sets schedule_id") {
		t.Fatalf("hand-published run ended %+v", e)
	}
}

// TestSchedulePermissionsWithTheNATSCLI: who may make, resume and remove
// schedules, typed with the real nats CLI under each role's credential;
// nats-server refuses what a role may not publish.
func TestSchedulePermissionsWithTheNATSCLI(t *testing.T) {
	f := newAuthFixture(t)
	sched := func(id, policy string) string {
		return `{"id":"` + id + `","command":"true","policy":"` + policy + `","schedule":"every 1h"}`
	}
	// A credential makes schedules under its own user key, which the
	// schedule records as its maker.
	create := func(role string) string { return "amf.api.schedules.create." + credsKey(t, f.creds[role]) }
	for _, c := range []struct{ role, subject, body string }{
		{"worker", "amf.api.schedules.create", sched("s1", "strict")},
		{"worker", create("worker"), sched("s1", "strict")},
		{"worker", "amf.api.schedules.delete", `{"id":"s1"}`},
		{"client", "amf.api.schedules.create", sched("s2", "strict")},
		{"client", "amf.api.schedules.create.network", sched("s2", "network")},
		{"client", create("client") + ".network", sched("s2", "network")},
		{"client", create("client-network"), sched("s2", "strict")},
		{"client", "amf.api.schedules.resume.network", `{"id":"s2"}`},
		{"client-network", create("client-network") + ".trusted", sched("s3", "trusted")},
		{"client", "amf.schedules.def.s4", sched("s4", "strict")},
		{"bridge", "amf.schedules.run.s4", sched("s4", "strict")},
	} {
		if out, _ := f.nats(c.role, "req", c.subject, c.body); !denied(out) {
			t.Errorf("%s published on %s:\n%s", c.role, c.subject, out)
		}
	}
	// The subject without a profile carries no grant: the task API refuses.
	if out, _ := f.nats("client", "req", create("client"), sched("s5", "network")); !strings.Contains(out, "403") || !strings.Contains(out, "policy-grant") {
		t.Errorf("schedule of a network task without the grant:\n%s", out)
	}
	// Within the grant: made, paused, refused a resume by a client
	// without the grant, resumed by one with it, removed.
	for _, c := range []struct{ role, subject, body string }{
		{"client-network", create("client-network") + ".network", sched("s6", "network")},
		{"client", create("client"), sched("s7", "strict")},
		{"client-network", ownSubject(t, f.creds["client-network"], "schedules.pause"), `{"id":"s6"}`},
	} {
		if out, err := f.nats(c.role, "req", c.subject, c.body); err != nil || denied(out) || strings.Contains(out, "Nats-Service-Error") {
			t.Fatalf("%s on %s: %v\n%s", c.role, c.subject, err, out)
		}
	}
	// Another owner's schedule is not there for a client to touch; the
	// unowned subjects are the bridge's and admins'.
	if out, _ := f.nats("client", "req", ownSubject(t, f.creds["client"], "schedules.resume"), `{"id":"s6"}`); !strings.Contains(out, "404") {
		t.Errorf("resume of another owner's schedule:\n%s", out)
	}
	for _, op := range []string{"schedules.resume", "schedules.pause", "schedules.delete"} {
		if out, _ := f.nats("client", "req", "amf.api."+op, `{"id":"s6"}`); !denied(out) {
			t.Errorf("client published on amf.api.%s:\n%s", op, out)
		}
	}
	if out, err := f.nats("client-network", "req", ownSubject(t, f.creds["client-network"], "schedules.resume.network"), `{"id":"s6"}`); err != nil || strings.Contains(out, "Nats-Service-Error") || !strings.Contains(out, `"id":"s6"`) {
		t.Fatalf("granted resume: %v\n%s", err, out)
	}
	// amf schedule says what is missing.
	p := startAmf(t, append(f.env, "AMF_NATS_CREDS="+f.creds["client"]), "schedule", "add", "--policy", "network", "--cmd", "true", "every 1h")
	if code := p.wait(60 * time.Second); code == 0 || !strings.Contains(p.Output(), create("client")+".network") {
		t.Errorf("amf schedule add --policy network with a client credential: exit %d\n%s", code, p.Output())
	}
	if out := f.amf("schedule", "ls"); !strings.Contains(out, "s6") || !strings.Contains(out, "s7") || strings.Contains(out, "s5") {
		t.Errorf("schedules made:\n%s", out)
	}
}

// ownSubject is the task API subject of op (bus.Names.As) of the owner
// a .creds file's credential is.
func ownSubject(t *testing.T, path, op string) string {
	t.Helper()
	return bus.Names{}.As(bus.OwnerOfCredential(bus.CredentialID(credsKey(t, path))), op)
}

// credsKey is the user public key of a .creds file's credential.
func credsKey(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseDecoratedJWT(raw)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := jwt.DecodeUserClaims(tok)
	if err != nil {
		t.Fatal(err)
	}
	return uc.Subject
}
