package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/memory/cache"

	"github.com/nats-io/nats.go"
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// fakeModel answers every request with a command chosen from the last
// user message, so each submission path can check its own result.
func fakeModel(t *testing.T) *ollamatest.Server {
	return ollamatest.New(t, ollamatest.WithHandler(fakeModelReply))
}

// fakeModelReply is fakeModel's model: it greets when asked to, lists /
// otherwise, and vouches at every second look.
func fakeModelReply(req *api.ChatRequest) ollamatest.Reply {
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = m.Content
		}
	}
	switch {
	case strings.Contains(string(req.Format), `"same"`):
		// The second look before a replay: this model vouches.
		return ollamatest.Reply{Content: `{"same": true}`}
	case strings.Contains(last, "greet"):
		return ollamatest.Reply{Content: `{"thought":"print a greeting","command":"echo hello from the model"}`}
	default:
		return ollamatest.Reply{Content: `{"thought":"list","command":"ls /"}`}
	}
}

// upEnv is the environment of an `amf up` on random ports.
func upEnv(t *testing.T, llm *ollamatest.Server) (env []string, httpBase, natsAddr string) {
	natsAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	state := t.TempDir()
	// Requests of the tests to this bridge carry the admin token that
	// `amf up` writes in its state dir, as a local operator's would.
	bridgeTokens.register("http://"+httpAddr, adminTokenFile(state))
	return []string{
		"AMF_STATE_DIR=" + state,
		"AMF_NATS_LISTEN=" + natsAddr,
		"AMF_HTTP_LISTEN=" + httpAddr,
		"AMF_NATS_URL=nats://" + natsAddr,
		"OLLAMA_HOST=" + llm.URL(),
		"AMF_CONCURRENCY=2",
	}, "http://" + httpAddr, natsAddr
}

// sseEvents reads a task's whole event stream over HTTP.
func sseEvents(t *testing.T, base, id string) []bus.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/tasks/"+id+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	var evs []bus.Event
	err = ssetest.Read(resp.Body, func(m ssetest.Message) error {
		var e bus.Event
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			return err
		}
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func lastEvent(evs []bus.Event) bus.Event {
	if len(evs) == 0 {
		return bus.Event{}
	}
	return evs[len(evs)-1]
}

func countType(evs []bus.Event, t bus.EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == t {
			n++
		}
	}
	return n
}

