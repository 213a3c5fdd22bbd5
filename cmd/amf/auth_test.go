package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// authFixture is `amf up` with one credential per role, issued by
// `amf auth creds` as an operator would, and the real nats CLI.
type authFixture struct {
	t        *testing.T
	env      []string
	natsBin  string
	natsAddr string
	creds    map[string]string
}

func newAuthFixture(t *testing.T) *authFixture {
	natsBin := testenv.NeedBinary(t, "nats")
	env, base, natsAddr := upEnv(t, fakeModel(t))
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	f := &authFixture{t: t, env: env, natsBin: natsBin, natsAddr: natsAddr, creds: map[string]string{}}
	dir := t.TempDir()
	for name, args := range map[string][]string{
		"admin":          {"admin"},
		"worker":         {"worker"},
		"bridge":         {"bridge"},
		"client":         {"client"},
		"client-network": {"client", "--grant", "network"},
	} {
		path := filepath.Join(dir, name+".creds")
		f.amf(append([]string{"auth", "creds"}, append(args, "--name", name, "-o", path)...)...)
		f.creds[name] = path
	}
	return f
}

// amf runs an amf command to its end and fails the test unless it exits 0.
func (f *authFixture) amf(args ...string) string {
	f.t.Helper()
	p := startAmf(f.t, f.env, args...)
	if code := p.wait(60 * time.Second); code != 0 {
		f.t.Fatalf("amf %v: exit %d\n%s", args, code, p.Output())
	}
	return p.Output()
}

// nats runs the nats CLI as role ("" = without credentials).
func (f *authFixture) nats(role string, args ...string) (string, error) {
	f.t.Helper()
	global := []string{"--server", "nats://" + f.natsAddr, "--timeout", "2s"}
	if role != "" {
		global = append(global, "--creds", f.creds[role], "--inbox-prefix", inboxPrefix(f.t, f.creds[role]))
	}
	out, err := exec.Command(f.natsBin, append(global, args...)...).CombinedOutput()
	return string(out), err
}

