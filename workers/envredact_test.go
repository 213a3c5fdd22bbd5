package workers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/workers"
)

const envSecret = "s3cr3t-7f3a9c" //nolint:gosec // a test value

// secretTask's command proves it sees the value without printing it: it
// prints the value's digest.
func secretTask(id string) bus.Task {
	return bus.Task{ID: id, Command: `printf %s "$DEPLOY_KEY" | sha256sum`, Env: map[string]string{"DEPLOY_KEY": envSecret}}
}

func secretDigest() string {
	sum := sha256.Sum256([]byte(envSecret))
	return hex.EncodeToString(sum[:])
}

// assertNoSecret reads the task's events as any reader of the stream
// does (raw, as the SSE stream and the console send them) and its
// status, and expects the env name but never the value.
func assertNoSecret(t *testing.T, m *mesh, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var raw strings.Builder
	err := m.client.WatchRaw(ctx, id, 0, false, func(e client.RawEvent) error {
		raw.Write(e.Data)
		raw.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw.String(), envSecret) {
		t.Fatalf("the env value is readable in the task's events:\n%s", raw.String())
	}
	if !strings.Contains(raw.String(), `"DEPLOY_KEY":"`+bus.Redacted+`"`) {
		t.Fatalf("the events should name the env variable with a redacted value:\n%s", raw.String())
	}
	st, err := m.client.StatusFromEvents(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(st)
	if strings.Contains(string(js), envSecret) {
		t.Fatalf("the env value is readable in the status: %s", js)
	}
}

func TestEnvValuesRunButNeverShow(t *testing.T) {
	m := newMesh(t)
	m.startWorker(workers.Config{ID: "w-env"})
	id := m.submit(secretTask("env-secret-1"))
	evs := m.wait(id)
	end := last(evs)
	if end.Type != bus.EventDone {
		t.Fatalf("task ended %s (%s): the command did not see its env value", end.Type, end.Reason)
	}
	out := ""
	for _, e := range evs {
		if e.Type == bus.EventStdout {
			out += e.Text
		}
	}
	if !strings.Contains(out, secretDigest()) {
		t.Fatalf("stdout %q: the command did not see its env value", out)
	}
	for _, e := range evs {
		if (e.Type == bus.EventAccepted || e.Type == bus.EventAssigned) && (e.Task == nil || e.Task.Env["DEPLOY_KEY"] != bus.Redacted) {
			t.Fatalf("%s event carries task %+v, want the env value redacted", e.Type, e.Task)
		}
	}
	assertNoSecret(t, m, id)
}

// A submission retried after its accepted event was stored but the task
// was not queued is queued from the retry, with the real values: the
// recorded task has them redacted.
func TestRetriedSubmissionRunsWithRealEnv(t *testing.T) {
	m := newMesh(t)
	task := secretTask("env-secret-2")
	if err := task.Normalize(); err != nil {
		t.Fatal(err)
	}
	task.Submitted = time.Now().UTC()
	shown := task.Redacted()
	if _, err := m.k.JS.PublishMsg(context.Background(), m.client.Names.EventMsg(bus.Event{TaskID: task.ID, Type: bus.EventAccepted, TS: task.Submitted, Task: &shown})); err != nil {
		t.Fatal(err)
	}
	m.startWorker(workers.Config{ID: "w-env2"})
	got, dup, err := m.client.Submit(context.Background(), task)
	if err != nil || !dup {
		t.Fatalf("retry: dup %v, err %v", dup, err)
	}
	if got.Env["DEPLOY_KEY"] != bus.Redacted {
		t.Fatalf("retry answered %+v, want the recorded task with its env value redacted", got)
	}
	if end := last(m.wait(task.ID)); end.Type != bus.EventDone || !strings.Contains(end.Output, secretDigest()) {
		t.Fatalf("retried task ended %s (%s) with output %q, want the real env value's digest", end.Type, end.Reason, end.Output)
	}
	assertNoSecret(t, m, task.ID)
}

// The memory learned from a task and its session turn keep the command,
// never the env values it ran with.
func TestEnvValuesStayOutOfMemoryAndSessions(t *testing.T) {
	learner := &recordingLearner{}
	sessions := &workers.LocalSessions{}
	m := newLoopMesh(t, &workers.SolverConfig{Learner: learner, Sessions: sessions},
		ollamatest.WithReplies(cmdReply("digest the key", `printf %s "$DEPLOY_KEY" | sha256sum`)))
	task := bus.Task{Instruction: "show the digest of the deploy key", Session: "keys", NoAnswer: true, Env: map[string]string{"DEPLOY_KEY": envSecret}}
	if e := last(m.wait(m.submit(task))); e.Type != bus.EventDone || !strings.Contains(e.Output, secretDigest()) {
		t.Fatalf("task ended %s with output %q: the command did not see its env value", e.Type, e.Output)
	}
	learner.mu.Lock()
	b, _ := json.Marshal(learner.learned)
	learner.mu.Unlock()
	learned := string(b)
	if !strings.Contains(learned, "sha256sum") || strings.Contains(learned, envSecret) {
		t.Fatalf("learned memory %q: want one, without the env value", learned)
	}
	turns, _ := sessions.Turns(context.Background(), workers.SessionKey("strict", "keys"), 10)
	b, _ = json.Marshal(turns)
	if len(turns) != 1 || strings.Contains(string(b), envSecret) {
		t.Fatalf("session turns %s: want one, without the env value", b)
	}
}
