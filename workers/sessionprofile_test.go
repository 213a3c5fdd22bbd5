package workers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/workers"
)

// A strict task that names a trusted task's session gets a work dir and a
// history of its own: it can neither read what the trusted session left
// nor plant a file for the trusted session's next command.
func TestStrictTaskCannotReachTrustedSession(t *testing.T) {
	sessions := &workers.LocalSessions{}
	m := newLoopMesh(t, &workers.SolverConfig{Sessions: sessions})
	run := func(policy, cmd string) bus.Event {
		t.Helper()
		return last(m.wait(m.submit(bus.Task{Session: "ops", Policy: policy, Command: cmd, NoAnswer: true})))
	}
	if e := run("trusted", "echo s3cret-plan > plan.txt"); e.Type != bus.EventDone {
		t.Fatalf("trusted task: %+v", e)
	}
	if e := run("strict", "cat plan.txt"); strings.Contains(e.Output, "s3cret-plan") || e.Type == bus.EventDone {
		t.Fatalf("a strict task read the trusted session's file: %s %q", e.Type, e.Output)
	}
	if e := run("strict", "echo planted > helper.sh"); e.Type != bus.EventDone {
		t.Fatalf("strict task: %+v", e)
	}
	e := run("trusted", "cat plan.txt; ls")
	if e.Type != bus.EventDone || !strings.Contains(e.Output, "s3cret-plan") {
		t.Fatalf("the trusted session lost its own file: %s %q", e.Type, e.Output)
	}
	if strings.Contains(e.Output, "helper.sh") {
		t.Fatalf("a strict task planted a file in the trusted session: %q", e.Output)
	}
	trusted, _ := sessions.Turns(context.Background(), workers.SessionKey("trusted", "ops"), 100)
	strict, _ := sessions.Turns(context.Background(), workers.SessionKey("strict", "ops"), 100)
	if len(trusted) != 2 || len(strict) != 2 {
		t.Fatalf("turns: trusted %d, strict %d; want 2 each, kept apart", len(trusted), len(strict))
	}
	for _, turn := range trusted {
		if strings.Contains(turn.Command, "helper.sh") || strings.Contains(turn.Command, "cat plan.txt\n") {
			t.Fatalf("the trusted session's history holds a strict task's turn: %+v", turn)
		}
	}
}

// A task naming no profile runs, and keeps its session, under the
// runner's default: the same session as a task naming that profile.
func TestSessionOfTheDefaultProfileIsThatProfiles(t *testing.T) {
	sessions := &workers.LocalSessions{}
	_ = sessions.AppendTurn(context.Background(), workers.SessionKey("strict", "plain"), memory.Turn{Instruction: "earlier, under strict", Command: "true"})
	m := newLoopMesh(t, &workers.SolverConfig{Sessions: sessions}, ollamatest.WithReplies(cmdReply("x", "true"), ollamatest.Reply{Content: "Done."}))
	if e := last(m.wait(m.submit(bus.Task{Session: "plain", Instruction: "next"}))); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	mustContain(t, "request", lastUser(commandRequests(m.srv)[0]), "earlier, under strict")
	if turns, _ := sessions.Turns(context.Background(), workers.SessionKey("", "plain"), 10); len(turns) != 0 {
		t.Fatalf("a session under the empty profile name: %+v", turns)
	}
}
