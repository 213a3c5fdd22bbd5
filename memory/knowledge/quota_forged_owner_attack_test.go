package knowledge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// A worker credential of another pool, which never ran a task of the
// victim's, publishes on its own learned subject records that name the
// victim as their owner, for task ids that are not the victim's. Every
// index counts them against the victim's --quota-memories: the victim is
// full, and what its own tasks teach afterwards is learned by nobody. A
// learned record should count for an owner only when it comes from a
// task of that owner (the kernel's accepted event names the owner) that
// the publishing credential could hold (its pools).
func TestAttackWorkerFillsAnotherOwnersMemoryQuota(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{QuotaPerOwner: 3})
	js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: "pool-b-worker", Role: kernel.RoleWorker, Pools: []string{"b"}})))
	if err != nil {
		t.Fatal(err)
	}
	intruder := memory.Publisher{JS: js}
	const victim = bus.Owner("token:victim")
	for _, p := range []struct{ instr, cmd string }{
		{"print junk one", "echo 1"}, {"print junk two", "echo 2"}, {"print junk three", "echo 3"},
	} {
		rec := bus.Learned{Instruction: p.instr, Command: p.cmd, Pool: "b", TaskID: "not-the-victims-" + bus.NewID(), Owner: victim}
		if _, err := intruder.Learn(context.Background(), rec); err != nil {
			t.Fatalf("publish as the pool-b worker: %v", err)
		}
	}
	syncKn(t, kn)
	if _, total := kn.List(bus.Access{Owner: victim}, 0); total != 0 {
		t.Errorf("the victim lists %d memories it never taught, want 0", total)
	}
	if err := kn.Room(victim, "show the disk usage", "df -h"); errors.Is(err, knowledge.ErrQuota) {
		t.Fatalf("the victim's own next memory is refused: %v", err)
	}
}
