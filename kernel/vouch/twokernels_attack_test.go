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
	"github.com/amf-os/amf/kernel/vouch"
)

// Every kernel of a cluster runs a voucher, and an index counts each
// verdict it reads as one more success of the memory: a record must get
// one verdict however many vouchers run. A worker credential that sets,
// on its own record, the message id a verdict on the next record would
// carry must not make each voucher store a verdict of its own there.
func TestAttackClaimedVerdictIDGetsOneVerdictFromTwoVouchers(t *testing.T) {
	k := kerneltest.StartWith(t, kernel.Server{NoMemoryVoucher: true})
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
	run := func() {
		rctx, rcancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- (&vouch.Voucher{JS: k.JS, Names: names, Logger: kerneltest.Logger(t)}).Run(rctx) }()
		t.Cleanup(func() {
			rcancel()
			if err := <-done; err != nil {
				t.Errorf("voucher: %v", err)
			}
		})
	}
	// The marker first, from a voucher stopped at once, so that the
	// records below land where the attacker expects.
	data, _ := json.Marshal(bus.VouchingStart{TS: time.Now().UTC()})
	if _, err := k.JS.Publish(ctx, names.MemoryVouching(), data); err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg(names.LearnedBy(acred))
	m.Data = []byte(`{"instruction":"noise","command":"true","task_id":"no-such-task"}`)
	aack, err := attacker.PublishMsg(ctx, withID(m, "vouch-"+strconv.FormatUint(0, 10)))
	if err != nil {
		t.Fatal(err)
	}
	target := aack.Sequence + 1
	m = nats.NewMsg(names.LearnedBy(acred))
	m.Data = []byte(`{"instruction":"more noise","command":"true","task_id":"no-such-task"}`)
	if _, err := attacker.PublishMsg(ctx, withID(m, "vouch-"+strconv.FormatUint(target+1, 10))); err != nil {
		t.Fatal(err)
	}
	vack, err := victim.Publish(ctx, names.LearnedBy(vcred), []byte(`{"instruction":"show the date","command":"date","task_id":"no-such-task-2"}`))
	if err != nil {
		t.Fatal(err)
	}
	if vack.Sequence != target+1 {
		t.Fatalf("the victim's record is at %d, want %d", vack.Sequence, target+1)
	}
	run()
	run()
	for {
		counts := map[uint64]int{}
		info, err := mem.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
			raw, err := mem.GetMsg(ctx, seq)
			if err != nil || raw.Subject != names.MemoryVouched() {
				continue
			}
			var v bus.Vouched
			if err := json.Unmarshal(raw.Data, &v); err != nil {
				t.Fatal(err)
			}
			counts[v.Seq]++
		}
		for seq, n := range counts {
			if n > 1 {
				t.Fatalf("record %d has %d verdicts; an index would count it %d times", seq, n, n)
			}
		}
		if counts[vack.Sequence] == 1 && counts[target] == 1 && counts[aack.Sequence] == 1 {
			// Both vouchers have passed the victim's record: give the
			// slower one time to store a second verdict, if it would.
			time.Sleep(500 * time.Millisecond)
			if info2, err := mem.Info(ctx); err == nil && info2.State.LastSeq == info.State.LastSeq {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			t.Fatalf("verdicts %v; want one on each of %d, %d, %d", counts, aack.Sequence, target, vack.Sequence)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func withID(m *nats.Msg, id string) *nats.Msg {
	m.Header.Set(bus.HeaderMsgID, id)
	return m
}