// inboxPrefix is the credential's own inbox, which `amf auth creds`
// prints for `nats --inbox-prefix`.
func inboxPrefix(t *testing.T, creds string) string {
	t.Helper()
	p, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func denied(out string) bool { return strings.Contains(out, "Permissions Violation for Publish") }

// TestRolesDenialTable proves each role's limits with the nats CLI, from
// the side of whoever holds the credential: every cell is one command,
// allowed or refused by nats-server.
func TestRolesDenialTable(t *testing.T) {
	f := newAuthFixture(t)
	// Something to read, and scratch resources the admin may destroy.
	out, err := f.nats("admin", "req", "amf.api.submit", `{"id":"auth-seed","command":"echo seed"}`)
	if err != nil || !strings.Contains(out, `"id":"auth-seed"`) {
		t.Fatalf("admin submit: %v\n%s", err, out)
	}
	f.waitState("admin", "auth-seed", "done")
	for _, args := range [][]string{
		{"stream", "add", "AUTH_SCRATCH", "--subjects", "auth-scratch.>", "--defaults"},
		{"consumer", "add", "AUTH_SCRATCH", "c1", "--pull", "--defaults"},
	} {
		if out, err := f.nats("admin", args...); err != nil {
			t.Fatalf("nats %v: %v\n%s", args, err, out)
		}
	}

	type action struct {
		name string
		args func(role string) []string
		ok   func(out string, err error) bool
	}
	replied := func(marker string) func(string, error) bool {
		return func(out string, err error) bool { return err == nil && strings.Contains(out, marker) }
	}
	exited0 := func(_ string, err error) bool { return err == nil }
	same := func(args ...string) func(string) []string { return func(string) []string { return args } }
	credID := func(role string) string {
		prefix, err := kernel.CredsInboxPrefix(f.creds[role])
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(prefix, "_INBOX_")
	}
	actions := []action{
		// A client submits on its own owner's subject, the kernel reading
		// who asks from it; the bridge on its token's; admins anywhere.
		{"submit", func(role string) []string {
			switch role {
			case "client", "worker":
				return []string{"req", bus.Names{}.SubmitAs(bus.OwnerOfCredential(credID(role)), ""), `{"command":"true","policy":"strict"}`}
			case "bridge":
				return []string{"req", bus.Names{}.SubmitAs(bus.OwnerOfToken("probe"), ""), `{"command":"true","policy":"strict"}`}
			}
			return []string{"req", "amf.api.submit", `{"command":"true"}`}
		}, replied(`"events_subject"`)},
		{"submit as another", same("req", bus.Names{}.SubmitAs(bus.OwnerOfCredential("AAAAAAAAAAAAAAAA"), ""), `{"command":"true","policy":"strict"}`), replied(`"events_subject"`)},
		// A task published on its pool's subject has a body nothing checks
		// the owner of: only admins may.
		{"publish task", same("req", "amf.tasks.default", `{"command":"true"}`), replied(`"stream":"AMF_TASKS"`)},
		// A worker stores a task's events on its own subject, for its
		// own pools only.
		{"publish event", func(role string) []string {
			subject := bus.Names{}.Event("auth-probe")
			if role == "worker" {
				subject = bus.Names{}.EventBy("auth-probe", bus.DefaultPool, f.credID(role))
			}
			return []string{"req", subject, `{"task_id":"auth-probe","type":"stdout","text":"x"}`}
		}, replied(`"stream":"AMF_EVENTS"`)},
		{"event for another pool", func(role string) []string {
			return []string{"req", bus.Names{}.EventBy("auth-probe", "other-pool", f.credID(role)), `{"task_id":"auth-probe","type":"done"}`}
		}, replied(`"stream":"AMF_EVENTS"`)},
		{"event as another", same("req", bus.Names{}.EventBy("auth-probe", bus.DefaultPool, "AAAAAAAAAAAAAAAA"), `{"task_id":"auth-probe","type":"done"}`), replied(`"stream":"AMF_EVENTS"`)},
		// A worker reports what it learned on its own subject only, so
		// two successes from one credential count once.
		{"publish memory", func(role string) []string {
			subject := "amf.memory.auth-probe"
			if role == "worker" {
				subject = bus.Names{}.LearnedBy(f.credID(role))
			}
			return []string{"req", subject, `{}`}
		}, replied(`"stream":"AMF_MEMORY"`)},
		{"learn as another", same("req", bus.Names{}.LearnedBy("AAAAAAAAAAAAAAAA"), `{}`), replied(`"stream":"AMF_MEMORY"`)},
		{"confirm memory", same("req", bus.Names{}.MemoryConfirmed(), `{}`), replied(`"stream":"AMF_MEMORY"`)},
		// Memories are searched the way tasks are asked for: a client
		// on its own owner's subject (its memories and the shared
		// ones), the bridge on its token's, every owner's only on the
		// unowned subject (admins, the bridge for its admin tokens).
		{"search memories", func(role string) []string {
			switch role {
			case "client", "worker":
				return []string{"req", bus.Names{}.MemorySearchAs(bus.OwnerOfCredential(credID(role))), `{"query":"echo seed"}`}
			case "bridge":
				return []string{"req", bus.Names{}.MemorySearchAs(bus.OwnerOfToken("probe")), `{"query":"echo seed"}`}
			}
			return []string{"req", bus.Names{}.MemorySearch(), `{"query":"echo seed"}`}
		}, replied(`"matches"`)},
		{"search every owner's memories", same("req", bus.Names{}.MemorySearch(), `{"query":"echo seed"}`), replied(`"matches"`)},
		{"search another's memories", same("req", bus.Names{}.MemorySearchAs(bus.OwnerOfCredential("AAAAAAAAAAAAAAAA")), `{"query":"echo seed"}`), replied(`"matches"`)},
		{"list another's memories", same("req", bus.Names{}.MemoryListAs(bus.OwnerOfCredential("AAAAAAAAAAAAAAAA")), `{}`), replied(`"memories"`)},
		{"read events", same("stream", "get", "AMF_EVENTS", "--last-for", bus.Names{}.TaskEvents("auth-seed")), replied(`"type":"done"`)},
		{"durable consumer", func(role string) []string {
			if role == "admin" {
				return []string{"consumer", "add", "AUTH_SCRATCH", "c2", "--pull", "--defaults"}
			}
			return []string{"consumer", "add", "AMF_EVENTS", "status-projector", "--pull", "--defaults"}
		}, exited0},
		{"consumer delete", func(role string) []string {
			if role == "admin" {
				return []string{"consumer", "rm", "AUTH_SCRATCH", "c1", "-f"}
			}
			return []string{"consumer", "rm", "AMF_TASKS", "pool-default", "-f"}
		}, exited0},
		{"stream delete", func(role string) []string {
			if role == "admin" {
				return []string{"stream", "rm", "AUTH_SCRATCH", "-f"}
			}
			return []string{"stream", "rm", "AMF_TASKS", "-f"}
		}, exited0},
		{"kv write", same("kv", "put", "AMF_STATUS", "auth-probe", "x"), exited0},
	}
	// allowed[role] lists the actions the role may do; all others must be
	// refused by the server.
	allowed := map[string][]string{
		"admin":  {"submit", "submit as another", "publish task", "publish event", "event for another pool", "event as another", "publish memory", "learn as another", "confirm memory", "read events", "consumer delete", "stream delete", "kv write", "durable consumer", "search memories", "search every owner's memories", "search another's memories", "list another's memories"},
		"worker": {"publish event", "publish memory", "read events"},
		// A client or bridge reads a task's events only through a
		// consumer the kernel makes for it (amf.api.readers.open.…).
		"bridge": {"submit", "submit as another", "confirm memory", "search memories", "search every owner's memories", "search another's memories", "list another's memories"},
		"client": {"submit", "search memories"},
	}
	for _, role := range []string{"worker", "bridge", "client", "admin"} {
		for _, a := range actions {
			want := contains(allowed[role], a.name)
			out, err := f.nats(role, a.args(role)...)
			switch {
			case want && !a.ok(out, err):
				t.Errorf("%s may %s, but: %v\n%s", role, a.name, err, out)
			case !want && !denied(out):
				t.Errorf("%s must not %s, but the server did not refuse: %v\n%s", role, a.name, err, out)
			}
		}
	}
	// Replies are private: the attack of subscribing to every inbox is
	// refused. Service discovery ($SRV) answers into any subject a
	// requester names, so only admins may ask it.
	for _, role := range []string{"worker", "bridge", "client"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, f.natsBin, "--server", "nats://"+f.natsAddr, "--creds", f.creds[role], "sub", "_INBOX.>", "--count", "1")
		out, _ := cmd.CombinedOutput()
		cancel()
		if !strings.Contains(string(out), `Permissions Violation for Subscription to "_INBOX.>"`) {
			t.Errorf("%s subscribed to every inbox: %s", role, out)
		}
		if out, _ := f.nats(role, "micro", "ls"); !denied(out) {
			t.Errorf("%s: nats micro ls was not refused:\n%s", role, out)
		}
	}
	if out, err := f.nats("admin", "micro", "ls"); err != nil || !strings.Contains(out, "amf-api") {
		t.Errorf("admin: nats micro ls: %v\n%s", err, out)
	}
	// `amf auth nats-context` puts the credential's inbox in the context.
	xdg := "XDG_CONFIG_HOME=" + t.TempDir()
	if p := startAmf(t, append(f.env, xdg), "auth", "nats-context", "--name", "amf-client", "--creds", f.creds["client"]); p.wait(60*time.Second) != 0 {
		t.Fatalf("amf auth nats-context: %s", p.Output())
	}
	list := bus.Names{}.As(bus.OwnerOfCredential(credID("client")), "list")
	viaCtx := exec.Command(f.natsBin, "--context", "amf-client", "--server", "nats://"+f.natsAddr, "req", list, "{}")
	viaCtx.Env = append(os.Environ(), xdg)
	if out, err := viaCtx.CombinedOutput(); err != nil || !strings.Contains(string(out), `"tasks"`) {
		t.Errorf("nats --context amf-client req %s: %v\n%s", list, err, out)
	}
	// The bus survived the attempts.
	if out, err := f.nats("admin", "stream", "info", "AMF_TASKS"); err != nil {
		t.Fatalf("AMF_TASKS gone: %v\n%s", err, out)
	}
}