func TestUpServesAllThreeSubmissionPaths(t *testing.T) {
	llm := fakeModel(t)
	env, base, natsAddr := upEnv(t, llm)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)

	t.Run("http", func(t *testing.T) {
		resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(`{"instruction":"greet me","no_answer":true}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var sub struct{ ID, EventsURL string }
		_ = json.Unmarshal(body, &struct {
			ID        *string `json:"id"`
			EventsURL *string `json:"events_url"`
		}{&sub.ID, &sub.EventsURL})
		if resp.StatusCode != 202 || sub.ID == "" {
			t.Fatalf("POST: %d %s", resp.StatusCode, body)
		}
		evs := sseEvents(t, base, sub.ID)
		end := lastEvent(evs)
		if end.Type != bus.EventDone || !strings.Contains(end.Output, "hello from the model") {
			t.Fatalf("ended %+v", end)
		}
		// Tokens that come while an event is being stored share one.
		var toks strings.Builder
		for _, e := range evs {
			if e.Type == bus.EventToken {
				toks.WriteString(e.Text)
			}
		}
		if !strings.Contains(toks.String(), "hello from the model") {
			t.Errorf("want the model's tokens streamed, got %q in %d token events", toks.String(), countType(evs, bus.EventToken))
		}
	})

	t.Run("nats", func(t *testing.T) {
		nc, err := nats.Connect("nats://"+natsAddr, nats.UserCredentials(adminCreds(env)))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		// What `nats sub 'amf.events.>'` shows.
		evCh := make(chan *nats.Msg, 256)
		sub, err := nc.ChanSubscribe("amf.events.>", evCh)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		// What `nats pub amf.tasks.default '{…}'` sends: the task JSON is
		// the whole API.
		if err := nc.Publish("amf.tasks.default", []byte(`{"id":"via-nats-pub","command":"echo published"}`)); err != nil {
			t.Fatal(err)
		}
		// What `nats req amf.api.submit '{…}'` sends and gets back.
		reply, err := nc.Request("amf.api.submit", []byte(`{"instruction":"greet over nats"}`), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var sres kapi.Submitted
		if err := json.Unmarshal(reply.Data, &sres); err != nil || sres.ID == "" {
			t.Fatalf("submit reply %q: %v", reply.Data, err)
		}
		pending := map[string]bool{"via-nats-pub": true, sres.ID: true}
		outputs := map[string]string{}
		deadline := time.After(60 * time.Second)
		for len(pending) > 0 {
			select {
			case m := <-evCh:
				var e bus.Event
				if err := json.Unmarshal(m.Data, &e); err != nil {
					t.Fatalf("event on %s: %v", m.Subject, err)
				}
				if e.Type.Terminal() && pending[e.TaskID] {
					if e.Type != bus.EventDone {
						t.Fatalf("%s ended %+v", e.TaskID, e)
					}
					outputs[e.TaskID] = e.Output
					delete(pending, e.TaskID)
				}
			case <-deadline:
				t.Fatalf("tasks still pending: %v", pending)
			}
		}
		if outputs["via-nats-pub"] != "published" || !strings.Contains(outputs[sres.ID], "hello from the model") {
			t.Fatalf("outputs %v", outputs)
		}
		// status over the micro service; the cache follows the events,
		// so it may trail the terminal event by a moment.
		testenv.EventuallyWithin(t, 10*time.Second, "status done over amf.api.status", func() bool {
			st, err := nc.Request("amf.api.status", []byte(sres.ID), 5*time.Second)
			return err == nil && strings.Contains(string(st.Data), `"state":"done"`)
		})
		// a bad request gets a micro error, not silence
		bad, err := nc.Request("amf.api.submit", []byte(`{"instruction":"x","bogus":1}`), 5*time.Second)
		if err != nil || bad.Header.Get("Nats-Service-Error-Code") != "400" || !strings.Contains(bad.Header.Get("Nats-Service-Error"), "bogus") {
			t.Fatalf("bad submit: %v %v", bad.Header, err)
		}
	})

	t.Run("cli", func(t *testing.T) {
		run := startAmf(t, env, "run", "--cmd", "echo from the cli")
		if code := run.wait(60 * time.Second); code != 0 {
			t.Fatalf("amf run exit %d:\n%s", code, run.Output())
		}
		if out := run.Output(); !strings.Contains(out, "from the cli") || !strings.Contains(out, "done") {
			t.Fatalf("amf run printed:\n%s", out)
		}
		argv := startAmf(t, env, "run", "--cmd", "sh", "--", "-c", "echo argv kept | tr a-z A-Z")
		if code := argv.wait(60 * time.Second); code != 0 || !strings.Contains(argv.Output(), "ARGV KEPT") {
			t.Fatalf("amf run --cmd sh -- -c …: exit %d:\n%s", code, argv.Output())
		}
		fail := startAmf(t, env, "run", "--cmd", "echo broken >&2; exit 4")
		if code := fail.wait(60 * time.Second); code == 0 {
			t.Fatalf("failing task exited 0:\n%s", fail.Output())
		}
		instr := startAmf(t, env, "run", "--no-answer", "greet", "me")
		if code := instr.wait(60 * time.Second); code != 0 || !strings.Contains(instr.Output(), "hello from the model") {
			t.Fatalf("amf run instruction exit %d:\n%s", code, instr.Output())
		}
		long := startAmf(t, env, "run", "--cmd", "echo waiting; sleep 30")
		waitFor(t, long, "waiting")
		long.signal(syscall.SIGINT)
		if code := long.wait(20 * time.Second); code != exitCancelled || !strings.Contains(long.Output(), "cancelled") {
			t.Fatalf("Ctrl-C: exit %d:\n%s", code, long.Output())
		}
	})

	up.signal(syscall.SIGTERM)
	if code := up.wait(30 * time.Second); code != 0 {
		t.Fatalf("amf up exit %d on SIGTERM", code)
	}
}

// waitFor waits until the process printed s.
func waitFor(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.Output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("never printed %q:\n%s", s, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkerProcessTakesTasksAndSurvivesKill(t *testing.T) {
	k := kerneltest.Start(t)
	client := &kapi.Client{NC: k.NC, JS: k.JS}
	// The worker process holds a worker credential, as on another host;
	// such a credential opens the hot cache's buckets but may not make
	// them, which a kernel's own cache does.
	if _, err := cache.NewKVCache(context.Background(), k.JS); err != nil {
		t.Fatal(err)
	}
	env := []string{"AMF_NATS_URL=" + k.ClientURL(), "AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=http://127.0.0.1:1",
		"AMF_NATS_CREDS=" + k.Creds(kernel.UserSpec{Role: kernel.RoleWorker})}
	a := startAmf(t, env, "worker", "--id", "worker-a", "--concurrency", "1")

	ctx := context.Background()
	quick, _, err := client.Submit(ctx, bus.Task{Command: "echo quick"})
	if err != nil {
		t.Fatal(err)
	}
	evs := watchAll(t, client, quick.ID)
	if e := lastEvent(evs); e.Type != bus.EventDone || e.Worker != "worker-a" {
		t.Fatalf("quick task: %+v", e)
	}

	slow, _, err := client.Submit(ctx, bus.Task{Command: "echo begun; sleep 3; echo finished"})
	if err != nil {
		t.Fatal(err)
	}
	// Kill worker A as soon as it has started the command.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := errors.New("stop")
	_ = client.Watch(wctx, slow.ID, 0, true, func(e bus.Event) error {
		if e.Type == bus.EventStdout {
			return stop
		}
		return nil
	})
	a.signal(syscall.SIGKILL)
	a.wait(10 * time.Second)
	startAmf(t, env, "worker", "--id", "worker-b", "--concurrency", "1")
	evs = watchAll(t, client, slow.ID)
	var assigned []bus.Event
	for _, e := range evs {
		if e.Type == bus.EventAssigned {
			assigned = append(assigned, e)
		}
	}
	if len(assigned) != 2 || assigned[0].Worker != "worker-a" || assigned[1].Worker != "worker-b" || assigned[1].Delivery != 2 {
		t.Fatalf("want assigned to worker-a then worker-b (delivery 2); got %+v", assigned)
	}
	if e := lastEvent(evs); e.Type != bus.EventDone || e.Worker != "worker-b" || e.Output != "begun\nfinished" {
		t.Fatalf("redelivered task: %+v", e)
	}
	if n := countType(evs, bus.EventDone) + countType(evs, bus.EventFailed) + countType(evs, bus.EventCancelled); n != 1 {
		t.Fatalf("%d terminal events", n)
	}
}

func watchAll(t *testing.T, c *kapi.Client, id string) []bus.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var evs []bus.Event
	if err := c.Watch(ctx, id, 0, true, func(e bus.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatalf("watch %s: %v", id, err)
	}
	return evs
}

func TestKernelRestartKeepsTasksAndEvents(t *testing.T) {
	state := t.TempDir()
	addr := testenv.FreeAddr(t)
	env := []string{"AMF_STATE_DIR=" + state, "AMF_NATS_LISTEN=" + addr, "AMF_NATS_URL=nats://" + addr, "OLLAMA_HOST=http://127.0.0.1:1"}
	k1 := startAmf(t, env, "kernel")
	waitNATS(t, addr, k1)
	nc, err := nats.Connect("nats://"+addr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	client := &kapi.Client{NC: nc}
	// Queued with no worker running, so it survives only if the store does.
	task, _, err := client.Submit(context.Background(), bus.Task{ID: "survivor", Command: "echo survived"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	k1.signal(syscall.SIGTERM)
	if code := k1.wait(30 * time.Second); code != 0 {
		t.Fatalf("kernel exit %d", code)
	}

	k2 := startAmf(t, env, "kernel")
	waitNATS(t, addr, k2)
	startAmf(t, env, "worker")
	nc2, err := nats.Connect("nats://"+addr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	evs := watchAll(t, &kapi.Client{NC: nc2}, task.ID)
	if evs[0].Type != bus.EventAccepted {
		t.Fatalf("the accepted event from before the restart is gone: %v", evs[0])
	}
	if e := lastEvent(evs); e.Type != bus.EventDone || e.Output != "survived" {
		t.Fatalf("after restart: %+v", e)
	}
}
