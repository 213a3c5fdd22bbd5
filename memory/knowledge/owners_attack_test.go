package knowledge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// What one owner's task taught the fleet is not another owner's to read:
// a client credential's memory search (amf.api.memory.search, which every
// client credential may ask) does not answer the instruction and command
// of a task another owner submitted. (Memories record no owner yet, so
// the index cannot tell.)
func TestMemorySearchShowsNoOtherOwnersInstructions(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	// Alice's task: her instruction, the command that answered it.
	learn(t, kn, "grep the salary of jane doe in /srv/hr/payroll-2026.csv", "grep -i 'jane doe' /srv/hr/payroll-2026.csv")
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	defer stop()

	mallory := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient}))
	var rep memory.SearchReply
	eventually(t, "the search service to answer", func() bool {
		var err error
		rep, err = memory.Search(ctxT(t), mallory, names, memory.SearchRequest{Query: "salary of jane doe", K: 3, Host: here})
		return !errors.Is(err, memory.ErrNoSearchService)
	})
	for _, m := range rep.Matches {
		if strings.Contains(m.Instruction, "payroll") || strings.Contains(m.Command, "payroll") {
			t.Fatalf("mallory's search answered another owner's task: %q → %q", m.Instruction, m.Command)
		}
	}
}
