package knowledge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// An owner's search on its own subject answers with the index's size
// and stream position (memory.SearchReply.Memories, Applied), which count
// every owner's memories: asking again tells an owner how many memories
// the others hold and when their tasks learn something, which its own
// view (it sees none of them) is meant to hide. An owner's answer should
// count only what it sees.
func TestAttackOwnersSearchCountsOtherOwnersMemories(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	t.Cleanup(stop)

	creds := k.Creds(kernel.UserSpec{Name: "attacker", Role: kernel.RoleClient})
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	attacker, b := k.ConnectAs(creds), bus.OwnerOfCredential(strings.TrimPrefix(prefix, "_INBOX_"))
	const victim = bus.Owner("token:victim")

	search := func() memory.SearchReply {
		t.Helper()
		for range 100 { // until the service is up
			ctx, cancel := context.WithTimeout(ctxT(t), 2*time.Second)
			rep, err := memory.SearchOn(ctx, attacker, names, names.MemorySearchAs(b), memory.SearchRequest{Query: "anything at all"})
			cancel()
			if errors.Is(err, memory.ErrNoSearchService) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		t.Fatal("no search service")
		return memory.SearchReply{}
	}
	before := search()
	for _, c := range []string{"one", "two", "three"} {
		learn(t, kn, "print the victim's file "+c, "cat victim-"+c+".txt", func(l *bus.Learned) { l.Owner = victim })
	}
	syncKn(t, kn)
	after := search()
	if _, sees := kn.List(bus.Access{Owner: b}, 0); sees != 0 {
		t.Fatalf("the attacker sees %d memories, want none", sees)
	}
	if after.Memories != before.Memories || after.Applied != before.Applied {
		t.Fatalf("the attacker's own search counts the victim's memories: memories %d → %d, applied %d → %d (it sees none of them)",
			before.Memories, after.Memories, before.Applied, after.Applied)
	}
}
