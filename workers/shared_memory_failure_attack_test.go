package workers_test

import (
	"context"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// A memory every owner replays (the installation's, or one an admin
// confirmed) keeps one count of failures for all owners. An owner's
// task may make its replay fail on purpose, in the environment the
// owner controls (here its env: TMPDIR naming no directory), and the
// worker reports the failure against the shared memory: its confidence
// drops below the reuse bound and it stops replaying for every other
// owner. One owner's own task must not lower a shared memory for the
// others (its successes on it do not raise it either: they teach a
// memory of its own).
func TestAttackOwnerStopsASharedMemoryReplayingForEveryone(t *testing.T) {
	m, kn, k := memoryMesh(t, lookYes, cmdReply("fallback", "echo fallback"))
	const instr = "make a scratch file"
	const alice, mallory = bus.Owner("token:alice"), bus.Owner("token:mallory")
	var id string
	// The installation's memory, vouched for by two worker credentials.
	for task, l := range map[string]workers.Learner{"earlier": kn, "elsewhere": otherWorker(t, k)} {
		var err error
		if id, err = l.Learn(context.Background(), bus.Learned{Instruction: instr, Command: "mktemp", TaskID: task}); err != nil {
			t.Fatal(err)
		}
	}
	syncMemory(t, kn)
	replays := func(o bus.Owner) bool {
		t.Helper()
		ms, err := kn.Recall(context.Background(), o, instr, bus.HostFacts{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms) == 1 && ms[0].ID == id && ms[0].Reuse
	}
	if !replays(alice) {
		t.Fatalf("before: the shared memory does not replay for alice")
	}

	// Mallory asks the same, with a TMPDIR that does not exist.
	evs := m.wait(m.submit(bus.Task{Instruction: instr, Owner: mallory, NoAnswer: true,
		Env: map[string]string{"TMPDIR": "/nonexistent-scratch-dir"}}))
	if e := last(evs); e.Type != bus.EventDone || len(e.Attempts) == 0 || e.Attempts[0].Command != "mktemp" {
		t.Fatalf("mallory's task: %+v, want the shared command replayed first", e)
	}
	syncMemory(t, kn)
	if got, err := kn.Get(id); err != nil || got.Failures != 0 {
		t.Errorf("the shared memory after mallory's task: %+v %v; want no failure counted against it for everyone", got, err)
	}
	if !replays(alice) {
		t.Fatalf("after mallory's one task, the shared memory no longer replays for alice")
	}
}
