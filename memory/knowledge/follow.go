package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// followBatch bounds how many stream messages are embedded and applied
// at once during catch-up.
const followBatch = 256

// follow applies the stream to the index until ctx ends, reconnecting
// with backoff after any error.
func (k *Knowledge) follow(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := k.followOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		k.mu.Lock()
		k.lastErr = err
		k.mu.Unlock()
		k.log.Warn("memory: following the stream failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// Followers makes the consumer a knowledge base follows the memory
// stream through: the kernel, asked over the task API (a worker may make
// no consumer on the memory stream itself), or an operator's connection
// directly. *client.Client is one.
type Followers interface {
	// OpenFollower makes a push consumer delivering the memory stream
	// after sequence after onto deliver, and names it.
	OpenFollower(ctx context.Context, after uint64, deliver string) (string, error)
	// LetGoFollower deletes it, without waiting.
	LetGoFollower(name string)
}

var _ Followers = (*client.Client)(nil)

// errFollowStalled is a follower's consumer that went quiet past its
// heartbeat: the kernel froze or the consumer was deleted.
var errFollowStalled = errors.New("memory stream: the consumer went quiet past its heartbeat; resuming from the last applied")

// followOnce reads the stream from the next sequence to apply until an
// error or ctx ends, through a push consumer the kernel makes into this
// connection's inbox. A delivery missed (a reconnect, a slow inbox) or a
// consumer gone quiet past its heartbeat ends it, and follow asks for a
// new one from the last applied sequence: every call ends with ctx, and
// follow owns the retries.
func (k *Knowledge) followOnce(ctx context.Context) error {
	names := k.cfg.Names
	stream, err := k.JS.Stream(ctx, names.MemoryStream())
	if err != nil {
		return fmt.Errorf("look up stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	after := k.Applied()
	if info.State.LastSeq <= after {
		k.markCaughtUp()
	}
	nc := k.JS.Conn()
	deliver := nc.NewInbox()
	sub, err := nc.SubscribeSync(deliver)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", deliver, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// Catch-up arrives as fast as the server sends it; a full inbox is a
	// gap, which only costs a new consumer.
	_ = sub.SetPendingLimits(64*followBatch, 64<<20)
	consumer, err := k.cfg.Followers.OpenFollower(ctx, after, deliver)
	if err != nil {
		return err
	}
	defer k.cfg.Followers.LetGoFollower(consumer)
	k.mu.Lock()
	k.lastErr = nil
	k.mu.Unlock()
	k.log.Info("memory: following the stream", "consumer", consumer, "after", after)
	var delivered uint64 // the consumer's sequence of the last message
	// next is the consumer's next delivery; nil when nothing, not even a
	// heartbeat, came within wait. Each heartbeat proves the consumer
	// alive and starts the wait again; one saying a delivery was missed
	// ends the follow as a gap does.
	next := func(wait time.Duration) (*nats.Msg, error) {
		for {
			wctx, cancel := context.WithTimeout(ctx, wait)
			m, err := sub.NextMsgWithContext(wctx)
			cancel()
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, context.DeadlineExceeded):
				return nil, nil
			case err != nil:
				return nil, fmt.Errorf("memory stream: %w", err)
			}
			if m.Header.Get("Status") != "" {
				if last := m.Header.Get("Nats-Last-Consumer"); last != "" && last != strconv.FormatUint(delivered, 10) {
					return nil, fmt.Errorf("memory stream: the consumer delivered %s, here %d arrived; resuming from the last applied", last, delivered)
				}
				continue // an idle heartbeat
			}
			md, err := m.Metadata()
			if err != nil || md.Consumer != consumer || md.Stream != names.MemoryStream() {
				continue // not a delivery of this follower's consumer
			}
			if md.Sequence.Consumer != delivered+1 {
				return nil, fmt.Errorf("memory stream: delivery %d after %d; resuming from the last applied", md.Sequence.Consumer, delivered)
			}
			delivered = md.Sequence.Consumer
			return m, nil
		}
	}
	for {
		msg, err := next(bus.FollowerStalled)
		if err != nil {
			return err
		}
		if msg == nil {
			return errFollowStalled
		}
		batch := []*nats.Msg{msg}
		// Messages the server says are pending are already on their way:
		// take them into this batch so catch-up embeds in bulk.
		var gap error
		for len(batch) < followBatch && pending(batch[len(batch)-1]) > 0 && ctx.Err() == nil {
			m, err := next(time.Second)
			if err != nil || m == nil {
				gap = err
				break
			}
			batch = append(batch, m)
		}
		if err := k.apply(ctx, batch); err != nil {
			return err
		}
		if gap != nil {
			return gap
		}
		if pending(batch[len(batch)-1]) == 0 {
			k.markCaughtUp()
		}
	}
}

func pending(m *nats.Msg) uint64 {
	md, err := m.Metadata()
	if err != nil {
		return 0
	}
	return md.NumPending
}

func (k *Knowledge) markCaughtUp() {
	k.caughtUpOnce.Do(func() {
		close(k.caughtUp)
		k.log.Info("memory: caught up", "memories", k.Len(), "seq", k.Applied())
	})
}

// decoded is one stream message made ready to apply.
type decoded struct {
	seq     uint64
	learn   *bus.Learned
	learner string // the credential that published learn
	// awaits is set for a record on a credential's subject stored after
	// vouching began: only its vouched copy counts (vouch.go).
	awaits bool
	// verdict is set for the kernel's verdict on the record at that
	// sequence; learn holds the record when it was vouched for.
	verdict uint64
	// marker is set for the vouching marker.
	marker  bool
	fail    *bus.MemoryFailure
	forget  *bus.Forgotten
	confirm *bus.MemoryConfirmed
}

// apply folds a batch into the index. Embeddings are computed first, so a
// failing embedder leaves the index untouched and the batch is retried.
// A malformed message is logged and skipped: one bad publisher must not
// stop every worker from learning.
func (k *Knowledge) apply(ctx context.Context, batch []*nats.Msg) error {
	names := k.cfg.Names
	items := make([]decoded, 0, len(batch))
	var texts []string
	textIdx := map[string]int{}
	k.mu.RLock()
	vouching := k.vouching
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil {
			k.mu.RUnlock()
			return fmt.Errorf("message metadata: %w", err)
		}
		d := decoded{seq: md.Sequence.Stream}
		learner, learned := names.LearnerOf(m.Subject)
		switch {
		case learned && vouching && learner != "":
			// A worker's word on whose task taught it: learned from
			// the kernel's vouched copy, if any (vouch.go).
			d.awaits = true
		case learned:
			l, err := bus.DecodeLearned(m.Data)
			if err != nil {
				k.log.Warn("memory: skipping a bad record", "seq", d.seq, "err", err)
				break
			}
			d.learn, d.learner = &l, learner
		case m.Subject == names.MemoryVouching():
			d.marker, vouching = true, true
		case m.Subject == names.MemoryVouched():
			var v bus.Vouched
			if err := json.Unmarshal(m.Data, &v); err != nil || v.Seq == 0 {
				k.log.Warn("memory: skipping a bad verdict", "seq", d.seq, "err", err)
				break
			}
			d.verdict = v.Seq
			if v.Record == nil {
				break // refused: the kernel logged why
			}
			l := *v.Record
			if err := l.Normalize(); err != nil {
				k.log.Warn("memory: skipping a bad vouched record", "seq", d.seq, "err", err)
				break
			}
			d.learn, d.learner = &l, v.Cred
		case m.Subject == names.MemoryFailed():
			var f bus.MemoryFailure
			if err := json.Unmarshal(m.Data, &f); err != nil || f.ID == "" {
				k.log.Warn("memory: skipping a bad failure report", "seq", d.seq, "err", err)
				break
			}
			d.fail = &f
		case m.Subject == names.MemoryConfirmed():
			var c bus.MemoryConfirmed
			if err := json.Unmarshal(m.Data, &c); err != nil || c.ID == "" {
				k.log.Warn("memory: skipping a bad confirmation", "seq", d.seq, "err", err)
				break
			}
			d.confirm = &c
		case m.Subject == names.MemoryForgotten():
			var f bus.Forgotten
			if err := json.Unmarshal(m.Data, &f); err != nil || f.ID == "" {
				k.log.Warn("memory: skipping a bad tombstone", "seq", d.seq, "err", err)
				break
			}
			d.forget = &f
		}
		if d.learn != nil && !k.flat.has(d.learn.ID) {
			if _, queued := textIdx[d.learn.ID]; !queued {
				textIdx[d.learn.ID] = len(texts)
				texts = append(texts, d.learn.Instruction)
			}
		}
		items = append(items, d)
	}
	k.mu.RUnlock()

	var vecs [][]float32
	if len(texts) > 0 {
		var err error
		if vecs, err = k.cfg.Embedder.Embed(ctx, texts); err != nil {
			return err
		}
		if len(vecs) != len(texts) {
			return fmt.Errorf("%w: %s returned %d vectors for %d texts", ErrEmbed, k.cfg.Embedder.Name(), len(vecs), len(texts))
		}
		for _, v := range vecs {
			if len(v) != k.dim {
				return fmt.Errorf("%w: %s returned %d dimensions, the index has %d; restart to rebuild", ErrEmbed, k.cfg.Embedder.Name(), len(v), k.dim)
			}
		}
	}

	k.saving.Lock()
	defer k.saving.Unlock()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range items {
		k.track(d)
		switch {
		case d.learn != nil:
			if err := k.learnLocked(ctx, d, vecs, textIdx); err != nil {
				return err
			}
		case d.fail != nil:
			if err := k.failLocked(ctx, d.fail); err != nil {
				return err
			}
		case d.confirm != nil:
			if k.flat.has(d.confirm.ID) {
				e, err := k.getLocked(ctx, d.confirm.ID)
				if err != nil {
					return err
				}
				e.ConfirmedBy = orUnnamed(d.confirm.By)
				if err := k.putLocked(ctx, e); err != nil {
					return err
				}
				k.flat.share(e.Rec.ID) // an admin vouched for it: everyone's now
			}
		case d.forget != nil:
			if k.forgotten == nil {
				k.forgotten = map[string]uint64{}
			}
			k.forgotten[d.forget.ID] = d.seq
			if k.flat.has(d.forget.ID) {
				if err := k.coll.Delete(ctx, nil, nil, d.forget.ID); err != nil {
					return fmt.Errorf("forget %s: %w", d.forget.ID, err)
				}
				k.flat.remove(d.forget.ID)
			}
		}
		k.applied = d.seq
	}
	k.dirty.Store(true)
	close(k.changed)
	k.changed = make(chan struct{})
	return nil
}

func (k *Knowledge) learnLocked(ctx context.Context, d decoded, vecs [][]float32, textIdx map[string]int) error {
	l := *d.learn
	// A record stored before its memory's tombstone stays forgotten,
	// also when its verdict comes after the tombstone.
	recorded := d.seq
	if d.verdict != 0 {
		recorded = d.verdict
	}
	if ts, ok := k.forgotten[l.ID]; ok && recorded < ts {
		return nil
	}
	if k.flat.has(l.ID) {
		e, err := k.getLocked(ctx, l.ID)
		if err != nil {
			return err
		}
		e.Successes++
		e.Rec = l
		if !l.ExampleOnly {
			e.addLearner(d.learner)
		}
		return k.putLocked(ctx, e)
	}
	if err := k.roomLocked(l.Owner, l.ID); err != nil {
		k.log.Warn("memory: not learned", "memory", l.ID, "task", l.TaskID, "err", err)
		return nil
	}
	i, ok := textIdx[l.ID]
	if !ok {
		// Forgotten earlier in this same batch: embed it alone.
		v, err := k.cfg.Embedder.Embed(ctx, []string{l.Instruction})
		if err != nil {
			return err
		}
		if len(v) != 1 || len(v[0]) != k.dim {
			return fmt.Errorf("%w: %s gave no vector of %d dimensions", ErrEmbed, k.cfg.Embedder.Name(), k.dim)
		}
		vecs, i = v, 0
	}
	e := entry{Rec: l, Successes: 1, Seq: d.seq}
	if !l.ExampleOnly {
		e.addLearner(d.learner)
	}
	doc, err := e.document(normalize(vecs[i]))
	if err != nil {
		return err
	}
	if err := k.coll.AddDocument(ctx, doc); err != nil {
		return fmt.Errorf("index %s: %w", l.ID, err)
	}
	k.flat.add(doc.ID, doc.Embedding, e.Rec.Owner, e.shared())
	return nil
}

// orUnnamed keeps a confirmation without a name visible as one.
func orUnnamed(by string) string {
	if by == "" {
		return "unnamed user"
	}
	return by
}
