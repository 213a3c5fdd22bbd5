package workers_test

import (
	"context"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
)

// A memory records who submitted the task it was learned from.
func TestLearnedMemoryRecordsItsOwner(t *testing.T) {
	answered := ollamatest.Reply{Content: `{"answers_request": true, "answer": "It uses 4 KiB."}`}
	m, kn, k := memoryMesh(t, cmdReply("du sums the sizes", "du -sh ."), answered)
	owner := bus.OwnerOfToken("alice")
	if e := last(m.wait(m.submit(bus.Task{Instruction: "show the disk usage of this directory", Owner: owner}))); e.Type != bus.EventDone {
		t.Fatalf("task: %+v", e)
	}
	syncMemory(t, kn)
	ctx := context.Background()
	stream, err := k.JS.Stream(ctx, bus.Names{}.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if l, err := bus.DecodeLearned(msg.Data); err == nil && l.Command == "du -sh ." {
			if l.Owner != owner {
				t.Fatalf("learned %+v: owner %q, want %q", l, l.Owner, owner)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("nothing learned")
	}
}
