package vouch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// Voucher stores the kernel's verdict on every record published on a
// credential's learned subject (amf.memory.learned.<credential id>)
// after the vouching marker, in stream order. Every kernel of a cluster
// may run one: each starts after the last verdict stored, and each
// verdict is stored only right after the last one it knows of
// (expected last sequence on amf.memory.vouched), so records get their
// verdicts in order and one each, however many vouchers run: an index
// counts every verdict it reads as a success of the memory. (A message
// id would not do: a worker may set any id on its own records.)
type Voucher struct {
	// JS is the kernel's own connection: it reads the events stream by
	// direct get and publishes on amf.memory.vouched.
	JS    jetstream.JetStream
	Names bus.Names
	// Operator reports whether a credential id is an admin's, whose
	// records are vouched as they are: an admin may publish on the bare
	// learned subject, which the indexes take as it is, anyway. Nil
	// knows of none.
	Operator func(cred string) bool
	Logger   *slog.Logger
}

// Run vouches until ctx ends. It places the vouching marker on the
// memory stream if none is there yet, then follows the learned records
// stored after the marker and the last verdict.
func (v *Voucher) Run(ctx context.Context) error {
	log := v.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var mem, events jetstream.Stream
	var from uint64
	var fence verdicts
	err := retry.AtStart(ctx, log, "memory voucher", func(ctx context.Context) (err error) {
		if mem, err = v.JS.Stream(ctx, v.Names.MemoryStream()); err != nil {
			return err
		}
		if events, err = v.JS.Stream(ctx, v.Names.EventsStream()); err != nil {
			return err
		}
		from, fence, err = v.start(ctx, mem)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("memory voucher: %w", err)
	}
	for ctx.Err() == nil {
		next, err := v.follow(ctx, mem, events, from, &fence, log)
		from = next
		if ctx.Err() != nil {
			break
		}
		log.Warn("memory voucher: following the memory stream; starting again", "err", err, "at", next)
		retry.Sleep(ctx, time.Second)
		// From the stream's own record of where vouching stands: a
		// stream deleted and made anew has a marker of its own to place.
		if f, fc, err := v.start(ctx, mem); err == nil {
			from, fence = f, fc
		}
	}
	return nil
}

// start is the first stream sequence to vouch for: after the last
// verdict, else after the marker, which it stores when there is none
// (once: the publish expects the marker's subject to be empty), and
// where the verdicts stand.
func (v *Voucher) start(ctx context.Context, mem jetstream.Stream) (from uint64, last verdicts, err error) {
	switch last, err := v.lastVerdict(ctx, mem); {
	case err != nil:
		return 0, last, err
	case last.at > 0:
		return last.next, last, nil
	}
	marker, err := mem.GetLastMsgForSubject(ctx, v.Names.MemoryVouching())
	if err == nil {
		return marker.Sequence + 1, verdicts{}, nil
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, verdicts{}, fmt.Errorf("read the vouching marker: %w", err)
	}
	data, _ := json.Marshal(bus.VouchingStart{TS: time.Now().UTC()})
	ack, err := v.JS.Publish(ctx, v.Names.MemoryVouching(), data, jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil {
		// Another kernel placed it first: start after that one.
		if marker, gerr := mem.GetLastMsgForSubject(ctx, v.Names.MemoryVouching()); gerr == nil {
			return marker.Sequence + 1, verdicts{}, nil
		}
		return 0, verdicts{}, fmt.Errorf("place the vouching marker: %w", err)
	}
	return ack.Sequence + 1, verdicts{}, nil
}

// verdicts is where the stored verdicts stand: the newest one's own
// sequence (0: none yet), and the record sequence after the one it is
// on. Verdicts are stored in record order, so every record before next
// has its verdict.
type verdicts struct{ at, next uint64 }

// lastVerdict reads where the stored verdicts stand.
func (v *Voucher) lastVerdict(ctx context.Context, mem jetstream.Stream) (verdicts, error) {
	last, err := mem.GetLastMsgForSubject(ctx, v.Names.MemoryVouched())
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return verdicts{}, nil
	case err != nil:
		return verdicts{}, fmt.Errorf("read the last verdict: %w", err)
	}
	var vd bus.Vouched
	if json.Unmarshal(last.Data, &vd) == nil && vd.Seq > 0 {
		return verdicts{at: last.Sequence, next: vd.Seq + 1}, nil
	}
	return verdicts{at: last.Sequence, next: last.Sequence + 1}, nil
}

// follow vouches for the learned records from sequence from on, one at a
// time and in order, until ctx ends (nil) or the consumer fails; it
// returns the sequence to go on from.
func (v *Voucher) follow(ctx context.Context, mem, events jetstream.Stream, from uint64, fence *verdicts, log *slog.Logger) (uint64, error) {
	cons, err := mem.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{v.Names.LearnedBy("*")},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
		// A name of its own each time: the last one's consumer may live
		// on for a while, and another kernel's voucher has its own.
		NamePrefix: bus.VoucherNamePrefix() + "-" + strings.TrimPrefix(nats.NewInbox(), nats.InboxPrefix),
	})
	if err != nil {
		return from, fmt.Errorf("follow learned records: %w", err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return from, fmt.Errorf("follow learned records: %w", err)
	}
	stopped := context.AfterFunc(ctx, msgs.Stop)
	defer stopped()
	defer msgs.Stop()
	for {
		m, err := msgs.Next()
		if err != nil {
			if ctx.Err() != nil {
				return from, nil
			}
			return from, err
		}
		md, err := m.Metadata()
		if err != nil {
			return from, fmt.Errorf("learned record metadata: %w", err)
		}
		seq := md.Sequence.Stream
		// Vouched until it is stored: a verdict lost to a failing
		// kernel would leave the record unlearned everywhere.
		err = retry.Do(ctx, retry.Policy{Retry: func(error) bool { return true }, Max: 5 * time.Second,
			OnRetry: func(err error, pause time.Duration) {
				log.Warn("memory voucher: retrying a verdict", "seq", seq, "err", err, "retry_in", pause)
			}}, func(ctx context.Context) error {
			return v.vouch(ctx, mem, events, m.Subject(), seq, m.Data(), fence, log)
		})
		if err != nil {
			return from, err
		}
		from = seq + 1
	}
}

