package workers_test

import (
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// A task's env value expanded into a harmless-looking command is judged
// as if written out: the hidden tar hook is rejected and nothing runs.
func TestEnvValueCannotSmuggleAToolHook(t *testing.T) {
	m := newLoopMesh(t, nil)
	evs := m.wait(m.submit(bus.Task{
		Command: "echo hi > a && tar cf x.tar --checkpoint=1 $OPTS a",
		Env:     map[string]string{"OPTS": "--checkpoint-action=exec=sudo id"},
	}))
	if e := last(evs); e.Type != bus.EventFailed {
		t.Fatalf("task ended %s, want failed", e.Type)
	}
	rej := ofType(evs, bus.EventRejected)
	if len(rej) == 0 || rej[0].Rule != sandbox.RuleRoot {
		t.Fatalf("rejected events %+v, want one by %s", rej, sandbox.RuleRoot)
	}
	if n := len(ofType(evs, bus.EventExecStart)); n != 0 {
		t.Fatalf("%d commands started", n)
	}
}
