package knowledge_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// A memory forgotten while its record still awaited the kernel's verdict
// stays forgotten when the verdict comes after the tombstone, for an
// index following live and for one rebuilt from the stream: a busy
// kernel's voucher may answer after an operator's `amf memory forget`.
func TestAVerdictAfterTheTombstoneDoesNotBringAMemoryBack(t *testing.T) {
	k := kerneltest.StartWith(t, kernel.Server{NoMemoryVoucher: true})
	names := bus.Names{}
	ctx := ctxT(t)
	// The kernel's voucher is about to vouch, and has not yet.
	marker, _ := json.Marshal(bus.VouchingStart{TS: time.Now().UTC()})
	if _, err := k.JS.Publish(ctx, names.MemoryVouching(), marker); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: "w", Role: kernel.RoleWorker})))
	if err != nil {
		t.Fatal(err)
	}
	live := openKnowledge(t, k, knowledge.Config{})
	id := learn(t, memory.Publisher{JS: js}, "show the routing table", "ip route")
	mem, err := k.JS.Stream(ctx, names.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := mem.GetLastMsgForSubject(ctx, names.Learned()+".>")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := bus.DecodeLearned(raw.Data)
	if err != nil || rec.ID != id {
		t.Fatalf("the record stored: %+v, %v", rec, err)
	}
	if err := (memory.Publisher{JS: k.JS}).Forget(ctx, id, "operator"); err != nil {
		t.Fatal(err)
	}
	// The verdict, late.
	verdict, _ := json.Marshal(bus.Vouched{Seq: raw.Sequence, Cred: "w", Record: &rec, TS: time.Now().UTC()})
	if _, err := k.JS.Publish(ctx, names.MemoryVouched(), verdict); err != nil {
		t.Fatal(err)
	}
	syncKn(t, live)
	rebuilt := openKnowledge(t, k, knowledge.Config{})
	syncKn(t, rebuilt)
	for name, kn := range map[string]*knowledge.Knowledge{"live": live, "rebuilt": rebuilt} {
		if m, err := kn.Get(id); !errors.Is(err, memory.ErrUnknownMemory) {
			t.Errorf("%s index: the forgotten memory is back after its late verdict: %+v, %v", name, m, err)
		}
	}
}