// credID is the credential id of role's credential (kernel.CredentialID).
func (f *authFixture) credID(role string) string {
	f.t.Helper()
	prefix, err := kernel.CredsInboxPrefix(f.creds[role])
	if err != nil {
		f.t.Fatal(err)
	}
	return strings.TrimPrefix(prefix, "_INBOX_")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// status asks the task API for a task's status as role.
func (f *authFixture) status(role, id string) map[string]any {
	f.t.Helper()
	out, err := f.nats(role, "req", "amf.api.status", id, "--raw")
	if err != nil {
		return nil
	}
	var st map[string]any
	_ = json.Unmarshal([]byte(strings.TrimSpace(out)), &st)
	return st
}

// waitState polls a task's status until it reaches state.
func (f *authFixture) waitState(role, id, state string) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := f.status(role, id)
		if st["state"] == state {
			return st
		}
		if s, _ := st["state"].(string); s == "done" || s == "failed" || s == "cancelled" || time.Now().After(deadline) {
			f.t.Fatalf("task %s: want %s, status %v", id, state, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPolicyGrantAtEveryEntryPoint: a profile beyond strict needs a grant,
// whether the task comes through the task API or is published raw.
func TestPolicyGrantAtEveryEntryPoint(t *testing.T) {
	f := newAuthFixture(t)
	task := func(id, policy string) string {
		return `{"id":"` + id + `","command":"echo ran","policy":"` + policy + `"}`
	}
	own := func(role, op string) string { return ownSubject(t, f.creds[role], op) }
	// Refused by nats-server: the credential may not publish there. A
	// client submits only through the task API, on its own subjects.
	for _, c := range []struct{ role, subject, body string }{
		{"client", own("client", "submit.network"), task("g1", "network")},
		{"client", "amf.api.submit.network", task("g1", "network")},
		{"client", "amf.tasks.default.network", task("g2", "network")},
		{"client", "amf.tasks.default", task("g2", "")},
		{"client-network", own("client-network", "submit.trusted"), task("g3", "trusted")},
		{"client-network", "amf.tasks.default.trusted", task("g4", "trusted")},
	} {
		if out, _ := f.nats(c.role, "req", c.subject, c.body); !denied(out) {
			t.Errorf("%s published on %s:\n%s", c.role, c.subject, out)
		}
	}
	// Refused by the task API: the plain subject carries no grant.
	out, _ := f.nats("client", "req", own("client", "submit"), task("g5", "network"))
	if !strings.Contains(out, "403") || !strings.Contains(out, "policy-grant") || !strings.Contains(out, `grant "network"`) {
		t.Errorf("micro submit of a network task without the grant:\n%s", out)
	}
	// Refused by the worker: published raw (an admin's right) on the
	// plain subject, or on a granted subject asking for more than that
	// grant.
	for _, c := range []struct{ role, subject, id, policy string }{
		{"admin", "amf.tasks.default", "g6", "network"},
		{"admin", "amf.tasks.default.network", "g7", "trusted"},
	} {
		if out, err := f.nats(c.role, "req", c.subject, task(c.id, c.policy)); err != nil || denied(out) {
			t.Fatalf("%s on %s: %v\n%s", c.role, c.subject, err, out)
		}
		st := f.waitState("admin", c.id, "failed")
		if e, _ := st["error"].(string); !strings.Contains(e, "policy-grant") || !strings.Contains(e, `grant "`+c.policy+`"`) {
			t.Errorf("task %s failed for another reason: %v", c.id, st)
		}
	}
	// Allowed: within the grant; strict needs none.
	for _, c := range []struct{ role, subject, id, policy string }{
		{"client-network", own("client-network", "submit.network"), "g8", "network"},
		{"admin", "amf.tasks.default.network", "g9", "network"},
		{"bridge", bus.Names{}.SubmitAs(bus.OwnerOfToken("probe"), "trusted"), "g10", "trusted"},
		{"client", own("client", "submit"), "g11", "strict"},
		{"admin", "amf.tasks.default", "g12", ""},
	} {
		if out, err := f.nats(c.role, "req", c.subject, task(c.id, c.policy)); err != nil || denied(out) {
			t.Fatalf("%s on %s: %v\n%s", c.role, c.subject, err, out)
		}
		f.waitState("admin", c.id, "done")
	}
	// amf run says which grant is missing.
	p := startAmf(t, append(f.env, "AMF_NATS_CREDS="+f.creds["client"]), "run", "--policy", "network", "--cmd", "true")
	if code := p.wait(60 * time.Second); code == 0 || !strings.Contains(p.Output(), "policy-grant") || !strings.Contains(p.Output(), "--grant network") {
		t.Errorf("amf run --policy network with a client credential: exit %d\n%s", code, p.Output())
	}
}

// TestNoPolicyGetsTheDefaultTheCredentialHolds: amf up gives a task
// naming no profile observe. A client credential granted observe runs
// and schedules such tasks with it — its client cannot read the pool's
// default, the kernel names it — and one without the grant is told to
// name strict or get the grant.
func TestNoPolicyGetsTheDefaultTheCredentialHolds(t *testing.T) {
	f := newAuthFixture(t)
	observe := filepath.Join(t.TempDir(), "observe.creds")
	f.amf("auth", "creds", "client", "--grant", "observe", "--name", "client-observe", "-o", observe)
	as := func(creds string, args ...string) (int, string) {
		p := startAmf(t, append(f.env, "AMF_NATS_CREDS="+creds), args...)
		code := p.wait(60 * time.Second)
		return code, p.Output()
	}
	code, out := as(observe, "run", "--json", "--id", "np-observe", "--cmd", "id -u")
	if code != 0 || !strings.Contains(out, `"policy":"observe"`) {
		t.Errorf("amf run with an observe grant and no --policy: exit %d\n%s", code, out)
	}
	code, out = as(observe, "schedule", "add", "--id", "np-every", "--cmd", "true", "every 1h")
	if code != 0 || !strings.Contains(out, "np-every") {
		t.Errorf("amf schedule add with an observe grant and no --policy: exit %d\n%s", code, out)
	}
	if st := f.status("admin", "np-observe"); st["state"] != "done" {
		t.Errorf("task np-observe: %v", st)
	}
	for _, args := range [][]string{
		{"run", "--id", "np-strict", "--cmd", "true"},
		{"schedule", "add", "--id", "np-strict-every", "--cmd", "true", "every 1h"},
	} {
		code, out := as(f.creds["client"], args...)
		if code == 0 || !strings.Contains(out, "names no policy") || !strings.Contains(out, `"observe"`) || !strings.Contains(out, "--policy") || !strings.Contains(out, "--grant observe") {
			t.Errorf("amf %s with a strict credential and no --policy: exit %d\n%s", args[0], code, out)
		}
	}
}

// TestNoCredentialNoConnection: loopback included, nobody connects
// without a credential.
func TestNoCredentialNoConnection(t *testing.T) {
	f := newAuthFixture(t)
	out, err := f.nats("", "pub", "amf.tasks.default", `{"command":"true"}`)
	if err == nil || !strings.Contains(strings.ToLower(out), "authorization violation") {
		t.Fatalf("connected without a credential: %v\n%s", err, out)
	}
	// amf run with a credential of nothing finds nothing to use.
	p := startAmf(t, []string{"AMF_NATS_URL=nats://" + f.natsAddr, "AMF_STATE_DIR=" + t.TempDir()}, "run", "--cmd", "true")
	if code := p.wait(60 * time.Second); code == 0 || !strings.Contains(p.Output(), "wants a credential") {
		t.Fatalf("amf run without a credential: exit %d\n%s", code, p.Output())
	}
}

// TestRevocationCutsOffALiveWorker: a worker on its own credential runs
// a task; revoking the credential closes its live connection, with the
// kernel running on, and the credential no longer connects.
func TestRevocationCutsOffALiveWorker(t *testing.T) {
	f := newAuthFixture(t)
	far := filepath.Join(t.TempDir(), "far.creds")
	f.amf("auth", "creds", "worker", "--pool", "far", "--name", "far-1", "-o", far)
	w := startAmf(t, []string{"AMF_NATS_URL=nats://" + f.natsAddr, "AMF_NATS_CREDS=" + far,
		"AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=http://127.0.0.1:1"}, "worker", "--pool", "far", "--id", "far-w")
	if out := f.amf("run", "--pool", "far", "--cmd", "echo from far away"); !strings.Contains(out, "from far away") || !strings.Contains(out, "far-w") {
		t.Fatalf("task on pool far:\n%s", out)
	}
	// A bridge elsewhere, on its own credential.
	bc := filepath.Join(t.TempDir(), "bridge.creds")
	f.amf("auth", "creds", "bridge", "--name", "far-bridge", "-o", bc)
	httpAddr := testenv.FreeAddr(t)
	br := startAmf(t, []string{"AMF_NATS_URL=nats://" + f.natsAddr, "AMF_NATS_CREDS=" + bc, "AMF_HTTP_LISTEN=" + httpAddr}, "bridge")
	waitHealthy(t, "http://"+httpAddr, br)

	if out := f.amf("auth", "revoke", "far-1"); !strings.Contains(out, "applied") {
		t.Fatalf("revoke did not reach the running kernel:\n%s", out)
	}
	if code := w.wait(60 * time.Second); code == 0 || !strings.Contains(w.Output(), "closed the connection") {
		t.Fatalf("revoked worker: exit %d\n%s", code, w.Output())
	}
	f.amf("auth", "revoke", "far-bridge")
	if code := br.wait(60 * time.Second); code == 0 || !strings.Contains(br.Output(), "closed the connection") {
		t.Fatalf("revoked bridge: exit %d\n%s", code, br.Output())
	}
	out, err := exec.Command(f.natsBin, "--server", "nats://"+f.natsAddr, "--creds", far, "pub", "x", "y").CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "authorization violation") {
		t.Fatalf("a revoked credential still connects: %v\n%s", err, out)
	}
	// The kernel ran on: the others' credentials still work.
	if out, err := f.nats("client", "req", ownSubject(t, f.creds["client"], "submit"), `{"command":"true","policy":"strict"}`); err != nil || !strings.Contains(out, `"events_subject"`) {
		t.Fatalf("client after the revocation: %v\n%s", err, out)
	}
	if out := f.amf("auth", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("auth list does not show the revocation:\n%s", out)
	}
}
