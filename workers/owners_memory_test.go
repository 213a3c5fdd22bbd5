package workers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
	"github.com/amf-os/amf/workers"
)

// Two owners through the worker's loop, from the side of the one who
// attacks. Owner A's task succeeds and a second worker credential sees
// A's command work too, so A's next identical request replays it. Owner
// B then asks exactly the same: B's task must not replay A's command nor
// give it to the model as an example (A's paths and file names stay
// A's); the model writes B's command. The task's owner is the one the
// kernel stamped on it (bus.Task.Owner), never a body's word.
func TestAttackAnotherOwnersCommandIsNeitherReplayedNorAnExample(t *testing.T) {
	answered := ollamatest.Reply{Content: `{"answers_request": true, "answer": "Archived."}`}
	const aCmd = "echo alice-q3-payroll.csv archived"
	m, kn, k := memoryMesh(t, cmdReply("tar the reports", aCmd), answered)
	const a, b = bus.Owner("token:alice"), bus.Owner("nats:UBOBBOBBOBBOBBOB")
	const instr = "archive the quarterly payroll reports"

	if e := last(m.wait(m.submit(bus.Task{Instruction: instr, Owner: a}))); e.Type != bus.EventDone {
		t.Fatalf("A's first task: %+v", e)
	}
	if _, err := otherWorker(t, k).Learn(context.Background(), bus.Learned{Instruction: instr, Command: aCmd, TaskID: "elsewhere", Owner: a}); err != nil {
		t.Fatal(err)
	}
	syncMemory(t, kn)

	m.srv.Enqueue(lookYes)
	again := m.wait(m.submit(bus.Task{Instruction: instr, Owner: a, NoAnswer: true}))
	if e := last(again); e.Type != bus.EventDone || e.Command != aCmd {
		t.Fatalf("A asking again: %+v, want its command replayed", e)
	}
	if hits := ofType(again, bus.EventMemoryHit); len(hits) == 0 || !strings.Contains(hits[0].Reason, "reusing") {
		t.Fatalf("A's memory_hit = %+v, want a replay", hits)
	}
	asked := len(commandRequests(m.srv))

	m.srv.Enqueue(cmdReply("list them first", "echo bob-own-command"))
	evs := m.wait(m.submit(bus.Task{Instruction: instr, Owner: b, NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || done.Command != "echo bob-own-command" {
		t.Fatalf("B's task ended %+v, want the model's command, not A's", done)
	}
	if hits := ofType(evs, bus.EventMemoryHit); len(hits) != 0 {
		t.Fatalf("B's task was shown A's memory: %+v", hits)
	}
	for _, e := range evs {
		if strings.Contains(e.Command, "alice") || strings.Contains(e.Text, "alice") {
			t.Fatalf("B's events carry A's command: %+v", e)
		}
	}
	reqs := commandRequests(m.srv)
	if len(reqs) != asked+1 {
		t.Fatalf("command requests = %d, want B's task to ask the model (%d before)", len(reqs), asked)
	}
	for _, msg := range reqs[len(reqs)-1].Messages {
		if strings.Contains(msg.Content, "alice") {
			t.Fatalf("B's prompt holds A's command as an example:\n%s", msg.Content)
		}
	}
}

// An owner at its memory quota teaches nothing more: its worker does not
// publish the success (the stream does not grow with its flood), while
// another owner's task still learns.
func TestOwnerAtItsMemoryQuotaLearnsNothingMore(t *testing.T) {
	k := kerneltest.Start(t)
	kn, err := knowledge.Open(context.Background(), k.JS, knowledge.Config{QuotaPerOwner: 1, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kn.Close() })
	m := newLoopMesh(t, &workers.SolverConfig{Memory: kn, Learner: kn},
		ollamatest.WithReplies(cmdReply("one", "echo one"), cmdReply("two", "echo two"), cmdReply("three", "echo three")))
	const a, b = bus.Owner("token:flood"), bus.Owner("token:bob")
	learned := func(o bus.Owner, instr string) int {
		t.Helper()
		evs := m.wait(m.submit(bus.Task{Instruction: instr, Owner: o, NoAnswer: true}))
		if e := last(evs); e.Type != bus.EventDone {
			t.Fatalf("%s: %+v", instr, e)
		}
		syncMemory(t, kn)
		return len(ofType(evs, bus.EventLearned))
	}
	if n := learned(a, "print one"); n != 1 {
		t.Fatalf("the owner's first memory: %d learned events", n)
	}
	if n := learned(a, "print two"); n != 0 {
		t.Fatalf("past its quota: %d learned events, want none", n)
	}
	if n := learned(b, "print three"); n != 1 {
		t.Fatalf("another owner: %d learned events, want its memory learned", n)
	}
	if _, total := kn.List(bus.Access{SeeAll: true}, 0); total != 2 {
		t.Fatalf("the index holds %d memories, want 2", total)
	}
}
