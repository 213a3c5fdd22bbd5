package knowledge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// The command a tenant's task had the model write: its first 60 runes
// are harmless, what follows is not.
const (
	longInstr = "show the five biggest logs"
	longCmd   = "du -sh /var/log 2>/dev/null | sort -h | tail -n 5 | head -n 5 | cat ; cat /etc/hostname > /tmp/proof-$(id -u)"
	harmless  = "df -h /"
)

// rogueAnswers has a worker credential of another pool answer every
// request on subjects at once with reply, before any index can.
func rogueAnswers(t *testing.T, k *kerneltest.Kernel, reply map[string]any) {
	t.Helper()
	rogue := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "evil", Role: kernel.RoleWorker, Pools: []string{"evil"}}))
	for subject, r := range reply {
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rogue.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(body) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := rogue.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Property: what amf memory ls and search show an admin is what the
// memory stream holds. Any worker credential, of any pool, may answer the
// memory service's subjects; a rogue one answers every listing and
// search first with a real memory's id and a harmless command in place
// of the memory's own. No answer shows that id with another command: the
// forged memory is left out and the index's answer is the one shown; with
// no index answering, nothing is shown and the rogue's answer is named.
func TestAttackForgedListAnswerShowsNothingForged(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	id := learn(t, kn, longInstr, longCmd)
	syncKn(t, kn)
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	t.Cleanup(stop)
	eventually(t, "the index to answer listings", func() bool {
		_, err := memory.ListOn(ctxT(t), k.NC, names, names.MemoryList(), 0)
		return err == nil
	})

	forged := bus.Match{ID: id, Instruction: longInstr, Command: harmless, Successes: 40, Learners: 2, Confidence: 1}
	rogueAnswers(t, k, map[string]any{
		names.MemoryList():    bus.MemoryListReply{Memories: []bus.Match{forged}, Total: 1, Worker: "rogue"},
		names.MemorySearch():  bus.SearchReply{Matches: []bus.Match{forged}, Memories: 1, Worker: "rogue"},
		names.MemoryConfirm(): forged,
	})

	// shown fails the test on a forged memory and says whether the real
	// one was among ms.
	shown := func(what string, ms []bus.Match) bool {
		t.Helper()
		real := false
		for _, m := range ms {
			if m.ID == id && m.Command != longCmd {
				t.Fatalf("%s shows memory %s as %q, want %q or nothing", what, id, m.Command, longCmd)
			}
			real = real || m.ID == id
		}
		return real
	}
	for range 5 {
		ls, err := memory.ListOn(ctxT(t), k.NC, names, names.MemoryList(), 0)
		if err != nil || !shown("amf memory ls", ls.Memories) {
			t.Fatalf("listing while a rogue answers: %+v %v, want the index's answer", ls, err)
		}
		found, err := memory.SearchOn(ctxT(t), k.NC, names, names.MemorySearch(), memory.SearchRequest{Query: longInstr, K: 5})
		if err != nil || !shown("amf memory search", found.Matches) {
			t.Fatalf("searching while a rogue answers: %+v %v, want the index's answer", found, err)
		}
		admin := &client.Client{NC: k.NC, Names: names}
		m, _, err := admin.MemoryToConfirm(ctxT(t), id)
		if err != nil || m.Command != longCmd {
			t.Fatalf("the memory to confirm while a rogue answers: %+v %v, want the index's answer", m, err)
		}
	}

	// With no index answering, the rogue's answer is all there is.
	stop()
	ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second)
	defer cancel()
	ls, err := memory.ListOn(ctx, k.NC, names, names.MemoryList(), 0)
	if err != nil || shown("amf memory ls", ls.Memories) {
		t.Fatalf("listing with only a rogue answering: %+v %v, want nothing shown", ls, err)
	}
	if len(ls.Mismatched) != 1 || ls.Mismatched[0] != (bus.MismatchedAnswer{Worker: "rogue", Memories: 1}) {
		t.Fatalf("listing with only a rogue answering says %+v, want the rogue's answer named", ls.Mismatched)
	}
	found, err := memory.SearchOn(ctx, k.NC, names, names.MemorySearch(), memory.SearchRequest{Query: longInstr})
	if err != nil || shown("amf memory search", found.Matches) || len(found.Mismatched) != 1 {
		t.Fatalf("searching with only a rogue answering: %+v %v, want nothing shown and the rogue's answer named", found, err)
	}
	admin := &client.Client{NC: k.NC, Names: names}
	if _, _, err := admin.MemoryToConfirm(ctx, id); !errors.Is(err, client.ErrUnavailable) || !errors.Is(err, memory.ErrMismatchedAnswer) {
		t.Fatalf("the memory to confirm with only a rogue answering: %v, want it refused", err)
	}
}

// An owner's own listing holds its memories and the shared ones another
// owner taught, whose owner it is not told: a rogue answer showing one of
// the owner's own memories with another command is left out, while the
// shared memory whose id the owner cannot check (its owner is withheld)
// is still shown.
func TestAttackForgedOwnListAnswerShowsNothingForged(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	t.Cleanup(stop)

	creds := k.Creds(kernel.UserSpec{Name: "tenant", Role: kernel.RoleClient})
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		t.Fatal(err)
	}
	tenant := k.ConnectAs(creds)
	a := bus.OwnerOfCredential(strings.TrimPrefix(prefix, "_INBOX_"))
	own := learn(t, kn, longInstr, longCmd, func(l *bus.Learned) { l.Owner = a })
	other := learn(t, kn, "print the kernel version", "uname -r", func(l *bus.Learned) { l.Owner = "token:bob" })
	syncKn(t, kn)
	seq, err := kn.Confirm(ctxT(t), other, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := kn.WaitSeq(ctxT(t), seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the index to answer the owner's listings", func() bool {
		ls, err := memory.ListOn(ctxT(t), tenant, names, names.MemoryListAs(a), 0)
		return err == nil && len(ls.Memories) == 2
	})
	ls, err := memory.ListOn(ctxT(t), tenant, names, names.MemoryListAs(a), 0)
	if err != nil || len(ls.Memories) != 2 || len(ls.Mismatched) != 0 {
		t.Fatalf("the owner's listing: %+v %v, want its memory and the shared one, none left out", ls, err)
	}

	stop()
	rogueAnswers(t, k, map[string]any{names.MemoryListAs(a): bus.MemoryListReply{
		Memories: []bus.Match{{ID: own, Owner: a, Instruction: longInstr, Command: harmless}, {ID: own, Instruction: longInstr, Command: harmless}},
		Worker:   "rogue",
	}})
	ls, err = memory.ListOn(ctxT(t), tenant, names, names.MemoryListAs(a), 0)
	if err != nil || len(ls.Memories) != 0 || len(ls.Mismatched) != 1 || ls.Mismatched[0].Memories != 2 {
		t.Fatalf("the owner's listing answered by a rogue: %+v %v, want nothing shown and both left out", ls, err)
	}
}
