package workers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
	"github.com/amf-os/amf/workers"
)

// memoryMesh is a loop mesh whose worker recalls from and learns into a
// real knowledge base on the test kernel.
func memoryMesh(t *testing.T, replies ...ollamatest.Reply) (*loopMesh, *knowledge.Knowledge, *kerneltest.Kernel) {
	t.Helper()
	// The knowledge base keeps the fleet's memory in JetStream; the loop
	// itself needs no kernel.
	k := kerneltest.Start(t)
	kn, err := knowledge.Open(context.Background(), k.JS, knowledge.Config{Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatalf("open knowledge: %v", err)
	}
	t.Cleanup(func() { kn.Close() })
	m := newLoopMesh(t, &workers.SolverConfig{Memory: kn, Learner: kn}, ollamatest.WithReplies(replies...))
	return m, kn, k
}

// otherWorker learns with a worker credential of its own: another host
// of the fleet whose successes count apart from the mesh worker's. It
// ran the tasks its records name: before each record it stores what the
// kernel's memory voucher (kernel/vouch) looks for, the task's accepted
// event for the record's owner, as the kernel stores it at submission,
// and one event on the worker's own subject.
func otherWorker(t *testing.T, k *kerneltest.Kernel) ranTasks {
	t.Helper()
	creds := k.Creds(kernel.UserSpec{Name: "other-worker", Role: kernel.RoleWorker})
	js, err := jetstream.New(k.ConnectAs(creds))
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	return ranTasks{Publisher: memory.Publisher{JS: js}, admin: k.JS, cred: strings.TrimPrefix(prefix, "_INBOX_")}
}

// ranTasks is a worker credential's publisher that stores, before each
// record, the events of the task it names (otherWorker).
type ranTasks struct {
	memory.Publisher
	admin jetstream.JetStream
	cred  string
}

// Learn stores the record's task's accepted event and one event of the
// worker's in the default pool, then publishes the record.
func (w ranTasks) Learn(ctx context.Context, rec bus.Learned) (string, error) {
	names := bus.Names{}
	task := bus.Task{ID: rec.TaskID, Owner: rec.Owner, Pool: bus.DefaultPool}
	if _, err := w.admin.PublishMsg(ctx, names.EventMsg(bus.Event{TaskID: rec.TaskID, Type: bus.EventAccepted, Task: &task})); err != nil {
		return "", fmt.Errorf("store the accepted event: %w", err)
	}
	if _, err := w.JS.PublishMsg(ctx, names.EventMsgBy(bus.Event{TaskID: rec.TaskID, Type: bus.EventAssigned}, bus.DefaultPool, w.cred)); err != nil {
		return "", fmt.Errorf("store the worker's event: %w", err)
	}
	return w.Publisher.Learn(ctx, rec)
}

func syncMemory(t *testing.T, kn *knowledge.Knowledge) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSuccessIsLearnedThenReusedAndOfferedAsExample(t *testing.T) {
	answered := ollamatest.Reply{Content: `{"answers_request": true, "answer": "It uses 4 KiB."}`}
	m, kn, k := memoryMesh(t, cmdReply("du sums the sizes", "du -sh ."), answered, cmdReply("as before", "du -sh ."), answered)
	const instr = "show the disk usage of this directory"
	first := m.wait(m.submit(bus.Task{Instruction: instr}))
	if e := last(first); e.Type != bus.EventDone {
		t.Fatalf("first: %+v", e)
	}
	learned := ofType(first, bus.EventLearned)
	if len(learned) != 1 || learned[0].Command != "du -sh ." || learned[0].Text == "" {
		t.Fatalf("learned events = %+v", learned)
	}
	syncMemory(t, kn)

	// Once is not enough to skip the model: the memory is an example
	// and the model is asked; its command working again is a second
	// success for the same instruction.
	again := m.wait(m.submit(bus.Task{Instruction: instr}))
	if e := last(again); e.Type != bus.EventDone {
		t.Fatalf("second: %+v", e)
	}
	hits := ofType(again, bus.EventMemoryHit)
	if len(hits) == 0 || !strings.Contains(hits[0].Reason, "worked 1 time") {
		t.Fatalf("memory_hit after one success = %+v", hits)
	}
	if n := len(commandRequests(m.srv)); n != 2 {
		t.Fatalf("command requests = %d, want the model asked again after one success", n)
	}
	syncMemory(t, kn)
	// Both successes are this worker's credential's word: one voice.
	if ms, err := kn.Recall(context.Background(), "", instr, bus.HostFacts{}, 1); err != nil || len(ms) != 1 ||
		ms[0].Reuse || ms[0].Successes != 2 || !strings.Contains(ms[0].NoReuse, "vouched for by 1 worker credential") {
		t.Fatalf("after two successes on one credential: %+v %v", ms, err)
	}

	// Another worker's credential saw it work too: the same instruction
	// now reuses the command without asking the model for one.
	if _, err := otherWorker(t, k).Learn(context.Background(), bus.Learned{Instruction: instr, Command: "du -sh .", TaskID: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	syncMemory(t, kn)
	m.srv.Enqueue(lookYes)
	second := m.wait(m.submit(bus.Task{Instruction: instr, NoAnswer: true}))
	done := last(second)
	if done.Type != bus.EventDone || done.Command != "du -sh ." {
		t.Fatalf("third: %+v", done)
	}
	hits = ofType(second, bus.EventMemoryHit)
	if len(hits) == 0 || hits[0].Command != "du -sh ." || !strings.Contains(hits[0].Reason, "reusing") {
		t.Fatalf("memory_hit = %+v", hits)
	}
	if n := len(commandRequests(m.srv)); n != 2 {
		t.Errorf("command requests = %d, want the first two tasks' only", n)
	}
	if looks := lookRequests(m.srv); len(looks) != 1 {
		t.Errorf("second looks = %d, want one before the replay", len(looks))
	} else {
		mustContain(t, "second look", lastUser(looks[0]), instr, "du -sh .", "exactly this request")
	}
	if cmds := ofType(second, bus.EventCommand); len(cmds) != 1 || cmds[0].Command != "du -sh ." {
		t.Errorf("command events = %+v, want the reused command announced", cmds)
	}
	if done.Phases[bus.PhaseMemory] <= 0 {
		t.Errorf("no memory phase: %v", done.Phases)
	}

	// A reworded instruction gets it as an example in the prompt.
	m.srv.Enqueue(cmdReply("same idea", "du -sh ."))
	third := last(m.wait(m.submit(bus.Task{Instruction: "how much disk space does this folder use", NoAnswer: true})))
	if third.Type != bus.EventDone {
		t.Fatalf("third: %+v", third)
	}
	reqs := commandRequests(m.srv)
	got := reqs[len(reqs)-1]
	mustContain(t, "request", lastUser(got), "worked before", "request: "+instr, "command: du -sh .")
	// Examples vary per task: they stay out of the system prompt, which
	// is the same as the first task's, so Ollama reuses it.
	if sys := got.Messages[0].Content; sys != reqs[0].Messages[0].Content || strings.Contains(sys, "worked before") {
		t.Errorf("system prompt changed with the examples:\n%s", sys)
	}
}

func TestReusedMemoryThatFailsIsReportedAndCorrected(t *testing.T) {
	m, kn, k := memoryMesh(t, lookYes, cmdReply("the file moved", "echo recovered"))
	const instr = "print the status file"
	var id string
	for task, l := range map[string]workers.Learner{"earlier": kn, "elsewhere": otherWorker(t, k)} {
		var err error
		if id, err = l.Learn(context.Background(), bus.Learned{Instruction: instr, Command: "cat status-gone.txt", TaskID: task}); err != nil {
			t.Fatal(err)
		}
	}
	syncMemory(t, kn)
	evs := m.wait(m.submit(bus.Task{Instruction: instr, NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || done.Command != "echo recovered" || len(done.Attempts) != 2 {
		t.Fatalf("ended %+v", done)
	}
	if a := done.Attempts[0]; a.Command != "cat status-gone.txt" {
		t.Errorf("first attempt = %+v, want the reused command", a)
	}
	reqs := commandRequests(m.srv)
	if len(reqs) != 1 {
		t.Fatalf("command requests = %d, want 1 (after the reused command failed)", len(reqs))
	}
	mustContain(t, "feedback", lastUser(reqs[0]), "cat status-gone.txt", "Exit code: 1", "No such file")
	syncMemory(t, kn)
	got, err := kn.Get(id)
	if err != nil || got.Failures != 1 {
		t.Errorf("memory after the failure = %+v, %v; want one failure reported", got, err)
	}
}

// TestMemoryHitSaysWhyAsMemoryMatchDoes: a memory the gate refuses is
// given to the model as an example, and memory_hit carries the gate's
// reason, word for word what amf memory match prints after "ask: ".
func TestMemoryHitSaysWhyAsMemoryMatchDoes(t *testing.T) {
	const learned, query = "list files changed in the last day", "list files modified in the last day"
	m, kn, k := memoryMesh(t, cmdReply("mtime", "find . -mtime -1"))
	for task, l := range map[string]workers.Learner{"earlier": kn, "elsewhere": otherWorker(t, k)} {
		if _, err := l.Learn(context.Background(), bus.Learned{Instruction: learned, Command: "find . -ctime -1", TaskID: task}); err != nil {
			t.Fatal(err)
		}
	}
	syncMemory(t, kn)
	v, err := kn.Calibration().Judge(context.Background(), knowledge.LocalEmbedder(), learned, query)
	if err != nil || v.Reuse || v.Why == "" {
		t.Fatalf("verdict = %+v, %v; want a refusal", v, err)
	}
	evs := m.wait(m.submit(bus.Task{Instruction: query, NoAnswer: true}))
	hits := ofType(evs, bus.EventMemoryHit)
	if len(hits) == 0 || hits[0].Reason != v.Why {
		t.Fatalf("memory_hit = %+v, want the reason %q", hits, v.Why)
	}
	if cmds := ofType(evs, bus.EventCommand); len(cmds) == 0 || cmds[0].Command != "find . -mtime -1" {
		t.Fatalf("commands = %+v, want the model's, not the memory's", cmds)
	}
	if n := len(lookRequests(m.srv)); n != 0 {
		t.Fatalf("second looks = %d for a memory the gate refused, want 0", n)
	}
}
