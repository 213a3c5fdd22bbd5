package workers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// One user names another's session: the task runs in a session of its
// own owner, with its own work dir and history, so it can neither read
// the victim's files nor plant one for the victim's next command.
func TestSessionOfAnotherOwnerIsAnotherSession(t *testing.T) {
	sessions := &workers.LocalSessions{}
	m := newLoopMesh(t, &workers.SolverConfig{Sessions: sessions})
	victim, attacker := bus.OwnerOfToken("victim"), bus.OwnerOfToken("attacker")
	run := func(owner bus.Owner, cmd string) bus.Event {
		t.Helper()
		return last(m.wait(m.submit(bus.Task{Owner: owner, Session: "notes", Command: cmd, NoAnswer: true})))
	}
	if e := run(victim, "echo s3cret > notes.txt"); e.Type != bus.EventDone {
		t.Fatalf("victim's task: %+v", e)
	}
	e := run(attacker, "cat notes.txt; echo x > pwned.txt")
	if strings.Contains(e.Output, "s3cret") {
		t.Fatalf("the attacker read the victim's session file: %s %q", e.Type, e.Output)
	}
	e = run(victim, "cat notes.txt; ls")
	if e.Type != bus.EventDone || !strings.Contains(e.Output, "s3cret") {
		t.Fatalf("the victim's session lost its own file: %s %q", e.Type, e.Output)
	}
	if strings.Contains(e.Output, "pwned.txt") {
		t.Fatalf("the attacker planted a file in the victim's session: %q", e.Output)
	}
	mine, _ := sessions.Turns(context.Background(), workers.OwnerSessionKey(victim, "strict", "notes"), 100)
	theirs, _ := sessions.Turns(context.Background(), workers.OwnerSessionKey(attacker, "strict", "notes"), 100)
	if len(mine) != 2 || len(theirs) != 1 {
		t.Fatalf("turns: victim %d, attacker %d; want 2 and 1, kept apart", len(mine), len(theirs))
	}
}
