package knowledge_test

import (
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory/knowledge"
)

// Whose view a failed replay lowers: a shared memory failing in an
// owner's task stops replaying for that owner only; an operator's
// failure, or an owned memory failing for its own owner, for everyone
// who recalls it.
func TestFailureCountsInTheFailingOwnersView(t *testing.T) {
	const alice, mallory = bus.Owner("token:alice"), bus.Owner("token:mallory")
	for _, tc := range []struct {
		name       string
		owner      bus.Owner // the memory's
		failed     bus.Owner // the failing task's
		stillFor   []bus.Owner
		stoppedFor []bus.Owner
	}{
		{"shared, an owner's task", "", mallory, []bus.Owner{alice, ""}, []bus.Owner{mallory}},
		{"shared, an operator's task", "", "", nil, []bus.Owner{alice, mallory, ""}},
		{"owned, its owner's task", alice, alice, nil, []bus.Owner{alice}},
		{"owned, another owner's report", alice, mallory, []bus.Owner{alice}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := kerneltest.Start(t)
			kn := openKnowledge(t, k, knowledge.Config{})
			const instr = "show the current date and time"
			owned := func(l *bus.Learned) { l.Owner = tc.owner }
			id := learn(t, kn, instr, "date", owned)
			learn(t, workerPublisher(t, k, "w2"), instr, "date", owned)
			syncKn(t, kn)
			replays := func(o bus.Owner) bool {
				t.Helper()
				ms, err := kn.Recall(ctxT(t), o, instr, here, 1)
				if err != nil {
					t.Fatal(err)
				}
				return len(ms) == 1 && ms[0].ID == id && ms[0].Reuse
			}
			for _, o := range append(append([]bus.Owner{}, tc.stillFor...), tc.stoppedFor...) {
				if !replays(o) {
					t.Fatalf("before the failure the memory does not replay for %q", o)
				}
			}
			if err := kn.ReportFailure(ctxT(t), bus.MemoryFailure{ID: id, TaskID: "t9", Reason: "exit 1", Owner: tc.failed}); err != nil {
				t.Fatal(err)
			}
			syncKn(t, kn)
			for _, o := range tc.stillFor {
				if !replays(o) {
					t.Errorf("after %q's failure the memory no longer replays for %q", tc.failed, o)
				}
			}
			for _, o := range tc.stoppedFor {
				if replays(o) {
					t.Errorf("after %q's failure the memory still replays for %q", tc.failed, o)
				}
			}
		})
	}
}