// vouch decides on the record stored at seq on subject and stores the
// verdict right after the last one (*fence), unless another voucher has
// stored a verdict on this record or a later one meanwhile.
func (v *Voucher) vouch(ctx context.Context, mem, events jetstream.Stream, subject string, seq uint64, data []byte, fence *verdicts, log *slog.Logger) error {
	if seq < fence.next {
		return nil // another voucher's verdict is stored
	}
	vd := bus.Vouched{Seq: seq, TS: time.Now().UTC()}
	cred, _ := v.Names.LearnerOf(subject) // the consumer's filter: a credential's subject
	vd.Cred = cred
	switch l, err := bus.DecodeLearned(data); {
	case err != nil:
		vd.Refused = err.Error()
	default:
		switch err := v.check(ctx, events, cred, l); {
		case errors.Is(err, errRefused):
			vd.Refused = err.Error()
		case err != nil:
			return err
		default:
			vd.Record = &l
		}
	}
	body, err := json.Marshal(vd)
	if err != nil {
		return fmt.Errorf("encode verdict: %w", err)
	}
	for {
		ack, err := v.JS.Publish(ctx, v.Names.MemoryVouched(), body, jetstream.WithExpectLastSequencePerSubject(fence.at))
		if err == nil {
			*fence = verdicts{at: ack.Sequence, next: seq + 1}
			if vd.Refused != "" {
				log.Warn("memory: a learned record is not vouched for; no index learns it", "seq", seq, "cred", cred, "why", vd.Refused)
			}
			return nil
		}
		if !bus.IsFenceConflict(err) {
			return fmt.Errorf("store verdict on %d: %w", seq, err)
		}
		// Another voucher stored a verdict first. Verdicts are stored in
		// record order, so one on this record or a later one means this
		// record has its verdict.
		last, err := v.lastVerdict(ctx, mem)
		if err != nil {
			return err
		}
		*fence = last
		if seq < last.next {
			return nil
		}
	}
}
