package vouch_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/vouch"
)

// A voucher started again (a kernel restart, a second kernel) places no
// second marker and gives each record one verdict: it goes on after the
// last verdict stored.
func TestVoucherRestartsAfterItsLastVerdict(t *testing.T) {
	k := kerneltest.StartWith(t, kernel.Server{NoMemoryVoucher: true})
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mem, err := k.JS.Stream(ctx, names.MemoryStream())
	if err != nil {
		t.Fatal(err)
	}
	worker, err := jetstream.New(k.ConnectAs(k.Creds(kernel.UserSpec{Name: "w", Role: kernel.RoleWorker})))
	if err != nil {
		t.Fatal(err)
	}
	cred := worker.Conn().Opts.InboxPrefix[len("_INBOX_"):]
	run := func() (stop func()) {
		rctx, rcancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- (&vouch.Voucher{JS: k.JS, Names: names, Logger: kerneltest.Logger(t)}).Run(rctx) }()
		return func() {
			rcancel()
			if err := <-done; err != nil {
				t.Errorf("voucher: %v", err)
			}
		}
	}
	verdicts := func(want int) map[uint64]bus.Vouched {
		t.Helper()
		for {
			info, err := mem.Info(ctx, jetstream.WithSubjectFilter(">"))
			if err != nil {
				t.Fatal(err)
			}
			n := int(info.State.Subjects[names.MemoryVouched()])
			if n >= want {
				if m := info.State.Subjects[names.MemoryVouching()]; m != 1 {
					t.Fatalf("%d vouching markers, want 1", m)
				}
				out := map[uint64]bus.Vouched{}
				for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
					raw, err := mem.GetMsg(ctx, seq)
					if err != nil || raw.Subject != names.MemoryVouched() {
						continue
					}
					var v bus.Vouched
					if err := json.Unmarshal(raw.Data, &v); err != nil {
						t.Fatal(err)
					}
					if _, twice := out[v.Seq]; twice {
						t.Fatalf("record %d has two verdicts", v.Seq)
					}
					out[v.Seq] = v
				}
				return out
			}
			if ctx.Err() != nil {
				t.Fatalf("%d verdicts, want %d", n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	learn := func(task string) uint64 {
		t.Helper()
		ack, err := worker.Publish(ctx, names.LearnedBy(cred), []byte(`{"instruction":"show the date","command":"date","task_id":"`+task+`"}`))
		if err != nil {
			t.Fatalf("publish on %s: %v", names.LearnedBy(cred), err)
		}
		return ack.Sequence
	}

	stop := run()
	// Records stored before the marker are not the voucher's: wait for it.
	for {
		if _, err := mem.GetLastMsgForSubject(ctx, names.MemoryVouching()); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no vouching marker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := learn("no-such-task-1")
	verdicts(1)
	stop()
	second := learn("no-such-task-2")
	stop = run()
	defer stop()
	got := verdicts(2)
	for _, seq := range []uint64{first, second} {
		if v, ok := got[seq]; !ok || v.Record != nil || v.Refused == "" || v.Cred != cred {
			t.Errorf("verdict on record %d: %+v, want a refusal naming why", seq, v)
		}
	}
}
