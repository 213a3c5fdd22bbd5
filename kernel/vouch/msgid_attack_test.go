package vouch_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// The kernel stores its verdict on the record at sequence N under the
// message id "vouch-N", and the memory stream de-duplicates message ids
// stream-wide for an hour. A worker credential may set any message id on
// what it publishes on its own learned subject: one that claims
// "vouch-N" for a sequence another credential's record will be stored
// at makes the kernel's verdict on that record a duplicate, dropped
// without an error, so the record is never learned by any index (nor
// refused: it just has no verdict). Every record must get its verdict,
// whatever message ids other credentials published.
func TestAttackWorkerClaimsTheVerdictsMessageID(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem, err := k.JS.Stream(ctx, names.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	worker := func(name string) (jetstream.JetStream, string) {
		js, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker})))
		if err != nil {
			t.Fatal(err)
		}
		return js, js.Conn().Opts.InboxPrefix[len("_INBOX_"):]
	}
	attacker, acred := worker("attacker")
	victim, vcred := worker("victim")
	for {
		if _, err := mem.GetLastMsgForSubject(ctx, names.MemoryVouching()); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no vouching marker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	verdictOn := func(seq uint64, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			info, err := mem.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for s := uint64(1); s <= info.State.LastSeq; s++ {
				raw, err := mem.GetMsg(ctx, s)
				if err != nil || raw.Subject != names.MemoryVouched() {
					continue
				}
				var v bus.Vouched
				if json.Unmarshal(raw.Data, &v) == nil && v.Seq == seq {
					return true
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	info, err := mem.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's record is stored at L+1, its verdict at L+2: it
	// claims the id of the verdict on whatever is stored at L+3.
	target := info.State.LastSeq + 3
	m := nats.NewMsg(names.LearnedBy(acred))
	m.Data = []byte(`{"instruction":"noise","command":"true","task_id":"no-such-task"}`)
	m.Header.Set(bus.HeaderMsgID, "vouch-"+strconv.FormatUint(target, 10))
	ack, err := attacker.PublishMsg(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if !verdictOn(ack.Sequence, 10*time.Second) {
		t.Fatalf("no verdict on the attacker's own record %d", ack.Sequence)
	}
	vack, err := victim.Publish(ctx, names.LearnedBy(vcred), []byte(`{"instruction":"show the date","command":"date","task_id":"no-such-task-2"}`))
	if err != nil {
		t.Fatal(err)
	}
	if vack.Sequence != target {
		t.Skipf("the victim's record is at %d, not the claimed %d: something else was stored between", vack.Sequence, target)
	}
	if !verdictOn(vack.Sequence, 5*time.Second) {
		t.Fatalf("the kernel's verdict on another credential's record %d was dropped as a duplicate of the attacker's message id vouch-%d: the record is never learned", vack.Sequence, target)
	}
}
