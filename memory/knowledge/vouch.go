package knowledge

import (
	"context"
	"fmt"
)

// Vouched learning. nats-server vouches for which credential published
// a learned record (its subject, amf.memory.learned.<credential id>),
// not for the owner and task the record names: a worker credential of
// any pool could otherwise teach memories as any owner, filling that
// owner's quota and its prompts, or as nobody, which every owner recalls
// as shared. Once the kernel's voucher has placed its marker on the
// stream (bus.VouchingStart), an index learns a record published on a
// credential's subject only from the kernel's verdict on it
// (bus.Vouched, kernel/vouch): the record, when the record's task was
// accepted for the owner it names and that credential stored an event
// of it in the task's pool. Records on the bare subject (admins only)
// and those stored before the marker are learned as they are. Every
// index reads the same marker and verdicts from the stream, so they all
// agree, now and when one is rebuilt long after the tasks' events have
// expired.

// track notes, under k.mu, the vouching marker and which records still
// await their verdict (Sync waits for them).
func (k *Knowledge) track(d decoded) {
	switch {
	case d.marker:
		k.vouching = true
	case d.awaits:
		if k.awaiting == nil {
			k.awaiting = map[uint64]struct{}{}
		}
		k.awaiting[d.seq] = struct{}{}
	case d.verdict != 0:
		delete(k.awaiting, d.verdict)
	}
}

// waitSettled blocks until no record awaits its verdict, or ctx ends.
func (k *Knowledge) waitSettled(ctx context.Context) error {
	for {
		k.mu.RLock()
		n, ch := len(k.awaiting), k.changed
		k.mu.RUnlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d learned record(s) still await the kernel's verdict (does a kernel run its memory voucher?): %w", n, ctx.Err())
		case <-ch:
		}
	}
}
