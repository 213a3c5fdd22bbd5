package workers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/workers"
)

func TestSessionSecondTaskSeesTheFirst(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("write and show them", "printf 'alpha.log\\nbeta.log\\n' > logs.txt; cat logs.txt"),
		ollamatest.Reply{Content: "The logs are alpha.log and beta.log."},
		cmdReply("count the lines of the file made before", "wc -l < logs.txt"),
		ollamatest.Reply{Content: "There are 2 logs."},
	))
	first := last(m.wait(m.submit(bus.Task{Session: "conv-1", Instruction: "list the log files"})))
	if first.Type != bus.EventDone {
		t.Fatalf("first task: %+v", first)
	}
	second := last(m.wait(m.submit(bus.Task{Session: "conv-1", Instruction: "now count those"})))
	if second.Type != bus.EventDone || strings.TrimSpace(second.Output) != "2" {
		t.Fatalf("second task: %+v (the session's work dir should keep logs.txt)", second)
	}
	reqs := commandRequests(m.srv)
	if len(reqs) != 2 {
		t.Fatalf("command requests = %d", len(reqs))
	}
	if strings.Contains(lastUser(reqs[0]), "Earlier requests") {
		t.Errorf("the first task of a session saw history:\n%s", lastUser(reqs[0]))
	}
	mustContain(t, "second request", lastUser(reqs[1]),
		"list the log files", "printf 'alpha.log", "Exit code: 0", "alpha.log", "The logs are alpha.log and beta.log.", "now count those")

	// Another session starts clean.
	m.srv.Enqueue(cmdReply("x", "true"))
	last(m.wait(m.submit(bus.Task{Session: "conv-2", Instruction: "unrelated", NoAnswer: true})))
	reqs = commandRequests(m.srv)
	if got := lastUser(reqs[len(reqs)-1]); strings.Contains(got, "list the log files") {
		t.Errorf("another session saw conv-1:\n%s", got)
	}
}

func TestSessionHistoryIsBounded(t *testing.T) {
	sessions := &workers.LocalSessions{}
	ctx := context.Background()
	for i := range 10 {
		_ = sessions.AppendTurn(ctx, workers.SessionKey("strict", "long"), memory.Turn{
			Instruction: fmt.Sprintf("request %d", i), Command: "echo", Output: strings.Repeat("x", 10<<10),
		})
	}
	m := newLoopMesh(t, &workers.SolverConfig{Sessions: sessions, SessionTurns: 3}, ollamatest.WithReplies(cmdReply("x", "true")))
	last(m.wait(m.submit(bus.Task{Session: "long", Instruction: "next", NoAnswer: true})))
	msg := lastUser(commandRequests(m.srv)[0])
	mustContain(t, "request", msg, "request 7", "request 8", "request 9")
	if strings.Contains(msg, "request 6") {
		t.Error("more turns than SessionTurns were shown")
	}
	if len(msg) > 6<<10 {
		t.Errorf("history of 3 turns is %d bytes; outputs should be clipped", len(msg))
	}
	turns, _ := sessions.Turns(ctx, workers.SessionKey("strict", "long"), 100)
	if got := turns[len(turns)-1]; got.Instruction != "next" || got.Command != "true" || got.ExitCode != 0 {
		t.Errorf("the task's own turn = %+v", got)
	}
}

func TestLocalSessionsBounds(t *testing.T) {
	ctx := context.Background()
	s := &workers.LocalSessions{MaxSessions: 2, MaxTurns: 3}
	for i := range 5 {
		_ = s.AppendTurn(ctx, "a", memory.Turn{Instruction: fmt.Sprint(i)})
	}
	turns, _ := s.Turns(ctx, "a", 10)
	if len(turns) != 3 || turns[0].Instruction != "2" {
		t.Fatalf("turns = %+v, want the last 3", turns)
	}
	_ = s.AppendTurn(ctx, "b", memory.Turn{})
	_ = s.AppendTurn(ctx, "c", memory.Turn{})
	if got, _ := s.Turns(ctx, "a", 10); got != nil {
		t.Errorf("least recently used session kept past MaxSessions: %+v", got)
	}
}
